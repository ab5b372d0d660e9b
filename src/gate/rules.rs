//! The gate's pure rules: a visit's states, its window, and whether a
//! visitor matches a watch-list entry. No database, no clock: unit-tested.

use crate::org::family::{normalise_name, same_phone};
use chrono::{Duration, NaiveDateTime};

crate::text_enum!(
    /// Where a visit stands.
    pub enum VisitStatus {
        /// Pre-registered by its host; the code has not been used.
        Expected = "expected",
        /// A walk-in waiting at the gate for the host's decision.
        PendingHost = "pending_host",
        /// Inside the school.
        OnSite = "on_site",
        /// Checked out.
        Left = "left",
        /// The host or the school admin refused it.
        Refused = "refused",
        /// The visitor matched the watch list and was not let in.
        Barred = "barred",
    }
);

crate::text_enum!(
    /// Why a person is on a school's watch list.
    pub enum WatchSource {
        /// The school admin banned the person.
        Ban = "ban",
        /// A vetting check found a record (staff barred by vetting).
        VettingHit = "vetting_hit",
        /// A case's protective measure suspended the staff member.
        Suspended = "suspended",
        /// A pupil's never-release list (a court or protective order).
        NeverRelease = "never_release",
    }
);

/// A visitor stays this long after the window before the host and the
/// guard are alerted.
pub const OVERSTAY_GRACE_MINUTES: i64 = 30;
/// A walk-in's window: from its arrival, this long.
pub const WALK_IN_HOURS: i64 = 2;
/// The longest window a host may pre-register.
pub const MAX_WINDOW_DAYS: i64 = 7;

/// The transitions a visit may make.
pub fn allowed_next(from: VisitStatus, to: VisitStatus) -> bool {
    use VisitStatus::*;
    matches!(
        (from, to),
        (Expected, OnSite)
            | (Expected, Refused)
            | (Expected, Barred)
            | (PendingHost, OnSite)
            | (PendingHost, Refused)
            | (OnSite, Left)
    )
}

/// Whether a pre-registered code may be used at `now`.
pub fn inside_window(from: NaiveDateTime, until: NaiveDateTime, now: NaiveDateTime) -> bool {
    from <= now && now <= until
}

/// Whether an on-site visitor is past the window and its grace.
pub fn overstayed(until: NaiveDateTime, now: NaiveDateTime) -> bool {
    now > until + Duration::minutes(OVERSTAY_GRACE_MINUTES)
}

/// A plate compared without spaces, dots or hyphens, in capitals
/// ("京A·12345" = "京a 12345").
pub fn normalise_plate(plate: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    plate
        .nfkc()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// An ID number as it is kept: without spaces, in capitals; 6 to 32
/// letters and digits. Only its last 4 and a keyed hash are stored.
pub fn normalise_id_number(number: &str) -> Option<String> {
    let n: String = number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    (n.len() >= 6 && n.len() <= 32 && n.chars().all(|c| c.is_ascii_alphanumeric())).then_some(n)
}

/// The marks of a person at the gate, or of a watch-list entry.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
    pub id_hmac: Option<String>,
    pub plate: Option<String>,
}

/// A watch-list entry as the gate checks it.
#[derive(Clone, Debug)]
pub struct WatchEntry {
    pub id: String,
    pub source: WatchSource,
    pub marks: Marks,
}

impl WatchEntry {
    /// Whether the entry names the visitor: the same name (NFKC-normalised),
    /// phone, ID (the keyed hash when both have one, else the last 4) or plate.
    pub fn names(&self, who: &Marks) -> bool {
        let e = &self.marks;
        let name = match (&e.name, &who.name) {
            (Some(a), Some(b)) => {
                let (a, b) = (normalise_name(a), normalise_name(b));
                !a.is_empty() && a == b
            }
            _ => false,
        };
        let phone = matches!((&e.phone, &who.phone), (Some(a), Some(b)) if same_phone(a, b));
        let id = match (&e.id_hmac, &who.id_hmac) {
            (Some(a), Some(b)) => a == b,
            _ => matches!((&e.id_last4, &who.id_last4), (Some(a), Some(b)) if a == b),
        };
        let plate = matches!((&e.plate, &who.plate), (Some(a), Some(b))
            if !normalise_plate(a).is_empty() && normalise_plate(a) == normalise_plate(b));
        name || phone || id || plate
    }
}

/// The first entry that names the visitor.
pub fn first_match<'a>(entries: &'a [WatchEntry], who: &Marks) -> Option<&'a WatchEntry> {
    entries.iter().find(|e| e.names(who))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn entry(marks: Marks) -> WatchEntry {
        WatchEntry {
            id: "w".into(),
            source: WatchSource::Ban,
            marks,
        }
    }

    #[test]
    fn a_code_works_only_inside_its_window() {
        assert!(inside_window(at(9, 0), at(11, 0), at(9, 0)));
        assert!(inside_window(at(9, 0), at(11, 0), at(11, 0)));
        assert!(!inside_window(at(9, 0), at(11, 0), at(8, 59)));
        assert!(!inside_window(at(9, 0), at(11, 0), at(11, 1)));
    }

    #[test]
    fn overstay_starts_thirty_minutes_after_the_window() {
        assert!(!overstayed(at(11, 0), at(11, 30)));
        assert!(overstayed(at(11, 0), at(11, 31)));
    }

    #[test]
    fn a_visit_is_used_once_and_only_a_waiting_one_is_decided() {
        use VisitStatus::*;
        assert!(allowed_next(Expected, OnSite));
        assert!(!allowed_next(OnSite, OnSite));
        assert!(!allowed_next(Left, OnSite));
        assert!(allowed_next(PendingHost, Refused));
        assert!(!allowed_next(Refused, OnSite));
        assert!(!allowed_next(Barred, OnSite));
        assert!(!allowed_next(Expected, Left));
    }

    #[test]
    fn entries_match_by_nfkc_name_phone_id_or_plate() {
        let e = entry(Marks {
            name: Some("Wang Jun".into()),
            phone: Some("139 0000 0009".into()),
            id_last4: Some("123X".into()),
            id_hmac: None,
            plate: Some("京A·12345".into()),
        });
        let who = |name: Option<&str>, phone: Option<&str>, plate: Option<&str>| Marks {
            name: name.map(String::from),
            phone: phone.map(String::from),
            plate: plate.map(String::from),
            ..Marks::default()
        };
        assert!(e.names(&who(Some("Ｗａｎｇ Ｊｕｎ"), None, None)));
        assert!(e.names(&who(Some("x"), Some("+86 13900000009"), None)));
        assert!(e.names(&who(Some("x"), None, Some("京a 12345"))));
        assert!(!e.names(&who(
            Some("Wang Juan"),
            Some("13900000008"),
            Some("京A12346")
        )));
    }

    #[test]
    fn a_keyed_id_hash_decides_when_both_sides_have_one() {
        let e = entry(Marks {
            id_last4: Some("1234".into()),
            id_hmac: Some("aa".into()),
            ..Marks::default()
        });
        let same_end_other_number = Marks {
            id_last4: Some("1234".into()),
            id_hmac: Some("bb".into()),
            ..Marks::default()
        };
        assert!(!e.names(&same_end_other_number));
        let only_end = Marks {
            id_last4: Some("1234".into()),
            ..Marks::default()
        };
        assert!(e.names(&only_end));
    }

    #[test]
    fn id_numbers_are_kept_normalised() {
        assert_eq!(
            normalise_id_number(" 11010519491231002x ").as_deref(),
            Some("11010519491231002X")
        );
        assert!(normalise_id_number("12345").is_none());
        assert!(normalise_id_number("1234-5678").is_none());
    }
}
