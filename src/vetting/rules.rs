//! The vetting rules as pure functions: where a person stands, and until
//! when their account may reach pupils.

use super::dto::VettingStatus;
use crate::clock::school_local_to_utc;
use chrono::{Months, NaiveDate, NaiveDateTime};

/// What the rules look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The date of the latest clear check of the sexual-offence record.
    pub last_clear: Option<NaiveDate>,
    /// Any check found a record.
    pub hit: bool,
    pub grace_until: Option<NaiveDateTime>,
    pub has_commitment: bool,
    pub has_training: bool,
    /// The district asks for a commitment and training before access.
    pub requires_commitment: bool,
    /// A case's protective measure suspended the person (until the bureau
    /// lifts it): no access, whatever the checks say.
    pub suspended: bool,
}

/// The last day a clear check stands.
pub fn valid_until(checked_on: NaiveDate, months: u32) -> NaiveDate {
    checked_on
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Where a person stands on the school's date `today`, and the last day of
/// their clearance when they have one.
pub fn status(
    f: &Facts,
    months: u32,
    today: NaiveDate,
    now: NaiveDateTime,
) -> (VettingStatus, Option<NaiveDate>) {
    if f.hit {
        return (VettingStatus::Barred, None);
    }
    let until = f.last_clear.map(|d| valid_until(d, months));
    match until {
        Some(u) if today <= u => (VettingStatus::Cleared, until),
        _ if f.grace_until.is_some_and(|g| now < g) => (VettingStatus::Grace, until),
        Some(_) => (VettingStatus::Expired, until),
        None => (VettingStatus::Pending, None),
    }
}

/// Until when (UTC, as stored) the account may reach pupils: the end of the
/// clearance's last day at the school, when the commitment and training the
/// district asks for are on record, or the end of the grace period,
/// whichever is later. Never, after a hit or while suspended.
pub fn access_until(f: &Facts, months: u32, timezone: &str) -> Option<NaiveDateTime> {
    if f.hit || f.suspended {
        return None;
    }
    let complete = !f.requires_commitment || (f.has_commitment && f.has_training);
    let cleared = f.last_clear.filter(|_| complete).map(|d| {
        let day_after = valid_until(d, months).succ_opt().unwrap_or(NaiveDate::MAX);
        school_local_to_utc(day_after.and_hms_opt(0, 0, 0).unwrap(), timezone)
    });
    cleared.max(f.grace_until)
}

/// Which reminder is due on `today` for a clearance ending on `until`: the
/// 7-day one inside a week, the 30-day one inside a month.
pub fn reminder_due(until: NaiveDate, today: NaiveDate) -> Option<i32> {
    let left = (until - today).num_days();
    match left {
        0..=7 => Some(7),
        8..=30 => Some(30),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn noon(date: NaiveDate) -> NaiveDateTime {
        date.and_hms_opt(4, 0, 0).unwrap()
    }

    #[test]
    fn a_clear_check_stands_twelve_months_then_expires() {
        let f = Facts {
            last_clear: Some(d(2026, 3, 1)),
            ..Facts::default()
        };
        let (s, u) = status(&f, 12, d(2027, 3, 1), noon(d(2027, 3, 1)));
        assert_eq!((s, u), (VettingStatus::Cleared, Some(d(2027, 3, 1))));
        let (s, _) = status(&f, 12, d(2027, 3, 2), noon(d(2027, 3, 2)));
        assert_eq!(s, VettingStatus::Expired);
    }

    #[test]
    fn a_hit_bars_whatever_else_is_on_record() {
        let f = Facts {
            last_clear: Some(d(2026, 3, 1)),
            hit: true,
            grace_until: Some(noon(d(2030, 1, 1))),
            has_commitment: true,
            has_training: true,
            requires_commitment: true,
            suspended: false,
        };
        assert_eq!(
            status(&f, 12, d(2026, 3, 2), noon(d(2026, 3, 2))).0,
            VettingStatus::Barred
        );
        assert_eq!(access_until(&f, 12, "Asia/Shanghai"), None);
    }

    #[test]
    fn nothing_on_record_is_pending_and_grace_counts_until_it_ends() {
        let none = Facts::default();
        let today = d(2026, 12, 1);
        assert_eq!(
            status(&none, 12, today, noon(today)),
            (VettingStatus::Pending, None)
        );
        let grace = Facts {
            grace_until: Some(noon(d(2026, 12, 31))),
            ..Facts::default()
        };
        assert_eq!(
            status(&grace, 12, today, noon(today)).0,
            VettingStatus::Grace
        );
        let after = d(2027, 1, 1);
        assert_eq!(
            status(&grace, 12, after, noon(after)).0,
            VettingStatus::Pending
        );
        assert_eq!(access_until(&grace, 12, "Asia/Shanghai"), grace.grace_until);
    }

    #[test]
    fn access_needs_commitment_and_training_where_the_district_asks() {
        let mut f = Facts {
            last_clear: Some(d(2026, 3, 1)),
            requires_commitment: true,
            ..Facts::default()
        };
        assert_eq!(access_until(&f, 12, "Asia/Shanghai"), None);
        f.has_commitment = true;
        assert_eq!(access_until(&f, 12, "Asia/Shanghai"), None);
        f.has_training = true;
        // The end of 2027-03-01 in Shanghai is 16:00 UTC that day.
        assert_eq!(
            access_until(&f, 12, "Asia/Shanghai"),
            Some(d(2027, 3, 1).and_hms_opt(16, 0, 0).unwrap())
        );
        f.requires_commitment = false;
        f.has_training = false;
        assert!(access_until(&f, 12, "Asia/Shanghai").is_some());
    }

    #[test]
    fn reminders_come_a_month_and_a_week_before() {
        let until = d(2027, 3, 1);
        assert_eq!(reminder_due(until, d(2027, 1, 1)), None);
        assert_eq!(reminder_due(until, d(2027, 1, 30)), Some(30));
        assert_eq!(reminder_due(until, d(2027, 2, 22)), Some(7));
        assert_eq!(reminder_due(until, until), Some(7));
        assert_eq!(reminder_due(until, d(2027, 3, 2)), None);
    }

    #[test]
    fn a_suspended_person_has_no_access_whatever_the_checks_say() {
        let mut f = Facts {
            last_clear: Some(d(2026, 1, 10)),
            grace_until: Some(d(2027, 1, 1).and_hms_opt(0, 0, 0).unwrap()),
            ..Facts::default()
        };
        assert!(access_until(&f, 12, "Asia/Shanghai").is_some());
        f.suspended = true;
        assert_eq!(access_until(&f, 12, "Asia/Shanghai"), None);
    }
}
