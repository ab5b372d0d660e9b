//! The admin's view of external deliveries (never their contents), and
//! retrying one that gave up.

use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::to_utc;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::http::{Page, PageQuery};
use crate::notices::dto::{OutboxItem, OutboxPage, OutboxQuery};
use crate::notices::model::OutboxRow;
use crate::notices::repo::outbox as repo;
use crate::notify::model::DeliveryState;
use crate::state::AppState;
use chrono::NaiveDateTime;

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

/// A page of the deliveries in the admin's view in one state (default dead).
pub async fn list(state: &AppState, caller: Caller, q: OutboxQuery) -> AppResult<OutboxPage> {
    let wanted = match q.state.as_deref() {
        None => DeliveryState::Dead,
        Some(s) => DeliveryState::parse(s).ok_or_else(|| {
            ApiError::invalid("state", "state is pending, sending, sent, dead or skipped")
        })?,
    };
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
    let rows = state
        .db
        .read(move |conn| repo::admin_page(conn, &caller, wanted, q.cursor, limit + 1))
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.0 .0.clone());
    Ok(OutboxPage {
        items: page.items.into_iter().map(outbox_item).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Gives a dead delivery in the admin's view a fresh set of attempts.
pub fn retry(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<OutboxItem> {
    let state = repo::state_in_admin_scope(conn, caller, id)?;
    match state.as_deref().map(DeliveryState::parse) {
        None => return Err(ApiError::not_found("delivery")),
        Some(Some(DeliveryState::Dead)) => {}
        Some(_) => {
            return Err(ApiError::conflict(
                Code::DeliveryNotDead,
                "only a dead delivery can be retried",
            ))
        }
    }
    let row = repo::restart(conn, id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "outbox.retry", "outbox", Some(id)),
    )?;
    Ok(outbox_item(row))
}
