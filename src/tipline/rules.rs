//! The tip line's pure rules: which status may follow which, when each open
//! state is due to move on, which accounts are too new to approve, and the
//! window a report or a reporter's message is kept to.

use super::dto::{Status, Urgency};
use crate::clock::{school_local, school_local_to_utc, to_utc};
use chrono::{Datelike, Duration, NaiveDateTime, Weekday};

/// An account this young (or disabled) approves and confirms nothing on the
/// tip line: a sock puppet made for the purpose has to wait, in plain view.
pub const NEW_ACCOUNT_DAYS: i64 = 7;

/// How often one user may read their key's backup.
pub const BACKUP_READS_PER_HOUR: i64 = 5;

/// The steps a school reader or the bureau may take (closing and reopening
/// are not steps: a close is proposed and confirmed, a reopening is the
/// bureau's).
pub fn allowed_next(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (New, Acknowledged)
            | (New, Investigating)
            | (Acknowledged, Investigating)
            | (Investigating, ReferredToPolice)
            | (Investigating, Resolved)
            | (ReferredToPolice, Resolved)
    )
}

/// A progress note: the same status again, with a note, while a report is
/// being handled. It restarts the note deadline.
pub fn is_progress_note(from: Status, to: Status) -> bool {
    from == to && being_handled(from)
}

fn being_handled(s: Status) -> bool {
    matches!(
        s,
        Status::Investigating | Status::ReferredToPolice | Status::Resolved
    )
}

/// Whether a close may be proposed from this status: never from `new` (a
/// report nobody looked into cannot be closed), nor twice.
pub fn may_propose_close(from: Status) -> bool {
    !matches!(from, Status::New | Status::Closed)
}

/// When a report that entered (or was noted in) `status` at `since` must
/// next move on; none for `new` (its deadline counts from the report's
/// creation and urgency) and for `closed`.
pub fn due_after(
    status: Status,
    since: NaiveDateTime,
    investigation_school_days: i64,
    progress_note_days: i64,
    timezone: &str,
) -> Option<NaiveDateTime> {
    match status {
        Status::Acknowledged => Some(add_school_days(since, investigation_school_days, timezone)),
        s if being_handled(s) => Some(since + Duration::days(progress_note_days)),
        _ => None,
    }
}

/// The same wall-clock time at the school, `days` school days (Monday to
/// Friday) later.
pub fn add_school_days(since: NaiveDateTime, days: i64, timezone: &str) -> NaiveDateTime {
    let local = school_local(to_utc(since), timezone);
    let mut date = local.date();
    let mut left = days;
    while left > 0 {
        date = date.succ_opt().unwrap_or(date);
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    school_local_to_utc(date.and_time(local.time()), timezone)
}

/// How long the window of a report of this urgency (and of each message
/// its reporter adds) lasts: nothing stored or shown tells the moment within
/// it. A danger-now report has none: it is announced at once.
pub fn window_minutes(urgency: Urgency) -> i64 {
    match urgency {
        Urgency::Normal => 60,
        Urgency::Urgent => 15,
        Urgency::DangerNow => 0,
    }
}

/// The window something sent at a moment falls in: windows are aligned on
/// the clock (every hour, every quarter hour) and the same for every school,
/// so a window holds everything sent in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The time stored for what was sent in the window.
    pub start: NaiveDateTime,
    /// When the window's batch is released to staff, and its deadlines start.
    pub end: NaiveDateTime,
}

impl Window {
    pub fn of(urgency: Urgency, at: NaiveDateTime) -> Window {
        let len = window_minutes(urgency) * 60;
        if len == 0 {
            return Window { start: at, end: at };
        }
        let secs = at.and_utc().timestamp();
        let start = secs - secs.rem_euclid(len);
        let start = chrono::DateTime::from_timestamp(start, 0)
            .map(|t| t.naive_utc())
            .unwrap_or(at);
        Window {
            start,
            end: start + Duration::seconds(len),
        }
    }

    /// Whether what was sent waits for the window's end (all but danger-now).
    pub fn holds(&self) -> bool {
        self.end > self.start
    }
}

/// Whether an account made at `created_at` is old enough to approve or
/// confirm anything at `now`.
pub fn established(created_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    now - created_at >= Duration::days(NEW_ACCOUNT_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn three_school_days_skip_the_weekend_at_the_school() {
        let tz = "Asia/Shanghai";
        // Wed 2 Dec 10:00 in Shanghai (02:00 UTC): Thu, Fri, Mon.
        assert_eq!(add_school_days(utc(2, 2), 3, tz), utc(7, 2));
        // Mon 30 Nov 10:00: Tue, Wed, Thu.
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap();
        assert_eq!(add_school_days(monday, 3, tz), utc(3, 2));
        // Fri 4 Dec 23:30 UTC is already Saturday 07:30 in Shanghai: Mon,
        // Tue, Wed, so Wednesday 07:30 there, Tuesday 23:30 UTC.
        let late = utc(4, 23) + Duration::minutes(30);
        assert_eq!(
            add_school_days(late, 3, tz),
            utc(8, 23) + Duration::minutes(30)
        );
    }

    #[test]
    fn every_open_state_after_new_has_a_deadline() {
        let tz = "Asia/Shanghai";
        let at = utc(2, 2);
        assert_eq!(due_after(Status::New, at, 3, 14, tz), None);
        assert_eq!(due_after(Status::Closed, at, 3, 14, tz), None);
        assert_eq!(
            due_after(Status::Acknowledged, at, 3, 14, tz),
            Some(utc(7, 2))
        );
        for s in [
            Status::Investigating,
            Status::ReferredToPolice,
            Status::Resolved,
        ] {
            assert_eq!(due_after(s, at, 3, 14, tz), Some(utc(16, 2)));
        }
    }

    #[test]
    fn a_close_is_never_proposed_from_new() {
        assert!(!may_propose_close(Status::New));
        assert!(!may_propose_close(Status::Closed));
        assert!(may_propose_close(Status::Acknowledged));
        assert!(may_propose_close(Status::Resolved));
        assert!(is_progress_note(
            Status::Investigating,
            Status::Investigating
        ));
        assert!(!is_progress_note(
            Status::Acknowledged,
            Status::Acknowledged
        ));
        assert!(!allowed_next(Status::New, Status::Closed));
    }

    #[test]
    fn windows_are_aligned_on_the_clock_and_danger_now_has_none() {
        let at = utc(2, 2) + Duration::minutes(37) + Duration::seconds(12);
        let normal = Window::of(Urgency::Normal, at);
        assert_eq!((normal.start, normal.end), (utc(2, 2), utc(2, 3)));
        assert!(normal.holds());
        let urgent = Window::of(Urgency::Urgent, at);
        assert_eq!(
            (urgent.start, urgent.end),
            (
                utc(2, 2) + Duration::minutes(30),
                utc(2, 2) + Duration::minutes(45)
            )
        );
        // Two moments of one window cannot be told apart.
        assert_eq!(
            Window::of(Urgency::Normal, utc(2, 2) + Duration::minutes(1)),
            Window::of(Urgency::Normal, utc(2, 3) - Duration::microseconds(1))
        );
        // The end belongs to the next window.
        assert_eq!(Window::of(Urgency::Urgent, urgent.end).start, urgent.end);
        let now = Window::of(Urgency::DangerNow, at);
        assert_eq!((now.start, now.end), (at, at));
        assert!(!now.holds());
    }

    #[test]
    fn accounts_younger_than_a_week_do_not_approve() {
        let made = utc(1, 0);
        assert!(!established(
            made,
            made + Duration::days(7) - Duration::seconds(1)
        ));
        assert!(established(made, made + Duration::days(7)));
    }
}
