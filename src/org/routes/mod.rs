pub mod schools;
pub mod students;
pub mod users;
