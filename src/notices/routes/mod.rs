//! Notify's HTTP surface, one file per resource.

pub mod feed;
pub mod notices;
pub mod outbox;
pub mod preferences;
pub mod stream;
