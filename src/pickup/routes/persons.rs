//! Pickup persons: the adults a family authorises to take a pupil.

use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::pickup::dto::*;
use crate::pickup::service::{persons, Now};
use crate::state::State;
use actix_web::{delete, get, post, web, HttpResponse};

/// Authorise another adult to pick up a pupil (a primary guardian or the school admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupPerson,
    responses(
        (status = 201, body = PickupPerson),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/pickup-persons")]
pub(in crate::pickup) async fn add_pickup_person(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupPerson, PERSON_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let body = body.into_inner();
    let student_id = id.into_inner();
    let now = Now::of(&state);
    Idempotent::new(&state.db, now.db, caller.idempotency_scope(), key, digest)
        .run(move |conn| persons::add(conn, now, &caller, &student_id, body))
        .await
}

/// The adults authorised to pick up a pupil, revoked ones included (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupPerson>),
    )
)]
#[get("/students/{id}/pickup-persons")]
pub(in crate::pickup) async fn list_pickup_persons(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupPerson>>> {
    let student_id = id.into_inner();
    let out = state
        .db
        .read(move |conn| persons::list(conn, &caller, &student_id))
        .await?;
    Ok(web::Json(out))
}

/// Revoke a pickup person: kept for history, never erased (a primary guardian or the school admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), ("person_id" = String, Path)),
    responses(
        (status = 200, body = PickupPerson),
    )
)]
#[delete("/students/{id}/pickup-persons/{person_id}")]
pub(in crate::pickup) async fn revoke_pickup_person(
    state: State,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<PickupPerson>> {
    let (student_id, person_id) = path.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| persons::revoke(conn, now, &caller, &student_id, &person_id))
        .await?;
    Ok(web::Json(out))
}

/// A pickup person's photo, for the school's staff and the pupil's family
/// only, and for a pupil under 14 only while a guardian's consent to
/// `pickup_photos` is in force (403 `consent_required` otherwise).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "pickup person id")),
    responses(
        (status = 200, description = "The photo (image/jpeg or image/png)"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pickup-persons/{id}/photo")]
pub(in crate::pickup) async fn pickup_person_photo(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let person_id = id.into_inner();
    let now = Now::of(&state);
    let (bytes, kind) = state
        .db
        .write(move |conn| persons::photo(conn, now, &caller, &person_id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", kind))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
