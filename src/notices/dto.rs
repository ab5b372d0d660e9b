//! Request and response types of the feed, notices, receipts, coverage,
//! preferences and the outbox.

use crate::http::Text;
use crate::notify::Category;
use crate::org::dto::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct NotificationItem {
    pub id: String,
    pub category: Category,
    /// The template key, for apps that render their own texts.
    pub template: String,
    pub title: String,
    pub body: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    /// Set when the item is a notice.
    pub notice_id: Option<String>,
    pub requires_ack: bool,
    pub acked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct Feed {
    pub items: Vec<NotificationItem>,
    pub next_cursor: Option<String>,
    pub unread_count: i64,
}

/// At most this many ids or grades in an audience.
pub const MAX_AUDIENCE_ITEMS: usize = 500;

/// Who a notice is for: exactly one of the four.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_ids: Option<Vec<Id>>,
    /// Grades of the sender's school (a bureau officer: of every school of the district).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grades: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_ids: Option<Vec<Id>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_ids: Option<Vec<Id>>,
}

crate::text_enum!(
    pub enum NoticeTo {
        Guardians = "guardians",
        Students = "students",
        Both = "both",
    }
);

crate::text_enum!(
    #[derive(Default)]
    pub enum NoticeCategory {
        #[default]
        SafetyEducation = "safety_education",
        Meeting = "meeting",
        General = "general",
        Urgent = "urgent",
    }
);

impl NoticeCategory {
    pub fn category(self) -> Category {
        match self {
            NoticeCategory::SafetyEducation => Category::SafetyEducation,
            NoticeCategory::Meeting => Category::Meeting,
            NoticeCategory::General => Category::General,
            NoticeCategory::Urgent => Category::Urgent,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    pub audience: Audience,
    pub to: NoticeTo,
    pub category: NoticeCategory,
    pub title: Text<200>,
    pub body: Text<5000>,
    #[serde(default)]
    pub requires_ack: bool,
    /// Only with `requires_ack`; in the future.
    pub ack_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    pub id: String,
    pub school_id: Option<String>,
    pub sender_id: String,
    pub audience: Audience,
    pub to: NoticeTo,
    pub category: Category,
    pub title: String,
    pub body: String,
    pub requires_ack: bool,
    pub ack_due_at: Option<DateTime<Utc>>,
    /// Accounts the notice was sent to, resolved when it was sent.
    pub recipients: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct NoticePage {
    pub items: Vec<Notice>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClassReceipts {
    pub class_id: String,
    pub class_name: String,
    pub grade: i32,
    /// Students whose family (or who themself) received the notice.
    pub students: i64,
    /// Students for whom at least one recipient has read it.
    pub read: i64,
    /// Students for whom at least one recipient has acknowledged it.
    pub acknowledged: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PendingRecipient {
    pub user_id: String,
    pub user_name: String,
    pub student_id: String,
    pub student_name: String,
    pub class_id: String,
    pub class_name: String,
}

/// Counts are of accounts; `by_class` counts students.
#[derive(Serialize, ToSchema)]
pub struct Receipts {
    pub notice_id: String,
    pub recipients: i64,
    /// Delivered by email, push or SMS, or seen in the app.
    pub delivered: i64,
    pub read: i64,
    pub acknowledged: i64,
    pub by_class: Vec<ClassReceipts>,
    /// Who has not yet acknowledged (or read, when no acknowledgement is
    /// asked), by recipient and student; at most 1000 rows.
    pub pending: Vec<PendingRecipient>,
    pub pending_truncated: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// Default `safety_education`.
    pub category: Option<NoticeCategory>,
    /// Notices sent from this time on.
    pub from: DateTime<Utc>,
    /// Notices sent before this time.
    pub to: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct CoverageFigures {
    pub students: i64,
    /// Students who acknowledged at least one notice of the category, on their own account.
    pub students_acknowledged: i64,
    pub student_share: f64,
    /// Students with at least one guardian: one family each.
    pub families: i64,
    /// Families where at least one guardian acknowledged.
    pub families_acknowledged: i64,
    pub family_share: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ClassCoverage {
    pub class_id: String,
    pub name: String,
    pub grade: i32,
    #[serde(flatten)]
    pub figures: CoverageFigures,
}

#[derive(Serialize, ToSchema)]
pub struct SchoolCoverage {
    pub school_id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: CoverageFigures,
    pub classes: Vec<ClassCoverage>,
}

#[derive(Serialize, ToSchema)]
pub struct Coverage {
    pub category: Category,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub schools: Vec<SchoolCoverage>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPreference {
    pub category: Category,
    /// Safety alerts (pickup, attendance, tip line, account, safety
    /// education, urgent) cannot be switched off in the app.
    pub in_app: bool,
    pub email: bool,
    pub push: bool,
    pub sms: bool,
}

/// Local times "HH:MM" in the school's time zone; start equal to end means none.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

#[derive(Serialize, ToSchema)]
pub struct Preferences {
    /// One entry per category.
    pub categories: Vec<CategoryPreference>,
    pub quiet_hours: QuietHours,
}

/// Categories left out keep their settings; `quiet_hours` left out keeps them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesUpdate {
    #[serde(default)]
    pub categories: Vec<CategoryPreference>,
    pub quiet_hours: Option<QuietHours>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// pending, sending, sent, dead or skipped; default dead.
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxItem {
    pub id: String,
    pub notification_id: String,
    pub user_id: String,
    pub channel: String,
    pub reason: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxItem>,
    pub next_cursor: Option<String>,
}
