//! Visits: the log of who came in through the gate, and when.

use crate::auth::{Caller, Role};
use crate::crypto::{hex, hmac_sha256};
use crate::db::schema::{cases, gate_closing_alerts, schools, users, visits};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::gate::model::VisitRow;
use crate::gate::rules::VisitStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A visit code's keyed hash: 8 digits are too few for a plain hash.
pub fn code_hash(key: &[u8], school_id: &str, code: &str) -> String {
    hex(&hmac_sha256(
        key,
        format!("safecampus/visit-code/v1\n{school_id}\n{code}").as_bytes(),
    ))
}

/// An ID number's keyed hash (the same key and form as vetting's records,
/// so a visitor's number matches a barred person's).
pub fn id_hmac(key: &[u8], number: &str) -> String {
    hex(&hmac_sha256(key, number.as_bytes()))
}

pub fn insert(conn: &mut AnyConnection, row: &VisitRow) -> AppResult<()> {
    diesel::insert_into(visits::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Whether a code is held by another visit of the school still expected.
pub fn code_taken(conn: &mut AnyConnection, school_id: &str, hash: &str) -> AppResult<bool> {
    let n: i64 = visits::table
        .filter(visits::school_id.eq(school_id))
        .filter(visits::code_hash.eq(hash))
        .filter(visits::status.eq(VisitStatus::Expected.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The latest visit of the school a code was given for.
pub fn by_code(
    conn: &mut AnyConnection,
    school_id: &str,
    hash: &str,
) -> AppResult<Option<VisitRow>> {
    Ok(visits::table
        .filter(visits::school_id.eq(school_id))
        .filter(visits::code_hash.eq(hash))
        .select(VisitRow::as_select())
        .order(visits::id.desc())
        .first(conn)
        .optional()?)
}

/// A visit the caller may act on: its host's; any of their school's for the
/// school admin and the guard.
pub fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Option<VisitRow>> {
    let mut q = visits::table
        .filter(visits::id.eq(id))
        .select(VisitRow::as_select())
        .into_boxed();
    q = match caller.role {
        Role::SchoolAdmin | Role::Guard => {
            q.filter(visits::school_id.eq(caller.school_id.clone().unwrap_or_default()))
        }
        _ => q.filter(visits::host_user_id.eq(caller.user_id.clone())),
    };
    Ok(q.first(conn).optional()?)
}

/// A visit the caller may decide: its host's; any of their school's for the
/// school admin.
pub fn decidable(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<VisitRow>> {
    let mine = visits::host_user_id.eq(caller.user_id.clone());
    let q = visits::table
        .filter(visits::id.eq(id))
        .select(VisitRow::as_select());
    let row = if caller.role == Role::SchoolAdmin {
        q.filter(mine.or(visits::school_id.eq(caller.school_id.clone().unwrap_or_default())))
            .first(conn)
            .optional()?
    } else {
        q.filter(mine).first(conn).optional()?
    };
    Ok(row)
}

/// Moves a visit from one state to another; false when it was no longer in `from`.
pub fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: VisitStatus,
    to: VisitStatus,
) -> AppResult<bool> {
    let n = diesel::update(
        visits::table
            .filter(visits::id.eq(id))
            .filter(visits::status.eq(from.as_str())),
    )
    .set(visits::status.eq(to.as_str()))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn mark_decided(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(visits::table.find(id))
        .set((visits::decided_by.eq(by), visits::decided_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn mark_in(conn: &mut AnyConnection, id: &str, by: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(visits::table.find(id))
        .set((visits::checked_in_at.eq(now), visits::checked_in_by.eq(by)))
        .execute(conn)?;
    Ok(())
}

pub fn mark_out(conn: &mut AnyConnection, id: &str, by: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(visits::table.find(id))
        .set((
            visits::checked_out_at.eq(now),
            visits::checked_out_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut AnyConnection, id: &str) -> AppResult<VisitRow> {
    Ok(visits::table
        .find(id)
        .select(VisitRow::as_select())
        .first(conn)?)
}

/// A page of a school's log: visits whose window meets `[from, until)` or
/// that are still inside; with `on_site`, only those inside.
pub fn day_log(
    conn: &mut AnyConnection,
    school_id: &str,
    (from, until): (NaiveDateTime, NaiveDateTime),
    on_site: bool,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<VisitRow>> {
    let inside = visits::status.eq(VisitStatus::OnSite.as_str());
    let mut q = visits::table
        .filter(visits::school_id.eq(school_id))
        .select(VisitRow::as_select())
        .order(visits::id)
        .limit(limit + 1)
        .into_boxed();
    q = if on_site {
        q.filter(inside)
    } else {
        q.filter(
            visits::window_from
                .lt(until)
                .and(visits::window_until.ge(from))
                .or(inside),
        )
    };
    if let Some(c) = cursor {
        q = q.filter(visits::id.gt(c));
    }
    Ok(q.load(conn)?)
}

/// A user of the school who may host a visitor (school staff, enabled).
pub fn is_school_staff(
    conn: &mut AnyConnection,
    school_id: &str,
    user_id: &str,
) -> AppResult<bool> {
    let role: Option<String> = users::table
        .filter(users::id.eq(user_id))
        .filter(users::school_id.eq(school_id))
        .filter(users::disabled.eq(false))
        .select(users::role)
        .first(conn)
        .optional()?;
    Ok(role
        .and_then(|r| Role::parse(&r))
        .is_some_and(Role::is_school_staff))
}

/// The school's district, name and time zone.
pub fn school(conn: &mut AnyConnection, id: &str) -> AppResult<(String, String, String)> {
    Ok(schools::table
        .find(id)
        .select((schools::district_id, schools::name, schools::timezone))
        .first(conn)?)
}

/// The school's guards, to tell about the gate.
pub fn guards(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::school_id.eq(school_id))
        .filter(users::role.eq(Role::Guard.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Visitors still inside past their window and its grace, not yet alerted.
pub fn overstaying(conn: &mut AnyConnection, before: NaiveDateTime) -> AppResult<Vec<VisitRow>> {
    Ok(visits::table
        .filter(visits::status.eq(VisitStatus::OnSite.as_str()))
        .filter(visits::window_until.lt(before))
        .filter(visits::overstay_alerted_at.is_null())
        .select(VisitRow::as_select())
        .order(visits::id)
        .limit(500)
        .load(conn)?)
}

/// Marks an overstay alerted; false when another instance already did.
pub fn mark_overstay_alerted(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        visits::table
            .filter(visits::id.eq(id))
            .filter(visits::overstay_alerted_at.is_null()),
    )
    .set(visits::overstay_alerted_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Every school, with its time zone and closing time: the closing job's round.
pub fn schools_closing(
    conn: &mut AnyConnection,
) -> AppResult<Vec<(String, String, String, String)>> {
    Ok(schools::table
        .select((
            schools::id,
            schools::name,
            schools::timezone,
            schools::closing_time,
        ))
        .order(schools::id)
        .load(conn)?)
}

/// Marks the school's closing list of a date sent; false when it was.
pub fn mark_closing_sent(
    conn: &mut AnyConnection,
    school_id: &str,
    date: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let done: i64 = gate_closing_alerts::table
        .filter(gate_closing_alerts::school_id.eq(school_id))
        .filter(gate_closing_alerts::local_date.eq(date))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(false);
    }
    diesel::insert_into(gate_closing_alerts::table)
        .values((
            gate_closing_alerts::school_id.eq(school_id),
            gate_closing_alerts::local_date.eq(date),
            gate_closing_alerts::sent_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Who is inside a school now.
pub fn on_site(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<VisitRow>> {
    Ok(visits::table
        .filter(visits::school_id.eq(school_id))
        .filter(visits::status.eq(VisitStatus::OnSite.as_str()))
        .select(VisitRow::as_select())
        .order(visits::id)
        .load(conn)?)
}

/// Deletes visits whose window ended before `before`, none a case refers to
/// and nobody still inside; how many.
pub fn purge_before(conn: &mut AnyConnection, before: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::delete(
        visits::table
            .filter(visits::window_until.lt(before))
            .filter(visits::case_id.is_null())
            .filter(visits::status.ne(VisitStatus::OnSite.as_str())),
    )
    .execute(conn)?)
}

/// Whether a case of the school exists (a visit is linked only to its own school's case).
pub fn case_of_school(conn: &mut AnyConnection, case_id: &str, school_id: &str) -> AppResult<bool> {
    let n: i64 = cases::table
        .filter(cases::id.eq(case_id))
        .filter(cases::school_id.eq(school_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn link_case(conn: &mut AnyConnection, id: &str, case_id: &str) -> AppResult<()> {
    diesel::update(visits::table.find(id))
        .set(visits::case_id.eq(case_id))
        .execute(conn)?;
    Ok(())
}

/// A visit of the school admin's school, or of the bureau's district.
pub fn in_district_scope(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<VisitRow>> {
    let mut q = visits::table
        .inner_join(schools::table)
        .filter(visits::id.eq(id))
        .filter(schools::district_id.eq(caller.district_id.clone()))
        .select(VisitRow::as_select())
        .into_boxed();
    if !caller.role.is_district() {
        q = q.filter(visits::school_id.eq(caller.school_id.clone().unwrap_or_default()));
    }
    Ok(q.first(conn).optional()?)
}
