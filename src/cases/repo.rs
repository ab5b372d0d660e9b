//! Every statement of cases. No rules, no notifications, no audit.

use super::model::{CaseRow, EntryRow, MeasureRow, PoliceReportRow, SupportRow};
use crate::auth::{Caller, Role};
use crate::db::schema::{
    case_alerts, case_entries, case_handlers, case_measures, case_police_reports, case_students,
    case_support, cases, personnel, schools, students, users,
};
use crate::db::{AnyConnection, MultiBackend};
use crate::error::AppResult;
use crate::org::leads;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

/// A school of the district: its name.
pub fn school_name(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
) -> AppResult<Option<String>> {
    Ok(schools::table
        .filter(schools::id.eq(school_id))
        .filter(schools::district_id.eq(district_id))
        .select(schools::name)
        .first(conn)
        .optional()?)
}

pub fn school_names(
    conn: &mut AnyConnection,
    ids: &[String],
) -> AppResult<HashMap<String, String>> {
    Ok(schools::table
        .filter(schools::id.eq_any(ids))
        .select((schools::id, schools::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The district's enabled bureau officers.
pub fn bureau(conn: &mut AnyConnection, district_id: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::district_id.eq(district_id))
        .filter(users::role.eq(Role::BureauOfficer.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

pub fn user_in_district(conn: &mut AnyConnection, district_id: &str, id: &str) -> AppResult<bool> {
    let n: i64 = users::table
        .filter(users::id.eq(id))
        .filter(users::district_id.eq(district_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A personnel record of the district: its account, if any.
pub fn personnel_in_district(
    conn: &mut AnyConnection,
    district_id: &str,
    id: &str,
) -> AppResult<Option<Option<String>>> {
    Ok(personnel::table
        .filter(personnel::id.eq(id))
        .filter(personnel::district_id.eq(district_id))
        .select(personnel::user_id)
        .first(conn)
        .optional()?)
}

/// How many of the district's case numbers start with `prefix`.
pub fn numbers_with(conn: &mut AnyConnection, district_id: &str, prefix: &str) -> AppResult<i64> {
    Ok(cases::table
        .filter(cases::district_id.eq(district_id))
        .filter(cases::number.like(format!("{prefix}%")))
        .count()
        .get_result(conn)?)
}

pub fn insert_case(
    conn: &mut AnyConnection,
    row: &CaseRow,
    pupils: &[String],
    handlers: &[String],
) -> AppResult<()> {
    diesel::insert_into(cases::table)
        .values(row.clone())
        .execute(conn)?;
    for s in pupils {
        diesel::insert_into(case_students::table)
            .values((
                case_students::case_id.eq(&row.id),
                case_students::student_id.eq(s),
            ))
            .execute(conn)?;
    }
    for u in handlers {
        diesel::insert_into(case_handlers::table)
            .values((
                case_handlers::case_id.eq(&row.id),
                case_handlers::user_id.eq(u),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The cases the caller may see: of their district, never a case where
/// they are the suspect, and for anyone but the bureau only as a handler.
/// The cases the caller sees: the bureau every case of its district; anyone
/// else the cases they handle (named on the case, or a designated handler
/// of its school); never one that suspects them.
fn in_scope(
    conn: &mut AnyConnection,
    caller: &Caller,
) -> AppResult<cases::BoxedQuery<'static, MultiBackend>> {
    let q = cases::table
        .into_boxed()
        .filter(cases::district_id.eq(caller.district_id.clone()))
        .filter(
            cases::suspect_user_id
                .is_null()
                .or(cases::suspect_user_id.ne(caller.user_id.clone())),
        );
    if caller.role == Role::BureauOfficer {
        return Ok(q);
    }
    let named = cases::id.eq_any(
        case_handlers::table
            .filter(case_handlers::user_id.eq(caller.user_id.clone()))
            .select(case_handlers::case_id),
    );
    Ok(match caller.school_id.clone() {
        Some(school) if leads::is_lead(conn, caller)? => {
            q.filter(named.or(cases::school_id.eq(school)))
        }
        _ => q.filter(named),
    })
}

pub fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Option<CaseRow>> {
    Ok(in_scope(conn, caller)?
        .filter(cases::id.eq(id.to_string()))
        .select(CaseRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every case the caller sees, newest first.
pub fn list(
    conn: &mut AnyConnection,
    caller: &Caller,
    status: Option<&str>,
) -> AppResult<Vec<CaseRow>> {
    let mut q = in_scope(conn, caller)?;
    if let Some(s) = status {
        q = q.filter(cases::status.eq(s.to_string()));
    }
    Ok(q.select(CaseRow::as_select())
        .order(cases::id.desc())
        .load(conn)?)
}

/// Whether the caller handles the case: named on it, or a designated
/// handler of its school. Never its suspect.
pub fn is_handler(conn: &mut AnyConnection, caller: &Caller, row: &CaseRow) -> AppResult<bool> {
    if row.suspect_user_id.as_deref() == Some(caller.user_id.as_str()) {
        return Ok(false);
    }
    let n: i64 = case_handlers::table
        .filter(case_handlers::case_id.eq(&row.id))
        .filter(case_handlers::user_id.eq(&caller.user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0 || leads::is_lead_of(conn, caller, &row.school_id)?)
}

/// A case's handlers: those named on it (who opened it, the pupils' head
/// teachers) and its school's designated handlers now; never its suspect.
pub fn handlers_of(conn: &mut AnyConnection, row: &CaseRow) -> AppResult<Vec<String>> {
    let mut all: Vec<String> = case_handlers::table
        .filter(case_handlers::case_id.eq(&row.id))
        .select(case_handlers::user_id)
        .load(conn)?;
    all.extend(leads::of_school(conn, &row.school_id)?);
    all.retain(|u| Some(u.as_str()) != row.suspect_user_id.as_deref());
    all.sort();
    all.dedup();
    Ok(all)
}

/// A case's pupils: (id, name, class).
pub fn pupils_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> AppResult<Vec<(String, String, String)>> {
    Ok(case_students::table
        .inner_join(students::table.on(students::id.eq(case_students::student_id)))
        .filter(case_students::case_id.eq(case_id))
        .select((students::id, students::name, students::class_id))
        .order(students::id)
        .load(conn)?)
}

pub fn entries_of(conn: &mut AnyConnection, case_id: &str) -> AppResult<Vec<EntryRow>> {
    Ok(case_entries::table
        .filter(case_entries::case_id.eq(case_id))
        .select(EntryRow::as_select())
        .order(case_entries::seq)
        .load(conn)?)
}

pub fn police_reports_of(
    conn: &mut AnyConnection,
    case_id: &str,
) -> AppResult<Vec<PoliceReportRow>> {
    Ok(case_police_reports::table
        .filter(case_police_reports::case_id.eq(case_id))
        .select(PoliceReportRow::as_select())
        .order(case_police_reports::id)
        .load(conn)?)
}

pub fn support_of(conn: &mut AnyConnection, case_id: &str) -> AppResult<Vec<SupportRow>> {
    Ok(case_support::table
        .filter(case_support::case_id.eq(case_id))
        .select(SupportRow::as_select())
        .order(case_support::id)
        .load(conn)?)
}

pub fn measures_of(conn: &mut AnyConnection, case_id: &str) -> AppResult<Vec<MeasureRow>> {
    Ok(case_measures::table
        .filter(case_measures::case_id.eq(case_id))
        .select(MeasureRow::as_select())
        .order(case_measures::id)
        .load(conn)?)
}

/// Whether an entry belongs to the case.
pub fn entry_of(conn: &mut AnyConnection, case_id: &str, id: &str) -> AppResult<bool> {
    let n: i64 = case_entries::table
        .filter(case_entries::case_id.eq(case_id))
        .filter(case_entries::id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The next place in a case's history.
pub fn next_seq(conn: &mut AnyConnection, case_id: &str) -> AppResult<i32> {
    let last: Option<i32> = case_entries::table
        .filter(case_entries::case_id.eq(case_id))
        .select(diesel::dsl::max(case_entries::seq))
        .first(conn)?;
    Ok(last.unwrap_or(0) + 1)
}

pub fn insert_entry(conn: &mut AnyConnection, row: &EntryRow) -> AppResult<()> {
    diesel::insert_into(case_entries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_police_report(conn: &mut AnyConnection, row: &PoliceReportRow) -> AppResult<()> {
    diesel::insert_into(case_police_reports::table)
        .values(row)
        .execute(conn)?;
    diesel::update(cases::table.find(&row.case_id))
        .filter(cases::police_reported_at.is_null())
        .set(cases::police_reported_at.eq(row.reported_at))
        .execute(conn)?;
    Ok(())
}

pub fn insert_support(conn: &mut AnyConnection, row: &SupportRow) -> AppResult<()> {
    diesel::insert_into(case_support::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_measure(conn: &mut AnyConnection, row: &MeasureRow) -> AppResult<()> {
    diesel::insert_into(case_measures::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn set_acknowledged(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(cases::table.find(id))
        .set((cases::acknowledged_at.eq(at), cases::acknowledged_by.eq(by)))
        .execute(conn)?;
    Ok(())
}

pub fn set_closing(
    conn: &mut AnyConnection,
    id: &str,
    outcome: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(cases::table.find(id))
        .set((
            cases::status.eq(super::dto::CaseStatus::Closing.as_str()),
            cases::outcome.eq(outcome),
            cases::close_proposed_by.eq(by),
            cases::close_proposed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_closed(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(cases::table.find(id))
        .set((
            cases::status.eq(super::dto::CaseStatus::Closed.as_str()),
            cases::closed_by.eq(by),
            cases::closed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Open cases of a mandatory category with no police report on record.
pub fn awaiting_police(conn: &mut AnyConnection) -> AppResult<Vec<CaseRow>> {
    Ok(cases::table
        .filter(cases::mandatory.eq(true))
        .filter(cases::police_reported_at.is_null())
        .filter(cases::status.ne(super::dto::CaseStatus::Closed.as_str()))
        .select(CaseRow::as_select())
        .order(cases::id)
        .load(conn)?)
}

/// Cases the bureau has not acknowledged by their deadline.
pub fn awaiting_acknowledgement(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
) -> AppResult<Vec<CaseRow>> {
    Ok(cases::table
        .filter(cases::acknowledged_at.is_null())
        .filter(cases::ack_due_at.le(now))
        .filter(cases::status.ne(super::dto::CaseStatus::Closed.as_str()))
        .select(CaseRow::as_select())
        .order(cases::id)
        .load(conn)?)
}

/// Records a timer alert once: false when it was already sent.
pub fn mark_alert(
    conn: &mut AnyConnection,
    case_id: &str,
    kind: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let done: i64 = case_alerts::table
        .filter(case_alerts::case_id.eq(case_id))
        .filter(case_alerts::kind.eq(kind))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(false);
    }
    diesel::insert_into(case_alerts::table)
        .values((
            case_alerts::case_id.eq(case_id),
            case_alerts::kind.eq(kind),
            case_alerts::sent_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// (school, category, status) of every case of the district.
pub fn district_cells(
    conn: &mut AnyConnection,
    district_id: &str,
) -> AppResult<Vec<(String, String, String)>> {
    Ok(cases::table
        .filter(cases::district_id.eq(district_id))
        .select((cases::school_id, cases::category, cases::status))
        .load(conn)?)
}

/// A pupil's school and its district.
pub fn pupil_school(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Option<(String, String)>> {
    Ok(students::table
        .inner_join(schools::table.on(schools::id.eq(students::school_id)))
        .filter(students::id.eq(student_id))
        .select((students::school_id, schools::district_id))
        .first(conn)
        .optional()?)
}

/// Whether the user is the suspect of a case about the pupil.
pub fn suspected_about(
    conn: &mut AnyConnection,
    user_id: &str,
    student_id: &str,
) -> AppResult<bool> {
    let n: i64 = cases::table
        .inner_join(case_students::table)
        .filter(case_students::student_id.eq(student_id))
        .filter(cases::suspect_user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The cases about a pupil that the caller sees, oldest first.
pub fn cases_of_pupil(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
) -> AppResult<Vec<CaseRow>> {
    Ok(in_scope(conn, caller)?
        .filter(
            cases::id.eq_any(
                case_students::table
                    .filter(case_students::student_id.eq(student_id.to_string()))
                    .select(case_students::case_id),
            ),
        )
        .select(CaseRow::as_select())
        .order(cases::id.asc())
        .load(conn)?)
}
