//! Windows: what a reporter sent waits, unseen by staff, for the end of its
//! window, and is released with the window's whole batch.

use super::{anonymous_id, ReportRow};
use crate::db::schema::{tip_messages as tm, tip_reports as tr};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::tipline::dto::Sender;
use crate::tipline::rules::Window;
use chrono::NaiveDateTime;
use diesel::dsl::min;
use diesel::prelude::*;

/// Records a new report's window: held until its end, or released at once
/// (danger-now).
pub fn set_window(conn: &mut AnyConnection, report_id: &str, window: Window) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((tr::window_end.eq(window.end), tr::held.eq(window.holds())))
        .execute(conn)?;
    Ok(())
}

/// A reporter's message that waits for its window: stored at the window's
/// start with a random id, outside the thread's count (a provisional
/// negative number, so neither its place nor the moment shows) until it is
/// released.
pub fn insert_held_message(
    conn: &mut AnyConnection,
    report_id: &str,
    is_attachment: bool,
    envelope: &str,
    window: Window,
) -> AppResult<String> {
    let id = anonymous_id(window.start);
    let lowest: Option<i32> = tm::table
        .filter(tm::report_id.eq(report_id))
        .select(min(tm::seq))
        .first(conn)?;
    let provisional = lowest.unwrap_or(0).min(0) - 1;
    diesel::insert_into(tm::table)
        .values((
            tm::id.eq(&id),
            tm::report_id.eq(report_id),
            tm::sender.eq(Sender::Reporter.as_str()),
            tm::author_id.eq(None::<String>),
            tm::is_attachment.eq(is_attachment),
            tm::envelope.eq(envelope),
            tm::created_at.eq(window.start),
            tm::seq.eq(provisional),
            tm::window_end.eq(window.end),
            tm::held.eq(true),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Held reports whose window has ended, with its end.
pub fn held_reports_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
) -> AppResult<Vec<(ReportRow, NaiveDateTime)>> {
    let rows: Vec<(ReportRow, Option<NaiveDateTime>)> = tr::table
        .filter(tr::held.eq(true))
        .filter(tr::window_end.le(now))
        .select((ReportRow::as_select(), tr::window_end))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(r, end)| {
            let end = end.unwrap_or(r.created_at);
            (r, end)
        })
        .collect())
}

/// Held reporter messages whose window has ended: (id, report id, window end).
pub fn held_messages_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
) -> AppResult<Vec<(String, String, NaiveDateTime)>> {
    let rows: Vec<(String, String, Option<NaiveDateTime>, NaiveDateTime)> = tm::table
        .filter(tm::held.eq(true))
        .filter(tm::window_end.le(now))
        .select((tm::id, tm::report_id, tm::window_end, tm::created_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, report, end, at)| (id, report, end.unwrap_or(at)))
        .collect())
}

/// Releases a held report; false when another instance already did.
pub fn release_report(conn: &mut AnyConnection, report_id: &str) -> AppResult<bool> {
    let won = diesel::update(tr::table.find(report_id).filter(tr::held.eq(true)))
        .set(tr::held.eq(false))
        .execute(conn)?;
    Ok(won == 1)
}

/// Releases a held message: it takes the thread's next number now (the
/// batch is released in random order) and the report's activity moves to
/// the release. False when another instance already released it.
pub fn release_message(
    conn: &mut AnyConnection,
    message_id: &str,
    report_id: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let won = diesel::update(tm::table.find(message_id).filter(tm::held.eq(true)))
        .set(tm::held.eq(false))
        .execute(conn)?;
    if won != 1 {
        return Ok(false);
    }
    diesel::update(tr::table.find(report_id))
        .set((
            tr::last_activity_at.eq(now),
            tr::message_seq.eq(tr::message_seq + 1),
        ))
        .execute(conn)?;
    let seq: i32 = tr::table
        .find(report_id)
        .select(tr::message_seq)
        .first(conn)?;
    diesel::update(tm::table.find(message_id))
        .set(tm::seq.eq(seq))
        .execute(conn)?;
    Ok(true)
}

/// A report by id, whoever may read it (for the release worker).
pub fn report_by_id(conn: &mut AnyConnection, report_id: &str) -> AppResult<ReportRow> {
    Ok(tr::table
        .find(report_id)
        .select(ReportRow::as_select())
        .first(conn)?)
}
