use super::templates::{Category, Template};
use crate::app::State;
use crate::auth::Caller;
use crate::clock::to_utc;
use crate::db::schema::notifications as n;
use crate::error::{ApiError, AppResult, Problem};
use crate::http::PageQuery;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct NotificationItem {
    pub id: String,
    pub category: Category,
    /// The template key, for apps that render their own texts.
    pub template: String,
    pub title: String,
    pub body: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct Feed {
    pub items: Vec<NotificationItem>,
    pub next_cursor: Option<String>,
    pub unread_count: i64,
}

type Row = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// The caller's notifications, newest first, with the unread count.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Feed), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/notifications")]
pub(super) async fn feed(
    state: State,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Feed>> {
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let user_id = caller.user_id.clone();
    let (rows, unread_count) = state
        .db
        .read(move |conn| {
            let mut q = n::table
                .filter(n::user_id.eq(&user_id))
                .select((
                    n::id,
                    n::template,
                    n::data,
                    n::category,
                    n::created_at,
                    n::read_at,
                ))
                .order(n::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(c) = cursor {
                q = q.filter(n::id.lt(c));
            }
            let rows: Vec<Row> = q.load(conn)?;
            let unread: i64 = n::table
                .filter(n::user_id.eq(&user_id))
                .filter(n::read_at.is_null())
                .count()
                .get_result(conn)?;
            Ok((rows, unread))
        })
        .await?;
    let page = crate::http::Page::from_rows(rows, limit, |r| r.0.clone());
    let items = page
        .items
        .into_iter()
        .map(|(id, template, data, category, created_at, read_at)| {
            let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
            let (title, body) = match Template::from_key(&template) {
                Some(t) => t.render(caller.language, &data),
                None => (template.clone(), String::new()),
            };
            NotificationItem {
                id,
                category: Category::parse(&category).unwrap_or(Category::Account),
                template,
                title,
                body,
                data,
                created_at: to_utc(created_at),
                read_at: read_at.map(to_utc),
            }
        })
        .collect();
    Ok(web::Json(Feed {
        items,
        next_cursor: page.next_cursor,
        unread_count,
    }))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/me/notifications/{id}/read")]
pub(super) async fn mark_read(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.now_db();
    let id = id.into_inner();
    let found = state
        .db
        .write(move |conn| {
            let mine = n::table
                .filter(n::id.eq(&id))
                .filter(n::user_id.eq(&caller.user_id));
            let exists: i64 = mine.count().get_result(conn)?;
            diesel::update(mine.filter(n::read_at.is_null()))
                .set(n::read_at.eq(now))
                .execute(conn)?;
            Ok(exists > 0)
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::NoContent().finish())
}
