//! Live updates for an open app: Server-Sent Events with new feed items and
//! the unread count. Each stream polls the database (so any instance sees
//! what another wrote); a user has at most `MAX_STREAMS_PER_USER` open on
//! one instance. Each poll also checks the login session, so a logout or
//! a disabled account ends the stream within one poll.

use super::feed;
use crate::auth::Caller;
use crate::error::{ApiError, AppResult, Code};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::web;
use futures_util::Stream;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub const MAX_STREAMS_PER_USER: usize = 3;
const POLL: Duration = Duration::from_secs(2);
/// A comment line now and then keeps proxies from closing an idle stream.
const KEEPALIVE_EVERY: u32 = 10;

fn open_streams() -> &'static Mutex<HashMap<String, usize>> {
    static OPEN: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// One open stream of a user; closing it frees the slot.
struct Slot(String);

impl Slot {
    fn take(user_id: &str) -> Option<Slot> {
        let mut open = open_streams().lock().ok()?;
        let n = open.entry(user_id.to_string()).or_insert(0);
        if *n >= MAX_STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Slot(user_id.to_string()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = open_streams().lock() {
            if let Some(n) = open.get_mut(&self.0) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.0);
                }
            }
        }
    }
}

struct Cursor {
    state: web::Data<AppState>,
    caller: Caller,
    last_id: Option<String>,
    last_unread: Option<i64>,
    ticks: u32,
    first: bool,
    _slot: Slot,
}

fn event(name: &str, data: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    format!("event: {name}\ndata: {json}\n\n")
}

async fn next_chunk(mut c: Cursor) -> Option<(Result<web::Bytes, actix_web::Error>, Cursor)> {
    loop {
        if !c.first {
            actix_web::rt::time::sleep(POLL).await;
        }
        let first = std::mem::replace(&mut c.first, false);
        let caller = c.caller.clone();
        let after = c.last_id.clone();
        let polled = c
            .state
            .db
            .read(move |conn| feed::poll(conn, &caller, after, first))
            .await;
        let (items, newest, unread) = match polled {
            Ok(Some(p)) => p,
            // Logged out, disabled or ended everywhere: the stream ends too.
            Ok(None) => return None,
            // The database is away: say nothing and try again.
            Err(_) => (Vec::new(), None, c.last_unread.unwrap_or(0)),
        };
        if first {
            c.last_id = Some(newest.unwrap_or_default());
        }
        let mut out = String::new();
        for item in &items {
            out.push_str(&event("notification", item));
        }
        if let Some(last) = items.last() {
            c.last_id = Some(last.id.clone());
        }
        if c.last_unread != Some(unread) {
            out.push_str(&event(
                "unread",
                &serde_json::json!({ "unread_count": unread }),
            ));
            c.last_unread = Some(unread);
        }
        c.ticks += 1;
        if out.is_empty() && c.ticks.is_multiple_of(KEEPALIVE_EVERY) {
            out.push_str(": keep-alive\n\n");
        }
        if !out.is_empty() {
            return Some((Ok(web::Bytes::from(out)), c));
        }
    }
}

/// Opens a stream of the caller's feed events, within the caller's share
/// of open streams.
pub fn open(
    state: web::Data<AppState>,
    caller: Caller,
) -> AppResult<impl Stream<Item = Result<web::Bytes, actix_web::Error>>> {
    let slot = Slot::take(&caller.user_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::TooManyStreams,
            format!("at most {MAX_STREAMS_PER_USER} open streams per user"),
        )
        .with_retry_after(30)
    })?;
    let cursor = Cursor {
        state,
        caller,
        last_id: None,
        last_unread: None,
        ticks: 0,
        first: true,
        _slot: slot,
    };
    Ok(futures_util::stream::unfold(cursor, next_chunk))
}
