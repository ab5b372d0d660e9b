//! The watch list: people the gate must never let in.

use crate::auth::WatchKeeper;
use crate::error::{AppResult, Problem};
use crate::gate::dto::{LiftWatchEntry, NewWatchEntry, WatchListEntry};
use crate::gate::service::watch as service;
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// The school's watch list in force, whatever put each person there: the
/// school's bans, vetting bars, staff suspended by a case, and its pupils'
/// never-release entries (the school admin their school; the bureau and the
/// district admin any school of the district).
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    responses(
        (status = 200, body = Vec<WatchListEntry>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}/watch-list")]
pub(in crate::gate) async fn list_watch_list(
    state: State,
    keeper: WatchKeeper,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<WatchListEntry>>> {
    let (id, now) = (id.into_inner(), state.now_db());
    let out = state
        .db
        .write(move |conn| service::list(conn, now, &keeper.0, &id))
        .await?;
    Ok(web::Json(out))
}

/// Ban a person from the school: a name, and a phone, an ID (whole, kept
/// only as its last 4 and a keyed hash; or its last 4) or a plate.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = NewWatchEntry,
    responses(
        (status = 201, body = WatchListEntry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/watch-list")]
pub(in crate::gate) async fn add_watch_entry(
    state: State,
    keeper: WatchKeeper,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewWatchEntry>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let (caller, school_id) = (keeper.0, id.into_inner());
    let (now, id_key) = (state.now(), state.settings.vetting.id_number_key.clone());
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .run(move |conn| service::add(conn, now, &caller, &id_key, &school_id, b))
    .await
}

/// Lift an entry, with a note: the school admin their school's bans; the
/// bureau any entry of the district (a vetting bar only the bureau).
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "watch-list entry id")),
    request_body = LiftWatchEntry,
    responses(
        (status = 200, body = WatchListEntry),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/watch-list/{id}/lift")]
pub(in crate::gate) async fn lift_watch_entry(
    state: State,
    keeper: WatchKeeper,
    id: web::Path<String>,
    body: JsonBody<LiftWatchEntry>,
) -> AppResult<web::Json<WatchListEntry>> {
    let (id, now, b) = (id.into_inner(), state.now(), body.into_inner());
    let out = state
        .db
        .write(move |conn| service::lift(conn, now, &keeper.0, &id, b))
        .await?;
    Ok(web::Json(out))
}
