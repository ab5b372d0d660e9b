use super::dto::*;
use super::notices;
use super::templates::{Category, Template};
use crate::audit::{self, AuditEvent};
use crate::auth::extract::NoticeSender;
use crate::auth::{Admin, Caller, Staff};
use crate::clock::to_utc;
use crate::db::schema::{
    notices as nt, notification_preferences as np, notifications as n, outbox as ob, users,
};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, PageQuery};
use crate::i18n::Language;
use crate::state::State;
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
    /// Set when the item is a notice.
    pub notice_id: Option<String>,
    pub requires_ack: bool,
    pub acked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct Feed {
    pub items: Vec<NotificationItem>,
    pub next_cursor: Option<String>,
    pub unread_count: i64,
}

type Row = (
    (String, String, String, String, NaiveDateTime),
    (
        Option<NaiveDateTime>,
        Option<String>,
        bool,
        Option<NaiveDateTime>,
    ),
    (Option<String>, Option<String>),
);

pub(super) enum Window {
    /// Newest first, older than the cursor.
    Page(Option<String>),
    /// Oldest first, newer than the given id.
    After(String),
}

/// The user's feed items as they may see them: categories switched off in
/// the app are left out (safety alerts cannot be switched off).
pub(super) fn load_items(
    conn: &mut AnyConnection,
    user_id: &str,
    language: Language,
    window: Window,
    limit: i64,
) -> AppResult<Vec<NotificationItem>> {
    let mut q = n::table
        .left_join(nt::table)
        .filter(n::user_id.eq(user_id.to_string()))
        .filter(diesel::dsl::not(
            n::category.eq_any(
                np::table
                    .filter(np::user_id.eq(user_id.to_string()))
                    .filter(np::in_app.eq(false))
                    .select(np::category),
            ),
        ))
        .select((
            (n::id, n::template, n::data, n::category, n::created_at),
            (n::read_at, n::notice_id, n::requires_ack, n::acked_at),
            (nt::title.nullable(), nt::body.nullable()),
        ))
        .limit(limit)
        .into_boxed();
    q = match window {
        Window::Page(None) => q.order(n::id.desc()),
        Window::Page(Some(c)) => q.filter(n::id.lt(c)).order(n::id.desc()),
        Window::After(id) => q.filter(n::id.gt(id)).order(n::id.asc()),
    };
    let rows: Vec<Row> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, template, data, category, created_at),
                (read_at, notice_id, requires_ack, acked_at),
                (title, body),
            )| {
                let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
                let (title, body) = match (title, body) {
                    (Some(t), Some(b)) => (t, b),
                    _ => match Template::from_key(&template) {
                        Some(t) => t.render(language, &data),
                        None => (template.clone(), String::new()),
                    },
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
                    notice_id,
                    requires_ack,
                    acked_at: acked_at.map(to_utc),
                }
            },
        )
        .collect())
}

pub(super) fn unread_count(conn: &mut AnyConnection, user_id: &str) -> AppResult<i64> {
    Ok(n::table
        .filter(n::user_id.eq(user_id))
        .filter(n::read_at.is_null())
        .filter(diesel::dsl::not(
            n::category.eq_any(
                np::table
                    .filter(np::user_id.eq(user_id.to_string()))
                    .filter(np::in_app.eq(false))
                    .select(np::category),
            ),
        ))
        .count()
        .get_result(conn)?)
}

/// The caller's notifications (system alerts and notices, one feed for all
/// their children), newest first, with the unread count.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Feed), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
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
    let language = caller.language;
    let (rows, unread_count) = state
        .db
        .read(move |conn| {
            let rows = load_items(conn, &user_id, language, Window::Page(cursor), limit + 1)?;
            Ok((rows, unread_count(conn, &user_id)?))
        })
        .await?;
    let page = crate::http::Page::from_rows(rows, limit, |r| r.id.clone());
    Ok(web::Json(Feed {
        items: page.items,
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

/// Acknowledge one of the caller's notifications that asks for it (it is
/// read too). Acknowledging twice is harmless.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notifications/{id}/ack")]
pub(super) async fn ack(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.now_db();
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            let mine = n::table
                .filter(n::id.eq(&id))
                .filter(n::user_id.eq(&caller.user_id));
            let requires: Option<bool> = mine.select(n::requires_ack).first(conn).optional()?;
            match requires {
                None => return Err(ApiError::not_found("notification")),
                Some(false) => {
                    return Err(ApiError::conflict(
                        Code::AckNotRequired,
                        "this notification does not ask for acknowledgement",
                    ))
                }
                Some(true) => {}
            }
            diesel::update(mine.filter(n::read_at.is_null()))
                .set(n::read_at.eq(now))
                .execute(conn)?;
            diesel::update(mine.filter(n::acked_at.is_null()))
                .set(n::acked_at.eq(now))
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a notice: a teacher to their classes or pupils, a school admin to
/// their school (whole, by grade, class or pupil), a bureau officer to the
/// district's schools. Recipients are resolved now and kept.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    request_body = NewNotice,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = Notice),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notices")]
pub(super) async fn create_notice(
    state: State,
    sender: NoticeSender,
    key: IdempotencyKey,
    body: JsonBody<NewNotice>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let req = body.into_inner()?;
    let caller = sender.0;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .alone()
        .run(move |conn| notices::create_notice(conn, now, &caller, req))
        .await
}

/// Notices the caller sent (a school admin: their school's; district roles:
/// the district's), newest first.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = NoticePage),
    )
)]
#[get("/notices")]
pub(super) async fn list_notices(
    state: State,
    staff: Staff,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<NoticePage>> {
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let caller = staff.0;
    let rows = state
        .db
        .read(move |conn| {
            let mut q = notices::notices_in_scope(&caller)
                .select(notices::notice_columns())
                .order(nt::id.desc())
                .limit(limit + 1);
            if let Some(c) = cursor {
                q = q.filter(nt::id.lt(c));
            }
            Ok(q.load::<notices::NoticeRow>(conn)?)
        })
        .await?;
    let page = crate::http::Page::from_rows(rows, limit, |r| r.0.clone());
    Ok(web::Json(NoticePage {
        items: page.items.into_iter().map(notices::to_dto).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One notice, for its sender, the school's admin or the district.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Notice),
    )
)]
#[get("/notices/{id}")]
pub(super) async fn get_notice(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<Notice>> {
    let caller = staff.0;
    let id = id.into_inner();
    Ok(web::Json(
        state
            .db
            .read(move |conn| notices::notice(conn, &caller, &id))
            .await?,
    ))
}

/// Who received, read and acknowledged a notice, class by class, and who is
/// still missing.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Receipts),
    )
)]
#[get("/notices/{id}/receipts")]
pub(super) async fn receipts(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<Receipts>> {
    let caller = staff.0;
    let id = id.into_inner();
    let now = state.now_db();
    Ok(web::Json(
        state
            .db
            .write(move |conn| {
                let notice = notices::notice(conn, &caller, &id)?;
                let r = notices::receipts(conn, &notice)?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::by(&caller, "notice.receipts.read", "notice", Some(&id))
                        .in_school(notice.school_id.as_deref()),
                )?;
                Ok(r)
            })
            .await?,
    ))
}

/// The reach of prevention education: per school and class, the share of
/// students and of families who acknowledged at least one notice of the
/// category sent in the period.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(CoverageQuery),
    responses(
        (status = 200, body = Coverage),
    )
)]
#[get("/coverage")]
pub(super) async fn coverage(
    state: State,
    staff: Staff,
    q: web::Query<CoverageQuery>,
) -> AppResult<web::Json<Coverage>> {
    let q = q.into_inner();
    if q.from >= q.to {
        return Err(ApiError::invalid("to", "to must be after from"));
    }
    if q.to - q.from > chrono::Duration::days(731) {
        return Err(ApiError::invalid("to", "the period is at most two years"));
    }
    let category = q.category.unwrap_or_default().category();
    let caller = staff.0;
    let (from, to) = (q.from.naive_utc(), q.to.naive_utc());
    let schools = state
        .db
        .read(move |conn| notices::coverage(conn, &caller, category, from, to))
        .await?;
    Ok(web::Json(Coverage {
        category,
        from: q.from,
        to: q.to,
        schools,
    }))
}

type OutboxRow = (
    (String, String, String, String, String, String),
    (
        i32,
        Option<String>,
        NaiveDateTime,
        NaiveDateTime,
        Option<NaiveDateTime>,
    ),
);

fn outbox_item(r: OutboxRow) -> OutboxItem {
    let (
        (id, notification_id, user_id, channel, reason, state),
        (attempts, last_error, next, created, sent),
    ) = r;
    OutboxItem {
        id,
        notification_id,
        user_id,
        channel,
        reason,
        state,
        attempts,
        last_error,
        next_attempt_at: to_utc(next),
        created_at: to_utc(created),
        sent_at: sent.map(to_utc),
    }
}

type OutboxColumns = (
    (
        ob::id,
        ob::notification_id,
        ob::user_id,
        ob::channel,
        ob::reason,
        ob::state,
    ),
    (
        ob::attempts,
        ob::last_error,
        ob::next_attempt_at,
        ob::created_at,
        ob::sent_at,
    ),
);

fn outbox_select() -> OutboxColumns {
    (
        (
            ob::id,
            ob::notification_id,
            ob::user_id,
            ob::channel,
            ob::reason,
            ob::state,
        ),
        (
            ob::attempts,
            ob::last_error,
            ob::next_attempt_at,
            ob::created_at,
            ob::sent_at,
        ),
    )
}

/// Deliveries to accounts the admin looks after: the district's, or the
/// school's staff, pupils and their families.
fn in_admin_scope(
    caller: &Caller,
) -> Box<dyn BoxableExpression<ob::table, crate::db::MultiBackend, SqlType = diesel::sql_types::Bool>>
{
    use crate::db::schema::{guardianships, notifications, students};
    match caller.school_id.clone() {
        // Tip-line alerts stay with the district: when they went out to
        // whom would tell a school that (and roughly when) someone reported.
        Some(school) if !caller.role.is_district() => Box::new(
            ob::user_id
                .eq_any(
                    users::table
                        .filter(users::school_id.eq(school.clone()))
                        .select(users::id),
                )
                .or(ob::user_id.eq_any(
                    guardianships::table
                        .inner_join(students::table)
                        .filter(students::school_id.eq(school))
                        .select(guardianships::user_id),
                ))
                .and(diesel::dsl::not(
                    ob::notification_id.eq_any(
                        notifications::table
                            .filter(notifications::category.eq(Category::Tipline.as_str()))
                            .select(notifications::id),
                    ),
                )),
        ),
        _ => Box::new(
            ob::user_id.eq_any(
                users::table
                    .filter(users::district_id.eq(caller.district_id.clone()))
                    .select(users::id),
            ),
        ),
    }
}

const OUTBOX_STATES: [&str; 5] = ["pending", "sending", "sent", "dead", "skipped"];

/// External deliveries of accounts in the admin's view (never their
/// contents); `state=dead` lists those that gave up.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, body = OutboxPage),
    )
)]
#[get("/admin/outbox")]
pub(super) async fn admin_outbox(
    state: State,
    admin: Admin,
    q: web::Query<OutboxQuery>,
) -> AppResult<web::Json<OutboxPage>> {
    let q = q.into_inner();
    let wanted = q.state.clone().unwrap_or_else(|| "dead".to_string());
    if !OUTBOX_STATES.contains(&wanted.as_str()) {
        return Err(ApiError::invalid(
            "state",
            "state is pending, sending, sent, dead or skipped",
        ));
    }
    let limit = PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    if let Some(c) = &q.cursor {
        if c.len() > 80
            || !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == ':')
        {
            return Err(ApiError::invalid("cursor", "cursor is not valid"));
        }
    }
    let caller = admin.0;
    let rows = state
        .db
        .read(move |conn| {
            let mut query = ob::table
                .select(outbox_select())
                .order(ob::id.asc())
                .limit(limit + 1)
                .into_boxed()
                .filter(ob::state.eq(wanted))
                .filter(in_admin_scope(&caller));
            if let Some(c) = q.cursor {
                query = query.filter(ob::id.gt(c));
            }
            Ok(query.load::<OutboxRow>(conn)?)
        })
        .await?;
    let page = crate::http::Page::from_rows(rows, limit, |r| r.0 .0.clone());
    Ok(web::Json(OutboxPage {
        items: page.items.into_iter().map(outbox_item).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Give a dead delivery a fresh set of attempts, starting now.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OutboxItem),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
pub(super) async fn retry_outbox(
    state: State,
    admin: Admin,
    id: web::Path<String>,
) -> AppResult<web::Json<OutboxItem>> {
    let caller = admin.0;
    let id = id.into_inner();
    let now = state.now_db();
    let item = state
        .db
        .write(move |conn| {
            let row: Option<String> = ob::table
                .select(ob::state)
                .into_boxed()
                .filter(ob::id.eq(id.clone()))
                .filter(in_admin_scope(&caller))
                .first(conn)
                .optional()?;
            match row.as_deref() {
                None => return Err(ApiError::not_found("delivery")),
                Some("dead") => {}
                Some(_) => {
                    return Err(ApiError::conflict(
                        Code::DeliveryNotDead,
                        "only a dead delivery can be retried",
                    ))
                }
            }
            diesel::update(ob::table.find(&id))
                .set((
                    ob::state.eq("pending"),
                    ob::attempts.eq(0),
                    ob::next_attempt_at.eq(now),
                    ob::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "outbox.retry", "outbox", Some(&id)),
            )?;
            Ok(outbox_item(
                ob::table.find(&id).select(outbox_select()).first(conn)?,
            ))
        })
        .await?;
    Ok(web::Json(item))
}
