//! A school's pickup settings.

use crate::auth::{Admin, Staff};
use crate::error::AppResult;
use crate::http::JsonBody;
use crate::pickup::dto::*;
use crate::pickup::service::{settings, Now};
use crate::state::State;
use actix_web::{get, put, web};

/// A school's dismissal times, late threshold and pass cut-off (the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    responses(
        (status = 200, body = PickupSettings),
    )
)]
#[get("/schools/{id}/pickup-settings")]
pub(in crate::pickup) async fn get_pickup_settings(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<PickupSettings>> {
    let school_id = id.into_inner();
    let caller = staff.0;
    let out = state
        .db
        .read(move |conn| settings::get(conn, &caller, &school_id))
        .await?;
    Ok(web::Json(out))
}

/// Set a school's dismissal times, late threshold and pass cut-off (an admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = PickupSettingsBody,
    responses(
        (status = 200, body = PickupSettings),
    )
)]
#[put("/schools/{id}/pickup-settings")]
pub(in crate::pickup) async fn put_pickup_settings(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: JsonBody<PickupSettingsBody>,
) -> AppResult<web::Json<PickupSettings>> {
    let school_id = id.into_inner();
    let body = body.into_inner();
    let caller = admin.0;
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| settings::put(conn, now, &caller, &school_id, body))
        .await?;
    Ok(web::Json(out))
}
