//! A reader's own tip-line key and its passphrase-encrypted backup.

use crate::auth::TiplineKeyHolder;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use crate::tipline::dto::*;
use crate::tipline::service;
use actix_web::{get, put, web};

/// Register (or replace) the caller's tip-line public key.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    request_body = PutEncryptionKey,
    responses(
        (status = 200, body = KeyCreated),
    )
)]
#[put("/me/encryption-key")]
pub(in crate::tipline) async fn put_encryption_key(
    state: State,
    caller: TiplineKeyHolder,
    body: JsonBody<PutEncryptionKey>,
) -> AppResult<web::Json<KeyCreated>> {
    let b = body.into_inner()?;
    let now = state.now_db();
    let caller = caller.0;
    let created = state
        .db
        .write(move |conn| service::register_key(conn, now, &caller, b))
        .await?;
    Ok(web::Json(created))
}

/// The caller's current tip-line key and its passphrase-encrypted backup.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyEncryptionKey),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/encryption-key")]
pub(in crate::tipline) async fn get_encryption_key(
    state: State,
    caller: TiplineKeyHolder,
) -> AppResult<web::Json<MyEncryptionKey>> {
    let caller = caller.0;
    let key = state
        .db
        .read(move |conn| service::my_key(conn, &caller))
        .await?;
    Ok(web::Json(key))
}
