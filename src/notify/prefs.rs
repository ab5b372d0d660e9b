//! Per-user delivery preferences: channels per category and quiet hours.

use super::dto::*;
use super::outbox::{DEFAULT_QUIET_END, DEFAULT_QUIET_START};
use super::templates::Category;
use crate::auth::Caller;
use crate::db::schema::{notification_preferences as np, notification_settings as ns};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{get, put, web};
use chrono::{NaiveDateTime, NaiveTime};
use diesel::prelude::*;

fn load(conn: &mut AnyConnection, user_id: &str) -> AppResult<Preferences> {
    let rows: Vec<(String, bool, bool, bool, bool)> = np::table
        .filter(np::user_id.eq(user_id))
        .select((np::category, np::in_app, np::email, np::push, np::sms))
        .load(conn)?;
    let categories = Category::ALL
        .into_iter()
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
    let quiet: Option<(String, String)> = ns::table
        .find(user_id)
        .select((ns::quiet_start, ns::quiet_end))
        .first(conn)
        .optional()?;
    let (start, end) = quiet.unwrap_or_else(|| {
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

/// The caller's delivery preferences (defaults: in-app, email and push on,
/// SMS off; quiet hours 22:00–07:00 school time).
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/notification-preferences")]
pub(super) async fn get_preferences(
    state: State,
    caller: Caller,
) -> AppResult<web::Json<Preferences>> {
    Ok(web::Json(
        state
            .db
            .read(move |conn| load(conn, &caller.user_id))
            .await?,
    ))
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

/// Set channels per category and quiet hours. Safety alerts (pickup,
/// attendance, tip line, account, safety education, urgent) cannot be
/// switched off in the app; urgent notices reach every channel regardless.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = PreferencesUpdate,
    responses(
        (status = 200, body = Preferences),
    )
)]
#[put("/me/notification-preferences")]
pub(super) async fn put_preferences(
    state: State,
    caller: Caller,
    body: JsonBody<PreferencesUpdate>,
) -> AppResult<web::Json<Preferences>> {
    let update = body.into_inner()?;
    if update.categories.len() > Category::ALL.len() {
        return Err(ApiError::invalid(
            "categories",
            "one entry per category at most",
        ));
    }
    for (i, c) in update.categories.iter().enumerate() {
        if update.categories[..i]
            .iter()
            .any(|p| p.category == c.category)
        {
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
    let quiet = match &update.quiet_hours {
        Some(q) => Some((
            hhmm("quiet_hours.start", &q.start)?,
            hhmm("quiet_hours.end", &q.end)?,
        )),
        None => None,
    };
    let now: NaiveDateTime = state.now_db();
    let user_id = caller.user_id.clone();
    Ok(web::Json(
        state
            .db
            .write(move |conn| {
                for c in &update.categories {
                    let key = np::table
                        .filter(np::user_id.eq(&user_id))
                        .filter(np::category.eq(c.category.as_str()));
                    diesel::delete(key).execute(conn)?;
                    diesel::insert_into(np::table)
                        .values((
                            np::user_id.eq(&user_id),
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
                    diesel::delete(ns::table.find(&user_id)).execute(conn)?;
                    diesel::insert_into(ns::table)
                        .values((
                            ns::user_id.eq(&user_id),
                            ns::quiet_start.eq(start),
                            ns::quiet_end.eq(end),
                            ns::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
                load(conn, &user_id)
            })
            .await?,
    ))
}
