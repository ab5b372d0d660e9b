use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "zh-CN" => Some(Language::ZhCn),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Account,
    Pickup,
    Leave,
    Attendance,
    Tipline,
    Notice,
    /// Notices: prevention education, whose reach the district measures.
    SafetyEducation,
    Meeting,
    General,
    /// Goes to every channel at once, at any hour.
    Urgent,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Account,
        Category::Pickup,
        Category::Leave,
        Category::Attendance,
        Category::Tipline,
        Category::Notice,
        Category::SafetyEducation,
        Category::Meeting,
        Category::General,
        Category::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Account => "account",
            Category::Pickup => "pickup",
            Category::Leave => "leave",
            Category::Attendance => "attendance",
            Category::Tipline => "tipline",
            Category::Notice => "notice",
            Category::SafetyEducation => "safety_education",
            Category::Meeting => "meeting",
            Category::General => "general",
            Category::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Safety and security alerts: always shown in the app (a user cannot
    /// switch them off there) and sent at any hour, quiet hours or not.
    pub fn is_safety_critical(self) -> bool {
        matches!(
            self,
            Category::Account
                | Category::Pickup
                | Category::Attendance
                | Category::Tipline
                | Category::SafetyEducation
                | Category::Urgent
        )
    }

    /// Ignores quiet hours.
    pub fn bypasses_quiet_hours(self) -> bool {
        matches!(
            self,
            Category::Pickup | Category::Attendance | Category::Tipline | Category::Urgent
        )
    }

    /// Every channel the user can be reached on, whatever the preferences.
    pub fn is_urgent(self) -> bool {
        self == Category::Urgent
    }
}

/// Texts around a notice or an alert when it leaves the app.
pub struct ExternalTexts;

impl ExternalTexts {
    pub fn urgent_prefix(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "【紧急】",
            Language::En => "[Urgent] ",
        }
    }

    pub fn reminder_prefix(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "【提醒】",
            Language::En => "[Reminder] ",
        }
    }

    pub fn ack_footer(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "请在平安校园应用中阅读并确认此通知。",
            Language::En => "Please read and acknowledge this notice in the SafeCampus app.",
        }
    }

    pub fn app_footer(lang: Language) -> &'static str {
        match lang {
            Language::ZhCn => "详情请打开平安校园应用查看。",
            Language::En => "Open the SafeCampus app for details.",
        }
    }

    /// What a tip-line alert says outside the app: nothing about the report.
    pub fn tipline(lang: Language) -> (&'static str, &'static str) {
        match lang {
            Language::ZhCn => (
                "举报信箱有新动态",
                "举报信箱有需要您处理的新动态，请登录平安校园查看。",
            ),
            Language::En => (
                "Tip line update",
                "There is a tip-line update for you. Sign in to SafeCampus to see it.",
            ),
        }
    }
}

/// Every system text, in both languages. `{name}` is filled from the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    PasswordChanged,
    AccountDisabled,
    GuardianLinked,
}

impl Template {
    const ALL: [Template; 3] = [
        Template::PasswordChanged,
        Template::AccountDisabled,
        Template::GuardianLinked,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Template::PasswordChanged => "account.password_changed",
            Template::AccountDisabled => "account.disabled",
            Template::GuardianLinked => "org.guardian_linked",
        }
    }

    pub fn from_key(key: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.key() == key)
    }

    /// (title, body) patterns.
    fn patterns(self, lang: Language) -> (&'static str, &'static str) {
        use Language::*;
        match (self, lang) {
            (Template::PasswordChanged, ZhCn) => (
                "密码已修改",
                "您的密码已修改，所有设备已退出登录。如非本人操作，请立即联系学校。",
            ),
            (Template::PasswordChanged, En) => (
                "Password changed",
                "Your password was changed and every device was signed out. If this was not you, contact the school at once.",
            ),
            (Template::AccountDisabled, ZhCn) => ("账号已停用", "您的账号已被管理员停用。"),
            (Template::AccountDisabled, En) => ("Account disabled", "Your account was disabled by an administrator."),
            (Template::GuardianLinked, ZhCn) => (
                "已关联学生",
                "您已被登记为{school}学生{student}的监护人（{relation}）。",
            ),
            (Template::GuardianLinked, En) => (
                "Linked to a student",
                "You are now registered as a guardian ({relation}) of {student} at {school}.",
            ),
        }
    }

    pub fn render(self, lang: Language, data: &serde_json::Value) -> (String, String) {
        let (title, body) = self.patterns(lang);
        (fill(title, data), fill(body, data))
    }
}

fn fill(pattern: &str, data: &serde_json::Value) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match data.get(name) {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(v) => out.push_str(&v.to_string()),
                    None => out.push('?'),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_in_both_languages_with_its_data() {
        let data = serde_json::json!({"student": "Xiaoming", "school": "No. 1 Primary", "relation": "mother"});
        for t in Template::ALL {
            for lang in [Language::ZhCn, Language::En] {
                let (title, body) = t.render(lang, &data);
                assert!(!title.is_empty() && !body.contains('{'), "{t:?} {lang:?}");
            }
            assert_eq!(Template::from_key(t.key()), Some(t));
        }
        let (_, body) = Template::GuardianLinked.render(Language::En, &data);
        assert!(body.contains("Xiaoming") && body.contains("No. 1 Primary"));
    }
}
