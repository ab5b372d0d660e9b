//! Notifications' sending core, the one part of notify other domains call:
//! `send` writes the in-app feed items in the same transaction as the
//! change that caused them, and the outbox rows that carry them to email,
//! push and SMS; the workers drain the outbox. Texts are kept as a template
//! key and data, and rendered in the reader's language. It imports no
//! domain but audit; the feed, notices and preferences as people use them
//! over HTTP are `notices`'.

pub mod model;
mod repo;
pub use repo::outbox::GRADE_OF_FOURTEEN;
pub mod sending;

pub use outbox::{run_escalation, run_outbox, run_workers};
pub use sending::templates::{Category, Template};
pub use sending::{channels, outbox, send, templates};
