//! A school's pickup settings: dismissal times, the late threshold, the
//! pass cut-off and the days it is closed.

use super::Now;
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::dates::LocalDate;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::org::dto::ClockTime;
use crate::pickup::dto::{DismissalTime, PickupSettings, PickupSettingsBody, Weekday};
use crate::pickup::model::DismissalOverride;
use crate::pickup::repo;

fn view(conn: &mut AnyConnection, school_id: &str) -> AppResult<PickupSettings> {
    let school = repo::school_row(conn, school_id)?;
    let (late, cutoff) = repo::settings(conn, school_id)?;
    let overrides = repo::dismissal_overrides(conn, school_id)?;
    let closed = repo::closed_days(conn, school_id)?;
    Ok(PickupSettings {
        closed_dates: closed.into_iter().map(LocalDate::date).collect(),
        school_id: school.id,
        late_threshold_minutes: late,
        pass_cutoff: cutoff,
        default_dismissal_time: school.dismissal_time,
        dismissal_times: overrides
            .into_iter()
            .filter_map(|(w, g, t)| {
                Some(DismissalTime {
                    weekday: w.and_then(Weekday::from_number),
                    grade: g,
                    time: ClockTime::parse(&t).ok()?,
                })
            })
            .collect(),
    })
}

/// The settings of a school in the caller's scope (the staff role is the extractor's).
pub fn get(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
) -> AppResult<PickupSettings> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    view(conn, &school.id)
}

/// The body's rules: bounds, and one entry per weekday and grade.
fn check(b: &PickupSettingsBody) -> AppResult<i32> {
    let late = b
        .late_threshold_minutes
        .unwrap_or(repo::DEFAULT_LATE_THRESHOLD_MINUTES);
    if !(5..=120).contains(&late) {
        return Err(ApiError::invalid(
            "late_threshold_minutes",
            "late_threshold_minutes must be from 5 to 120",
        ));
    }
    if b.closed_dates.len() > 400 {
        return Err(ApiError::invalid("closed_dates", "at most 400 dates"));
    }
    if b.dismissal_times.len() > 100 {
        return Err(ApiError::invalid("dismissal_times", "at most 100 entries"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, t) in b.dismissal_times.iter().enumerate() {
        if t.grade.is_some_and(|g| !(0..=12).contains(&g)) {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}].grade"),
                "grade must be from 0 to 12",
            ));
        }
        if t.weekday.is_none() && t.grade.is_none() {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}]"),
                "name a weekday, a grade or both (the school's default time covers the rest)",
            ));
        }
        if !seen.insert((t.weekday.map(Weekday::number), t.grade)) {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}]"),
                "two entries for the same weekday and grade",
            ));
        }
    }
    Ok(late)
}

/// Replaces a school's settings: the school in scope (404; the admin role
/// is the extractor's), then the body.
pub fn put(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    school_id: &str,
    body: AppResult<PickupSettingsBody>,
) -> AppResult<PickupSettings> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let b = body?;
    let late = check(&b)?;
    let cutoff = b.pass_cutoff.map(|c| c.into_string());
    repo::replace_settings(conn, &school.id, late, cutoff.as_deref(), now.db)?;
    let overrides: Vec<DismissalOverride> = b
        .dismissal_times
        .iter()
        .map(|t| {
            let time = t.time.as_str().to_string();
            (t.weekday.map(Weekday::number), t.grade, time)
        })
        .collect();
    repo::replace_dismissal_overrides(conn, &school.id, &overrides, now.db)?;
    let mut dates: Vec<LocalDate> = b.closed_dates.iter().copied().map(LocalDate).collect();
    dates.sort();
    dates.dedup();
    repo::replace_closed_days(conn, &school.id, &dates)?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup.settings", "school", Some(&school.id))
            .in_school(Some(&school.id)),
    )?;
    view(conn, &school.id)
}
