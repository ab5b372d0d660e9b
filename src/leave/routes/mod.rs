//! Leave's HTTP edge, one file per resource: the requests and the
//! decisions on them.

pub(super) mod decisions;
pub(super) mod requests;
