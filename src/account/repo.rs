use super::model::LoginUser;
use crate::crypto::{random_token, sha256_hex};
use crate::db::schema::{login_devices, login_failures, refresh_tokens, sessions, users};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The `login_failures.client` of attempts from no known device.
pub const UNKNOWN_CLIENT: &str = "unknown";

pub fn find_login_user(conn: &mut AnyConnection, username: &str) -> AppResult<Option<LoginUser>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(LoginUser::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_login_user_by_id(conn: &mut AnyConnection, id: &str) -> AppResult<LoginUser> {
    Ok(users::table
        .find(id)
        .select(LoginUser::as_select())
        .first(conn)?)
}

/// Makes concurrent login attempts of one account wait for each other on
/// PostgreSQL, so that each sees the ones before it (SQLite's write
/// transactions are serial already).
pub fn lock_account(conn: &mut AnyConnection, username: &str) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        users::table
            .filter(users::username.eq(username))
            .select(users::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// A bucket's failures since `since`, latest first, at most `limit`.
pub fn failures_since(
    conn: &mut AnyConnection,
    username: &str,
    client: &str,
    since: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<NaiveDateTime>> {
    Ok(login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::client.eq(client))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(conn)?)
}

/// Failures of unknown clients across all usernames since `since`, latest
/// first, at most `limit`.
pub fn unknown_failures_since(
    conn: &mut AnyConnection,
    since: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<NaiveDateTime>> {
    Ok(login_failures::table
        .filter(login_failures::client.eq(UNKNOWN_CLIENT))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(conn)?)
}

pub fn record_failure(
    conn: &mut AnyConnection,
    username: &str,
    client: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(new_id(now)),
            login_failures::username.eq(username),
            login_failures::client.eq(client),
            login_failures::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Clears one bucket: the other clients' failures still count.
pub fn clear_failures(conn: &mut AnyConnection, username: &str, client: &str) -> AppResult<()> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::username.eq(username))
            .filter(login_failures::client.eq(client)),
    )
    .execute(conn)?;
    Ok(())
}

/// Forgets failures older than `failures_before` and devices unused since
/// `devices_before`; returns how many rows went.
pub fn purge_failures(
    conn: &mut AnyConnection,
    failures_before: NaiveDateTime,
    devices_before: NaiveDateTime,
) -> AppResult<usize> {
    let failures =
        diesel::delete(login_failures::table.filter(login_failures::at.lt(failures_before)))
            .execute(conn)?;
    let devices =
        diesel::delete(login_devices::table.filter(login_devices::last_used_at.lt(devices_before)))
            .execute(conn)?;
    Ok(failures + devices)
}

/// The stored form of a device token: a domain-separated hash.
pub fn device_token_hash(token: &str) -> String {
    sha256_hex(format!("safecampus/login-device/v1\n{token}").as_bytes())
}

/// The id of the user's device with this token hash, if it was used since
/// `used_since`.
pub fn known_device(
    conn: &mut AnyConnection,
    user_id: &str,
    token_hash: &str,
    used_since: NaiveDateTime,
) -> AppResult<Option<String>> {
    Ok(login_devices::table
        .filter(login_devices::token_hash.eq(token_hash))
        .filter(login_devices::user_id.eq(user_id))
        .filter(login_devices::last_used_at.gt(used_since))
        .select(login_devices::id)
        .first(conn)
        .optional()?)
}

/// Remembers a new device of the user; returns its token, which is not kept.
pub fn issue_device(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> AppResult<String> {
    let token = random_token();
    diesel::insert_into(login_devices::table)
        .values((
            login_devices::id.eq(new_id(now)),
            login_devices::user_id.eq(user_id),
            login_devices::token_hash.eq(device_token_hash(&token)),
            login_devices::created_at.eq(now),
            login_devices::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

pub fn touch_device(
    conn: &mut AnyConnection,
    device_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(login_devices::table.find(device_id))
        .set(login_devices::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Forgets every device of a user: their next logins are unknown clients.
pub fn forget_devices(conn: &mut AnyConnection, user_id: &str) -> AppResult<()> {
    diesel::delete(login_devices::table.filter(login_devices::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(())
}

/// Starts a login session (a refresh-token family); returns its id and the
/// first refresh token.
pub fn start_session(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
    ttl_days: i64,
) -> AppResult<(String, String)> {
    let session_id = new_id(now);
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
        ))
        .execute(conn)?;
    let token = issue_refresh_token(conn, &session_id, now, ttl_days)?;
    Ok((session_id, token))
}

pub fn issue_refresh_token(
    conn: &mut AnyConnection,
    session_id: &str,
    now: NaiveDateTime,
    ttl_days: i64,
) -> AppResult<String> {
    let token = random_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(new_id(now)),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(sha256_hex(token.as_bytes())),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(now + chrono::Duration::days(ttl_days)),
        ))
        .execute(conn)?;
    Ok(token)
}

pub enum Rotation {
    /// The token was good: here is the user, session and the next token.
    Rotated {
        user_id: String,
        session_id: String,
        refresh_token: String,
    },
    /// An already-used token came back: the family was revoked.
    ReuseDetected,
    Invalid,
}

pub fn rotate_refresh_token(
    conn: &mut AnyConnection,
    presented: &str,
    now: NaiveDateTime,
    ttl_days: i64,
) -> AppResult<Rotation> {
    let row = refresh_tokens::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(sha256_hex(presented.as_bytes())))
        .select((
            refresh_tokens::id,
            refresh_tokens::used_at,
            refresh_tokens::expires_at,
            sessions::id,
            sessions::revoked_at,
            sessions::created_at,
            users::id,
            users::disabled,
            users::tokens_valid_after,
        ))
        .first::<(
            String,
            Option<NaiveDateTime>,
            NaiveDateTime,
            String,
            Option<NaiveDateTime>,
            NaiveDateTime,
            String,
            bool,
            NaiveDateTime,
        )>(conn)
        .optional()?;
    let Some((
        token_id,
        used_at,
        expires_at,
        session_id,
        revoked_at,
        started,
        user_id,
        disabled,
        valid_after,
    )) = row
    else {
        return Ok(Rotation::Invalid);
    };
    if used_at.is_some() {
        revoke_session(conn, &session_id, now)?;
        return Ok(Rotation::ReuseDetected);
    }
    if revoked_at.is_some() || expires_at <= now || disabled || started < valid_after {
        return Ok(Rotation::Invalid);
    }
    // Only one of two concurrent refreshes with the same token may win; the
    // loser is a reuse.
    let won = diesel::update(
        refresh_tokens::table
            .find(&token_id)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    if won == 0 {
        revoke_session(conn, &session_id, now)?;
        return Ok(Rotation::ReuseDetected);
    }
    let refresh_token = issue_refresh_token(conn, &session_id, now, ttl_days)?;
    Ok(Rotation::Rotated {
        user_id,
        session_id,
        refresh_token,
    })
}

pub fn revoke_session(
    conn: &mut AnyConnection,
    session_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Returns the session a refresh token belongs to, used or not.
pub fn session_of_refresh_token(
    conn: &mut AnyConnection,
    presented: &str,
) -> AppResult<Option<(String, String)>> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(sha256_hex(presented.as_bytes())))
        .select((sessions::id, sessions::user_id))
        .first(conn)
        .optional()?)
}

/// Ends every session of a user at once, access tokens included.
pub fn end_all_sessions(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::tokens_valid_after.eq(now))
        .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// A user's username and password hash.
pub fn credentials(conn: &mut AnyConnection, user_id: &str) -> AppResult<(String, String)> {
    Ok(users::table
        .find(user_id)
        .select((users::username, users::password_hash))
        .first(conn)?)
}

/// Sets the account's own password (so no change is required any more).
pub fn set_password_hash(conn: &mut AnyConnection, user_id: &str, hash: &str) -> AppResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::password_change_required.eq(false),
        ))
        .execute(conn)?;
    Ok(())
}
