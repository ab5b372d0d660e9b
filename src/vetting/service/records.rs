//! What is recorded on a person: checks (and what a hit does), signed
//! commitments and training.

use super::{detail, not_found, past_date, refresh_access, school_today};
use crate::account;
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::notify::{self, Category, Template};
use crate::vetting::dto::*;
use crate::vetting::model::{CheckRow, CommitmentRow, PersonnelRow, TrainingRow};
use crate::vetting::repo;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The bureau records a check. A hit acts at once: the account's sessions
/// end and its access with them, it leaves every tip-line mailbox, the
/// person goes on the district's watch list, and the principal and the
/// bureau are told.
pub fn record_check(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    id: &str,
    body: AppResult<NewCheck>,
) -> AppResult<PersonnelDetail> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    let b = body?;
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let checked_on = past_date(
        "checked_on",
        b.checked_on,
        school_today(conn, &row, now_utc)?,
    )?;
    repo::insert_check(
        conn,
        &CheckRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            kind: b.kind.as_str().to_string(),
            checked_on,
            authority: b.authority.into_string(),
            reference: b.reference.into_string(),
            result: b.result.as_str().to_string(),
            consent_ref: b.consent_ref.into_string(),
            recorded_by: caller.user_id.clone(),
            created_at: now,
        },
    )?;
    refresh_access(conn, &row, months)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "vetting.check_recorded", "personnel", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    if b.result == CheckResult::Hit {
        act_on_hit(conn, now, caller, &row)?;
    }
    detail(conn, now_utc, caller, months, &row.id)
}

fn act_on_hit(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    row: &PersonnelRow,
) -> AppResult<()> {
    if let Some(user) = &row.user_id {
        account::repo::end_all_sessions(conn, user, now)?;
        repo::leave_mailboxes(conn, user)?;
    }
    let entry = repo::add_to_watch_list(conn, now, row, "vetting_hit")?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "vetting.barred", "personnel", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "watch_list.add", "watch_list", Some(&entry))
            .in_school(Some(&row.school_id)),
    )?;
    let to = repo::alert_recipients(conn, &row.district_id, &row.school_id)?;
    notify::send(
        conn,
        now,
        &to,
        Template::VettingBarred,
        serde_json::json!({"name": row.name, "personnel_id": row.id, "school_id": row.school_id}),
        Category::Account,
    )
}

/// A school admin records a signed code of conduct.
pub fn record_commitment(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    id: &str,
    body: AppResult<NewCommitment>,
) -> AppResult<PersonnelDetail> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    let b = body?;
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let signed_on = past_date("signed_on", b.signed_on, school_today(conn, &row, now_utc)?)?;
    repo::insert_commitment(
        conn,
        &CommitmentRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            document_version: b.document_version.into_string(),
            signed_on,
            recorded_by: caller.user_id.clone(),
            created_at: now,
        },
    )?;
    refresh_access(conn, &row, months)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "vetting.commitment_recorded",
            "personnel",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    detail(conn, now_utc, caller, months, &row.id)
}

/// A school admin records prevention training.
pub fn record_training(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    months: u32,
    id: &str,
    body: AppResult<NewTraining>,
) -> AppResult<PersonnelDetail> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    let b = body?;
    if !(1..=200).contains(&b.hours) {
        return Err(ApiError::invalid("hours", "hours must be from 1 to 200"));
    }
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let completed_on = past_date(
        "completed_on",
        b.completed_on,
        school_today(conn, &row, now_utc)?,
    )?;
    repo::insert_training(
        conn,
        &TrainingRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            course: b.course.into_string(),
            hours: b.hours,
            completed_on,
            recorded_by: caller.user_id.clone(),
            created_at: now,
        },
    )?;
    refresh_access(conn, &row, months)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "vetting.training_recorded",
            "personnel",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    detail(conn, now_utc, caller, months, &row.id)
}

/// Records an account's vetting as complete as of `on`: a clear check, a
/// signed commitment and training, recorded by `officer` (a bureau
/// officer). For seeding a demonstration district.
pub fn record_complete(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_id: &str,
    officer: &str,
    months: u32,
) -> AppResult<()> {
    let row = repo::of_user(conn, user_id)?.ok_or_else(not_found)?;
    let on = LocalDate(now.date());
    let rec = |s: &str| s.to_string();
    repo::insert_check(
        conn,
        &CheckRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            kind: CheckKind::SexualOffenceRecord.as_str().to_string(),
            checked_on: on,
            authority: rec("Demo District Public Security Bureau"),
            reference: rec("DEMO"),
            result: CheckResult::Clear.as_str().to_string(),
            consent_ref: rec("DEMO"),
            recorded_by: officer.to_string(),
            created_at: now,
        },
    )?;
    repo::insert_commitment(
        conn,
        &CommitmentRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            document_version: rec("demo"),
            signed_on: on,
            recorded_by: officer.to_string(),
            created_at: now,
        },
    )?;
    repo::insert_training(
        conn,
        &TrainingRow {
            id: new_id(now),
            personnel_id: row.id.clone(),
            course: rec("Preventing sexual abuse of pupils"),
            hours: 4,
            completed_on: on,
            recorded_by: officer.to_string(),
            created_at: now,
        },
    )?;
    refresh_access(conn, &row, months)?;
    Ok(())
}
