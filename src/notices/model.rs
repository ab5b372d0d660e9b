//! Notices' rows, as the repo reads them: the feed, notices and their
//! receipts, preferences.

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::QueryableByName;

/// A feed item: the notification, its read and acknowledgement marks, and
/// the notice's own title and body when it is one.
pub type FeedRow = (
    (String, String, String, String, NaiveDateTime),
    (
        Option<NaiveDateTime>,
        Option<String>,
        bool,
        Option<NaiveDateTime>,
    ),
    (Option<String>, Option<String>),
);

pub type NoticeRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<NaiveDateTime>,
    i32,
    NaiveDateTime,
);

/// A new notice, as it is stored.
pub struct NoticeInsert<'a> {
    pub id: &'a str,
    pub district_id: &'a str,
    pub school_id: Option<&'a str>,
    pub sender_id: &'a str,
    pub audience: &'a str,
    pub to_whom: &'a str,
    pub category: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub requires_ack: bool,
    pub ack_due_at: Option<NaiveDateTime>,
    pub recipient_count: i32,
    pub created_at: NaiveDateTime,
}

/// The audience, checked against what the sender may reach.
pub enum Resolved {
    Schools(Vec<String>),
    Grades(Vec<i32>),
    Classes(Vec<String>),
    Students(Vec<String>),
}

/// (user, student, class, school) for every guardian or student account reached.
pub type Reach = (String, String, String, String);

#[derive(QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = BigInt)]
    pub read: i64,
    #[diesel(sql_type = BigInt)]
    pub acked: i64,
}

#[derive(QueryableByName)]
pub struct ClassRow {
    #[diesel(sql_type = Text)]
    pub class_id: String,
    #[diesel(sql_type = Text)]
    pub class_name: String,
    #[diesel(sql_type = Integer)]
    pub grade: i32,
    #[diesel(sql_type = BigInt)]
    pub students: i64,
    #[diesel(sql_type = BigInt)]
    pub read: i64,
    #[diesel(sql_type = BigInt)]
    pub acked: i64,
}

#[derive(QueryableByName)]
pub struct PendingRow {
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Text)]
    pub user_name: String,
    #[diesel(sql_type = Text)]
    pub student_id: String,
    #[diesel(sql_type = Text)]
    pub student_name: String,
    #[diesel(sql_type = Text)]
    pub class_id: String,
    #[diesel(sql_type = Text)]
    pub class_name: String,
}

#[derive(QueryableByName)]
pub struct Acked {
    #[diesel(sql_type = Text)]
    pub student_id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
}

/// A category's delivery switches: (category, in_app, email, push, sms).
pub type PreferenceRow = (String, bool, bool, bool, bool);

pub type OutboxRow = (
    (String, String, String, String, String, String),
    (
        i32,
        Option<String>,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ),
);
