//! Attendance's HTTP edge, one file per resource.

pub(super) mod absences;
pub(super) mod records;
pub(super) mod roll_calls;
