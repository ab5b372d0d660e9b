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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Account,
    Pickup,
    Leave,
    Attendance,
    Tipline,
    Notice,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Account => "account",
            Category::Pickup => "pickup",
            Category::Leave => "leave",
            Category::Attendance => "attendance",
            Category::Tipline => "tipline",
            Category::Notice => "notice",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        [
            Category::Account,
            Category::Pickup,
            Category::Leave,
            Category::Attendance,
            Category::Tipline,
            Category::Notice,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Every system text, in both languages. `{name}` is filled from the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    PasswordChanged,
    AccountDisabled,
    GuardianLinked,
    TiplineNewReport,
    TiplineOverdue,
    TiplineReporterMessage,
}

impl Template {
    const ALL: [Template; 6] = [
        Template::PasswordChanged,
        Template::AccountDisabled,
        Template::GuardianLinked,
        Template::TiplineNewReport,
        Template::TiplineOverdue,
        Template::TiplineReporterMessage,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Template::PasswordChanged => "account.password_changed",
            Template::AccountDisabled => "account.disabled",
            Template::GuardianLinked => "org.guardian_linked",
            Template::TiplineNewReport => "tipline.new_report",
            Template::TiplineOverdue => "tipline.overdue",
            Template::TiplineReporterMessage => "tipline.reporter_message",
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
            (Template::TiplineNewReport, ZhCn) => (
                "举报信箱有新举报",
                "{school}收到一份新举报（类别：{category}，紧急程度：{urgency}）。请尽快在举报信箱中查看并确认。",
            ),
            (Template::TiplineNewReport, En) => (
                "New tip-line report",
                "{school} received a new report (category: {category}, urgency: {urgency}). Open the mailbox and acknowledge it.",
            ),
            (Template::TiplineOverdue, ZhCn) => (
                "举报未按时确认",
                "{school}的一份举报（类别：{category}，紧急程度：{urgency}）超时仍未确认，已上报区教育局。",
            ),
            (Template::TiplineOverdue, En) => (
                "Report not acknowledged in time",
                "A report at {school} (category: {category}, urgency: {urgency}) is still unacknowledged past its deadline and was escalated to the district.",
            ),
            (Template::TiplineReporterMessage, ZhCn) => (
                "举报人发来新消息",
                "{school}的一份举报有举报人的新消息，请在举报信箱中查看。",
            ),
            (Template::TiplineReporterMessage, En) => (
                "New message from a reporter",
                "A reporter added a message to a report at {school}. Open the mailbox to read it.",
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
