//! Accounts: staff, parents and students, and the caller's own.

use crate::auth::{Admin, Caller, SignedIn};
use crate::crypto::password::NewPassword;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::org::dto::*;
use crate::org::service;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Create an account.
///
/// A district admin creates any role in the district; a school admin
/// creates staff, parents and students of their school.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, body = User),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub(in crate::org) async fn create_user(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    body: JsonBody<NewUser>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let caller = admin.0;
    service::may_create(&caller, b.role)?;
    let password = NewPassword::parse(
        "password",
        b.password.clone().into_string(),
        b.username.as_str(),
    )?;
    let hash = state.passwords.hash(password.into_string()).await?;
    let now = state.now_db();
    let months = state.settings.vetting.valid_months;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_user(conn, now, &caller, b, &hash, months))
        .await
}

/// One account the caller may see.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/users/{id}")]
pub(in crate::org) async fn get_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<User>> {
    let id = id.into_inner();
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let user = state
        .db
        .read(move |conn| service::user(conn, now, months, &caller, &id))
        .await?;
    Ok(web::Json(user))
}

/// Disable an account: it can no longer log in and every session ends at once.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = User),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/disable")]
pub(in crate::org) async fn disable_user(
    state: State,
    admin: Admin,
    id: web::Path<String>,
) -> AppResult<web::Json<User>> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let user = state
        .db
        .write(move |conn| service::disable_user(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(user))
}

/// The caller's own account.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me")]
pub(in crate::org) async fn me(
    state: State,
    SignedIn(caller): SignedIn,
) -> AppResult<web::Json<User>> {
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let user = state
        .db
        .read(move |conn| service::user(conn, now, months, &caller, &caller.user_id))
        .await?;
    Ok(web::Json(user))
}
