//! Account use cases: logging in (throttled per username and client), refresh
//! rotation, logging out, and changing one's password. Each is audited.

use super::dto::{
    ActivateRequest, DeviceToken, LoginRequest, PasswordChange, RefreshRequest, TokenPair,
    TokenUser,
};
use super::model::LoginUser;
use super::repo::{self, Rotation};
use super::throttle::{self, Client, Gate};
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
        password_change_required: user.password_change_required,
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

/// A successful login: the tokens, and a device token when the client
/// presented none of this user's (sent once, as `X-Device-Token`).
pub struct SignedIn {
    pub pair: TokenPair,
    pub new_device_token: Option<String>,
}

fn refused(gate: Gate) -> Option<ApiError> {
    match gate {
        Gate::Admitted => None,
        Gate::BucketWaits(secs) => Some(locked_out(
            secs,
            "too many failed logins for this account from this client; try again later",
        )),
        Gate::SprayWaits(secs) => Some(locked_out(
            secs,
            "too many failed logins right now; try again shortly",
        )),
    }
}

/// Logs in, throttled per (username, client) as `throttle` describes: a
/// known device with the right password gets in whatever other clients did.
pub async fn login(
    state: &AppState,
    body: AppResult<LoginRequest>,
    device: DeviceToken,
) -> AppResult<SignedIn> {
    let LoginRequest { username, password } = body?;
    let username = username.into_string().trim().to_lowercase();
    let now = state.now_db();
    let token_hash = device.into_inner().map(|t| repo::device_token_hash(&t));
    // The attempt is counted before the password is checked, in the same
    // transaction as the throttle check, so parallel guesses cannot slip past
    // the limit; a success clears its bucket. It is counted only once it has
    // its turn to hash: logins queued behind a busy hasher are not failures.
    let turn = state.passwords.turn().await?;
    let u1 = username.clone();
    let (gate, client, user) = state
        .db
        .write(move |conn| {
            repo::lock_account(conn, &u1)?;
            let user = repo::find_login_user(conn, &u1)?;
            let user_id = user.as_ref().map(|u| u.id.as_str());
            let client = throttle::client_of(conn, user_id, token_hash.as_deref(), now)?;
            let gate = throttle::admit(conn, &u1, &client, now)?;
            Ok((gate, client, user))
        })
        .await?;
    if let Some(err) = refused(gate) {
        return Err(err);
    }
    // An account waiting for activation has no password: nothing matches.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .filter(|h| !h.is_empty());
    let password_ok = turn.verify(password.into_string(), hash).await?;
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
    let started = start_session(state, now, username, client, &user).await?;
    Ok(SignedIn {
        pair: token_pair(state, &user, &started.session_id, started.refresh_token)?,
        new_device_token: started.new_device_token,
    })
}

struct Started {
    session_id: String,
    refresh_token: String,
    new_device_token: Option<String>,
}

/// Clears the client's failures, remembers the device (a new one for an
/// unknown client) and starts a session.
async fn start_session(
    state: &AppState,
    now: NaiveDateTime,
    username: String,
    client: Client,
    user: &LoginUser,
) -> AppResult<Started> {
    let ttl = state.settings.refresh_token_ttl_days;
    let (user_id, role, school) = (user.id.clone(), user.role.clone(), user.school_id.clone());
    state
        .db
        .write(move |conn| {
            repo::clear_failures(conn, &username, &client.key())?;
            let new_device_token = match &client {
                Client::Device(id) => {
                    repo::touch_device(conn, id, now)?;
                    None
                }
                _ => Some(repo::issue_device(conn, &user_id, now)?),
            };
            let (session_id, refresh_token) = repo::start_session(conn, &user_id, now, ttl)?;
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
            Ok(Started {
                session_id,
                refresh_token,
                new_device_token,
            })
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

/// Ends every session of the caller and forgets their devices (a lost
/// phone's token no longer counts as known).
pub async fn logout_all(state: &AppState, caller: Caller) -> AppResult<()> {
    let now = state.now_db();
    state
        .db
        .write(move |conn| {
            repo::end_all_sessions(conn, &caller.user_id, now)?;
            repo::forget_devices(conn, &caller.user_id)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "auth.logout_all", "user", Some(&caller.user_id)),
            )
        })
        .await
}

/// Changes the caller's password and ends every session. Wrong current
/// passwords count against this session's own bucket, before the check as
/// for a login, so a stolen session cannot guess faster than a login could,
/// nor slow the owner's logins.
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
    let session = Client::Session(caller.session_id.clone());
    let client = session.key();
    // A weak new password is refused before anything is counted (the
    // error rolls the transaction back); the attempt counts once it has its
    // turn to hash, as for a login.
    let turn = state.passwords.turn().await?;
    let (username, hash, new_password, gate) = state
        .db
        .write(move |conn| {
            let (username, hash) = repo::credentials(conn, &user_id)?;
            let new_password =
                NewPassword::parse("new_password", new_password.into_string(), &username)?;
            repo::lock_account(conn, &username)?;
            let gate = throttle::admit(conn, &username, &session, now)?;
            Ok((username, hash, new_password, gate))
        })
        .await?;
    if let Gate::BucketWaits(secs) | Gate::SprayWaits(secs) = gate {
        return Err(locked_out(
            secs,
            "too many failed attempts for this account; try again later",
        ));
    }
    if !turn
        .verify(current_password.into_string(), Some(hash))
        .await?
    {
        return Err(invalid_credentials().with_field("current_password"));
    }
    let new_hash = state.passwords.hash(new_password.into_string()).await?;
    state
        .db
        .write(move |conn| {
            repo::clear_failures(conn, &username, &client)?;
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

/// Sets a new account's first password with its one-time activation code.
/// A wrong, spent or expired code, or an unknown username, is the same 401,
/// counted against the username like a failed login.
pub async fn activate(state: &AppState, body: AppResult<ActivateRequest>) -> AppResult<()> {
    let ActivateRequest {
        username,
        code,
        new_password,
    } = body?;
    let username = username.into_string().trim().to_lowercase();
    let new_password = NewPassword::parse("new_password", new_password.into_string(), &username)?;
    let hash = state.passwords.hash(new_password.into_string()).await?;
    let now = state.now_db();
    let bucket = Client::Unknown.key();
    let (gate, activated) = state
        .db
        .write(move |conn| {
            repo::lock_account(conn, &username)?;
            let gate = throttle::admit(conn, &username, &Client::Unknown, now)?;
            if !matches!(gate, Gate::Admitted) {
                return Ok((gate, false));
            }
            let user = repo::find_login_user(conn, &username)?;
            let spent = match &user {
                Some(u) if !u.disabled => {
                    super::activation::spend(conn, now, &u.id, code.as_str())?
                }
                _ => false,
            };
            let Some(user) = user.filter(|_| spent) else {
                return Ok((gate, false));
            };
            repo::clear_failures(conn, &username, &bucket)?;
            repo::set_password_hash(conn, &user.id, &hash)?;
            audit::record(
                conn,
                now,
                AuditEvent {
                    actor_id: Some(&user.id),
                    actor_role: Some(&user.role),
                    action: "auth.activated",
                    target_type: "user",
                    target_id: Some(&user.id),
                    school_id: user.school_id.as_deref(),
                },
            )?;
            Ok((gate, true))
        })
        .await?;
    if let Some(err) = refused(gate) {
        return Err(err);
    }
    if activated {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Code::InvalidCredentials,
            "the username or activation code is wrong, or the code was used or has expired",
        )
        .with_field("code"))
    }
}

/// Asks a signed-in user for their password again before something that
/// hands out or replaces key material. Wrong passwords count against this
/// session's bucket exactly as for a password change (429 when it is full),
/// and a wrong one is 403 `invalid_credentials` (not 401: the session
/// still stands).
pub async fn recheck_password(
    state: &AppState,
    caller: &Caller,
    password: String,
) -> AppResult<()> {
    let now = state.now_db();
    let user_id = caller.user_id.clone();
    let session = Client::Session(caller.session_id.clone());
    let client = session.key();
    let turn = state.passwords.turn().await?;
    let (username, hash, gate) = state
        .db
        .write(move |conn| {
            let (username, hash) = repo::credentials(conn, &user_id)?;
            repo::lock_account(conn, &username)?;
            let gate = throttle::admit(conn, &username, &session, now)?;
            Ok((username, hash, gate))
        })
        .await?;
    if let Gate::BucketWaits(secs) | Gate::SprayWaits(secs) = gate {
        return Err(locked_out(
            secs,
            "too many wrong passwords for this account; try again later",
        ));
    }
    if !turn.verify(password, Some(hash)).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Code::InvalidCredentials,
            "the password is wrong",
        )
        .with_field("password"));
    }
    state
        .db
        .write(move |conn| repo::clear_failures(conn, &username, &client))
        .await
}
