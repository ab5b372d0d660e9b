//! The retention schedule's daily job (issue 18 §2): each kind of data is
//! purged once past the time its setting gives (`config::RetentionSettings`).
//! Tip-line reports, cases and the audit chain are never touched, and
//! nothing about a pupil who is the subject of an open case is purged
//! (legal hold). Every statement of the purge is here.

use crate::audit::{self, AuditEvent};
use crate::config::RetentionSettings;
use crate::db::{dialect, AnyConnection};
use crate::error::AppResult;
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime};
use diesel::sql_types::{Text, Timestamp};
use diesel::RunQueryDsl;
use std::sync::Mutex;

/// Pupils on legal hold: the subjects of a case not closed.
const HELD: &str = "(SELECT cs.student_id FROM case_students cs JOIN cases c ON c.id = cs.case_id \
                    WHERE c.closed_at IS NULL)";

/// One statement with its one `?`, the cutoff.
fn purge(conn: &mut AnyConnection, sql: &str, cutoff: NaiveDateTime) -> AppResult<usize> {
    debug_assert_eq!(sql.matches('?').count(), 1);
    let sql = dialect(conn, sql);
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(cutoff)
        .execute(conn)?)
}

/// Purges what is past its time at `now`; answers the rows removed per kind.
pub fn purge_expired(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    r: &RetentionSettings,
) -> AppResult<Vec<(&'static str, usize)>> {
    let before = |days: i64| now - Duration::days(days);
    let mut done = Vec::new();
    // Sessions: expired refresh tokens, then ended sessions with none left.
    let s = before(r.sessions_days);
    let mut n = purge(conn, "DELETE FROM refresh_tokens WHERE expires_at < ?", s)?;
    n += purge(
        conn,
        "DELETE FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at < ? \
         AND id NOT IN (SELECT session_id FROM refresh_tokens)",
        s,
    )?;
    done.push(("sessions", n));
    // Outbox rows that are finished, then notifications no row points to
    // (notices' receipts stay: they measure who was reached).
    done.push((
        "outbox",
        purge(
            conn,
            "DELETE FROM outbox WHERE created_at < ?",
            before(r.outbox_days),
        )?,
    ));
    done.push((
        "notifications",
        purge(
            conn,
            "DELETE FROM notifications WHERE notice_id IS NULL AND created_at < ? \
             AND id NOT IN (SELECT notification_id FROM outbox)",
            before(r.notifications_days),
        )?,
    ));
    done.push((
        "handovers",
        purge(
            conn,
            &format!("DELETE FROM handovers WHERE at < ? AND student_id NOT IN {HELD}"),
            before(r.handovers_days),
        )?,
    ));
    let a = before(r.attendance_days);
    let mut n = purge(
        conn,
        &format!("DELETE FROM absences WHERE created_at < ? AND student_id NOT IN {HELD}"),
        a,
    )?;
    n += purge(
        conn,
        "DELETE FROM roll_calls WHERE taken_at < ? \
         AND id NOT IN (SELECT roll_call_id FROM absences)",
        a,
    )?;
    done.push(("attendance", n));
    let l = before(r.leave_days);
    let old_leave = format!(
        "SELECT id FROM leave_requests WHERE ends_at < ? AND student_id NOT IN {HELD} \
         AND id NOT IN (SELECT leave_id FROM absences WHERE leave_id IS NOT NULL)"
    );
    purge(
        conn,
        &format!("DELETE FROM leave_overdue_alerts WHERE leave_id IN ({old_leave})"),
        l,
    )?;
    done.push((
        "leave",
        purge(
            conn,
            &format!("DELETE FROM leave_requests WHERE id IN ({old_leave})"),
            l,
        )?,
    ));
    // Photos: dropped from entries revoked or expired long enough ago.
    let p = before(r.photos_days);
    let p_date = p.date().to_string();
    let sql = dialect(
        conn,
        &format!(
            "UPDATE pickup_persons SET photo = NULL, photo_type = NULL WHERE photo IS NOT NULL \
             AND ((revoked_at IS NOT NULL AND revoked_at < ?) OR valid_until < ?) \
             AND student_id NOT IN {HELD}"
        ),
    );
    let n = diesel::sql_query(sql)
        .bind::<Timestamp, _>(p)
        .bind::<Text, _>(p_date)
        .execute(conn)?;
    done.push(("photos", n));
    Ok(done)
}

/// The last day the job ran in this process: it runs once a day.
static LAST_RUN: Mutex<Option<chrono::NaiveDate>> = Mutex::new(None);

/// Runs the purge now, and audits what it removed.
pub fn run_retention(state: &AppState) -> AppResult<Vec<(&'static str, usize)>> {
    let now = state.now_db();
    let settings = state.settings.retention.clone();
    state.db.write_blocking(|conn| {
        let done = purge_expired(conn, now, &settings)?;
        let summary = done
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let action = format!("retention.purge {summary}");
        audit::record(conn, now, AuditEvent::system(&action, "retention", None))?;
        Ok(done)
    })
}

/// The worker's round: the purge once per day of the service's clock.
pub fn run_daily(state: &AppState) -> AppResult<()> {
    let today = state.now_db().date();
    {
        let last = LAST_RUN.lock().unwrap_or_else(|e| e.into_inner());
        if *last == Some(today) {
            return Ok(());
        }
    }
    run_retention(state)?;
    *LAST_RUN.lock().unwrap_or_else(|e| e.into_inner()) = Some(today);
    Ok(())
}
