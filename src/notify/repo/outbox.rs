//! The outbox's statements: queueing deliveries, claiming and rendering
//! them, recording what happened, escalating unread notices, and the admin
//! view.

use crate::db::schema::{
    guardianships, notices, notification_settings, notifications, outbox, schools, students, users,
};
use crate::db::AnyConnection;
use crate::db::{dialect, INSERT_CHUNK};
use crate::error::AppResult;
use crate::notify::model::{DeliveryState, DueNotice, IdRow, NoticeText, RenderRow};
use crate::notify::sending::channels::Channel;
use crate::notify::sending::outbox::{Reason, Selector, LEASE};
use crate::notify::Category;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use std::collections::HashMap;

/// Queues the external deliveries of the selected notifications, one row per
/// recipient and enabled channel. Urgent notices go to every channel the
/// user has an address on, whatever the preferences say; SMS is otherwise
/// opt-in. The few notifications of one `send` take one INSERT … SELECT over
/// every channel; a notice's, which may reach a whole district, take one per
/// channel, where PostgreSQL can plan each preference check as an anti-join
/// instead of a probe per row and channel.
///
/// With `pupil`, the notifications are about that pupil, and push goes to
/// the pupil's guardians only where it may: the pupil is 14 or older, or a
/// guardian's consent to push notifications is in force. Missing and
/// withdrawn consent both stop it (the feed, email and SMS still carry the
/// message). The consent is the `consents` table's; reading it imports no
/// domain.
pub fn enqueue(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    selector: Selector<'_>,
    reason: Reason,
    category: Category,
    pupil: Option<&str>,
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
    let channels: Vec<String> = Channel::ALL
        .iter()
        .map(|channel| {
            let ch = channel.as_str();
            let address = match channel {
                Channel::Email => "AND u.email IS NOT NULL AND u.email <> ''",
                Channel::Push => "",
                Channel::Sms => "AND u.phone IS NOT NULL AND u.phone <> ''",
            };
            let wanted = if force {
                String::new()
            } else if *channel == Channel::Sms {
                "AND EXISTS (SELECT 1 FROM notification_preferences p \
                 WHERE p.user_id = n.user_id AND p.category = n.category AND p.sms = TRUE)"
                    .to_string()
            } else {
                format!(
                    "AND NOT EXISTS (SELECT 1 FROM notification_preferences p \
                     WHERE p.user_id = n.user_id AND p.category = n.category AND p.{ch} = FALSE)"
                )
            };
            let consent = match (channel, pupil) {
                (Channel::Push, Some(_)) => {
                    "AND NOT (n.user_id IN (SELECT user_id FROM guardianships WHERE student_id = ?) \
                     AND EXISTS (SELECT 1 FROM students s WHERE s.id = ? AND s.grade < ?) \
                     AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.student_id = ? \
                                 AND k.purpose = 'push_notifications' AND k.given = TRUE))"
                }
                _ => "",
            };
            format!("(c.ch = '{ch}' {address} {wanted} {consent})")
        })
        .collect();
    let names: Vec<String> = Channel::ALL
        .iter()
        .map(|c| format!("SELECT '{}' AS ch", c.as_str()))
        .collect();
    // (the channels' conditions, whether push is among them)
    let statements: Vec<(String, bool)> = match selector {
        Selector::Batch(_) => vec![(channels.join(" OR "), true)],
        Selector::Notice(_) | Selector::UnreadOfNotice(_) => Channel::ALL
            .iter()
            .zip(channels)
            .map(|(channel, wanted)| (wanted, *channel == Channel::Push))
            .collect(),
    };
    let r = reason.as_str();
    for (wanted, push) in statements {
        let sql = format!(
            "INSERT INTO outbox (id, notification_id, user_id, channel, reason, urgent, state, \
             attempts, next_attempt_at, created_at) \
             SELECT n.id || ':' || c.ch || ':{r}', n.id, n.user_id, c.ch, '{r}', ?, 'pending', 0, ?, ? \
             FROM notifications n JOIN users u ON u.id = n.user_id CROSS JOIN ({}) c \
             WHERE {filter} AND u.disabled = FALSE AND ({wanted}) \
             ON CONFLICT (id) DO NOTHING",
            names.join(" UNION ALL "),
        );
        let sql = dialect(conn, &sql);
        let mut query = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Bool, _>(category.bypasses_quiet_hours())
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(key);
        // Only the push condition names the pupil.
        if let Some(pupil) = pupil.filter(|_| push) {
            query = query
                .bind::<Text, _>(pupil)
                .bind::<Text, _>(pupil)
                .bind::<diesel::sql_types::Integer, _>(GRADE_OF_FOURTEEN)
                .bind::<Text, _>(pupil);
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// The first grade whose pupils are taken as 14 or older (PIPL Art. 31):
/// pupils start grade 1 at 6, so a pupil of grade 8 may still be 13;
/// rounded up, a doubt asks for consent. `org::consent` decides with it.
pub const GRADE_OF_FOURTEEN: i32 = 9;

/// Leases up to `limit` due rows (pending and due, or leased by a worker
/// whose lease ran out) and returns their ids.
pub fn claim_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<String>> {
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
    Ok(ids.into_iter().map(|r| r.id).collect())
}

/// Puts a claimed row back, untried, until `until`.
pub fn put_back(conn: &mut AnyConnection, id: &str, until: NaiveDateTime) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(DeliveryState::Pending.as_str()),
            outbox::attempts.eq(outbox::attempts - 1),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::next_attempt_at.eq(until),
        ))
        .execute(conn)?;
    Ok(())
}

/// The rows with their notification and recipient, to render.
pub fn to_render(conn: &mut AnyConnection, ids: &[String]) -> AppResult<Vec<RenderRow>> {
    Ok(outbox::table
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
        .load(conn)?)
}

/// The texts of the given notices, by id.
pub fn notice_texts(
    conn: &mut AnyConnection,
    notice_ids: &[String],
) -> AppResult<HashMap<String, NoticeText>> {
    Ok(notices::table
        .filter(notices::id.eq_any(notice_ids))
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
        .collect())
}

/// The stored category of the given notifications, by id.
pub fn categories(
    conn: &mut AnyConnection,
    notification_ids: Vec<String>,
) -> AppResult<HashMap<String, String>> {
    Ok(notifications::table
        .filter(notifications::id.eq_any(notification_ids))
        .select((notifications::id, notifications::category))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The quiet hours (start, end) the given users set, by user.
pub fn quiet_windows(
    conn: &mut AnyConnection,
    user_ids: &[String],
) -> AppResult<HashMap<String, (String, String)>> {
    Ok(notification_settings::table
        .filter(notification_settings::user_id.eq_any(user_ids))
        .select((
            notification_settings::user_id,
            notification_settings::quiet_start,
            notification_settings::quiet_end,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(u, s, e)| (u, (s, e)))
        .collect())
}

/// The time zone of each user's own school, by user.
pub fn own_school_zones(
    conn: &mut AnyConnection,
    user_ids: &[String],
) -> AppResult<HashMap<String, String>> {
    let own_school: Vec<(String, Option<String>)> = users::table
        .filter(users::id.eq_any(user_ids))
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
    Ok(own_school
        .into_iter()
        .filter_map(|(u, s)| Some((u, school_zone.get(&s?)?.clone())))
        .collect())
}

/// (guardian, time zone of a child's school), in guardianship order.
pub fn family_zones(
    conn: &mut AnyConnection,
    user_ids: &[String],
) -> AppResult<Vec<(String, String)>> {
    Ok(guardianships::table
        .inner_join(students::table.inner_join(schools::table))
        .filter(guardianships::user_id.eq_any(user_ids))
        .select((guardianships::user_id, schools::timezone))
        .order(guardianships::id)
        .load(conn)?)
}

pub fn mark_sent(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    provider: &str,
) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(DeliveryState::Sent.as_str()),
            outbox::sent_at.eq(Some(now)),
            outbox::provider_id.eq(Some(provider)),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_skipped(conn: &mut AnyConnection, id: &str, why: &str) -> AppResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(DeliveryState::Skipped.as_str()),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(why)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: dead, or pending again at `next`.
pub fn mark_failed(
    conn: &mut AnyConnection,
    id: &str,
    dead: bool,
    next: NaiveDateTime,
    why: &str,
) -> AppResult<()> {
    let state = if dead {
        DeliveryState::Dead
    } else {
        DeliveryState::Pending
    };
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(state.as_str()),
            outbox::next_attempt_at.eq(next),
            outbox::lease_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(Some(why)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks notifications delivered, once.
pub fn mark_delivered(
    conn: &mut AnyConnection,
    notification_ids: &[String],
    now: NaiveDateTime,
) -> AppResult<()> {
    for chunk in notification_ids.chunks(INSERT_CHUNK) {
        diesel::update(
            notifications::table
                .filter(notifications::id.eq_any(chunk))
                .filter(notifications::delivered_at.is_null()),
        )
        .set(notifications::delivered_at.eq(Some(now)))
        .execute(conn)?;
    }
    Ok(())
}

/// Notices that need acknowledgement, not yet escalated, due by `until`.
pub fn due_for_escalation(
    conn: &mut AnyConnection,
    until: NaiveDateTime,
) -> AppResult<Vec<DueNotice>> {
    Ok(notices::table
        .filter(notices::requires_ack.eq(true))
        .filter(notices::escalated_at.is_null())
        .filter(notices::ack_due_at.le(until))
        .select((
            notices::id,
            notices::category,
            notices::school_id,
            notices::ack_due_at,
            notices::created_at,
        ))
        .load(conn)?)
}

pub fn mark_escalated(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(notices::table.find(id))
        .set(notices::escalated_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}
