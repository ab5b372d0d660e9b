//! Pickup's use cases: who may do what to which pupil's pickup, the rules
//! beyond the extractor, the dismissal board's day, and the alerts and audit
//! each change calls for. Every SQL statement is in `repo`.

pub mod blocks;
pub mod dismissal;
pub mod handovers;
pub mod passes;
pub mod persons;
pub mod release;
pub mod settings;

use super::dto::{Handover, Weekday};
use super::model::{DismissalOverride, HandoverRow};
use super::repo;
use crate::clock::school_local;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::org::model::SchoolRow;
use crate::state::AppState;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// The moment of a request, from the injected clock: as UTC, and as stored.
#[derive(Clone, Copy)]
pub struct Now {
    pub utc: DateTime<Utc>,
    pub db: NaiveDateTime,
}

impl Now {
    pub fn of(state: &AppState) -> Now {
        Now {
            utc: state.now(),
            db: state.now_db(),
        }
    }
}

fn forbidden(code: Code, detail: &str) -> ApiError {
    ApiError::forbidden(code, detail.to_string())
}

/// The school's local date and time now, and its time zone.
fn local_now(
    conn: &mut AnyConnection,
    school_id: &str,
    now: DateTime<Utc>,
) -> AppResult<(NaiveDateTime, String)> {
    let school = repo::school_row(conn, school_id)?;
    Ok((school_local(now, &school.timezone), school.timezone))
}

/// Handovers as the API shows them, with the pupil's name and photo links.
fn handover_views(conn: &mut AnyConnection, rows: Vec<HandoverRow>) -> AppResult<Vec<Handover>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name = repo::student_name(conn, &r.student_id)?;
        let photo = match &r.pickup_person_id {
            Some(p) => repo::person_has_photo(conn, p)?,
            None => false,
        };
        out.push(r.into_dto(name, photo));
    }
    Ok(out)
}

fn handover_view(conn: &mut AnyConnection, row: HandoverRow) -> AppResult<Handover> {
    Ok(handover_views(conn, vec![row])?.remove(0))
}

fn hhmm(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap_or(NaiveTime::MIN)
}

/// The dismissal time of a grade on a date: an override for that weekday
/// and grade, else for the grade, else for the weekday, else the school's
/// default. `None` on a weekend without an override: no dismissal that day.
pub fn dismissal_time(
    school: &SchoolRow,
    overrides: &[DismissalOverride],
    grade: i32,
    date: NaiveDate,
) -> Option<NaiveTime> {
    let day = Weekday::of(date).number();
    let pick = |w: Option<i32>, g: Option<i32>| {
        overrides
            .iter()
            .find(|(ow, og, _)| *ow == w && *og == g)
            .map(|(_, _, t)| hhmm(t))
    };
    pick(Some(day), Some(grade))
        .or_else(|| {
            // A grade-wide time applies on school days only.
            (day <= 5).then(|| pick(None, Some(grade))).flatten()
        })
        .or_else(|| pick(Some(day), None))
        .or_else(|| (day <= 5).then(|| hhmm(&school.dismissal_time)))
}

/// A pupil leaves the school (a transfer): every pickup person and unused
/// pass of the old record ends now, and its standing never-release entries
/// follow the child to the new record. Answers (persons, passes) ended.
pub fn end_for_transfer(
    conn: &mut AnyConnection,
    old_student: &str,
    new_student: &str,
    now: NaiveDateTime,
    by: &str,
) -> AppResult<(usize, usize)> {
    repo::copy_blocks(conn, old_student, new_student, now)?;
    repo::end_all_for(conn, old_student, now, by)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school() -> SchoolRow {
        SchoolRow {
            id: "s".into(),
            district_id: "d".into(),
            name: "S".into(),
            code: "S-1".into(),
            kind: "primary".into(),
            timezone: "Asia/Shanghai".into(),
            dismissal_time: "16:30".into(),
            created_at: NaiveDateTime::default(),
        }
    }

    #[test]
    fn the_most_specific_dismissal_time_wins_and_weekends_have_none() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let saturday = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let o: Vec<DismissalOverride> = vec![
            (Some(3), None, "14:00".into()),
            (None, Some(1), "15:30".into()),
            (Some(3), Some(1), "13:00".into()),
            (Some(6), None, "11:30".into()),
        ];
        let t = |g, d| dismissal_time(&school(), &o, g, d).map(|t| t.format("%H:%M").to_string());
        assert_eq!(t(1, monday).as_deref(), Some("15:30"));
        assert_eq!(t(2, monday).as_deref(), Some("16:30"));
        assert_eq!(t(1, wednesday).as_deref(), Some("13:00"));
        assert_eq!(t(2, wednesday).as_deref(), Some("14:00"));
        assert_eq!(t(2, saturday).as_deref(), Some("11:30"));
        assert_eq!(t(2, saturday.succ_opt().unwrap()), None);
    }
}
