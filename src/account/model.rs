//! Accounts' database rows.

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
    pub password_change_required: bool,
}
