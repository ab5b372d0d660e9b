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
