//! Per-user delivery preferences: channels per category and quiet hours.

use crate::auth::Caller;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::notices::dto::*;
use crate::notices::repo::prefs as repo;
use crate::notify::sending::outbox::{DEFAULT_QUIET_END, DEFAULT_QUIET_START};
use crate::notify::Category;
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::NaiveTime;

/// The user's preferences, defaults filled in.
pub fn load(conn: &mut AnyConnection, user_id: &str) -> AppResult<Preferences> {
    let rows = repo::categories(conn, user_id)?;
    let categories = Category::ALL
        .iter()
        .copied()
        .map(|c| match rows.iter().find(|r| r.0 == c.as_str()) {
            Some(&(_, in_app, email, push, sms)) => CategoryPreference {
                category: c,
                in_app: in_app || c.is_safety_critical(),
                email,
                push,
                sms,
            },
            None => CategoryPreference {
                category: c,
                in_app: true,
                email: true,
                push: true,
                sms: false,
            },
        })
        .collect();
    let (start, end) = repo::quiet_hours(conn, user_id)?.unwrap_or_else(|| {
        (
            DEFAULT_QUIET_START.to_string(),
            DEFAULT_QUIET_END.to_string(),
        )
    });
    Ok(Preferences {
        categories,
        quiet_hours: QuietHours { start, end },
    })
}

fn hhmm(field: &str, s: &str) -> AppResult<String> {
    let ok = s.len() == 5 && NaiveTime::parse_from_str(s, "%H:%M").is_ok();
    if ok {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{field} must be a time HH:MM"),
        ))
    }
}

/// Each category at most once, and safety alerts kept on in the app.
fn check_categories(categories: &[CategoryPreference]) -> AppResult<()> {
    if categories.len() > Category::ALL.len() {
        return Err(ApiError::invalid(
            "categories",
            "one entry per category at most",
        ));
    }
    for (i, c) in categories.iter().enumerate() {
        if categories[..i].iter().any(|p| p.category == c.category) {
            return Err(ApiError::invalid(
                format!("categories[{i}].category"),
                "each category once",
            ));
        }
        if !c.in_app && c.category.is_safety_critical() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::CannotDisable,
                format!(
                    "{} alerts cannot be switched off in the app",
                    c.category.as_str()
                ),
            )
            .with_field(format!("categories[{i}].in_app")));
        }
    }
    Ok(())
}

/// Sets the caller's channels per category and quiet hours.
pub async fn update(
    state: &AppState,
    caller: Caller,
    body: AppResult<PreferencesUpdate>,
) -> AppResult<Preferences> {
    let update = body?;
    check_categories(&update.categories)?;
    let quiet = match &update.quiet_hours {
        Some(q) => Some((
            hhmm("quiet_hours.start", &q.start)?,
            hhmm("quiet_hours.end", &q.end)?,
        )),
        None => None,
    };
    let now = state.now_db();
    let user_id = caller.user_id;
    state
        .db
        .write(move |conn| {
            repo::save(conn, &user_id, now, &update.categories, quiet)?;
            load(conn, &user_id)
        })
        .await
}
