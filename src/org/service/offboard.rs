//! Staff who leave. The admin names the day; on that day (at once when it
//! is today) the account's sessions end and it is disabled, it leaves its
//! tip-line mailbox places and its classes lose their head teacher, and the
//! school's admins are told what needs a new owner.

use crate::account;
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::{school_local, school_local_to_utc, to_utc};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::dto::{Departure, NewDeparture};
use crate::org::family;
use crate::org::repo;
use crate::vetting;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

pub fn offboard(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: AppResult<NewDeparture>,
) -> AppResult<Departure> {
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let user = repo::user(conn, caller, id)?;
    let b = body?;
    let school_id = match (&user.school_id, user.role().is_school_staff()) {
        (Some(s), true) => s.clone(),
        _ => {
            return Err(ApiError::invalid(
                "id",
                "only a school's staff leave through offboarding; disable other accounts",
            ))
        }
    };
    if user.id == caller.user_id {
        return Err(ApiError::conflict(
            Code::CannotDisableSelf,
            "you cannot offboard your own account",
        ));
    }
    let timezone = repo::school(conn, caller, &school_id)?.timezone;
    let today = school_local(now_utc, &timezone).date();
    if b.effective_on.date() < today {
        return Err(ApiError::invalid(
            "effective_on",
            "effective_on must be today or later at the school",
        ));
    }
    let effective_at = school_local_to_utc(
        b.effective_on
            .date()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
        &timezone,
    );
    repo::plan_departure(
        conn,
        &user.id,
        &school_id,
        b.effective_on,
        effective_at,
        &caller.user_id,
        now,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "user.offboard_planned", "user", Some(&user.id))
            .in_school(Some(&school_id)),
    )?;
    let mut released = Vec::new();
    let mut done_at = None;
    if effective_at <= now {
        released = depart(conn, now, &user.id, &school_id)?;
        done_at = Some(to_utc(now));
    }
    Ok(Departure {
        user_id: user.id,
        effective_on: b.effective_on,
        done_at,
        released_classes: released,
    })
}

/// Carries out a departure; answers the names of the classes left without
/// a head teacher.
fn depart(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_id: &str,
    school_id: &str,
) -> AppResult<Vec<String>> {
    account::repo::end_all_sessions(conn, user_id, now)?;
    repo::disable_user(conn, user_id)?;
    let classes = repo::release_head_teacher(conn, user_id)?;
    let mailboxes = vetting::leave_mailboxes(conn, user_id)?;
    crate::org::leads::release(conn, user_id)?;
    repo::mark_departed(conn, user_id, now)?;
    let name: String = repo::display_name(conn, user_id)?;
    let admins: Vec<String> = family::school_admins(conn, school_id)?
        .into_iter()
        .filter(|a| a != user_id)
        .collect();
    let none = "-".to_string();
    notify::send(
        conn,
        now,
        &admins,
        Template::StaffDeparted,
        serde_json::json!({
            "name": name,
            "classes": if classes.is_empty() { none.clone() } else { classes.join(", ") },
            "mailboxes": mailboxes,
        }),
        Category::Account,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::system("user.offboarded", "user", Some(user_id)).in_school(Some(school_id)),
    )?;
    Ok(classes)
}

/// Carries out every departure whose day has come; answers how many.
pub fn run_departures_worker(state: &crate::state::AppState) -> AppResult<usize> {
    let now = state.now_db();
    state.db.write_blocking(|conn| {
        let due = repo::departures_due(conn, now)?;
        for (user_id, school_id) in &due {
            depart(conn, now, user_id, school_id)?;
        }
        Ok(due.len())
    })
}
