//! Readers: their keys, a school's mailbox recipients, stepping away from a
//! report, and wraps and shares added to a report after it was filed.

use super::{append_wrap, event, require_established};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::crypto::envelope::KeyWrap;
use crate::crypto::{b64u, b64u_decode, hpke};
use crate::db::new_id;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category as NotifyCategory, Template};
use crate::tipline::dto::*;
use crate::tipline::{repo, rules};
use actix_web::http::StatusCode;
use chrono::Duration;
use chrono::NaiveDateTime;

/// Registers the caller's new key (the old one retires). The route has
/// asked for the password again; the user and the bureau are told.
pub fn register_key(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    b: PutEncryptionKey,
) -> AppResult<KeyCreated> {
    let pk = b64u_decode(&b.public_key)
        .filter(|k| hpke::usable_public_key(k).is_ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "public_key",
                "public_key must be base64url of a 32-byte X25519 key",
            )
        })?;
    if let Some(backup) = &b.key_backup {
        if backup.is_empty() || backup.len() > 4096 {
            return Err(ApiError::invalid(
                "key_backup",
                "key_backup must be 1 to 4096 characters",
            ));
        }
    }
    let key_id = repo::replace_key(
        conn,
        &caller.user_id,
        &b64u(&pk),
        b.key_backup.as_deref(),
        now,
    )?;
    alert_key_holder(conn, now, caller, Template::TiplineKeyChanged)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.key.register",
            "tip_recipient_key",
            Some(&key_id),
        ),
    )?;
    Ok(KeyCreated { key_id })
}

/// Tells the key's owner and the district's bureau that a key was
/// replaced or its backup read.
fn alert_key_holder(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    template: Template,
) -> AppResult<()> {
    let mut to = repo::bureau_officer_ids(conn, &caller.district_id)?;
    if !to.contains(&caller.user_id) {
        to.push(caller.user_id.clone());
    }
    let username = repo::username(conn, &caller.user_id)?;
    notify::send(
        conn,
        now,
        &to,
        template,
        serde_json::json!({ "username": username }),
        NotifyCategory::Account,
    )
}

pub fn my_key(conn: &mut AnyConnection, caller: &Caller) -> AppResult<MyEncryptionKey> {
    let (key_id, public_key, key_backup, created_at) = repo::current_key(conn, &caller.user_id)?
        .ok_or_else(|| ApiError::not_found("encryption key"))?;
    Ok(MyEncryptionKey {
        key_id,
        public_key,
        has_backup: key_backup.is_some(),
        created_at: to_utc(created_at),
    })
}

/// The caller's key backup, after the route asked for the password again:
/// at most `BACKUP_READS_PER_HOUR` reads an hour; each is audited and told
/// to the user and the bureau.
pub fn read_backup(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
) -> AppResult<KeyBackup> {
    let recent =
        audit::count_by_actor_since(conn, &caller.user_id, BACKUP_READ, now - Duration::hours(1))?;
    if recent >= rules::BACKUP_READS_PER_HOUR {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::TooManyAttempts,
            format!(
                "a key backup is read at most {} times an hour",
                rules::BACKUP_READS_PER_HOUR
            ),
        )
        .with_retry_after(3600));
    }
    let (key_id, _, key_backup, _) = repo::current_key(conn, &caller.user_id)?
        .ok_or_else(|| ApiError::not_found("encryption key"))?;
    let key_backup = key_backup.ok_or_else(|| ApiError::not_found("key backup"))?;
    alert_key_holder(conn, now, caller, Template::TiplineKeyBackupRead)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, BACKUP_READ, "tip_recipient_key", Some(&key_id)),
    )?;
    Ok(KeyBackup { key_id, key_backup })
}

const BACKUP_READ: &str = "tipline.key.backup_read";

fn change_dto(row: repo::ChangeRow) -> AppResult<RecipientChange> {
    Ok(RecipientChange {
        user_ids: serde_json::from_str(&row.user_ids).map_err(ApiError::internal)?,
        status: ChangeStatus::parse(&row.status).unwrap_or(ChangeStatus::Pending),
        id: row.id,
        school_id: row.school_id,
        proposed_by: row.proposed_by,
        created_at: to_utc(row.created_at),
        decided_by: row.decided_by,
        decided_at: row.decided_at.map(to_utc),
    })
}

/// Checks a list of recipients for the school: 1 to 50 of its active school
/// admins and counsellors, each cleared by vetting.
fn check_recipients(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    school_id: &str,
    mut user_ids: Vec<String>,
) -> AppResult<Vec<String>> {
    if user_ids.is_empty() || user_ids.len() > 50 {
        return Err(ApiError::invalid("user_ids", "name 1 to 50 recipients"));
    }
    user_ids.sort();
    user_ids.dedup();
    if repo::school_readers_among(conn, school_id, &user_ids)? != user_ids.len() as i64 {
        return Err(ApiError::invalid(
            "user_ids",
            "every recipient must be an active school admin or counsellor of this school",
        ));
    }
    for user in &user_ids {
        crate::vetting::require_cleared(conn, user, now, "user_ids")?;
    }
    Ok(user_ids)
}

/// Proposes a new list of the school's mailbox recipients. Nothing changes
/// until a bureau officer approves; the bureau is alerted now.
pub fn propose_recipients(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    body: AppResult<SetRecipients>,
) -> AppResult<RecipientChange> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let user_ids = check_recipients(conn, now, &school.id, body?.user_ids)?;
    let row = repo::ChangeRow {
        id: new_id(now),
        district_id: school.district_id.clone(),
        school_id: school.id.clone(),
        proposed_by: caller.user_id.clone(),
        user_ids: serde_json::to_string(&user_ids).expect("ids serialise"),
        status: repo::PENDING.to_string(),
        created_at: now,
        decided_by: None,
        decided_at: None,
    };
    repo::insert_change(conn, &row)?;
    let officers = repo::bureau_officer_ids(conn, &school.district_id)?;
    notify::send(
        conn,
        now,
        &officers,
        Template::TiplineRecipientChange,
        serde_json::json!({ "school": school.name, "change_id": row.id }),
        NotifyCategory::Tipline,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.mailbox.recipients_proposed",
            "tip_recipient_change",
            Some(&row.id),
        )
        .in_school(Some(&school.id)),
    )?;
    change_dto(row)
}

/// The district's recipient changes waiting for a bureau officer.
pub fn pending_recipient_changes(
    conn: &mut AnyConnection,
    caller: &Caller,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<RecipientChange>> {
    repo::pending_changes(conn, &caller.district_id, cursor, limit)?
        .into_iter()
        .map(change_dto)
        .collect()
}

/// A bureau officer (not one younger than a week) approves a proposed list:
/// it replaces the school's recipients now, checked again as it stands.
pub fn approve_recipient_change(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<RecipientChange> {
    let row = repo::change_in_district(conn, &caller.district_id, id)?
        .ok_or_else(|| ApiError::not_found("recipient change"))?;
    if row.status != repo::PENDING {
        return Err(ApiError::conflict(
            Code::ChangeNotPending,
            "this change was already approved or replaced by a later one",
        ));
    }
    require_established(conn, now, caller)?;
    let user_ids: Vec<String> = serde_json::from_str(&row.user_ids).map_err(ApiError::internal)?;
    let user_ids = check_recipients(conn, now, &row.school_id, user_ids)?;
    if !repo::approve_change(conn, &row.id, &caller.user_id, now)? {
        return Err(ApiError::conflict(
            Code::ChangeNotPending,
            "this change was already approved or replaced by a later one",
        ));
    }
    repo::replace_recipients(conn, &row.school_id, &user_ids, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.mailbox.recipients_approved",
            "tip_recipient_change",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    let row = repo::change_in_district(conn, &caller.district_id, id)?
        .ok_or_else(|| ApiError::not_found("recipient change"))?;
    change_dto(row)
}

/// Steps away from a report for a conflict of interest; access ends at
/// once. The last bureau officer who can read it may not: the district
/// always receives every report.
pub fn recuse(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<()> {
    let report = repo::visible_report(conn, caller, id)?;
    repo::lock_report(conn, &report.id)?;
    if caller.role == Role::BureauOfficer
        && repo::other_district_readers(conn, &report, &caller.user_id)? == 0
    {
        return Err(ApiError::conflict(
            Code::LastDistrictReader,
            "the district must keep a reader: another bureau officer has to take the report first",
        ));
    }
    repo::add_access(conn, &report.id, &caller.user_id, repo::RECUSED, now)?;
    event(
        conn,
        now,
        &report.id,
        Some(&caller.user_id),
        "recused",
        report.status(),
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.recuse",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    Ok(())
}

/// Adds content-key wraps for a recipient added later; the bureau may also
/// share a `concerns_staff` report with named school recipients.
pub fn add_keys(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<AddKeys>,
) -> AppResult<KeysAdded> {
    let report = repo::visible_report(conn, caller, id)?;
    let b = body?;
    if b.share_with.len() > 50 {
        return Err(ApiError::invalid(
            "share_with",
            "share with at most 50 people at once",
        ));
    }
    if b.wraps.len() > 1000 {
        return Err(ApiError::invalid(
            "wraps",
            "send at most 1000 wraps at once",
        ));
    }
    if !b.share_with.is_empty() && caller.role != Role::BureauOfficer {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "only the district bureau shares a report",
        ));
    }
    let mut shared_with = Vec::new();
    for u in &b.share_with {
        if !repo::may_be_shared_with(conn, u, &report.school_id)? {
            return Err(ApiError::invalid(
                "share_with",
                "share only with school admins or counsellors of the report's school",
            ));
        }
        repo::add_access(conn, &report.id, u, repo::SHARED, now)?;
        shared_with.push(u.clone());
    }
    let keys = repo::report_keys(conn, &report)?;
    let mut added = 0;
    for w in &b.wraps {
        if !keys.iter().any(|k| k.key_id == w.key_id) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::UnknownRecipientKey,
                format!("{} is not a recipient key of this report", w.key_id),
            )
            .with_field("wraps.key_id"));
        }
        let wrap = KeyWrap {
            key_id: w.key_id.clone(),
            enc: w.enc.clone(),
            ct: w.ct.clone(),
        };
        wrap.check_shape()
            .map_err(|e| ApiError::invalid("wraps", e.to_string()))?;
        if append_wrap(conn, &report, &w.object_id, wrap)? {
            added += 1;
        }
    }
    event(
        conn,
        now,
        &report.id,
        Some(&caller.user_id),
        "keys_added",
        report.status(),
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.keys",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    Ok(KeysAdded {
        wraps_added: added,
        shared_with,
    })
}
