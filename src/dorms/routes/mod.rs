//! The dormitories' HTTP surface.

pub mod dorms;
