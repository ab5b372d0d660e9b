//! The gate's timers: a visitor still inside 30 minutes after their window
//! (the host and the guards are told), and at the school's closing time the
//! list of who is still inside (the guards and the principal); and the
//! retention purge of old visit logs.

use crate::audit::{self, AuditEvent};
use crate::clock::{school_local, to_utc};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::gate::repo::visits as repo;
use crate::gate::rules::OVERSTAY_GRACE_MINUTES;
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveTime, Utc};

/// One round of the gate's timers: how many alerts were sent and visits purged.
pub fn run_gate_worker(state: &AppState) -> AppResult<usize> {
    let now_utc = state.now();
    let keep = Duration::days(state.settings.visit_retention_days);
    state.db.write_blocking(|conn| {
        let alerts = overstays(conn, now_utc)? + closing(conn, now_utc)?;
        Ok(alerts + purge(conn, now_utc, keep)?)
    })
}

/// Visit logs are kept for the retention period, then deleted; a visit a
/// case refers to is kept with the case.
fn purge(conn: &mut AnyConnection, now_utc: DateTime<Utc>, keep: Duration) -> AppResult<usize> {
    let now = now_utc.naive_utc();
    let n = repo::purge_before(conn, now - keep)?;
    if n > 0 {
        audit::record(conn, now, AuditEvent::system("visit.purge", "visit", None))?;
    }
    Ok(n)
}

fn overstays(conn: &mut AnyConnection, now_utc: DateTime<Utc>) -> AppResult<usize> {
    let now = now_utc.naive_utc();
    let mut sent = 0;
    for v in repo::overstaying(conn, now - Duration::minutes(OVERSTAY_GRACE_MINUTES))? {
        if !repo::mark_overstay_alerted(conn, &v.id, now)? {
            continue;
        }
        let (_, _, tz) = repo::school(conn, &v.school_id)?;
        let guards = repo::guards(conn, &v.school_id)?;
        let to = family::recipients(&[&guards, std::slice::from_ref(&v.host_user_id)]);
        let until = school_local(to_utc(v.window_until), &tz)
            .format("%H:%M")
            .to_string();
        notify::send(
            conn,
            now,
            &to,
            Template::GateOverstay,
            serde_json::json!({"visitor": v.visitor_name, "until": until, "visit_id": v.id}),
            Category::Urgent,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::system("visit.overstay_alert", "visit", Some(&v.id))
                .in_school(Some(&v.school_id)),
        )?;
        sent += 1;
    }
    Ok(sent)
}

fn closing(conn: &mut AnyConnection, now_utc: DateTime<Utc>) -> AppResult<usize> {
    let now = now_utc.naive_utc();
    let mut sent = 0;
    for (school, name, tz, closing) in repo::schools_closing(conn)? {
        let local = school_local(now_utc, &tz);
        let Ok(at) = NaiveTime::parse_from_str(&closing, "%H:%M") else {
            continue;
        };
        if local.time() < at {
            continue;
        }
        let date = local.date().to_string();
        if !repo::mark_closing_sent(conn, &school, &date, now)? {
            continue;
        }
        let inside = repo::on_site(conn, &school)?;
        if inside.is_empty() {
            continue;
        }
        let guards = repo::guards(conn, &school)?;
        let admins = family::school_admins(conn, &school)?;
        let to = family::recipients(&[&guards, &admins]);
        let names: Vec<&str> = inside.iter().map(|v| v.visitor_name.as_str()).collect();
        notify::send(
            conn,
            now,
            &to,
            Template::GateClosing,
            serde_json::json!({"school": name, "count": inside.len(), "visitors": names.join(", ")}),
            Category::Urgent,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::system("visit.closing_list", "school", Some(&school))
                .in_school(Some(&school)),
        )?;
        sent += 1;
    }
    Ok(sent)
}
