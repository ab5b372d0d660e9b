//! Leave's HTTP edge, one file per resource: the requests, the decisions
//! on them, and the gate.

pub(super) mod decisions;
pub(super) mod gate;
pub(super) mod requests;
