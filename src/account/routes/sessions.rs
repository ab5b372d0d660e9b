//! `/auth/*`: logging in, refreshing, logging out.

use crate::account::dto::{LoginRequest, RefreshRequest, TokenPair};
use crate::account::service;
use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{post, web, HttpResponse};

/// Log in with a username and password.
///
/// Five failures for one username within 15 minutes lock that username (and
/// only that one) until the window passes.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub(crate) async fn login(
    state: State,
    body: JsonBody<LoginRequest>,
) -> AppResult<web::Json<TokenPair>> {
    let pair = service::login(&state, body.into_inner()).await?;
    Ok(web::Json(pair))
}

/// Trade a refresh token for a new pair. Each refresh token works once;
/// presenting a used one again ends the whole login session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[post("/auth/refresh")]
pub(crate) async fn refresh(
    state: State,
    body: JsonBody<RefreshRequest>,
) -> AppResult<web::Json<TokenPair>> {
    let pair = service::refresh(&state, body.into_inner()).await?;
    Ok(web::Json(pair))
}

/// End the login session a refresh token belongs to (its access tokens too).
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
#[post("/auth/logout")]
pub(crate) async fn logout(
    state: State,
    body: JsonBody<RefreshRequest>,
) -> AppResult<HttpResponse> {
    service::logout(&state, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the caller, on every device.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/logout-all")]
pub(crate) async fn logout_all(
    state: State,
    SignedIn(caller): SignedIn,
) -> AppResult<HttpResponse> {
    service::logout_all(&state, caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
