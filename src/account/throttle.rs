//! Who may try a password now. Failures are counted per (username, client),
//! never per username alone, so guessing at a username cannot lock out the
//! person it belongs to: their own device has a bucket of its own.
//!
//! - A *known device* presents a device token this server issued to this
//!   user (`X-Device-Token`), used within `DEVICE_TTL_DAYS` and not forgotten
//!   by logout-everywhere. Only its own failures slow it down.
//! - Every other client (no token, an unknown one, another user's) shares the
//!   username's *unknown* bucket, and is also slowed down by the spray
//!   throttle: many failures across all usernames within a minute.
//!
//! In each bucket the first `FREE_FAILURES` failures cost nothing; each
//! further one doubles the wait after it (1 s, 2 s, 4 s … capped at
//! `MAX_DELAY_SECS`), counted from the latest failure. A success clears its
//! own bucket only. No client address is ever used or kept.

use super::repo;
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::{Duration, NaiveDateTime};

/// Failures in one bucket that cost no wait (typos happen).
pub const FREE_FAILURES: usize = 5;
/// The wait after the first failure beyond the free ones; it doubles with
/// each further failure.
pub const FIRST_DELAY_SECS: i64 = 1;
/// The longest wait: 15 minutes, reached after 10 failures beyond the free ones.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// How long a failure counts: long against the cap, so a guesser who waits
/// out each delay still gets only about 4 guesses an hour per bucket.
pub const FAILURE_MEMORY_HOURS: i64 = 24;
/// The spray throttle: once `SPRAY_FAILURES` failures of unknown clients
/// across all usernames fall within `SPRAY_WINDOW_SECS`, every unknown
/// client waits until the window has room again. A district's
/// honest typos stay far below one a second, even at the morning rush.
pub const SPRAY_FAILURES: usize = 60;
pub const SPRAY_WINDOW_SECS: i64 = 60;
/// A device token not used for this long is forgotten.
pub const DEVICE_TTL_DAYS: i64 = 90;

/// Failures counted per bucket at most: enough to reach the cap.
const COUNTED: i64 = FREE_FAILURES as i64 + 11;

/// Whose failures an attempt counts against.
pub enum Client {
    /// No device token, or one not issued to this user.
    Unknown,
    /// A known device of this user: its `login_devices` id.
    Device(String),
    /// A signed-in session changing its password: its id.
    Session(String),
}

impl Client {
    /// The `login_failures.client` value of this bucket.
    pub fn key(&self) -> String {
        match self {
            Client::Unknown => repo::UNKNOWN_CLIENT.to_string(),
            Client::Device(id) => format!("device:{id}"),
            Client::Session(id) => format!("session:{id}"),
        }
    }
}

/// Whether an attempt may check a password.
pub enum Gate {
    /// Yes; the attempt has been counted as a failure already.
    Admitted,
    /// This bucket waits this many seconds.
    BucketWaits(u64),
    /// Every unknown client waits this many seconds (a password spray).
    SprayWaits(u64),
}

/// Looks up the client an attempt for `user_id` comes from.
pub fn client_of(
    conn: &mut AnyConnection,
    user_id: Option<&str>,
    token_hash: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<Client> {
    let (Some(user_id), Some(token_hash)) = (user_id, token_hash) else {
        return Ok(Client::Unknown);
    };
    let used_since = now - Duration::days(DEVICE_TTL_DAYS);
    Ok(repo::known_device(conn, user_id, token_hash, used_since)?
        .map_or(Client::Unknown, Client::Device))
}

/// Decides whether an attempt may check a password and, if so, counts it as
/// a failure before the password is checked, in the caller's transaction
/// (a success clears it), so parallel guesses cannot slip past.
pub fn admit(
    conn: &mut AnyConnection,
    username: &str,
    client: &Client,
    now: NaiveDateTime,
) -> AppResult<Gate> {
    if let Client::Unknown = client {
        let since = now - Duration::seconds(SPRAY_WINDOW_SECS);
        let recent = repo::unknown_failures_since(conn, since, SPRAY_FAILURES as i64)?;
        if recent.len() >= SPRAY_FAILURES {
            let oldest = recent.last().copied().unwrap_or(now);
            let until = oldest + Duration::seconds(SPRAY_WINDOW_SECS);
            return Ok(Gate::SprayWaits(secs_until(until, now)));
        }
    }
    let key = client.key();
    if let Some(secs) = bucket_wait(conn, username, &key, now)? {
        return Ok(Gate::BucketWaits(secs));
    }
    repo::record_failure(conn, username, &key, now)?;
    Ok(Gate::Admitted)
}

/// Seconds until the bucket may try again, when it must wait.
fn bucket_wait(
    conn: &mut AnyConnection,
    username: &str,
    client_key: &str,
    now: NaiveDateTime,
) -> AppResult<Option<u64>> {
    let since = now - Duration::hours(FAILURE_MEMORY_HOURS);
    let recent = repo::failures_since(conn, username, client_key, since, COUNTED)?;
    let Some(latest) = recent.first().copied() else {
        return Ok(None);
    };
    let until = latest + delay_after(recent.len());
    Ok((until > now).then(|| secs_until(until, now)))
}

/// Housekeeping: forgets failures that no longer count and devices past
/// their time, so both tables stay small.
pub fn purge(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<usize> {
    repo::purge_failures(
        conn,
        now - Duration::hours(FAILURE_MEMORY_HOURS),
        now - Duration::days(DEVICE_TTL_DAYS),
    )
}

/// The wait after `failures` failures in one bucket.
fn delay_after(failures: usize) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::zero();
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    Duration::seconds((FIRST_DELAY_SECS << doublings).min(MAX_DELAY_SECS))
}

fn secs_until(until: NaiveDateTime, now: NaiveDateTime) -> u64 {
    let millis = (until - now).num_milliseconds().max(1);
    ((millis + 999) / 1000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_the_free_failures_up_to_the_cap() {
        assert_eq!(delay_after(0), Duration::zero());
        assert_eq!(delay_after(FREE_FAILURES - 1), Duration::zero());
        assert_eq!(delay_after(FREE_FAILURES), Duration::seconds(1));
        assert_eq!(delay_after(FREE_FAILURES + 1), Duration::seconds(2));
        assert_eq!(delay_after(FREE_FAILURES + 2), Duration::seconds(4));
        assert_eq!(delay_after(FREE_FAILURES + 9), Duration::seconds(512));
        assert_eq!(delay_after(FREE_FAILURES + 10), Duration::minutes(15));
        assert_eq!(delay_after(COUNTED as usize), Duration::minutes(15));
        assert_eq!(delay_after(1000), Duration::minutes(15));
    }
}
