//! The late-pickup worker: pupils who need handover and are still waiting
//! after dismissal plus the school's threshold. It tells the guardians and
//! the head teacher at the threshold, and the school admin too at twice it.
//! What it sent is recorded (`pickup_late_alerts`), so running it again,
//! or on several instances at once, sends nothing twice.

use super::dto::DismissalMode;
use super::repo;
use crate::audit::{self, AuditEvent};
use crate::clock::school_local;
use crate::db::schema::{handovers, pickup_dismissal_modes, pickup_late_alerts, schools, students};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::org::repo::SchoolRow;
use crate::state::AppState;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// One round over every school. Returns how many alerts (pupil × level) it
/// sent. Blocking: call it from a worker thread or `web::block`.
pub fn run_late_pickup_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let now_db = state.now_db();
    let school_ids: Vec<String> = state.db.write_blocking(|conn| {
        Ok(schools::table
            .select(schools::id)
            .order(schools::id)
            .load(conn)?)
    })?;
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
    let gone_home_another_way: Vec<String> = pickup_dismissal_modes::table
        .inner_join(students::table)
        .filter(students::school_id.eq(&school.id))
        .filter(pickup_dismissal_modes::mode.ne(DismissalMode::Handover.as_str()))
        .select(pickup_dismissal_modes::student_id)
        .load(conn)?;
    let waiting: Vec<(String, String, String, i32)> = students::table
        .filter(students::school_id.eq(&school.id))
        .filter(students::handover_required.eq(true))
        .filter(
            students::id.ne_all(
                handovers::table
                    .filter(handovers::school_id.eq(&school.id))
                    .filter(handovers::local_date.eq(repo::date_key(today)))
                    .select(handovers::student_id),
            ),
        )
        .select((
            students::id,
            students::name,
            students::class_id,
            students::grade,
        ))
        .order(students::id)
        .load(conn)?;
    let admins = family::school_admins(conn, &school.id)?;
    let mut sent = 0;
    for (student_id, name, class_id, grade) in waiting {
        if gone_home_another_way.contains(&student_id)
            || crate::attendance::presence(conn, &student_id, now)?
                != crate::attendance::Presence::Present
        {
            continue;
        }
        let Some(dismissal) = repo::dismissal_time(&school, &overrides, grade, today) else {
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
            let inserted =
                crate::on_backend!(conn, |c| diesel::insert_into(pickup_late_alerts::table)
                    .values((
                        pickup_late_alerts::id.eq(new_id(now_db)),
                        pickup_late_alerts::student_id.eq(&student_id),
                        pickup_late_alerts::local_date.eq(repo::date_key(today)),
                        pickup_late_alerts::level.eq(l),
                        pickup_late_alerts::created_at.eq(now_db),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c))?;
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
