//! A reader's word that a wrap would not open: a wrong content key, a
//! failed commitment or a broken binding is either an attack or a broken
//! client, and the bureau must know either way.

use super::*;
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::notify::{self, Category as NotifyCategory, Template};
use crate::tipline::dto::*;
use crate::tipline::repo;
use chrono::NaiveDateTime;

pub fn undecryptable(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<Undecryptable>,
) -> AppResult<()> {
    let report = repo::visible_report(conn, caller, id)?;
    let b = body?;
    let text = if b.object_id == report.id {
        report.envelope.clone()
    } else {
        repo::message_envelope(conn, &report.id, &b.object_id)?.ok_or_else(|| {
            ApiError::invalid("object_id", "not this report or one of its messages")
        })?
    };
    let env = repo::parse_envelope(&text)?;
    if !env.keys.iter().any(|k| k.key_id == b.key_id.as_str()) {
        return Err(ApiError::invalid(
            "key_id",
            "no wrap of this object has this key id",
        ));
    }
    let note = format!("wrap {} of {}", b.key_id.as_str(), b.object_id);
    event(
        conn,
        now,
        &report.id,
        Some(&caller.user_id),
        "undecryptable",
        report.status(),
        Some(&note),
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.undecryptable",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    let bureau = repo::bureau_officer_ids(conn, &report.district_id)?;
    let data = notify_data(conn, &report)?;
    notify::send(
        conn,
        now,
        &bureau,
        Template::TiplineUndecryptable,
        data,
        NotifyCategory::Tipline,
    )
}
