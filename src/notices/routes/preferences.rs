//! `/me/notification-preferences`: channels per category and quiet hours.

use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::notices::dto::{Preferences, PreferencesUpdate};
use crate::notices::service::preferences as service;
use crate::state::State;
use actix_web::{get, put, web};

/// The caller's delivery preferences (defaults: in-app, email and push on,
/// SMS off; quiet hours 22:00–07:00 school time).
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/notification-preferences")]
pub(crate) async fn get_preferences(
    state: State,
    SignedIn(caller): SignedIn,
) -> AppResult<web::Json<Preferences>> {
    let prefs = state
        .db
        .read(move |conn| service::load(conn, &caller.user_id))
        .await?;
    Ok(web::Json(prefs))
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
pub(crate) async fn put_preferences(
    state: State,
    SignedIn(caller): SignedIn,
    body: JsonBody<PreferencesUpdate>,
) -> AppResult<web::Json<Preferences>> {
    let prefs = service::update(&state, caller, body.into_inner()).await?;
    Ok(web::Json(prefs))
}
