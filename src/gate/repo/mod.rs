//! Every SQL statement of the gate: a leave's pass, exit and return
//! (`exits`), visits (`visits`) and the watch list (`watch`).

mod exits;
pub mod visits;
pub mod watch;

pub use exits::*;
