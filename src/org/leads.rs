//! A school's designated safeguarding handlers: its admins (the principal)
//! and the counsellors the principal names. They are alerted of every
//! concern, triage it, handle every case of the school and read a pupil's
//! chronology. A counsellor the principal has not named is staff like any
//! other: they see their own concerns and the cases they opened.
//!
//! Naming is a place with pupils, so it needs the counsellor's vetting; an
//! account that is disabled or offboarded stops being a handler at once.

use super::dto::SafeguardingLead;
use super::repo;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::schema::{safeguarding_leads, users};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::vetting;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The school's handlers now: its enabled admins and named counsellors.
pub fn of_school(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<String>> {
    let named = safeguarding_leads::table
        .filter(safeguarding_leads::school_id.eq(school_id.to_string()))
        .select(safeguarding_leads::user_id);
    Ok(users::table
        .filter(users::school_id.eq(school_id))
        .filter(users::disabled.eq(false))
        .filter(
            users::role.eq(Role::SchoolAdmin.as_str()).or(users::role
                .eq(Role::Counselor.as_str())
                .and(users::id.eq_any(named))),
        )
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Whether the caller is one of the handlers of this school: its admin, or
/// a counsellor of it the principal named.
pub fn is_lead_of(conn: &mut AnyConnection, caller: &Caller, school_id: &str) -> AppResult<bool> {
    if caller.school_id.as_deref() != Some(school_id) {
        return Ok(false);
    }
    match caller.role {
        Role::SchoolAdmin => Ok(true),
        Role::Counselor => is_named(conn, school_id, &caller.user_id),
        _ => Ok(false),
    }
}

/// Whether the caller is a handler of their own school.
pub fn is_lead(conn: &mut AnyConnection, caller: &Caller) -> AppResult<bool> {
    match caller.school_id.clone() {
        Some(school) => is_lead_of(conn, caller, &school),
        None => Ok(false),
    }
}

fn is_named(conn: &mut AnyConnection, school_id: &str, user_id: &str) -> AppResult<bool> {
    let n: i64 = safeguarding_leads::table
        .filter(safeguarding_leads::school_id.eq(school_id))
        .filter(safeguarding_leads::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The school's handlers with their names, for its staff and the district.
pub fn list(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
) -> AppResult<Vec<SafeguardingLead>> {
    let school = repo::school(conn, caller, school_id)?;
    let ids = of_school(conn, &school.id)?;
    let rows: Vec<(String, String, String, Option<NaiveDateTime>)> = users::table
        .left_join(
            safeguarding_leads::table.on(safeguarding_leads::user_id
                .eq(users::id)
                .and(safeguarding_leads::school_id.eq(school.id.clone()))),
        )
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::display_name,
            users::role,
            safeguarding_leads::named_at.nullable(),
        ))
        .order(users::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, display_name, role, named_at)| SafeguardingLead {
            user_id,
            display_name,
            role,
            named_at: named_at.map(to_utc),
        })
        .collect())
}

fn not_a_counsellor() -> ApiError {
    ApiError::invalid(
        "user_id",
        "only a counsellor of this school can be named a safeguarding handler",
    )
}

/// The principal names a counsellor of the school. Naming twice is no
/// change. Audited.
pub fn name(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    user_id: &str,
) -> AppResult<Vec<SafeguardingLead>> {
    let school = repo::school(conn, caller, school_id)?;
    let counsellor: Option<(String, bool)> = users::table
        .filter(users::id.eq(user_id))
        .filter(users::school_id.eq(&school.id))
        .filter(users::role.eq(Role::Counselor.as_str()))
        .select((users::id, users::disabled))
        .first(conn)
        .optional()?;
    match counsellor {
        None | Some((_, true)) => return Err(not_a_counsellor()),
        Some(_) => {}
    }
    vetting::require_cleared(conn, user_id, now, "user_id")?;
    if !is_named(conn, &school.id, user_id)? {
        insert(conn, now, &school.id, user_id, Some(&caller.user_id))?;
        audit::record(
            conn,
            now,
            AuditEvent::by(caller, "safeguarding_lead.named", "user", Some(user_id))
                .in_school(Some(&school.id)),
        )?;
    }
    list(conn, caller, &school.id)
}

/// The principal withdraws a counsellor's designation: from now on they
/// see only their own concerns and the cases they opened. 404 if they were
/// not named. Audited.
pub fn withdraw(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    user_id: &str,
) -> AppResult<()> {
    let school = repo::school(conn, caller, school_id)?;
    let n = diesel::delete(
        safeguarding_leads::table
            .filter(safeguarding_leads::school_id.eq(&school.id))
            .filter(safeguarding_leads::user_id.eq(user_id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::not_found(
            "this counsellor is not a named handler",
        ));
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "safeguarding_lead.withdrawn", "user", Some(user_id))
            .in_school(Some(&school.id)),
    )
}

/// Writes a designation; `named_by` is none when the system names (the
/// demo). Checks nothing: `name` is the principal's way.
pub fn insert(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    school_id: &str,
    user_id: &str,
    named_by: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(safeguarding_leads::table)
        .values((
            safeguarding_leads::school_id.eq(school_id),
            safeguarding_leads::user_id.eq(user_id),
            safeguarding_leads::named_by.eq(named_by),
            safeguarding_leads::named_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A departing counsellor stops being a handler of any school.
pub fn release(conn: &mut AnyConnection, user_id: &str) -> AppResult<usize> {
    Ok(
        diesel::delete(safeguarding_leads::table.filter(safeguarding_leads::user_id.eq(user_id)))
            .execute(conn)?,
    )
}
