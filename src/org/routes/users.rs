//! Accounts: staff, parents and students, and the caller's own.

use super::tagged;
use crate::auth::{Admin, Caller, SignedIn, StaffReader};
use crate::crypto::password::NewPassword;
use crate::error::{ApiError, AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, IfMatch, JsonBody, Page, PageQuery};
use crate::org::dto::*;
use crate::org::service::Tagged;
use crate::org::{repo, service};
use crate::state::State;
use actix_web::{get, patch, post, web, HttpResponse};

/// Create an account.
///
/// A district admin creates any role in the district; a school admin
/// creates staff, parents and students of their school. Without a
/// password the account gets a one-time activation code (valid 7 days):
/// sent by email or SMS when the account has one, otherwise in this answer
/// (`activation.code`, shown once) for the admin to print. A password given
/// here must be changed at first login.
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
    let hash = match &b.password {
        Some(p) => {
            let password =
                NewPassword::parse("password", p.clone().into_string(), b.username.as_str())?;
            Some(state.passwords.hash(password.into_string()).await?)
        }
        None => None,
    };
    let now = state.now_db();
    let months = state.settings.vetting.valid_months;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_user(conn, now, &caller, b, hash.as_deref(), months))
        .await
}

/// The staff of the schools the caller oversees (the bureau and the
/// district admin: the district's; a school admin: their school's), by
/// school, role and part of the name or username.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(StaffQuery),
    responses(
        (status = 200, body = Page<User>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub(in crate::org) async fn list_users(
    state: State,
    reader: StaffReader,
    query: web::Query<StaffQuery>,
) -> AppResult<web::Json<Page<User>>> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let q = match query.q.map(|q| q.trim().to_string()) {
        Some(q) if q.chars().count() > 100 => {
            return Err(ApiError::invalid("q", "q must be at most 100 characters"))
        }
        Some(q) if !q.is_empty() => Some(q),
        _ => None,
    };
    let filter = repo::StaffFilter {
        school_id: query.school_id,
        role: query.role,
        q,
    };
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let caller = reader.0;
    let rows = state
        .db
        .read(move |conn| service::staff(conn, now, months, &caller, filter, limit, cursor))
        .await?;
    Ok(web::Json(Page::from_rows(rows, limit, |u| u.id.clone())))
}

/// One account the caller may see, with the ETag an edit needs.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = User, headers(("ETag" = String, description = "the record's version, for If-Match"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub(in crate::org) async fn get_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let user = state
        .db
        .write(move |conn| service::user(conn, now, months, &caller, &id))
        .await?;
    Ok(tagged(user))
}

/// Edit an account: a JSON merge patch of display name, email, phone and
/// language (`null` removes the email or the phone), under `If-Match`.
/// Anyone edits their own; admins the accounts they oversee. Audited with
/// what changed, before and after.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the ETag of the record as last read")),
    request_body(content = UserPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, body = User, headers(("ETag" = String, description = "the record's new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub(in crate::org) async fn patch_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<UserPatch>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let db_now = state.now_db();
    let user = state
        .db
        .write(move |conn| {
            let row =
                service::patch_user(conn, db_now, &caller, &id, &if_match, body.into_inner())?;
            let etag = service::user_etag(&row);
            Ok(Tagged {
                value: service::user_view(conn, now, months, row)?,
                etag,
            })
        })
        .await?;
    Ok(tagged(user))
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

/// Offboard a staff member who leaves (an admin). On `effective_on` (at
/// once when it is today) the account's sessions end and it is disabled,
/// its tip-line mailbox places and its head-teacher classes are released,
/// and the school's admins are sent the list of what needs a new owner.
/// Naming another day replaces a plan not yet carried out.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewDeparture,
    responses(
        (status = 200, body = Departure),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/offboard")]
pub(in crate::org) async fn offboard_user(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: JsonBody<NewDeparture>,
) -> AppResult<web::Json<Departure>> {
    let id = id.into_inner();
    let now = state.now();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| service::offboard(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(web::Json(out))
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
    Ok(web::Json(user.value))
}
