//! The one statement auth runs: whether a token's session still stands.

use crate::db::schema::{sessions, users};
use crate::db::AnyConnection;
use crate::error::AppResult;
use diesel::prelude::*;

/// The caller's user and session, as every request checks them:
/// (user, role, district, school, language, session).
pub type SessionRow = (String, String, String, Option<String>, String, String);

/// The user and session of a token, if the session still stands: not
/// ended, its user enabled, and begun after the user's last "end all
/// sessions". The one place that says what a live session is.
pub fn live_session(
    conn: &mut AnyConnection,
    user_id: &str,
    session_id: &str,
) -> AppResult<Option<SessionRow>> {
    Ok(users::table
        .inner_join(sessions::table)
        .filter(users::id.eq(user_id))
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(users::disabled.eq(false))
        .filter(sessions::created_at.ge(users::tokens_valid_after))
        .select((
            users::id,
            users::role,
            users::district_id,
            users::school_id,
            users::language,
            sessions::id,
        ))
        .first::<SessionRow>(conn)
        .optional()?)
}
