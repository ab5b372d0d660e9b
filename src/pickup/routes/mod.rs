//! Pickup's HTTP edge, one file per resource: each handler extracts, makes
//! one call into `service`, and responds.

pub mod blocks;
pub mod dismissal;
pub mod handovers;
pub mod passes;
pub mod persons;
pub mod settings;
