//! A reader's own tip-line key and its passphrase-encrypted backup. Replacing
//! the key or reading the backup asks for the account's password again, in
//! the request itself, and alerts the user and the bureau.

use crate::auth::TiplineKeyHolder;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use crate::tipline::dto::*;
use crate::tipline::service;
use actix_web::{get, post, put, web};

/// Register (or replace) the caller's tip-line public key. Needs the
/// account's password (`password`); the user and the bureau are alerted.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    request_body = PutEncryptionKey,
    responses(
        (status = 200, body = KeyCreated),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/encryption-key")]
pub(in crate::tipline) async fn put_encryption_key(
    state: State,
    caller: TiplineKeyHolder,
    body: JsonBody<PutEncryptionKey>,
) -> AppResult<web::Json<KeyCreated>> {
    let b = body.into_inner()?;
    let caller = caller.0;
    let password = b.password.as_str().to_string();
    crate::account::recheck_password(&state, &caller, password).await?;
    let now = state.now_db();
    let created = state
        .db
        .write(move |conn| service::register_key(conn, now, &caller, b))
        .await?;
    Ok(web::Json(created))
}

/// The caller's current tip-line key (the backup is read with its own route).
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

/// Read the passphrase-encrypted backup of the caller's key. Needs the
/// account's password; at most 5 reads an hour; the user and the bureau are
/// alerted and the read is audited.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    request_body = KeyBackupRequest,
    responses(
        (status = 200, body = KeyBackup),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/encryption-key/backup")]
pub(in crate::tipline) async fn read_key_backup(
    state: State,
    caller: TiplineKeyHolder,
    body: JsonBody<KeyBackupRequest>,
) -> AppResult<web::Json<KeyBackup>> {
    let b = body.into_inner()?;
    let caller = caller.0;
    crate::account::recheck_password(&state, &caller, b.password.into_string()).await?;
    let now = state.now_db();
    let backup = state
        .db
        .write(move |conn| service::read_backup(conn, now, &caller))
        .await?;
    Ok(web::Json(backup))
}
