//! Text enums: a closed set of values stored and sent as fixed strings.

/// Declares a text enum: its wire and stored names, `as_str`, `parse`,
/// `ALL`, serde and the OpenAPI schema, all from one list.
///
/// The names are taken as single tokens (`tt`), not as `literal` fragments:
/// utoipa's derive cannot read a `literal` fragment inside `#[serde(rename)]`,
/// and the document would then list the variants' Rust names.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $s:tt),+ $(,)?
        }
    ) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum!(
        /// A test enum.
        enum Colour {
            DarkRed = "dark_red",
            Blue = "bleu",
        }
    );

    #[test]
    fn names_round_trip_through_serde_parse_and_the_schema() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Colour>(&json).unwrap(), *c);
        }
        assert_eq!(Colour::parse("Blue"), None);
        assert!(serde_json::from_str::<Colour>("\"blue\"").is_err());
        let schema = serde_json::to_value(<Colour as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["dark_red", "bleu"]));
    }
}
