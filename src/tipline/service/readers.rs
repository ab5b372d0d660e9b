//! Readers: their keys, a school's mailbox recipients, stepping away from a
//! report, and wraps and shares added to a report after it was filed.

use super::{append_wrap, event};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::crypto::envelope::KeyWrap;
use crate::crypto::{b64u, b64u_decode, hpke};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::tipline::dto::*;
use crate::tipline::repo;
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;

/// Registers the caller's new key (the old one retires).
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

pub fn my_key(conn: &mut AnyConnection, caller: &Caller) -> AppResult<MyEncryptionKey> {
    let (key_id, public_key, key_backup, created_at) = repo::current_key(conn, &caller.user_id)?
        .ok_or_else(|| ApiError::not_found("encryption key"))?;
    Ok(MyEncryptionKey {
        key_id,
        public_key,
        key_backup,
        created_at: to_utc(created_at),
    })
}

/// Replaces the school staff who receive the school's mailbox.
pub fn set_recipients(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    body: AppResult<SetRecipients>,
) -> AppResult<MailboxRecipients> {
    let school_id = crate::org::repo::school(conn, caller, school_id)?.id;
    let mut user_ids = body?.user_ids;
    if user_ids.is_empty() || user_ids.len() > 50 {
        return Err(ApiError::invalid("user_ids", "name 1 to 50 recipients"));
    }
    user_ids.sort();
    user_ids.dedup();
    if repo::school_readers_among(conn, &school_id, &user_ids)? != user_ids.len() as i64 {
        return Err(ApiError::invalid(
            "user_ids",
            "every recipient must be an active school admin or counsellor of this school",
        ));
    }
    for user in &user_ids {
        crate::vetting::require_cleared(conn, user, now, "user_ids")?;
    }
    repo::replace_recipients(conn, &school_id, &user_ids, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.mailbox.recipients",
            "school",
            Some(&school_id),
        )
        .in_school(Some(&school_id)),
    )?;
    Ok(MailboxRecipients {
        school_id,
        user_ids,
    })
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
