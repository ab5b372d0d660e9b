//! A pupil's consents: guardians give and withdraw them, the school admin reads.

use crate::auth::{ConsentReader, Parent};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::org::dto::{Consents, NewConsent};
use crate::org::service;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Where each use of a pupil's data that needs a guardian's consent stands
/// (pickup photos, optional contact channels, push notifications): the
/// pupil's guardians and the school admin. A pupil under 14 (taken by
/// grade) needs a guardian's consent in force for each; a read by the
/// school admin is audited.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Consents),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/students/{id}/consents")]
pub(in crate::org) async fn list_consents(
    state: State,
    ConsentReader(caller): ConsentReader,
    id: web::Path<String>,
) -> AppResult<web::Json<Consents>> {
    let id = id.into_inner();
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| service::consents(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(out))
}

/// A guardian gives (`given: true`) or withdraws (`given: false`) consent to
/// one purpose, with the policy version shown and the channel; the last
/// decision of any guardian is in force. Withdrawing stops the use at once
/// (a pickup person's photo is no longer served: 403 `consent_required`;
/// push notifications about the pupil stop). Audited.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewConsent,
    responses(
        (status = 201, body = Consents),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/consents")]
pub(in crate::org) async fn decide_consent(
    state: State,
    parent: Parent,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewConsent>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let student_id = id.into_inner();
    let now = state.now_db();
    let caller = parent.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            service::decide_consent(conn, now, &caller, &student_id, body.into_inner())
        })
        .await
}
