//! Every SQL statement of pickup: rows in, rows out. No rules beyond the
//! query's own filters, no notifications, no audit.

mod blocks;
mod handovers;
mod passes;
mod persons;
mod school;

pub(in crate::pickup) use blocks::*;
pub(in crate::pickup) use handovers::*;
pub(in crate::pickup) use passes::*;
pub(in crate::pickup) use persons::*;
pub(in crate::pickup) use school::*;

/// How pass secrets are stored: the tests seed and probe passes with these.
pub use handovers::{disputed_of, handover_pupil};
pub use passes::{pass_code_hash, qr_token_hash};
