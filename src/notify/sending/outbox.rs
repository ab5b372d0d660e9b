//! The outbox: every external delivery is a row written in the same
//! transaction as its notification. A worker claims due rows in batches
//! (row leases; `FOR UPDATE SKIP LOCKED` on PostgreSQL so several instances
//! share the work, one writer at a time on SQLite), delivers them outside any
//! transaction, and marks them sent, or retries with exponential backoff and
//! jitter until the row is dead. A worker that dies after sending and before
//! marking leaves the row leased; when the lease ends it is sent again with
//! the same delivery id (the webhook's `Idempotency-Key`, the email's
//! `Message-ID`), so a receiver sees at most one extra copy it can recognise.

use super::channels::{self, Channel, Message, Outcome};
use super::templates::{Category, ExternalTexts, Template};
use crate::audit::{self, AuditEvent};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::i18n::Language;
use crate::notify::repo::outbox as repo;
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime, NaiveTime, TimeZone};
use std::collections::HashMap;

/// Rows claimed per round trip.
/// Small enough that a whole batch (each send up to 15 s) ends well inside
/// the lease, so another instance never re-claims rows still being sent.
pub const CLAIM_BATCH: i64 = 15;
/// How long a claimed row is the claimer's before another may take it.
pub const LEASE: Duration = Duration::minutes(5);
const BACKOFF_BASE_SECS: i64 = 60;
const BACKOFF_CAP_SECS: i64 = 6 * 3600;
pub const DEFAULT_QUIET_START: &str = "22:00";
pub const DEFAULT_QUIET_END: &str = "07:00";
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

pub enum Selector<'a> {
    /// The notifications written by one `send`.
    Batch(&'a str),
    /// A notice's notifications.
    Notice(&'a str),
    /// A notice's notifications that nobody has read yet.
    UnreadOfNotice(&'a str),
}

crate::text_enum!(
    /// Why a delivery was queued.
    pub enum Reason {
        Initial = "initial",
        Escalation = "escalation",
    }
);

pub use repo::enqueue;

/// A claimed delivery, rendered.
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub message: Message,
}

/// Claims up to `limit` due rows (pending and due, or leased by a worker whose
/// lease ran out), renders them, and puts back those whose recipient is in
/// quiet hours until the quiet hours end. One transaction.
pub fn claim(state: &AppState, limit: i64) -> AppResult<Vec<Claimed>> {
    claim_counted(state, limit).map(|(_, ready)| ready)
}

/// `claim`, and how many rows it took (those put back for quiet hours too).
fn claim_counted(state: &AppState, limit: i64) -> AppResult<(usize, Vec<Claimed>)> {
    let now = state.now_db();
    state.db.write_blocking(|conn| {
        let ids = repo::claim_due(conn, now, limit)?;
        if ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        let taken = ids.len();
        let claimed = render(conn, &ids)?;
        let quiet = quiet_until(conn, now, &claimed)?;
        let mut ready = Vec::with_capacity(claimed.len());
        for c in claimed {
            match quiet.get(&c.message.user_id) {
                Some(until) if !c.message.urgent => repo::put_back(conn, &c.id, *until)?,
                _ => ready.push(c),
            }
        }
        Ok((taken, ready))
    })
}

fn render(conn: &mut AnyConnection, ids: &[String]) -> AppResult<Vec<Claimed>> {
    let rows = repo::to_render(conn, ids)?;
    let notice_ids: Vec<String> = rows.iter().filter_map(|r| r.1 .3.clone()).collect();
    let notice_texts = repo::notice_texts(conn, &notice_ids)?;
    // The category as stored on the notification decides what may be said.
    let categories = repo::categories(conn, rows.iter().map(|r| r.0 .5.clone()).collect())?;
    let mut out = Vec::with_capacity(rows.len());
    for ((id, channel, reason, urgent, attempts, notification_id), n, (email, phone, lang)) in rows
    {
        let (user_id, template, data, notice_id) = n;
        let language = Language::parse(&lang).unwrap_or_default();
        let category = categories
            .get(&notification_id)
            .and_then(|c| Category::parse(c))
            .unwrap_or(Category::Account);
        let reminder = reason == Reason::Escalation.as_str();
        let (subject, body) = if category == Category::Tipline {
            let (t, b) = ExternalTexts::tipline(language);
            (t.to_string(), b.to_string())
        } else if let Some((title, body, _, requires_ack)) =
            notice_id.as_ref().and_then(|n| notice_texts.get(n))
        {
            let footer = if *requires_ack {
                ExternalTexts::ack_footer(language)
            } else {
                ExternalTexts::app_footer(language)
            };
            (title.clone(), format!("{body}\n\n{footer}"))
        } else {
            let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
            let (t, b) = match Template::from_key(&template) {
                Some(t) => t.render(language, &data),
                None => (template.clone(), String::new()),
            };
            (t, format!("{b}\n\n{}", ExternalTexts::app_footer(language)))
        };
        let mut prefix = String::new();
        if category.is_urgent() {
            prefix.push_str(ExternalTexts::urgent_prefix(language));
        }
        if reminder {
            prefix.push_str(ExternalTexts::reminder_prefix(language));
        }
        let Some(channel) = Channel::parse(&channel) else {
            continue;
        };
        out.push(Claimed {
            id: id.clone(),
            attempts,
            message: Message {
                delivery_id: id,
                channel,
                notification_id,
                user_id,
                email,
                phone,
                language,
                category,
                urgent,
                reminder,
                subject: format!("{prefix}{subject}"),
                body,
            },
        });
    }
    Ok(out)
}

/// For each claimed user now in their quiet hours: when those hours end (UTC).
fn quiet_until(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    claimed: &[Claimed],
) -> AppResult<HashMap<String, NaiveDateTime>> {
    let user_ids: Vec<String> = claimed
        .iter()
        .filter(|c| !c.message.urgent)
        .map(|c| c.message.user_id.clone())
        .collect();
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let windows = repo::quiet_windows(conn, &user_ids)?;
    let mut zones = repo::own_school_zones(conn, &user_ids)?;
    // Families: the school time zone of a child.
    let family = repo::family_zones(conn, &user_ids)?;
    for (u, tz) in family {
        zones.entry(u).or_insert(tz);
    }
    let mut out = HashMap::new();
    for user in user_ids {
        let (start, end) = windows.get(&user).cloned().unwrap_or_else(|| {
            (
                DEFAULT_QUIET_START.to_string(),
                DEFAULT_QUIET_END.to_string(),
            )
        });
        let tz: chrono_tz::Tz = zones
            .get(&user)
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai);
        if let Some(until) = quiet_end(now, tz, &start, &end) {
            out.insert(user, until);
        }
    }
    Ok(out)
}

/// When the quiet hours `start`–`end` (local "HH:MM") that hold at `now`
/// end, in UTC; None outside them, or when start equals end (no quiet hours).
pub fn quiet_end(
    now: NaiveDateTime,
    tz: chrono_tz::Tz,
    start: &str,
    end: &str,
) -> Option<NaiveDateTime> {
    let start = NaiveTime::parse_from_str(start, "%H:%M").ok()?;
    let end = NaiveTime::parse_from_str(end, "%H:%M").ok()?;
    if start == end {
        return None;
    }
    let local = tz.from_utc_datetime(&now).naive_local();
    let t = local.time();
    let quiet = if start < end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if !quiet {
        return None;
    }
    let day = if t < end {
        local.date()
    } else {
        local.date() + Duration::days(1)
    };
    let end_local = day.and_time(end);
    let end_utc = tz
        .from_local_datetime(&end_local)
        .earliest()
        .map(|d| d.naive_utc())
        // A gap at a clock change: an hour later exists.
        .unwrap_or(end_local + Duration::hours(1));
    Some(end_utc)
}

/// Delivers one claimed message (network; call outside any transaction).
pub fn deliver(state: &AppState, claimed: &Claimed) -> Outcome {
    channels::deliver(&state.settings, &claimed.message, state.now().timestamp())
}

/// Exponential backoff with jitter: between half and all of
/// base·2^(attempts−1), capped.
pub fn backoff(attempts: i32) -> Duration {
    let exp = (attempts.clamp(1, 30) - 1) as u32;
    let full = BACKOFF_BASE_SECS
        .saturating_mul(1i64 << exp.min(20))
        .min(BACKOFF_CAP_SECS);
    let r = crate::crypto::random_bytes(8);
    let r = u64::from_le_bytes(r.try_into().unwrap_or([0; 8]));
    let half = full / 2;
    Duration::seconds(half + (r % (half as u64 + 1)) as i64)
}

/// Records what happened to claimed deliveries.
pub fn mark(state: &AppState, results: Vec<(Claimed, Outcome)>) -> AppResult<()> {
    let now = state.now_db();
    let max = state.settings.outbox_max_attempts;
    state.db.write_blocking(|conn| {
        let mut sent = Vec::new();
        for (c, outcome) in &results {
            match outcome {
                Outcome::Sent(provider) => {
                    repo::mark_sent(conn, &c.id, now, provider)?;
                    sent.push(c.message.notification_id.clone());
                }
                Outcome::Skipped(why) => repo::mark_skipped(conn, &c.id, why)?,
                Outcome::Failed(why) => {
                    let dead = c.attempts >= max;
                    repo::mark_failed(conn, &c.id, dead, now + backoff(c.attempts), why)?;
                    if dead {
                        tracing::warn!(delivery = %c.id, "outbox delivery is dead after {max} attempts");
                    }
                }
            }
        }
        repo::mark_delivered(conn, &sent, now)
    })
}

/// Delivers everything due, batch by batch; returns how many deliveries were
/// attempted. Runs on a blocking thread.
pub fn run_outbox(state: &AppState) -> AppResult<usize> {
    let (mut total, mut rounds) = (0, 0);
    loop {
        let (taken, batch) = claim_counted(state, CLAIM_BATCH)?;
        if taken == 0 {
            return Ok(total);
        }
        rounds += 1;
        total += batch.len();
        let results: Vec<(Claimed, Outcome)> = batch
            .into_iter()
            .map(|c| {
                let outcome = deliver(state, &c);
                (c, outcome)
            })
            .collect();
        mark(state, results)?;
        // Leave the rest to the next round rather than hold the thread.
        if total >= 10_000 || rounds >= 1_000 {
            return Ok(total);
        }
    }
}

/// Re-sends notices that need acknowledgement and are unread N hours before
/// they are due, to those who have not read them; once per notice. Returns
/// the notices escalated.
pub fn run_escalation(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let window = Duration::hours(state.settings.notice_escalate_hours);
    state.db.write_blocking(|conn| {
        let due = repo::due_for_escalation(conn, now + window)?;
        let mut n = 0;
        for (id, category, school_id, due_at, created_at) in due {
            // Sent inside the window already: the first message is recent enough.
            let sent_in_window = due_at.is_some_and(|d| created_at >= d - window);
            if !sent_in_window {
                let category = Category::parse(&category).unwrap_or(Category::General);
                enqueue(
                    conn,
                    now,
                    Selector::UnreadOfNotice(&id),
                    Reason::Escalation,
                    category,
                    None,
                )?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::system("notice.escalate", "notice", Some(&id))
                        .in_school(school_id.as_deref()),
                )?;
                n += 1;
            }
            repo::mark_escalated(conn, &id, now)?;
        }
        Ok(n)
    })
}

/// One round of the notification workers: escalation, then delivery.
pub fn run_workers(state: &AppState) -> AppResult<()> {
    run_escalation(state)?;
    run_outbox(state)?;
    Ok(())
}
