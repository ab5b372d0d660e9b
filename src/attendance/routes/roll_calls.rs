//! Roll calls of a class.

use crate::attendance::dto::{NewRollCall, RollCall};
use crate::attendance::service;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::{post, web, HttpResponse};

/// Take (or correct) the roll call of one lesson. Every absent student
/// without an approved leave covering it is an unexcused absence, and
/// their guardians are alerted at once. A second roll call of the same
/// class, date and period replaces the first: students no longer absent
/// have their alerts withdrawn with a follow-up notification.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "class id")),
    request_body = NewRollCall,
    responses(
        (status = 201, body = RollCall),
    )
)]
#[post("/classes/{id}/roll-calls")]
pub(in crate::attendance) async fn take_roll_call(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewRollCall>,
) -> AppResult<HttpResponse> {
    let class_id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner();
    let (now_utc, now) = (state.now(), state.now_db());
    let policy = state.settings.leave.clone();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            service::take_roll_call(conn, now_utc, now, &policy, &caller, &class_id, b)
        })
        .await
}
