//! Every statement about families' data requests.

use crate::db::schema::{data_requests, guardianships, students};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = data_requests)]
pub struct RequestRow {
    pub id: String,
    pub school_id: String,
    pub requester_id: String,
    pub student_id: Option<String>,
    pub kind: String,
    pub detail: String,
    pub status: String,
    pub due_on: String,
    pub alert_on: String,
    pub alerted_at: Option<NaiveDateTime>,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub export: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &RequestRow) -> AppResult<()> {
    diesel::insert_into(data_requests::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The school of a guardian's first child (by enrolment), for a request
/// about the guardian's own data.
pub fn first_school_of(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<String>> {
    Ok(guardianships::table
        .inner_join(students::table)
        .filter(guardianships::user_id.eq(user_id))
        .order(guardianships::created_at)
        .select(students::school_id)
        .first(conn)
        .optional()?)
}

/// A requester's own requests, newest first.
pub fn of_requester(conn: &mut AnyConnection, user_id: &str) -> AppResult<Vec<RequestRow>> {
    Ok(data_requests::table
        .filter(data_requests::requester_id.eq(user_id))
        .order(data_requests::id.desc())
        .limit(200)
        .select(RequestRow::as_select())
        .load(conn)?)
}

/// A school's requests, newest first, optionally of one status.
pub fn of_school(
    conn: &mut AnyConnection,
    school_id: &str,
    status: Option<&str>,
) -> AppResult<Vec<RequestRow>> {
    let mut q = data_requests::table
        .filter(data_requests::school_id.eq(school_id))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(data_requests::status.eq(s.to_string()));
    }
    Ok(q.order(data_requests::id.desc())
        .limit(200)
        .select(RequestRow::as_select())
        .load(conn)?)
}

pub fn one(conn: &mut AnyConnection, id: &str) -> AppResult<RequestRow> {
    data_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("data request"))
}

pub fn answer(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    reply: Option<&str>,
    by: &str,
    at: NaiveDateTime,
    export: Option<&str>,
) -> AppResult<()> {
    diesel::update(data_requests::table.find(id))
        .set((
            data_requests::status.eq(status),
            data_requests::answer.eq(reply),
            data_requests::answered_by.eq(by),
            data_requests::answered_at.eq(at),
            data_requests::export.eq(export),
        ))
        .execute(conn)?;
    Ok(())
}

/// Open requests whose alert day has come and that were not alerted yet.
pub fn due_for_alert(conn: &mut AnyConnection, today: &str) -> AppResult<Vec<RequestRow>> {
    Ok(data_requests::table
        .filter(data_requests::status.eq("open"))
        .filter(data_requests::alerted_at.is_null())
        .filter(data_requests::alert_on.le(today))
        .order(data_requests::id)
        .limit(500)
        .select(RequestRow::as_select())
        .load(conn)?)
}

pub fn mark_alerted(conn: &mut AnyConnection, id: &str, at: NaiveDateTime) -> AppResult<()> {
    diesel::update(data_requests::table.find(id))
        .set(data_requests::alerted_at.eq(at))
        .execute(conn)?;
    Ok(())
}
