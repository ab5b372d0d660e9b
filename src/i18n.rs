//! The languages users read: every text a user sees exists in each.

crate::text_enum!(
    pub enum Language {
        ZhCn = "zh-CN",
        En = "en",
    }
);

impl Default for Language {
    /// The district's language.
    fn default() -> Self {
        Language::ZhCn
    }
}

impl Language {
    /// The first language of an `Accept-Language` header that we have
    /// (`zh…` or `en…`, in the order given, `q=0` skipped): what a client
    /// without an account reads.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        header.split(',').find_map(|part| {
            let mut fields = part.split(';');
            let tag = fields.next()?.trim().to_ascii_lowercase();
            let refused = fields.any(|f| {
                f.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                None
            } else if tag == "zh" || tag.starts_with("zh-") {
                Some(Language::ZhCn)
            } else if tag == "en" || tag.starts_with("en-") {
                Some(Language::En)
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn accept_language_picks_the_first_language_we_have() {
        let pick = Language::from_accept_language;
        assert_eq!(pick("en-GB,en;q=0.9"), Some(Language::En));
        assert_eq!(pick("fr-FR, zh-CN;q=0.8, en;q=0.5"), Some(Language::ZhCn));
        assert_eq!(pick("zh-TW"), Some(Language::ZhCn));
        assert_eq!(pick("en;q=0, zh"), Some(Language::ZhCn));
        assert_eq!(pick("fr, de"), None);
        assert_eq!(pick("english"), None);
    }
}
