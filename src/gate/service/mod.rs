//! The gate's use cases: a leave's exit and return (`exits`), visitors and
//! vehicles (`visits`), and the watch list they are checked against (`watch`).

pub mod alerts;
mod exits;
pub mod visits;
pub mod watch;

pub use exits::*;
