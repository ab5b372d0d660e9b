//! The rules of cases as pure functions: which categories the police must
//! hear of, who may open a case, when a case is overdue, which timer alerts
//! are due, which statistics are shown, and whether a case may close.

use super::dto::{SourceKind, SuspectKind};
use crate::auth::Role;
use chrono::{Duration, NaiveDateTime};

/// Cells of the statistics under this count are suppressed.
pub const MIN_CELL: i64 = 5;

pub use crate::concerns::rules::is_mandatory;

/// The human case number: `C-2026-0001`, counting per district and year.
pub fn case_number(year: i32, seq: i64) -> String {
    format!("C-{year}-{seq:04}")
}

/// Why a caller may not open a case.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenRefusal {
    /// Not their school (404).
    NotTheirSchool,
    /// A teacher, for a pupil not in their class (403).
    NotHeadTeacher,
    /// A tip-line report about staff opens a case only from the bureau (403).
    BureauOnly,
}

/// Whether `role` may open a case at a school: the bureau anywhere in its
/// district; the school admin and counsellors at their school; a teacher at
/// their school for pupils of their class only. A tip-line report that
/// concerns staff opens a case only from the bureau.
pub fn may_open(
    role: Role,
    own_school: bool,
    heads_every_pupil: bool,
    source: SourceKind,
    suspect: SuspectKind,
) -> Result<(), OpenRefusal> {
    if source == SourceKind::TipReport && suspect == SuspectKind::Staff {
        return match role {
            Role::BureauOfficer => Ok(()),
            _ => Err(OpenRefusal::BureauOnly),
        };
    }
    match role {
        Role::BureauOfficer => Ok(()),
        _ if !own_school => Err(OpenRefusal::NotTheirSchool),
        Role::SchoolAdmin | Role::Counselor => Ok(()),
        Role::Teacher if heads_every_pupil => Ok(()),
        Role::Teacher => Err(OpenRefusal::NotHeadTeacher),
        _ => Err(OpenRefusal::NotTheirSchool),
    }
}

/// What the deadlines need to know of a case.
pub struct Deadlines {
    pub police_due_at: Option<NaiveDateTime>,
    pub police_reported: bool,
    pub ack_due_at: NaiveDateTime,
    pub acknowledged: bool,
    pub closed: bool,
}

/// A case is overdue when a deadline passed with nothing on record: the
/// police report of a mandatory category, or the bureau's acknowledgement.
pub fn overdue(d: &Deadlines, now: NaiveDateTime) -> bool {
    if d.closed {
        return false;
    }
    let police = !d.police_reported && d.police_due_at.is_some_and(|t| now >= t);
    let ack = !d.acknowledged && now >= d.ack_due_at;
    police || ack
}

/// The police alerts due for a mandatory case without a police report,
/// as (kind, hours since opening): the first after `first` minutes, the
/// second after `second` minutes.
pub fn police_alerts_due(
    opened_at: NaiveDateTime,
    now: NaiveDateTime,
    first: i64,
    second: i64,
) -> Vec<(&'static str, i64)> {
    let mut due = Vec::new();
    for (kind, minutes) in [("police_first", first), ("police_second", second)] {
        if now >= opened_at + Duration::minutes(minutes) {
            due.push((kind, minutes / 60));
        }
    }
    due
}

/// A count as the statistics show it: under `MIN_CELL`, suppressed.
pub fn shown(count: i64) -> Option<i64> {
    (count >= MIN_CELL).then_some(count)
}

/// A mandatory case closes only with a police report on record.
pub fn may_close(mandatory: bool, police_reported: bool) -> bool {
    !mandatory || police_reported
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
            + Duration::hours(h)
    }

    #[test]
    fn case_numbers_count_per_year() {
        assert_eq!(case_number(2026, 1), "C-2026-0001");
        assert_eq!(case_number(2027, 12345), "C-2027-12345");
    }

    #[test]
    fn who_opens() {
        use OpenRefusal::*;
        let obs = SourceKind::Observation;
        let unk = SuspectKind::Unknown;
        assert_eq!(may_open(Role::Teacher, true, true, obs, unk), Ok(()));
        assert_eq!(
            may_open(Role::Teacher, true, false, obs, unk),
            Err(NotHeadTeacher)
        );
        assert_eq!(
            may_open(Role::Counselor, false, false, obs, unk),
            Err(NotTheirSchool)
        );
        assert_eq!(
            may_open(Role::BureauOfficer, false, false, obs, unk),
            Ok(())
        );
        let tip = SourceKind::TipReport;
        let staff = SuspectKind::Staff;
        assert_eq!(
            may_open(Role::SchoolAdmin, true, true, tip, staff),
            Err(BureauOnly)
        );
        assert_eq!(
            may_open(Role::BureauOfficer, false, false, tip, staff),
            Ok(())
        );
        assert_eq!(may_open(Role::SchoolAdmin, true, true, tip, unk), Ok(()));
    }

    #[test]
    fn overdue_needs_a_passed_deadline_and_nothing_on_record() {
        let mut d = Deadlines {
            police_due_at: Some(at(1)),
            police_reported: false,
            ack_due_at: at(24),
            acknowledged: false,
            closed: false,
        };
        assert!(!overdue(&d, at(0)));
        assert!(overdue(&d, at(1)));
        d.police_reported = true;
        assert!(!overdue(&d, at(2)));
        assert!(overdue(&d, at(24)));
        d.acknowledged = true;
        assert!(!overdue(&d, at(48)));
        d.police_reported = false;
        d.closed = true;
        assert!(!overdue(&d, at(48)));
    }

    #[test]
    fn police_alerts_at_one_hour_and_a_day() {
        assert!(police_alerts_due(at(0), at(0), 60, 1440).is_empty());
        assert_eq!(
            police_alerts_due(at(0), at(1), 60, 1440),
            vec![("police_first", 1)]
        );
        assert_eq!(police_alerts_due(at(0), at(24), 60, 1440).len(), 2);
    }

    #[test]
    fn small_cells_are_suppressed_and_closing_needs_the_police() {
        assert_eq!(shown(3), None);
        assert_eq!(shown(4), None);
        assert_eq!(shown(5), Some(5));
        assert!(!may_close(true, false));
        assert!(may_close(true, true));
        assert!(may_close(false, false));
    }
}
