//! Account use cases: logging in (with the per-username lockout), refresh
//! rotation, logging out, and changing one's password. Each is audited.

use super::dto::{LoginRequest, PasswordChange, RefreshRequest, TokenPair, TokenUser};
use super::model::LoginUser;
use super::repo::{self, Rotation};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::auth::Role;
use crate::crypto::password::NewPassword;
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        Code::InvalidCredentials,
        "the username or password is wrong",
    )
}

fn token_pair(
    state: &AppState,
    user: &LoginUser,
    session_id: &str,
    refresh_token: String,
) -> AppResult<TokenPair> {
    Ok(TokenPair {
        access_token: state.jwt.issue(&user.id, session_id, state.now()),
        refresh_token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        user: TokenUser {
            id: user.id.clone(),
            role: Role::parse(&user.role).ok_or_else(|| ApiError::internal("unknown role"))?,
            display_name: user.display_name.clone(),
            school_id: user.school_id.clone(),
            district_id: user.district_id.clone(),
        },
    })
}

fn locked_out(secs: u64, detail: &'static str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, Code::TooManyAttempts, detail)
        .with_retry_after(secs)
}

/// Logs in: five failures for one username within the window lock it.
pub async fn login(state: &AppState, body: AppResult<LoginRequest>) -> AppResult<TokenPair> {
    let LoginRequest { username, password } = body?;
    let username = username.into_string().trim().to_lowercase();
    let now = state.now_db();
    // The attempt is counted before the password is checked, in the same
    // transaction as the lockout check, so parallel guesses cannot slip past
    // the limit; a success clears the count.
    let u1 = username.clone();
    let (locked, user) = state
        .db
        .write(move |conn| {
            repo::lock_account(conn, &u1)?;
            let locked = repo::lockout_remaining(conn, &u1, now)?;
            if locked.is_none() {
                repo::record_failure(conn, &u1, now)?;
            }
            Ok((locked, repo::find_login_user(conn, &u1)?))
        })
        .await?;
    if let Some(secs) = locked {
        return Err(locked_out(
            secs,
            "too many failed logins for this account; try again later",
        ));
    }
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = state.passwords.verify(password.into_string(), hash).await?;
    let user = match user {
        Some(u) if password_ok && !u.disabled => u,
        other => {
            let target = other.map(|u| u.id);
            state
                .db
                .write(move |conn| {
                    audit::record(
                        conn,
                        now,
                        AuditEvent::system("auth.login_failed", "user", target.as_deref()),
                    )
                })
                .await?;
            return Err(invalid_credentials());
        }
    };
    let (session_id, first_refresh) = start_session(state, now, username, &user).await?;
    token_pair(state, &user, &session_id, first_refresh)
}

/// Clears the username's failures and starts a session; returns its id and
/// the first refresh token.
async fn start_session(
    state: &AppState,
    now: NaiveDateTime,
    username: String,
    user: &LoginUser,
) -> AppResult<(String, String)> {
    let ttl = state.settings.refresh_token_ttl_days;
    let (user_id, role, school) = (user.id.clone(), user.role.clone(), user.school_id.clone());
    state
        .db
        .write(move |conn| {
            repo::clear_failures(conn, &username)?;
            let started = repo::start_session(conn, &user_id, now, ttl)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor_id: Some(&user_id),
                    actor_role: Some(&role),
                    action: "auth.login",
                    target_type: "user",
                    target_id: Some(&user_id),
                    school_id: school.as_deref(),
                },
            )?;
            Ok(started)
        })
        .await
}

/// Trades a refresh token for a new pair; a reused token ends its session.
pub async fn refresh(state: &AppState, body: AppResult<RefreshRequest>) -> AppResult<TokenPair> {
    let presented = body?.refresh_token.into_string();
    let now = state.now_db();
    let ttl = state.settings.refresh_token_ttl_days;
    let outcome = state
        .db
        .write(move |conn| {
            let rotation = repo::rotate_refresh_token(conn, &presented, now, ttl)?;
            if let Rotation::ReuseDetected = rotation {
                audit::record(
                    conn,
                    now,
                    AuditEvent::system("auth.refresh_reuse_revoked", "session", None),
                )?;
            }
            let user = match &rotation {
                Rotation::Rotated { user_id, .. } => {
                    Some(repo::find_login_user_by_id(conn, user_id)?)
                }
                _ => None,
            };
            Ok((rotation, user))
        })
        .await?;
    match outcome {
        (
            Rotation::Rotated {
                session_id,
                refresh_token,
                ..
            },
            Some(user),
        ) => token_pair(state, &user, &session_id, refresh_token),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Code::InvalidRefreshToken,
            "the refresh token is not valid; log in again",
        )),
    }
}

/// Ends the session a refresh token belongs to, if any.
pub async fn logout(state: &AppState, body: AppResult<RefreshRequest>) -> AppResult<()> {
    let presented = body?.refresh_token.into_string();
    let now = state.now_db();
    state
        .db
        .write(move |conn| {
            if let Some((session_id, user_id)) = repo::session_of_refresh_token(conn, &presented)? {
                repo::revoke_session(conn, &session_id, now)?;
                audit::record(
                    conn,
                    now,
                    AuditEvent {
                        actor_id: Some(&user_id),
                        actor_role: None,
                        action: "auth.logout",
                        target_type: "session",
                        target_id: Some(&session_id),
                        school_id: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
}

/// Ends every session of the caller.
pub async fn logout_all(state: &AppState, caller: Caller) -> AppResult<()> {
    let now = state.now_db();
    state
        .db
        .write(move |conn| {
            repo::end_all_sessions(conn, &caller.user_id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "auth.logout_all", "user", Some(&caller.user_id)),
            )
        })
        .await
}

/// Changes the caller's password (failures count toward the lockout) and
/// ends every session.
pub async fn change_password(
    state: &AppState,
    caller: Caller,
    body: AppResult<PasswordChange>,
) -> AppResult<()> {
    let PasswordChange {
        current_password,
        new_password,
    } = body?;
    let now = state.now_db();
    let user_id = caller.user_id.clone();
    let (username, hash, locked) = state
        .db
        .read(move |conn| {
            let (username, hash) = repo::credentials(conn, &user_id)?;
            let locked = repo::lockout_remaining(conn, &username, now)?;
            Ok((username, hash, locked))
        })
        .await?;
    if let Some(secs) = locked {
        return Err(locked_out(
            secs,
            "too many failed attempts for this account; try again later",
        ));
    }
    let new_password = NewPassword::parse("new_password", new_password.into_string(), &username)?;
    if !state
        .passwords
        .verify(current_password.into_string(), Some(hash))
        .await?
    {
        state
            .db
            .write(move |conn| repo::record_failure(conn, &username, now))
            .await?;
        return Err(invalid_credentials().with_field("current_password"));
    }
    let new_hash = state.passwords.hash(new_password.into_string()).await?;
    state
        .db
        .write(move |conn| {
            repo::set_password_hash(conn, &caller.user_id, &new_hash)?;
            repo::end_all_sessions(conn, &caller.user_id, now)?;
            notify::send(
                conn,
                now,
                std::slice::from_ref(&caller.user_id),
                Template::PasswordChanged,
                serde_json::json!({}),
                Category::Account,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "auth.password_changed",
                    "user",
                    Some(&caller.user_id),
                ),
            )
        })
        .await
}
