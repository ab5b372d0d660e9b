//! The caller's feed: one list of system alerts and notices, read and
//! acknowledgement marks.

use crate::auth::Caller;
use crate::clock::to_utc;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::http::{Page, PageQuery};
use crate::i18n::Language;
use crate::notices::dto::{Feed, NotificationItem};
use crate::notices::repo::feed as repo;
use crate::notify::{Category, Template};
use crate::state::AppState;

pub use repo::Window;

/// The user's feed items as they may see them, rendered in their language.
pub fn load_items(
    conn: &mut AnyConnection,
    user_id: &str,
    language: Language,
    window: Window,
    limit: i64,
) -> AppResult<Vec<NotificationItem>> {
    let rows = repo::items(conn, user_id, window, limit)?;
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

/// A page of the caller's feed, newest first, with the unread count.
pub async fn feed(state: &AppState, caller: Caller, page: PageQuery) -> AppResult<Feed> {
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let user_id = caller.user_id;
    let language = caller.language;
    let (rows, unread_count) = state
        .db
        .read(move |conn| {
            let rows = load_items(conn, &user_id, language, Window::Page(cursor), limit + 1)?;
            Ok((rows, repo::unread_count(conn, &user_id)?))
        })
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    Ok(Feed {
        items: page.items,
        next_cursor: page.next_cursor,
        unread_count,
    })
}

/// Marks one of the caller's notifications read.
pub fn mark_read(
    conn: &mut AnyConnection,
    now: chrono::NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<()> {
    if !repo::mark_read(conn, &caller.user_id, id, now)? {
        return Err(ApiError::not_found("notification"));
    }
    Ok(())
}

/// Acknowledges one of the caller's notifications that asks for it.
pub fn ack(
    conn: &mut AnyConnection,
    now: chrono::NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<()> {
    match repo::requires_ack(conn, &caller.user_id, id)? {
        None => Err(ApiError::not_found("notification")),
        Some(false) => Err(ApiError::conflict(
            Code::AckNotRequired,
            "this notification does not ask for acknowledgement",
        )),
        Some(true) => repo::acknowledge(conn, &caller.user_id, id, now),
    }
}

/// What a stream poll finds: new items after `after`, the newest id (on the
/// first poll), and the unread count; None when the session has ended.
pub type Poll = (Vec<NotificationItem>, Option<String>, i64);

pub fn poll(
    conn: &mut AnyConnection,
    caller: &Caller,
    after: Option<String>,
    first: bool,
) -> AppResult<Option<Poll>> {
    let user_id = &caller.user_id;
    if !crate::auth::extract::session_is_live(conn, user_id, &caller.session_id)? {
        return Ok(None);
    }
    let items = match after {
        Some(id) => load_items(conn, user_id, caller.language, Window::After(id), 50)?,
        None => Vec::new(),
    };
    let newest = if first {
        repo::newest_id(conn, user_id)?
    } else {
        None
    };
    Ok(Some((items, newest, repo::unread_count(conn, user_id)?)))
}
