//! Every statement of vetting. No rules, no notifications, no audit.

use super::dto::{CheckKind, CheckResult};
use super::model::{CheckRow, CommitmentRow, PersonnelRow, TrainingRow};
use super::rules::Facts;
use crate::auth::{Caller, Role};
use crate::db::schema::{
    districts, personnel, schools, tip_mailbox_recipients, users, vetting_checks,
    vetting_commitments, vetting_reminders, vetting_trainings, watch_list,
};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

pub fn insert_personnel(conn: &mut AnyConnection, row: &PersonnelRow) -> AppResult<()> {
    diesel::insert_into(personnel::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// A school of the caller's district: (name, time zone).
pub fn school_in_district(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
) -> AppResult<Option<(String, String)>> {
    Ok(schools::table
        .filter(schools::id.eq(school_id))
        .filter(schools::district_id.eq(district_id))
        .select((schools::name, schools::timezone))
        .first(conn)
        .optional()?)
}

/// A school whose personnel the caller may see or register, with the same
/// scope as `in_scope`: (name, time zone).
pub fn school_in_scope(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
) -> AppResult<Option<(String, String)>> {
    let q = schools::table
        .filter(schools::id.eq(school_id.to_string()))
        .filter(schools::district_id.eq(caller.district_id.clone()))
        .into_boxed();
    let q = match (caller.role, caller.school_id.clone()) {
        (Role::BureauOfficer | Role::DistrictAdmin, _) => q,
        (Role::SchoolAdmin, Some(own)) => q.filter(schools::id.eq(own)),
        _ => q.filter(schools::id.is_null()),
    };
    Ok(q.select((schools::name, schools::timezone))
        .first(conn)
        .optional()?)
}

/// The personnel the caller may see: the bureau (and the district admin)
/// the whole district, a school admin their own school, nobody else any.
fn in_scope(caller: &Caller) -> personnel::BoxedQuery<'static, crate::db::MultiBackend> {
    let q = personnel::table.into_boxed();
    match (caller.role, caller.school_id.clone()) {
        (Role::BureauOfficer | Role::DistrictAdmin, _) => {
            q.filter(personnel::district_id.eq(caller.district_id.clone()))
        }
        (Role::SchoolAdmin, Some(school)) => q.filter(personnel::school_id.eq(school)),
        _ => q.filter(personnel::id.is_null()),
    }
}

pub fn visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<PersonnelRow>> {
    Ok(in_scope(caller)
        .filter(personnel::id.eq(id.to_string()))
        .select(PersonnelRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every record of a school the caller may see, by id.
pub fn of_school(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
) -> AppResult<Vec<PersonnelRow>> {
    Ok(in_scope(caller)
        .filter(personnel::school_id.eq(school_id.to_string()))
        .select(PersonnelRow::as_select())
        .order(personnel::id)
        .load(conn)?)
}

/// Every record the caller may see, by school then id.
pub fn all_in_scope(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<PersonnelRow>> {
    Ok(in_scope(caller)
        .select(PersonnelRow::as_select())
        .order((personnel::school_id, personnel::id))
        .load(conn)?)
}

pub fn of_user(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<PersonnelRow>> {
    Ok(personnel::table
        .filter(personnel::user_id.eq(user_id))
        .select(PersonnelRow::as_select())
        .first(conn)
        .optional()?)
}

/// The time zones of schools, by id.
pub fn timezones(conn: &mut AnyConnection, ids: &[String]) -> AppResult<HashMap<String, String>> {
    Ok(schools::table
        .filter(schools::id.eq_any(ids))
        .select((schools::id, schools::timezone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// What the rules need to know of each record.
pub fn facts(conn: &mut AnyConnection, rows: &[PersonnelRow]) -> AppResult<HashMap<String, Facts>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut districts_asking: HashMap<String, bool> = HashMap::new();
    for r in rows {
        if !districts_asking.contains_key(&r.district_id) {
            let asks = districts::table
                .find(&r.district_id)
                .select(districts::vetting_requires_commitment)
                .first(conn)?;
            districts_asking.insert(r.district_id.clone(), asks);
        }
    }
    let suspended: std::collections::HashSet<String> = personnel::table
        .filter(personnel::id.eq_any(&ids))
        .filter(personnel::suspended_at.is_not_null())
        .select(personnel::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut out: HashMap<String, Facts> = rows
        .iter()
        .map(|r| {
            let f = Facts {
                grace_until: r.grace_until,
                suspended: suspended.contains(&r.id),
                requires_commitment: districts_asking[&r.district_id],
                ..Facts::default()
            };
            (r.id.clone(), f)
        })
        .collect();
    let checks: Vec<(String, String, crate::dates::LocalDate, String)> = vetting_checks::table
        .filter(vetting_checks::personnel_id.eq_any(&ids))
        .select((
            vetting_checks::personnel_id,
            vetting_checks::kind,
            vetting_checks::checked_on,
            vetting_checks::result,
        ))
        .load(conn)?;
    for (pid, kind, on, result) in checks {
        let Some(f) = out.get_mut(&pid) else { continue };
        if result == CheckResult::Hit.as_str() {
            f.hit = true;
        } else if result == CheckResult::Clear.as_str()
            && kind == CheckKind::SexualOffenceRecord.as_str()
        {
            f.last_clear = f.last_clear.max(Some(on.date()));
        }
    }
    let signed: Vec<String> = vetting_commitments::table
        .filter(vetting_commitments::personnel_id.eq_any(&ids))
        .select(vetting_commitments::personnel_id)
        .load(conn)?;
    for pid in signed {
        if let Some(f) = out.get_mut(&pid) {
            f.has_commitment = true;
        }
    }
    let trained: Vec<String> = vetting_trainings::table
        .filter(vetting_trainings::personnel_id.eq_any(&ids))
        .select(vetting_trainings::personnel_id)
        .load(conn)?;
    for pid in trained {
        if let Some(f) = out.get_mut(&pid) {
            f.has_training = true;
        }
    }
    Ok(out)
}

pub fn set_access(
    conn: &mut AnyConnection,
    id: &str,
    until: Option<NaiveDateTime>,
) -> AppResult<()> {
    diesel::update(personnel::table.find(id))
        .set(personnel::access_until.eq(until))
        .execute(conn)?;
    Ok(())
}

pub fn insert_check(conn: &mut AnyConnection, row: &CheckRow) -> AppResult<()> {
    diesel::insert_into(vetting_checks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_commitment(conn: &mut AnyConnection, row: &CommitmentRow) -> AppResult<()> {
    diesel::insert_into(vetting_commitments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn insert_training(conn: &mut AnyConnection, row: &TrainingRow) -> AppResult<()> {
    diesel::insert_into(vetting_trainings::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A record's checks, commitments and trainings, oldest first.
pub fn history(
    conn: &mut AnyConnection,
    id: &str,
) -> AppResult<(Vec<CheckRow>, Vec<CommitmentRow>, Vec<TrainingRow>)> {
    let checks = vetting_checks::table
        .filter(vetting_checks::personnel_id.eq(id))
        .select(CheckRow::as_select())
        .order(vetting_checks::id)
        .load(conn)?;
    let commitments = vetting_commitments::table
        .filter(vetting_commitments::personnel_id.eq(id))
        .select(CommitmentRow::as_select())
        .order(vetting_commitments::id)
        .load(conn)?;
    let trainings = vetting_trainings::table
        .filter(vetting_trainings::personnel_id.eq(id))
        .select(TrainingRow::as_select())
        .order(vetting_trainings::id)
        .load(conn)?;
    Ok((checks, commitments, trainings))
}

/// Who hears of a school's vetting: its admins and the district's bureau
/// officers, enabled accounts only.
pub fn alert_recipients(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::disabled.eq(false))
        .filter(users::district_id.eq(district_id))
        .filter(
            users::role.eq(Role::BureauOfficer.as_str()).or(users::role
                .eq(Role::SchoolAdmin.as_str())
                .and(users::school_id.eq(school_id))),
        )
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Takes the user off every tip-line mailbox they receive for.
pub fn leave_mailboxes(conn: &mut AnyConnection, user_id: &str) -> AppResult<usize> {
    Ok(diesel::delete(
        tip_mailbox_recipients::table.filter(tip_mailbox_recipients::user_id.eq(user_id)),
    )
    .execute(conn)?)
}

pub fn add_to_watch_list(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    p: &PersonnelRow,
    reason: &str,
) -> AppResult<String> {
    let id = new_id(now);
    diesel::insert_into(watch_list::table)
        .values((
            watch_list::id.eq(&id),
            watch_list::district_id.eq(&p.district_id),
            watch_list::school_id.eq(Some(&p.school_id)),
            watch_list::personnel_id.eq(Some(&p.id)),
            watch_list::name.eq(&p.name),
            watch_list::id_last4.eq(&p.id_last4),
            watch_list::id_hmac.eq(&p.id_hmac),
            watch_list::reason.eq(reason),
            watch_list::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Records with access that ends before `horizon`: the reminder worker's
/// candidates.
pub fn access_ending_before(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    horizon: NaiveDateTime,
) -> AppResult<Vec<PersonnelRow>> {
    Ok(personnel::table
        .filter(personnel::access_until.gt(now))
        .filter(personnel::access_until.le(horizon))
        .select(PersonnelRow::as_select())
        .order(personnel::id)
        .load(conn)?)
}

/// Marks a reminder sent; false when it was sent already.
pub fn mark_reminded(
    conn: &mut AnyConnection,
    personnel_id: &str,
    valid_until: &str,
    days_before: i32,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let done: i64 = vetting_reminders::table
        .filter(vetting_reminders::personnel_id.eq(personnel_id))
        .filter(vetting_reminders::valid_until.eq(valid_until))
        .filter(vetting_reminders::days_before.le(days_before))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(false);
    }
    diesel::insert_into(vetting_reminders::table)
        .values((
            vetting_reminders::personnel_id.eq(personnel_id),
            vetting_reminders::valid_until.eq(valid_until),
            vetting_reminders::days_before.eq(days_before),
            vetting_reminders::sent_at.eq(now),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Accounts that existed before vetting start their grace period now.
pub fn start_grace(conn: &mut AnyConnection, until: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::update(personnel::table.filter(personnel::grace_pending.eq(true)))
            .set((
                personnel::grace_pending.eq(false),
                personnel::grace_until.eq(Some(until)),
                personnel::access_until.eq(Some(until)),
            ))
            .execute(conn)?,
    )
}

/// A record of the district, by id.
pub fn in_district(
    conn: &mut AnyConnection,
    district_id: &str,
    id: &str,
) -> AppResult<Option<PersonnelRow>> {
    Ok(personnel::table
        .filter(personnel::id.eq(id))
        .filter(personnel::district_id.eq(district_id))
        .select(PersonnelRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn set_suspended(
    conn: &mut AnyConnection,
    id: &str,
    at: Option<NaiveDateTime>,
) -> AppResult<()> {
    diesel::update(personnel::table.find(id))
        .set(personnel::suspended_at.eq(at))
        .execute(conn)?;
    Ok(())
}

pub fn is_suspended(conn: &mut AnyConnection, id: &str) -> AppResult<bool> {
    let n: i64 = personnel::table
        .filter(personnel::id.eq(id))
        .filter(personnel::suspended_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
