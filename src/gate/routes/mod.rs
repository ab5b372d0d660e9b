//! The gate's HTTP surface, one file per resource.

pub mod exits;
