//! Every statement of transfers. No rules, no audit.

use crate::auth::{Caller, Role};
use crate::db::schema::{classes, schools, student_transfers as t, students};
use crate::db::{AnyConnection, MultiBackend};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = t)]
pub struct TransferRow {
    pub id: String,
    pub district_id: String,
    pub student_id: String,
    pub from_school_id: String,
    pub to_school_id: String,
    pub to_class_id: String,
    pub status: String,
    pub requested_by: String,
    pub requested_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub new_student_id: Option<String>,
}

pub fn insert(conn: &mut AnyConnection, r: &TransferRow) -> AppResult<()> {
    diesel::insert_into(t::table)
        .values((
            t::id.eq(&r.id),
            t::district_id.eq(&r.district_id),
            t::student_id.eq(&r.student_id),
            t::from_school_id.eq(&r.from_school_id),
            t::to_school_id.eq(&r.to_school_id),
            t::to_class_id.eq(&r.to_class_id),
            t::status.eq(&r.status),
            t::requested_by.eq(&r.requested_by),
            t::requested_at.eq(r.requested_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn decide(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    by: &str,
    at: NaiveDateTime,
    new_student_id: Option<&str>,
) -> AppResult<()> {
    diesel::update(t::table.find(id))
        .set((
            t::status.eq(status),
            t::decided_by.eq(by),
            t::decided_at.eq(at),
            t::new_student_id.eq(new_student_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Transfers the caller sees: the bureau its district's, a school admin
/// those leaving or coming to their school.
fn in_scope(caller: &Caller) -> t::BoxedQuery<'static, MultiBackend> {
    let q = t::table
        .into_boxed()
        .filter(t::district_id.eq(caller.district_id.clone()));
    if caller.role == Role::BureauOfficer {
        return q;
    }
    let school = caller.school_id.clone().unwrap_or_default();
    q.filter(
        t::from_school_id
            .eq(school.clone())
            .or(t::to_school_id.eq(school)),
    )
}

pub fn visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<TransferRow>> {
    Ok(in_scope(caller)
        .filter(t::id.eq(id.to_string()))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<TransferRow>> {
    Ok(in_scope(caller)
        .select(TransferRow::as_select())
        .order(t::id.desc())
        .limit(200)
        .load(conn)?)
}

pub fn pending_for(conn: &mut AnyConnection, student_id: &str) -> AppResult<bool> {
    let n: i64 = t::table
        .filter(t::student_id.eq(student_id))
        .filter(t::status.eq("pending"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A school of the district: its kind.
pub fn school_kind(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
) -> AppResult<Option<String>> {
    Ok(schools::table
        .filter(schools::id.eq(school_id))
        .filter(schools::district_id.eq(district_id))
        .select(schools::kind)
        .first(conn)
        .optional()?)
}

/// A class of the school: its grade.
pub fn class_grade(
    conn: &mut AnyConnection,
    school_id: &str,
    class_id: &str,
) -> AppResult<Option<i32>> {
    Ok(classes::table
        .filter(classes::id.eq(class_id))
        .filter(classes::school_id.eq(school_id))
        .select(classes::grade)
        .first(conn)
        .optional()?)
}

/// Names of pupils by id.
pub fn names(conn: &mut AnyConnection, ids: Vec<String>) -> AppResult<Vec<(String, String)>> {
    Ok(students::table
        .filter(students::id.eq_any(ids))
        .select((students::id, students::name))
        .load(conn)?)
}
