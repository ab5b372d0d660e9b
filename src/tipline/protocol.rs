//! Protocol v2 of the tip line, the parts both ends compute: the lookup
//! token a phone derives from the code it made (the server keeps only an
//! HMAC of it), and the AAD that binds an envelope to what it belongs to.
//! The AAD is the UTF-8 of canonical JSON: keys sorted, no spaces.

use super::dto::{Category, Sender, Urgency};
use crate::crypto::{b64u_decode, hex, hmac_sha256};

pub const VERSION: i32 = 2;

/// The lookup token a v2 report is known by: 32 bytes, sent base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct Lookup([u8; 32]);

// Never print a lookup by accident: it opens the report's thread.
impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup(…)")
    }
}

impl Lookup {
    pub fn parse(input: &str) -> Option<Lookup> {
        if input.len() > 64 {
            return None;
        }
        let bytes: [u8; 32] = b64u_decode(input)?.try_into().ok()?;
        Some(Lookup(bytes))
    }

    /// What the phone computes from its code (upper case, no dashes).
    pub fn derive(normalised_code: &str) -> Lookup {
        Lookup(crate::crypto::envelope::lookup_v2(normalised_code))
    }

    pub fn encoded(&self) -> String {
        crate::crypto::b64u(&self.0)
    }

    /// What the database keeps: HMAC-SHA256(pepper, lookup), hex. It shares
    /// the receipts' column: a 32-byte lookup and a 20-character receipt
    /// never give the same MAC.
    pub fn mac(&self, pepper: &[u8]) -> String {
        hex(&hmac_sha256(pepper, &self.0))
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// `{"category":…,"concerns_staff":…,"kind":"report","school":"<code>","urgency":…,"v":2}`
pub fn report_aad(
    category: Category,
    concerns_staff: bool,
    school_code: &str,
    urgency: Urgency,
) -> String {
    format!(
        r#"{{"category":{},"concerns_staff":{},"kind":"report","school":{},"urgency":{},"v":2}}"#,
        quoted(category.as_str()),
        concerns_staff,
        quoted(school_code),
        quoted(urgency.as_str()),
    )
}

/// `{"from":"reporter"|"staff","kind":"message"|"attachment","report":"<id>","v":2}`
pub fn message_aad(from: Sender, attachment: bool, report_id: &str) -> String {
    let from = match from {
        Sender::Reporter => "reporter",
        Sender::School => "staff",
    };
    let kind = if attachment { "attachment" } else { "message" };
    format!(
        r#"{{"from":"{from}","kind":"{kind}","report":{},"v":2}}"#,
        quoted(report_id)
    )
}

/// What an opener accepts as a report's AAD, given what it is shown now: the
/// metadata as it is, or, for a report the bureau later found to concern
/// staff, as the reporter sent it (a report never moves the other way).
pub fn report_aads(
    category: Category,
    concerns_staff: bool,
    school_code: &str,
    urgency: Urgency,
) -> Vec<String> {
    let mut out = vec![report_aad(category, concerns_staff, school_code, urgency)];
    if concerns_staff {
        out.push(report_aad(category, false, school_code, urgency));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aads_are_canonical_json_with_sorted_keys_and_no_spaces() {
        let a = report_aad(Category::Harassment, false, "SCH-X", Urgency::Urgent);
        assert_eq!(
            a,
            r#"{"category":"harassment","concerns_staff":false,"kind":"report","school":"SCH-X","urgency":"urgent","v":2}"#
        );
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), a, "sorted, compact");
        let m = message_aad(Sender::School, true, "0190-ab");
        assert_eq!(
            m,
            r#"{"from":"staff","kind":"attachment","report":"0190-ab","v":2}"#
        );
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), m);
        assert_eq!(
            report_aads(Category::Other, true, "A", Urgency::Normal).len(),
            2
        );
    }

    #[test]
    fn lookups_parse_only_32_bytes_and_derive_from_the_code() {
        let l = Lookup::derive("0123456789ABCDEFGHJK");
        assert_eq!(Lookup::parse(&l.encoded()), Some(l.clone()));
        assert!(Lookup::parse("AAAA").is_none());
        assert!(Lookup::parse("not base64!").is_none());
        assert_ne!(l, Lookup::derive("0123456789ABCDEFGHJM"));
        assert_ne!(l.mac(b"pepper"), l.mac(b"other pepper"));
        assert!(!format!("{l:?}").contains(&l.encoded()));
        // HKDF-SHA256 with the v2 salt, written out with HMAC.
        let prk = hmac_sha256(b"safecampus/v2/lookup", b"0123456789ABCDEFGHJK");
        let okm = hmac_sha256(&prk, &[1u8]);
        assert_eq!(l.encoded(), crate::crypto::b64u(&okm));
    }
}
