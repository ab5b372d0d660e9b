//! The late-pickup worker: pupils who need handover and are still waiting
//! after dismissal plus the school's threshold. It tells the guardians and
//! the head teacher at the threshold, and the school admin too at twice it.
//! What it sent is recorded (`pickup_late_alerts`), so running it again,
//! or on several instances at once, sends nothing twice.

use super::dto::DismissalMode;
use super::repo;
use super::service::dismissal_time;
use crate::audit::{self, AuditEvent};
use crate::clock::school_local;
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::org::model::SchoolRow;
use crate::state::AppState;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Pupils alerted in one write transaction at most: the round reads who
/// is late without the write lock, then writes in short transactions, so
/// a district's dismissal never waits on the worker for long.
const ALERTS_PER_TRANSACTION: usize = 25;

/// A pupil past a level not yet recorded.
struct Late {
    student_id: String,
    name: String,
    class_id: String,
    /// The school's day the alert is for.
    date: chrono::NaiveDate,
    dismissal: chrono::NaiveTime,
    minutes: i64,
    level: i32,
}

/// One round over every school. Returns how many alerts (pupil × level) it
/// sent. Blocking: call it from a worker thread or `web::block`.
pub fn run_late_pickup_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let now_db = state.now_db();
    let school_ids = state.db.read_blocking(repo::school_ids)?;
    let mut sent = 0;
    for id in school_ids {
        let due = state
            .db
            .read_blocking(|conn| late_at_school(conn, &id, now))?;
        // Short transactions; one school's failure stops no other.
        for chunk in due.chunks(ALERTS_PER_TRANSACTION) {
            sent += state
                .db
                .write_blocking(|conn| alert(conn, &id, now_db, chunk))?;
        }
    }
    Ok(sent)
}

/// The school's pupils who are late past a level not yet recorded today.
fn late_at_school(
    conn: &mut AnyConnection,
    school_id: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<Late>> {
    let school: SchoolRow = repo::school_row(conn, school_id)?;
    let local = school_local(now, &school.timezone);
    let today = local.date();
    if repo::closed_on(conn, &school.id, today)? {
        return Ok(Vec::new());
    }
    let (threshold, _) = repo::settings(conn, &school.id)?;
    let threshold = chrono::Duration::minutes(threshold as i64);
    let overrides = repo::dismissal_overrides(conn, &school.id)?;
    let gone_home_another_way =
        repo::pupils_going_home_another_way(conn, &school.id, DismissalMode::Handover.as_str())?;
    let recorded = repo::late_levels_recorded(conn, &school.id, today)?;
    let waiting = repo::pupils_not_handed_over(conn, &school.id, today)?;
    let mut late = Vec::new();
    for (student_id, name, class_id, grade) in waiting {
        if gone_home_another_way.contains(&student_id) {
            continue;
        }
        let Some(dismissal) = dismissal_time(&school, &overrides, grade, today) else {
            continue;
        };
        let dismissal_at = today.and_time(dismissal);
        let level = if local >= dismissal_at + threshold * 2 {
            2
        } else if local >= dismissal_at + threshold {
            1
        } else {
            continue;
        };
        if recorded.get(&student_id).is_some_and(|r| *r >= level)
            || crate::attendance::presence(conn, &student_id, now)?
                != crate::attendance::Presence::Present
        {
            continue;
        }
        late.push(Late {
            student_id,
            name,
            class_id,
            date: today,
            dismissal,
            minutes: (local - dismissal_at).num_minutes(),
            level,
        });
    }
    Ok(late)
}

/// Records and sends the alerts of some late pupils. The record is the
/// guard: a level another instance recorded meanwhile is not sent again.
fn alert(
    conn: &mut AnyConnection,
    school_id: &str,
    now_db: NaiveDateTime,
    pupils: &[Late],
) -> AppResult<usize> {
    let admins = family::school_admins(conn, school_id)?;
    let mut sent = 0;
    for p in pupils {
        // Record every level reached; speak only for the highest new one.
        let mut newest = None;
        for l in 1..=p.level {
            let inserted = repo::record_late_alert(conn, &p.student_id, p.date, l, now_db)?;
            if inserted == 1 {
                newest = Some(l);
            }
        }
        let Some(l) = newest else { continue };
        let guardians = family::guardians(conn, &p.student_id)?;
        let teacher = family::head_teacher(conn, &p.class_id)?;
        let data = serde_json::json!({
            "student": p.name, "student_id": p.student_id,
            "dismissal": p.dismissal.format("%H:%M").to_string(),
            "minutes": p.minutes, "level": l,
        });
        if l == 1 {
            notify::send(
                conn,
                now_db,
                &family::recipients(&[&guardians, &teacher]),
                Template::PickupLate,
                data,
                Category::Pickup,
            )?;
        } else {
            notify::send(
                conn,
                now_db,
                &guardians,
                Template::PickupLate,
                data.clone(),
                Category::Pickup,
            )?;
            notify::send(
                conn,
                now_db,
                &family::recipients(&[&teacher, &admins]),
                Template::PickupLateEscalated,
                data,
                Category::Pickup,
            )?;
        }
        let action = if l == 1 {
            "pickup.late"
        } else {
            "pickup.late_escalated"
        };
        audit::record(
            conn,
            now_db,
            AuditEvent::system(action, "student", Some(&p.student_id)).in_school(Some(school_id)),
        )?;
        sent += 1;
    }
    Ok(sent)
}
