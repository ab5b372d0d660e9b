//! Auth's database rows.

use crate::db::schema::users;
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct LoginUser {
    pub id: String,
    pub role: String,
    pub display_name: String,
    pub district_id: String,
    pub school_id: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
}

/// The caller's user and session, as every request checks them:
/// (user, role, district, school, language, session).
pub type SessionRow = (String, String, String, Option<String>, String, String);
