//! Cases' rows.

use crate::dates::LocalDate;
use crate::db::schema::{case_entries, case_measures, case_police_reports, case_support, cases};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: String,
    pub district_id: String,
    pub school_id: String,
    pub number: String,
    pub category: String,
    pub mandatory: bool,
    pub status: String,
    pub source_kind: String,
    pub source_ref: Option<String>,
    pub summary: String,
    pub suspect_kind: String,
    pub suspect_user_id: Option<String>,
    pub suspect_personnel_id: Option<String>,
    pub opened_by: String,
    pub opened_at: NaiveDateTime,
    pub police_due_at: Option<NaiveDateTime>,
    pub police_reported_at: Option<NaiveDateTime>,
    pub ack_due_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
    pub outcome: Option<String>,
    pub close_proposed_by: Option<String>,
    pub close_proposed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = case_entries)]
pub struct EntryRow {
    pub id: String,
    pub case_id: String,
    pub seq: i32,
    pub kind: String,
    pub author_id: Option<String>,
    pub body: String,
    pub corrects: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = case_police_reports)]
pub struct PoliceReportRow {
    pub id: String,
    pub case_id: String,
    pub reported_at: NaiveDateTime,
    pub station: String,
    pub reference: String,
    pub channel: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = case_support)]
pub struct SupportRow {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub partner: Option<String>,
    pub given_on: LocalDate,
    pub note: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = case_measures)]
pub struct MeasureRow {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub target: Option<String>,
    pub note: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}
