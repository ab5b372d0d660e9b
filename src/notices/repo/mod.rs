//! Every statement behind notices' routes: the feed as its reader sees it,
//! notices and their receipts, preferences, and the admin's view of the
//! outbox.

pub mod feed;
pub mod notices;
pub mod outbox;
pub mod prefs;
