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
use crate::db::schema::{
    guardianships, notices, notification_settings, notifications, outbox, schools, students, users,
};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::i18n::Language;
use crate::state::AppState;
use chrono::{Duration, NaiveDateTime, NaiveTime, TimeZone};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
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

#[derive(Clone, Copy)]
pub enum Reason {
    Initial,
    Escalation,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Initial => "initial",
            Reason::Escalation => "escalation",
        }
    }
}

/// Writes `?` placeholders as `$1, $2, …` on PostgreSQL.
fn dialect(conn: &AnyConnection, sql: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => sql.to_string(),
        AnyConnection::Postgresql(_) => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

/// Queues the external deliveries of the selected notifications, one row per
/// recipient and enabled channel, in one INSERT … SELECT per channel. Urgent
/// notices go to every channel the user has an address on, whatever the
/// preferences say; SMS is otherwise opt-in.
pub fn enqueue(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    selector: Selector<'_>,
    reason: Reason,
    category: Category,
) -> AppResult<()> {
    let (filter, key) = match selector {
        Selector::Batch(b) => ("n.batch_id = ?", b),
        Selector::Notice(id) => ("n.notice_id = ?", id),
        Selector::UnreadOfNotice(id) => (
            "n.notice_id = ? AND n.read_at IS NULL AND n.acked_at IS NULL",
            id,
        ),
    };
    let force = category.is_urgent();
    for channel in Channel::ALL {
        let ch = channel.as_str();
        let address = match channel {
            Channel::Email => "AND u.email IS NOT NULL AND u.email <> ''",
            Channel::Push => "",
            Channel::Sms => "AND u.phone IS NOT NULL AND u.phone <> ''",
        };
        let wanted = if force {
            String::new()
        } else if channel == Channel::Sms {
            "AND EXISTS (SELECT 1 FROM notification_preferences p \
             WHERE p.user_id = n.user_id AND p.category = n.category AND p.sms = TRUE)"
                .to_string()
        } else {
            format!(
                "AND NOT EXISTS (SELECT 1 FROM notification_preferences p \
                 WHERE p.user_id = n.user_id AND p.category = n.category AND p.{ch} = FALSE)"
            )
        };
        let r = reason.as_str();
        let sql = format!(
            "INSERT INTO outbox (id, notification_id, user_id, channel, reason, urgent, state, \
             attempts, next_attempt_at, created_at) \
             SELECT n.id || ':{ch}:{r}', n.id, n.user_id, '{ch}', '{r}', ?, 'pending', 0, ?, ? \
             FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE {filter} AND u.disabled = FALSE {address} {wanted} \
             ON CONFLICT (id) DO NOTHING"
        );
        let sql = dialect(conn, &sql);
        diesel::sql_query(sql)
            .bind::<Bool, _>(category.bypasses_quiet_hours())
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(key)
            .execute(conn)?;
    }
    Ok(())
}

/// A claimed delivery, rendered.
pub struct Claimed {
    pub id: String,
    pub attempts: i32,
    pub message: Message,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
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
        let pick = "SELECT id FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) \
                    OR (state = 'sending' AND lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?";
        let pick = match conn {
            AnyConnection::Postgresql(_) => format!("{pick} FOR UPDATE SKIP LOCKED"),
            AnyConnection::Sqlite(_) => pick.to_string(),
        };
        let sql = dialect(
            conn,
            &format!(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = ? \
                 WHERE id IN ({pick}) RETURNING id"
            ),
        );
        let ids: Vec<IdRow> = diesel::sql_query(sql)
            .bind::<Timestamp, _>(now + LEASE)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(conn)?;
        if ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        let taken = ids.len();
        let ids: Vec<String> = ids.into_iter().map(|r| r.id).collect();
        let claimed = render(conn, &ids)?;
        let quiet = quiet_until(conn, now, &claimed)?;
        let mut ready = Vec::with_capacity(claimed.len());
        for c in claimed {
            match quiet.get(&c.message.user_id) {
                Some(until) if !c.message.urgent => {
                    diesel::update(outbox::table.find(&c.id))
                        .set((
                            outbox::state.eq("pending"),
                            outbox::attempts.eq(outbox::attempts - 1),
                            outbox::lease_until.eq(None::<NaiveDateTime>),
                            outbox::next_attempt_at.eq(*until),
                        ))
                        .execute(conn)?;
                }
                _ => ready.push(c),
            }
        }
        Ok((taken, ready))
    })
}

type RenderRow = (
    (String, String, String, bool, i32, String),
    (String, String, String, Option<String>),
    (Option<String>, Option<String>, String),
);

fn render(conn: &mut AnyConnection, ids: &[String]) -> AppResult<Vec<Claimed>> {
    let rows: Vec<RenderRow> = outbox::table
        .inner_join(notifications::table.inner_join(users::table))
        .filter(outbox::id.eq_any(ids))
        .select((
            (
                outbox::id,
                outbox::channel,
                outbox::reason,
                outbox::urgent,
                outbox::attempts,
                outbox::notification_id,
            ),
            (
                notifications::user_id,
                notifications::template,
                notifications::data,
                notifications::notice_id,
            ),
            (users::email, users::phone, users::language),
        ))
        .load(conn)?;
    let notice_ids: Vec<String> = rows.iter().filter_map(|r| r.1 .3.clone()).collect();
    let notice_texts: HashMap<String, (String, String, String, bool)> = notices::table
        .filter(notices::id.eq_any(&notice_ids))
        .select((
            notices::id,
            notices::title,
            notices::body,
            notices::category,
            notices::requires_ack,
        ))
        .load::<(String, String, String, String, bool)>(conn)?
        .into_iter()
        .map(|(id, t, b, c, a)| (id, (t, b, c, a)))
        .collect();
    // The category as stored on the notification decides what may be said.
    let categories: HashMap<String, String> = notifications::table
        .filter(notifications::id.eq_any(rows.iter().map(|r| r.0 .5.clone()).collect::<Vec<_>>()))
        .select((notifications::id, notifications::category))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for ((id, channel, reason, urgent, attempts, notification_id), n, (email, phone, lang)) in rows
    {
        let (user_id, template, data, notice_id) = n;
        let language = Language::parse(&lang).unwrap_or_default();
        let category = categories
            .get(&notification_id)
            .and_then(|c| Category::parse(c))
            .unwrap_or(Category::Account);
        let reminder = reason == "escalation";
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
    let windows: HashMap<String, (String, String)> = notification_settings::table
        .filter(notification_settings::user_id.eq_any(&user_ids))
        .select((
            notification_settings::user_id,
            notification_settings::quiet_start,
            notification_settings::quiet_end,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(u, s, e)| (u, (s, e)))
        .collect();
    let own_school: Vec<(String, Option<String>)> = users::table
        .filter(users::id.eq_any(&user_ids))
        .select((users::id, users::school_id))
        .load(conn)?;
    let school_zone: HashMap<String, String> = schools::table
        .filter(
            schools::id.eq_any(
                own_school
                    .iter()
                    .filter_map(|(_, s)| s.clone())
                    .collect::<Vec<_>>(),
            ),
        )
        .select((schools::id, schools::timezone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut zones: HashMap<String, String> = own_school
        .into_iter()
        .filter_map(|(u, s)| Some((u, school_zone.get(&s?)?.clone())))
        .collect();
    // Families: the school time zone of a child.
    let family: Vec<(String, String)> = guardianships::table
        .inner_join(students::table.inner_join(schools::table))
        .filter(guardianships::user_id.eq_any(&user_ids))
        .select((guardianships::user_id, schools::timezone))
        .order(guardianships::id)
        .load(conn)?;
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
                    diesel::update(outbox::table.find(&c.id))
                        .set((
                            outbox::state.eq("sent"),
                            outbox::sent_at.eq(Some(now)),
                            outbox::provider_id.eq(Some(provider)),
                            outbox::lease_until.eq(None::<NaiveDateTime>),
                            outbox::last_error.eq(None::<String>),
                        ))
                        .execute(conn)?;
                    sent.push(c.message.notification_id.clone());
                }
                Outcome::Skipped(why) => {
                    diesel::update(outbox::table.find(&c.id))
                        .set((
                            outbox::state.eq("skipped"),
                            outbox::lease_until.eq(None::<NaiveDateTime>),
                            outbox::last_error.eq(Some(*why)),
                        ))
                        .execute(conn)?;
                }
                Outcome::Failed(why) => {
                    let dead = c.attempts >= max;
                    diesel::update(outbox::table.find(&c.id))
                        .set((
                            outbox::state.eq(if dead { "dead" } else { "pending" }),
                            outbox::next_attempt_at.eq(now + backoff(c.attempts)),
                            outbox::lease_until.eq(None::<NaiveDateTime>),
                            outbox::last_error.eq(Some(why)),
                        ))
                        .execute(conn)?;
                    if dead {
                        tracing::warn!(delivery = %c.id, "outbox delivery is dead after {max} attempts");
                    }
                }
            }
        }
        for chunk in sent.chunks(crate::notify::INSERT_CHUNK) {
            diesel::update(
                notifications::table
                    .filter(notifications::id.eq_any(chunk))
                    .filter(notifications::delivered_at.is_null()),
            )
            .set(notifications::delivered_at.eq(Some(now)))
            .execute(conn)?;
        }
        Ok(())
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

/// (id, category, school, due, sent)
type DueNotice = (
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// Re-sends notices that need acknowledgement and are unread N hours before
/// they are due, to those who have not read them; once per notice. Returns
/// the notices escalated.
pub fn run_escalation(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let window = Duration::hours(state.settings.notice_escalate_hours);
    state.db.write_blocking(|conn| {
        let due: Vec<DueNotice> = notices::table
            .filter(notices::requires_ack.eq(true))
            .filter(notices::escalated_at.is_null())
            .filter(notices::ack_due_at.le(now + window))
            .select((
                notices::id,
                notices::category,
                notices::school_id,
                notices::ack_due_at,
                notices::created_at,
            ))
            .load(conn)?;
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
                )?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::system("notice.escalate", "notice", Some(&id))
                        .in_school(school_id.as_deref()),
                )?;
                n += 1;
            }
            diesel::update(notices::table.find(&id))
                .set(notices::escalated_at.eq(Some(now)))
                .execute(conn)?;
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
