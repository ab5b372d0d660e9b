//! The sending core's rows: the outbox and what it takes to render a delivery.

use chrono::NaiveDateTime;
use diesel::sql_types::Text;
use diesel::QueryableByName;

#[derive(QueryableByName)]
pub struct IdRow {
    #[diesel(sql_type = Text)]
    pub id: String,
}

/// A claimed delivery with what it takes to render it.
pub type RenderRow = (
    (String, String, String, bool, i32, String),
    (String, String, String, Option<String>),
    (Option<String>, Option<String>, String),
);

/// (title, body, category, requires_ack) of a notice, by id.
pub type NoticeText = (String, String, String, bool);

/// (id, category, school, due, sent)
pub type DueNotice = (
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

crate::text_enum!(
    /// Where an outbox row stands.
    pub enum DeliveryState {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Dead = "dead",
        Skipped = "skipped",
    }
);
