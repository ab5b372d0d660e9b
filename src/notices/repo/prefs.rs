//! Per-user delivery preferences and quiet hours.

use crate::db::schema::{notification_preferences as np, notification_settings as ns};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notices::dto::CategoryPreference;
use crate::notices::model::PreferenceRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The categories the user has set.
pub fn categories(conn: &mut AnyConnection, user_id: &str) -> AppResult<Vec<PreferenceRow>> {
    Ok(np::table
        .filter(np::user_id.eq(user_id))
        .select((np::category, np::in_app, np::email, np::push, np::sms))
        .load(conn)?)
}

/// The user's quiet hours (start, end), when set.
pub fn quiet_hours(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<(String, String)>> {
    Ok(ns::table
        .find(user_id)
        .select((ns::quiet_start, ns::quiet_end))
        .first(conn)
        .optional()?)
}

/// Replaces the given categories' settings and, when given, the quiet hours.
pub fn save(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
    categories: &[CategoryPreference],
    quiet: Option<(String, String)>,
) -> AppResult<()> {
    for c in categories {
        let key = np::table
            .filter(np::user_id.eq(user_id))
            .filter(np::category.eq(c.category.as_str()));
        diesel::delete(key).execute(conn)?;
        diesel::insert_into(np::table)
            .values((
                np::user_id.eq(user_id),
                np::category.eq(c.category.as_str()),
                np::in_app.eq(c.in_app),
                np::email.eq(c.email),
                np::push.eq(c.push),
                np::sms.eq(c.sms),
                np::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some((start, end)) = quiet {
        diesel::delete(ns::table.find(user_id)).execute(conn)?;
        diesel::insert_into(ns::table)
            .values((
                ns::user_id.eq(user_id),
                ns::quiet_start.eq(start),
                ns::quiet_end.eq(end),
                ns::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
