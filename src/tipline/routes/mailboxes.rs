//! A school's mailbox: who receives it, and what an app needs to seal to it.

use crate::auth::Admin;
use crate::error::AppResult;
use crate::http::JsonBody;
use crate::state::State;
use crate::tipline::dto::*;
use crate::tipline::{repo, service};
use actix_web::{get, put, web};

/// Designate the school staff who receive the school's mailbox (replaces the list).
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = SetRecipients,
    responses(
        (status = 200, body = MailboxRecipients),
    )
)]
#[put("/schools/{id}/mailbox/recipients")]
pub(in crate::tipline) async fn set_recipients(
    state: State,
    admin: Admin,
    path: web::Path<String>,
    body: JsonBody<SetRecipients>,
) -> AppResult<web::Json<MailboxRecipients>> {
    let school_id = path.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            service::set_recipients(conn, now, &caller, &school_id, body.into_inner())
        })
        .await?;
    Ok(web::Json(out))
}

/// What an app needs to seal a report to a school's mailbox. No sign-in.
#[utoipa::path(
    tag = "tipline",
    params(("school_code" = String, Path)),
    responses(
        (status = 200, body = Mailbox),
    )
)]
#[get("/mailboxes/{school_code}")]
pub(in crate::tipline) async fn get_mailbox(
    state: State,
    path: web::Path<String>,
) -> AppResult<web::Json<Mailbox>> {
    let code = path.into_inner();
    let mailbox = state
        .db
        .read(move |conn| {
            let (school_id, district_id, name, crisis_line) = service::school_by_code(conn, &code)?;
            let (all, district) = repo::mailbox_keys(conn, &school_id, &district_id)?;
            Ok(Mailbox {
                school_code: code,
                school_name: name,
                categories: Category::ALL.to_vec(),
                recipient_keys: repo::keys_dto(&all),
                district_keys: repo::keys_dto(&district),
                crisis_line,
                suite: service::suite_info(),
            })
        })
        .await?;
    Ok(web::Json(mailbox))
}
