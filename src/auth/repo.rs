//! Auth's statements: whether a token's session still stands, and whether
//! a staff account's vetting lets it reach pupils now.

use crate::db::schema::{personnel, sessions, users};
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use crate::sessions::SessionRow;

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
            users::password_change_required,
        ))
        .first::<SessionRow>(conn)
        .optional()?)
}

/// Whether the account's personnel record grants access to pupils at `now`
/// (the vetting service keeps `access_until`; no record, no access).
pub fn may_reach_pupils(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n: i64 = personnel::table
        .filter(personnel::user_id.eq(user_id))
        .filter(personnel::access_until.gt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Until when the account's personnel record grants access to pupils (the
/// latest `access_until` of its records; None without a record).
pub fn access_until(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<NaiveDateTime>> {
    Ok(personnel::table
        .filter(personnel::user_id.eq(user_id))
        .select(diesel::dsl::max(personnel::access_until))
        .first::<Option<NaiveDateTime>>(conn)?)
}
