//! A report's life in the database: its row, its events and history, status
//! and closing, deadlines, envelopes that gain wraps, and the counts that
//! limit what a reporter may add.

use super::ReportRow;
use crate::db::schema::{
    districts, schools, tip_messages as tm, tip_report_events as te, tip_reports as tr,
};
use crate::db::{new_id, AnyConnection, MultiBackend};
use crate::error::AppResult;
use crate::tipline::dto::{Status, Urgency};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// (school id, district id, school name, the district's crisis line).
pub fn school_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> AppResult<Option<(String, String, String, String)>> {
    Ok(schools::table
        .inner_join(districts::table)
        .filter(schools::code.eq(code))
        .select((
            schools::id,
            schools::district_id,
            schools::name,
            districts::crisis_line,
        ))
        .first(conn)
        .optional()?)
}

pub fn crisis_line(conn: &mut AnyConnection, district_id: &str) -> AppResult<String> {
    Ok(districts::table
        .find(district_id)
        .select(districts::crisis_line)
        .first(conn)?)
}

pub fn insert_report(
    conn: &mut AnyConnection,
    report: &ReportRow,
    receipt_mac: &str,
) -> AppResult<()> {
    diesel::insert_into(tr::table)
        .values((
            tr::id.eq(&report.id),
            tr::district_id.eq(&report.district_id),
            tr::school_id.eq(&report.school_id),
            tr::category.eq(&report.category),
            tr::urgency.eq(&report.urgency),
            tr::concerns_staff.eq(report.concerns_staff),
            tr::status.eq(&report.status),
            tr::receipt_mac.eq(receipt_mac),
            tr::reporter_public_key.eq(&report.reporter_public_key),
            tr::envelope.eq(&report.envelope),
            tr::created_at.eq(report.created_at),
            tr::last_activity_at.eq(report.last_activity_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn report_by_mac(conn: &mut AnyConnection, mac: &str) -> AppResult<Option<ReportRow>> {
    Ok(tr::table
        .filter(tr::receipt_mac.eq(mac))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Messages (not replies) a reporter added to the report since `since`.
pub fn reporter_messages_since(
    conn: &mut AnyConnection,
    report_id: &str,
    since: NaiveDateTime,
) -> AppResult<i64> {
    Ok(tm::table
        .filter(tm::report_id.eq(report_id))
        .filter(tm::author_id.is_null())
        .filter(tm::created_at.gt(since))
        .count()
        .get_result(conn)?)
}

pub fn attachment_count(conn: &mut AnyConnection, report_id: &str) -> AppResult<i64> {
    Ok(tm::table
        .filter(tm::report_id.eq(report_id))
        .filter(tm::is_attachment.eq(true))
        .count()
        .get_result(conn)?)
}

pub fn insert_event(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
    actor: Option<&str>,
    action: &str,
    status: &str,
    note: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(te::table)
        .values((
            te::id.eq(new_id(now)),
            te::report_id.eq(report_id),
            te::actor_id.eq(actor),
            te::action.eq(action),
            te::status.eq(status),
            te::note.eq(note),
            te::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A history entry: action, status, actor, note, when.
pub type EventRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

pub fn history(conn: &mut AnyConnection, report_id: &str) -> AppResult<Vec<EventRow>> {
    Ok(te::table
        .filter(te::report_id.eq(report_id))
        .order((te::created_at, te::id))
        .select((
            te::action,
            te::status,
            te::actor_id,
            te::note,
            te::created_at,
        ))
        .load(conn)?)
}

pub fn request_close(
    conn: &mut AnyConnection,
    report_id: &str,
    by: &str,
    outcome: &str,
    note: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((
            tr::close_requested_by.eq(by),
            tr::close_outcome.eq(outcome),
            tr::close_note.eq(note),
            tr::last_activity_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets a status (and its outcome) with the deadline of the new state,
/// clearing any pending close request; the new state's deadline has not
/// escalated yet.
pub fn set_status(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
    status: &str,
    outcome: Option<&str>,
    due_at: Option<NaiveDateTime>,
) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((
            tr::status.eq(status),
            tr::outcome.eq(outcome),
            tr::close_requested_by.eq(None::<String>),
            tr::close_outcome.eq(None::<String>),
            tr::close_note.eq(None::<String>),
            tr::last_activity_at.eq(now),
            tr::due_at.eq(due_at),
            tr::escalated_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// A progress note: the state's deadline starts again.
pub fn set_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
    due_at: Option<NaiveDateTime>,
) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((
            tr::last_activity_at.eq(now),
            tr::due_at.eq(due_at),
            tr::escalated_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Drops a pending close request (its proposer can no longer read the report).
pub fn clear_close_request(conn: &mut AnyConnection, report_id: &str) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((
            tr::close_requested_by.eq(None::<String>),
            tr::close_outcome.eq(None::<String>),
            tr::close_note.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The bureau's late classification: the report concerns staff.
pub fn mark_concerns_staff(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((tr::concerns_staff.eq(true), tr::last_activity_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// The time zone of a report's school: what "school day" means for it.
pub fn school_timezone(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    Ok(schools::table
        .find(school_id)
        .select(schools::timezone)
        .first(conn)?)
}

/// The envelope of one of the report's messages.
pub fn message_envelope(
    conn: &mut AnyConnection,
    report_id: &str,
    message_id: &str,
) -> AppResult<Option<String>> {
    Ok(tm::table
        .filter(tm::id.eq(message_id))
        .filter(tm::report_id.eq(report_id))
        .select(tm::envelope)
        .first(conn)
        .optional()?)
}

pub fn set_report_envelope(conn: &mut AnyConnection, report_id: &str, text: &str) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set(tr::envelope.eq(text))
        .execute(conn)?;
    Ok(())
}

pub fn set_message_envelope(
    conn: &mut AnyConnection,
    message_id: &str,
    text: &str,
) -> AppResult<()> {
    diesel::update(tm::table.find(message_id))
        .set(tm::envelope.eq(text))
        .execute(conn)?;
    Ok(())
}

/// Open reports past a deadline that has not escalated yet: still `new`
/// after their urgency's deadline, or past the deadline of a later state.
pub fn overdue_reports(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    normal_before: NaiveDateTime,
    urgent_before: NaiveDateTime,
) -> AppResult<Vec<ReportRow>> {
    let q = tr::table
        .filter(tr::escalated_at.is_null())
        .filter(tr::held.eq(false))
        .into_boxed();
    Ok(only_overdue(q, now, normal_before, urgent_before)
        .select(ReportRow::as_select())
        .load(conn)?)
}

/// The one definition of an overdue report, for the worker and the
/// bureau's list: still `new` past its urgency's deadline, counted from the
/// end of its window (when staff first see it), or in a later open state
/// past that state's `due_at`.
pub fn only_overdue(
    q: tr::BoxedQuery<'static, MultiBackend>,
    now: NaiveDateTime,
    normal_before: NaiveDateTime,
    urgent_before: NaiveDateTime,
) -> tr::BoxedQuery<'static, MultiBackend> {
    let (new, closed, normal) = (
        Status::New.as_str(),
        Status::Closed.as_str(),
        Urgency::Normal.as_str(),
    );
    q.filter(
        tr::status
            .eq(new)
            .and(
                tr::urgency
                    .eq(normal)
                    .and(tr::window_end.assume_not_null().lt(normal_before))
                    .or(tr::urgency
                        .ne(normal)
                        .and(tr::window_end.assume_not_null().lt(urgent_before))),
            )
            .or(tr::status
                .ne(new)
                .and(tr::status.ne(closed))
                .and(tr::due_at.assume_not_null().lt(now))),
    )
}

/// Marks the report escalated; false when another instance already did.
pub fn claim_escalation(
    conn: &mut AnyConnection,
    report_id: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let won = diesel::update(tr::table.find(report_id).filter(tr::escalated_at.is_null()))
        .set(tr::escalated_at.eq(now))
        .execute(conn)?;
    Ok(won == 1)
}
