pub mod keys;
pub mod mailboxes;
pub mod reporting;
pub mod reports;
