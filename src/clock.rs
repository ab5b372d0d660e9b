//! Time is a dependency: domain code asks the clock, tests set it.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Now as stored in the database: UTC, microsecond precision (what both
    /// backends keep, so a stored time reads back equal).
    fn now_db(&self) -> NaiveDateTime {
        self.now().trunc_subsecs(6).naive_utc()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

pub fn to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

/// A school's time zone; an unknown name (never stored: schools are
/// validated on creation) falls back to the default, Asia/Shanghai.
pub fn school_tz(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// The wall-clock date and time at a school (its `schools.timezone`) at the
/// UTC instant `now`: what "today", weekdays and dismissal times mean.
pub fn school_local(now: DateTime<Utc>, timezone: &str) -> NaiveDateTime {
    now.with_timezone(&school_tz(timezone)).naive_local()
}

/// The UTC instant (as stored) of a wall-clock time at a school. A time that
/// a daylight-saving change skips is taken an hour later; an ambiguous one
/// at its first occurrence.
pub fn school_local_to_utc(local: NaiveDateTime, timezone: &str) -> NaiveDateTime {
    use chrono::TimeZone;
    let tz = school_tz(timezone);
    let resolved = tz.from_local_datetime(&local).earliest().or_else(|| {
        tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
            .earliest()
    });
    match resolved {
        Some(t) => t.with_timezone(&Utc).naive_utc(),
        None => local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn school_local_time_follows_the_school_time_zone() {
        let utc = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
        let local = school_local(utc, "Asia/Shanghai");
        assert_eq!(local.to_string(), "2026-12-01 01:00:00");
        assert_eq!(school_local_to_utc(local, "Asia/Shanghai"), utc.naive_utc());
        assert_eq!(
            school_local(utc, "Europe/London").to_string(),
            "2026-11-30 17:00:00"
        );
    }
}
