//! Vetting's use cases: who may record what about which person, the actions
//! a hit calls for (`records`), the views with their status, and the
//! reminders and summary (`oversight`). The
//! rules themselves are pure functions in `rules`; statements are in `repo`.

mod oversight;
mod records;

pub use oversight::{run_reminder_worker, start_grace, summary};
pub use records::{record_check, record_commitment, record_complete, record_training};

use super::dto::*;
use super::model::PersonnelRow;
use super::repo;
use super::rules::{self, Facts};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, to_utc};
use crate::config::VettingSettings;
use crate::crypto::{hex, hmac_sha256};
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::http::Page;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("no such personnel record")
}

/// The school's date now.
pub(super) fn today(now: DateTime<Utc>, timezone: &str) -> NaiveDate {
    school_local(now, timezone).date()
}

fn vetting_of(f: &Facts, months: u32, timezone: &str, now: DateTime<Utc>) -> Vetting {
    let (status, valid_until) = rules::status(f, months, today(now, timezone), now.naive_utc());
    let access = rules::access_until(f, months, timezone).is_some_and(|t| t > now.naive_utc());
    Vetting {
        status,
        valid_until,
        access_to_pupils: access,
    }
}

/// Records as the API shows them, each with its status.
pub(super) fn views(
    conn: &mut AnyConnection,
    rows: Vec<PersonnelRow>,
    months: u32,
    now: DateTime<Utc>,
) -> AppResult<Vec<Personnel>> {
    let facts = repo::facts(conn, &rows)?;
    let schools: Vec<String> = rows.iter().map(|r| r.school_id.clone()).collect();
    let zones = repo::timezones(conn, &schools)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let tz = zones.get(&r.school_id).map(String::as_str).unwrap_or("");
            let vetting = vetting_of(&facts[&r.id], months, tz, now);
            Personnel {
                kind: PersonnelKind::parse(&r.kind).unwrap_or(PersonnelKind::Temporary),
                starts_on: r.starts_on.date(),
                created_at: to_utc(r.created_at),
                vetting,
                id: r.id,
                school_id: r.school_id,
                user_id: r.user_id,
                name: r.name,
                employer: r.employer,
                id_last4: r.id_last4,
            }
        })
        .collect())
}

/// The record a staff account gets when it is created: pending, no access.
pub fn enrol_account(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_id: &str,
    district_id: &str,
    school_id: &str,
    name: &str,
    role: Role,
) -> AppResult<()> {
    let Some(kind) = PersonnelKind::parse(role.as_str()) else {
        return Ok(());
    };
    repo::insert_personnel(
        conn,
        &PersonnelRow {
            id: new_id(now),
            district_id: district_id.to_string(),
            school_id: school_id.to_string(),
            user_id: Some(user_id.to_string()),
            name: name.to_string(),
            kind: kind.as_str().to_string(),
            employer: None,
            id_last4: None,
            id_hmac: None,
            starts_on: LocalDate(now.date()),
            grace_pending: false,
            grace_until: None,
            access_until: None,
            created_at: now,
        },
    )
}

/// An account's record id and vetting, when it has a record.
pub fn of_user(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    months: u32,
    user_id: &str,
) -> AppResult<Option<(String, Vetting)>> {
    let Some(row) = repo::of_user(conn, user_id)? else {
        return Ok(None);
    };
    let id = row.id.clone();
    let view = views(conn, vec![row], months, now)?.remove(0);
    Ok(Some((id, view.vetting)))
}

/// Registers a worker without an account.
pub fn create_personnel(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    settings: &VettingSettings,
    body: AppResult<NewPersonnel>,
) -> AppResult<Personnel> {
    let b = body?;
    let school_id = b.school_id.into_string();
    if repo::school_in_scope(conn, caller, &school_id)?.is_none() {
        return Err(ApiError::not_found("no such school"));
    }
    if b.kind.has_account() {
        return Err(ApiError::invalid(
            "kind",
            "staff with an account get their record when the account is created",
        ));
    }
    let number: String = b
        .id_number
        .as_str()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if number.len() < 6 || !number.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::invalid(
            "id_number",
            "an ID number is 6 to 32 letters and digits",
        ));
    }
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let row = PersonnelRow {
        id: new_id(now),
        district_id: caller.district_id.clone(),
        school_id,
        user_id: None,
        name: b.name.into_string(),
        kind: b.kind.as_str().to_string(),
        employer: b.employer.map(|e| e.into_string()),
        id_last4: Some(number[number.len() - 4..].to_string()),
        id_hmac: Some(hex(&hmac_sha256(
            &settings.id_number_key,
            number.as_bytes(),
        ))),
        starts_on: LocalDate(b.starts_on),
        grace_pending: false,
        grace_until: None,
        access_until: None,
        created_at: now,
    };
    repo::insert_personnel(conn, &row)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "vetting.personnel_created",
            "personnel",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    Ok(views(conn, vec![row], settings.valid_months, now_utc)?.remove(0))
}

/// A page of a school's records, with their status, optionally of one status.
pub fn list(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    q: PersonnelQuery,
    limit: i64,
) -> AppResult<Page<Personnel>> {
    let rows = match &q.school_id {
        Some(school) => {
            if repo::school_in_scope(conn, caller, school)?.is_none() {
                return Err(ApiError::not_found("no such school"));
            }
            repo::of_school(conn, caller, school)?
        }
        None => {
            let mut rows = repo::all_in_scope(conn, caller)?;
            rows.sort_by(|a, b| a.id.cmp(&b.id));
            rows
        }
    };
    let after = q.cursor.clone();
    let items: Vec<Personnel> = views(conn, rows, months, now)?
        .into_iter()
        .filter(|p| after.as_ref().is_none_or(|c| p.id > *c))
        .filter(|p| q.status.is_none_or(|s| p.vetting.status == s))
        .take(limit as usize + 1)
        .collect();
    Ok(Page::from_rows(items, limit, |p| p.id.clone()))
}

/// One record with its checks, commitments and trainings. Schools see each
/// check's kind, date and result; the bureau sees who ran it and where.
pub fn detail(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    id: &str,
) -> AppResult<PersonnelDetail> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    let (checks, commitments, trainings) = repo::history(conn, &row.id)?;
    let bureau = caller.role.is_district();
    let record = views(conn, vec![row], months, now)?.remove(0);
    Ok(PersonnelDetail {
        record,
        checks: checks
            .into_iter()
            .map(|c| Check {
                kind: CheckKind::parse(&c.kind).unwrap_or(CheckKind::CriminalRecord),
                result: CheckResult::parse(&c.result).unwrap_or(CheckResult::Pending),
                checked_on: c.checked_on.date(),
                recorded_at: to_utc(c.created_at),
                authority: bureau.then_some(c.authority),
                reference: bureau.then_some(c.reference),
                consent_ref: bureau.then_some(c.consent_ref),
                recorded_by: bureau.then_some(c.recorded_by),
                id: c.id,
            })
            .collect(),
        commitments: commitments
            .into_iter()
            .map(|c| Commitment {
                id: c.id,
                document_version: c.document_version,
                signed_on: c.signed_on.date(),
                recorded_at: to_utc(c.created_at),
            })
            .collect(),
        trainings: trainings
            .into_iter()
            .map(|t| Training {
                id: t.id,
                course: t.course,
                hours: t.hours,
                completed_on: t.completed_on.date(),
                recorded_at: to_utc(t.created_at),
            })
            .collect(),
    })
}

/// Recomputes until when the record's account may reach pupils.
pub(super) fn refresh_access(
    conn: &mut AnyConnection,
    row: &PersonnelRow,
    months: u32,
) -> AppResult<Facts> {
    let facts = repo::facts(conn, std::slice::from_ref(row))?
        .remove(&row.id)
        .unwrap_or_default();
    let tz = repo::timezones(conn, std::slice::from_ref(&row.school_id))?;
    let until = rules::access_until(&facts, months, tz.get(&row.school_id).map_or("", |s| s));
    repo::set_access(conn, &row.id, until)?;
    Ok(facts)
}

/// A date on a record: not in the school's future, not before 2000.
pub(super) fn past_date(
    field: &'static str,
    d: NaiveDate,
    today: NaiveDate,
) -> AppResult<LocalDate> {
    if d > today || d < NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() {
        return Err(ApiError::invalid(
            field,
            "must be a date from 2000 up to today",
        ));
    }
    Ok(LocalDate(d))
}

pub(super) fn school_today(
    conn: &mut AnyConnection,
    row: &PersonnelRow,
    now: DateTime<Utc>,
) -> AppResult<NaiveDate> {
    let tz = repo::timezones(conn, std::slice::from_ref(&row.school_id))?;
    Ok(today(now, tz.get(&row.school_id).map_or("", |s| s)))
}

/// Refuses to give an account a place with pupils (head teacher, mailbox
/// recipient, dormitory) unless its vetting lets it reach pupils now:
/// 422 `vetting_required`, naming the field.
pub fn require_cleared(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
    field: &str,
) -> AppResult<()> {
    if crate::auth::extract::may_reach_pupils(conn, user_id, now)? {
        return Ok(());
    }
    let mut e = ApiError::new(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        crate::error::Code::VettingRequired,
        "this account's vetting is not complete: it cannot be given a place with pupils",
    );
    e.field = Some(field.to_string());
    Err(e)
}

/// Suspends a person of the district (a case's protective measure): their
/// access to pupils ends at once, until the bureau lifts it. Returns their
/// account, whose sessions the caller ends.
pub fn suspend(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    district_id: &str,
    personnel_id: &str,
) -> AppResult<Option<String>> {
    let row = repo::in_district(conn, district_id, personnel_id)?.ok_or_else(not_found)?;
    repo::set_suspended(conn, &row.id, Some(now))?;
    repo::set_access(conn, &row.id, None)?;
    Ok(row.user_id)
}

/// The bureau lifts a suspension: access is again what the checks,
/// commitment and training give.
pub fn lift_suspension(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    id: &str,
) -> AppResult<PersonnelDetail> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    if !repo::is_suspended(conn, &row.id)? {
        return Err(ApiError::conflict(
            crate::error::Code::AlreadyLifted,
            "the person is not suspended",
        ));
    }
    repo::set_suspended(conn, &row.id, None)?;
    refresh_access(conn, &row, months)?;
    let now = now_utc.trunc_subsecs(6).naive_utc();
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "vetting.suspension_lifted",
            "personnel",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    detail(conn, now_utc, caller, months, &row.id)
}

/// Takes an account off every tip-line mailbox it receives for (a hit, or
/// staff leaving); answers how many places it left.
pub fn leave_mailboxes(conn: &mut AnyConnection, user_id: &str) -> AppResult<usize> {
    repo::leave_mailboxes(conn, user_id)
}
