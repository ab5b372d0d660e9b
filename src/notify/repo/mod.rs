//! The sending core's statements: writing the feed, and the outbox (written
//! by `send`, drained by the workers).

pub mod feed;
pub mod outbox;
