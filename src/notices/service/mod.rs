//! Notify's use cases behind its HTTP routes: the feed, notices, preferences,
//! the admin's view of the outbox, and the live stream. Rules and audit live
//! here; statements live in `repo`.

pub mod feed;
pub mod notices;
pub mod outbox;
pub mod preferences;
pub mod stream;
