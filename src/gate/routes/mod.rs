//! The gate's HTTP surface, one file per resource.

pub mod exits;
pub mod visits;
pub mod watch;
