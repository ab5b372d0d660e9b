//! `/me/password`: changing one's own password.

use crate::account::dto::PasswordChange;
use crate::account::service;
use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{post, HttpResponse};

/// Change one's own password. Every session ends, this one included.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub(crate) async fn change_password(
    state: State,
    SignedIn(caller): SignedIn,
    body: JsonBody<PasswordChange>,
) -> AppResult<HttpResponse> {
    service::change_password(&state, caller, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
