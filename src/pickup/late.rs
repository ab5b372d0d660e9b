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

/// One round over every school. Returns how many alerts (pupil × level) it
/// sent. Blocking: call it from a worker thread or `web::block`.
pub fn run_late_pickup_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let now_db = state.now_db();
    let school_ids = state.db.write_blocking(repo::school_ids)?;
    let mut sent = 0;
    for id in school_ids {
        // One transaction per school: one school's failure stops no other.
        sent += state
            .db
            .write_blocking(|conn| late_for_school(conn, &id, now, now_db))?;
    }
    Ok(sent)
}

fn late_for_school(
    conn: &mut AnyConnection,
    school_id: &str,
    now: DateTime<Utc>,
    now_db: NaiveDateTime,
) -> AppResult<usize> {
    let school: SchoolRow = repo::school_row(conn, school_id)?;
    let local = school_local(now, &school.timezone);
    let today = local.date();
    if repo::closed_on(conn, &school.id, today)? {
        return Ok(0);
    }
    let (threshold, _) = repo::settings(conn, &school.id)?;
    let threshold = chrono::Duration::minutes(threshold as i64);
    let overrides = repo::dismissal_overrides(conn, &school.id)?;
    let gone_home_another_way =
        repo::pupils_going_home_another_way(conn, &school.id, DismissalMode::Handover.as_str())?;
    let waiting = repo::pupils_not_handed_over(conn, &school.id, today)?;
    let admins = family::school_admins(conn, &school.id)?;
    let mut sent = 0;
    for (student_id, name, class_id, grade) in waiting {
        if gone_home_another_way.contains(&student_id)
            || crate::attendance::presence(conn, &student_id, now)?
                != crate::attendance::Presence::Present
        {
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
        // Record every level reached; speak only for the highest new one.
        let mut newest = None;
        for l in 1..=level {
            let inserted = repo::record_late_alert(conn, &student_id, today, l, now_db)?;
            if inserted == 1 {
                newest = Some(l);
            }
        }
        let Some(l) = newest else { continue };
        let guardians = family::guardians(conn, &student_id)?;
        let teacher = family::head_teacher(conn, &class_id)?;
        let minutes = (local - dismissal_at).num_minutes();
        let data = serde_json::json!({
            "student": name, "student_id": student_id,
            "dismissal": dismissal.format("%H:%M").to_string(),
            "minutes": minutes, "level": l,
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
            AuditEvent::system(action, "student", Some(&student_id)).in_school(Some(&school.id)),
        )?;
        sent += 1;
    }
    Ok(sent)
}
