//! Accounts' HTTP surface, one file per resource.

pub mod password;
pub mod sessions;
