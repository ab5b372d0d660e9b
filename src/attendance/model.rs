//! Attendance rows, as stored.

use super::dto::Absence;
use crate::clock::to_utc;
use crate::dates::LocalDate;
use crate::db::schema::{absences, roll_calls};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = absences)]
pub struct AbsenceRow {
    pub id: String,
    pub student_id: String,
    pub local_date: LocalDate,
    pub period: i32,
    pub excused: bool,
    pub leave_id: Option<String>,
    pub explanation: Option<String>,
    pub explained_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl AbsenceRow {
    pub fn into_dto(self, student_name: String, show_explanation: bool) -> Absence {
        Absence {
            id: self.id,
            student_id: self.student_id,
            student_name,
            date: self.local_date.date(),
            period: self.period,
            excused: self.excused,
            leave_id: self.leave_id,
            explanation: self.explanation.filter(|_| show_explanation),
            explained_at: self.explained_at.map(to_utc),
            withdrawn: self.withdrawn_at.is_some(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = roll_calls)]
pub struct NewRollCallRow<'a> {
    pub id: &'a str,
    pub class_id: &'a str,
    pub school_id: &'a str,
    pub local_date: LocalDate,
    pub period: i32,
    pub taken_by: &'a str,
    pub taken_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = absences)]
pub struct NewAbsenceRow<'a> {
    pub id: &'a str,
    pub roll_call_id: &'a str,
    pub student_id: &'a str,
    pub school_id: &'a str,
    pub local_date: LocalDate,
    pub period: i32,
    pub excused: bool,
    pub leave_id: Option<&'a str>,
    pub created_at: NaiveDateTime,
}
