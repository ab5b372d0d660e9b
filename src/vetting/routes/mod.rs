//! Vetting's HTTP surface, one file per resource.

pub mod personnel;
pub mod records;
pub mod summary;
