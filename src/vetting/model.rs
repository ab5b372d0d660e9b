//! Vetting's rows.

use crate::dates::LocalDate;
use crate::db::schema::{personnel, vetting_checks, vetting_commitments, vetting_trainings};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = personnel)]
pub struct PersonnelRow {
    pub id: String,
    pub district_id: String,
    pub school_id: String,
    pub user_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub employer: Option<String>,
    pub id_last4: Option<String>,
    pub id_hmac: Option<String>,
    pub starts_on: LocalDate,
    pub grace_pending: bool,
    pub grace_until: Option<NaiveDateTime>,
    pub access_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = vetting_checks)]
pub struct CheckRow {
    pub id: String,
    pub personnel_id: String,
    pub kind: String,
    pub checked_on: LocalDate,
    pub authority: String,
    pub reference: String,
    pub result: String,
    pub consent_ref: String,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = vetting_commitments)]
pub struct CommitmentRow {
    pub id: String,
    pub personnel_id: String,
    pub document_version: String,
    pub signed_on: LocalDate,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = vetting_trainings)]
pub struct TrainingRow {
    pub id: String,
    pub personnel_id: String,
    pub course: String,
    pub hours: i32,
    pub completed_on: LocalDate,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}
