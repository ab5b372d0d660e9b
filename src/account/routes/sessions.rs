//! `/auth/*`: logging in, refreshing, logging out.

use crate::account::dto::{
    ActivateRequest, DeviceToken, LoginRequest, RefreshRequest, TokenPair, DEVICE_TOKEN_HEADER,
};
use crate::account::service;
use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{post, web, HttpResponse};

/// Log in with a username and password.
///
/// Failures are counted per username *and client*. The first successful
/// login of a client returns an `X-Device-Token`; the app keeps it and sends
/// it on later logins, and that device then has its own count: other
/// people's failures for the username never slow it down. Without a known
/// token, a username's failures are shared: after 5 within 24 hours each
/// further one doubles the wait (1 s, 2 s … at most 15 minutes), and after
/// 60 failures within a minute across all usernames every such login waits
/// too. A wait is answered 429 `too_many_attempts` with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    params(("X-Device-Token" = Option<String>, Header,
            description = "The device token an earlier login on this device returned.")),
    responses(
        (status = 200, body = TokenPair, headers(("X-Device-Token" = String,
            description = "A new device token, when the request carried none of this user's: keep it for later logins."))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub(crate) async fn login(
    state: State,
    device: DeviceToken,
    body: JsonBody<LoginRequest>,
) -> AppResult<HttpResponse> {
    let signed_in = service::login(&state, body.into_inner(), device).await?;
    let mut res = HttpResponse::Ok();
    if let Some(token) = signed_in.new_device_token {
        res.insert_header((DEVICE_TOKEN_HEADER, token));
    }
    Ok(res.json(signed_in.pair))
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
///
/// The caller's device tokens are forgotten too: a login that sends one
/// counts as a new device.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/logout-all")]
pub(crate) async fn logout_all(
    state: State,
    SignedIn(caller): SignedIn,
) -> AppResult<HttpResponse> {
    service::logout_all(&state, caller).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Activate a new account: set its first password with the one-time code
/// it was given (by email or SMS, or printed by the school). A code works
/// once, for 7 days; a wrong one counts as a failed login.
#[utoipa::path(
    tag = "auth",
    request_body = ActivateRequest,
    responses(
        (status = 204, description = "the password is set: log in with it"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/activate")]
pub(crate) async fn activate(
    state: State,
    body: JsonBody<ActivateRequest>,
) -> AppResult<HttpResponse> {
    service::activate(&state, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
