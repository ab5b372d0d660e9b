//! The feed: notifications as their reader sees them, and the read and
//! acknowledgement marks.

use crate::db::schema::{notices as nt, notification_preferences as np, notifications as n};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notices::model::FeedRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub enum Window {
    /// Newest first, older than the cursor.
    Page(Option<String>),
    /// Oldest first, newer than the given id.
    After(String),
}

/// The user's feed rows as they may see them: categories switched off in
/// the app are left out (safety alerts cannot be switched off). Each window
/// is one static statement, so the connection keeps it prepared (a boxed
/// query would be parsed again on every read).
pub fn items(
    conn: &mut AnyConnection,
    user_id: &str,
    window: Window,
    limit: i64,
) -> AppResult<Vec<FeedRow>> {
    macro_rules! visible {
        () => {
            n::table
                .left_join(nt::table)
                .filter(n::user_id.eq(user_id))
                .filter(diesel::dsl::not(
                    n::category.eq_any(
                        np::table
                            .filter(np::user_id.eq(user_id))
                            .filter(np::in_app.eq(false))
                            .select(np::category),
                    ),
                ))
                .select((
                    (n::id, n::template, n::data, n::category, n::created_at),
                    (n::read_at, n::notice_id, n::requires_ack, n::acked_at),
                    (nt::title.nullable(), nt::body.nullable()),
                ))
        };
    }
    Ok(match window {
        Window::Page(None) => visible!().order(n::id.desc()).limit(limit).load(conn)?,
        Window::Page(Some(c)) => visible!()
            .filter(n::id.lt(c))
            .order(n::id.desc())
            .limit(limit)
            .load(conn)?,
        Window::After(id) => visible!()
            .filter(n::id.gt(id))
            .order(n::id.asc())
            .limit(limit)
            .load(conn)?,
    })
}

pub fn unread_count(conn: &mut AnyConnection, user_id: &str) -> AppResult<i64> {
    Ok(n::table
        .filter(n::user_id.eq(user_id))
        .filter(n::read_at.is_null())
        .filter(diesel::dsl::not(
            n::category.eq_any(
                np::table
                    .filter(np::user_id.eq(user_id))
                    .filter(np::in_app.eq(false))
                    .select(np::category),
            ),
        ))
        .count()
        .get_result(conn)?)
}

/// The id of the user's newest notification.
pub fn newest_id(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<String>> {
    Ok(n::table
        .filter(n::user_id.eq(user_id))
        .select(n::id)
        .order(n::id.desc())
        .first(conn)
        .optional()?)
}

/// Marks one of the user's notifications read; false when it is not theirs.
pub fn mark_read(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let mine = n::table.filter(n::id.eq(id)).filter(n::user_id.eq(user_id));
    let exists: i64 = mine.count().get_result(conn)?;
    diesel::update(mine.filter(n::read_at.is_null()))
        .set(n::read_at.eq(now))
        .execute(conn)?;
    Ok(exists > 0)
}

/// Whether one of the user's notifications asks for acknowledgement; None
/// when it is not theirs.
pub fn requires_ack(conn: &mut AnyConnection, user_id: &str, id: &str) -> AppResult<Option<bool>> {
    Ok(n::table
        .filter(n::id.eq(id))
        .filter(n::user_id.eq(user_id))
        .select(n::requires_ack)
        .first(conn)
        .optional()?)
}

/// Marks one of the user's notifications read and acknowledged, keeping
/// earlier marks.
pub fn acknowledge(
    conn: &mut AnyConnection,
    user_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let mine = n::table.filter(n::id.eq(id)).filter(n::user_id.eq(user_id));
    diesel::update(mine.filter(n::read_at.is_null()))
        .set(n::read_at.eq(now))
        .execute(conn)?;
    diesel::update(mine.filter(n::acked_at.is_null()))
        .set(n::acked_at.eq(now))
        .execute(conn)?;
    Ok(())
}
