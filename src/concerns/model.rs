//! Rows of concerns' tables.

use crate::dates::LocalDate;
use crate::db::schema::concerns;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = concerns)]
pub struct ConcernRow {
    pub id: String,
    pub school_id: String,
    pub kind: String,
    /// The first pupil (an absence pattern's only one).
    pub student_id: String,
    pub window_start: Option<LocalDate>,
    pub window_end: Option<LocalDate>,
    pub absence_days: Option<i32>,
    pub category: Option<String>,
    pub author_id: Option<String>,
    pub what_happened: Option<String>,
    pub location: Option<String>,
    pub happened_at: Option<NaiveDateTime>,
    pub child_words: Option<String>,
    pub action_taken: Option<String>,
    pub status: String,
    pub triage_note: Option<String>,
    pub triaged_by: Option<String>,
    pub triaged_at: Option<NaiveDateTime>,
    pub case_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A pupil a concern is about, with the class they are in.
#[derive(Queryable, Clone)]
pub struct PupilRow {
    pub concern_id: String,
    pub id: String,
    pub name: String,
    pub class_id: String,
    pub head_teacher_id: Option<String>,
}
