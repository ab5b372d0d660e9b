use super::dto::{LoginRequest, PasswordChange, RefreshRequest, TokenPair, TokenUser};
use super::extract::Caller;
use super::repo::{self, LoginUser, Rotation};
use super::role::Role;
use crate::audit::{self, AuditEvent};
use crate::crypto::password::NewPassword;
use crate::db::schema::users;
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::JsonBody;
use crate::notify::{self, Category, Template};
use crate::state::{AppState, State};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use diesel::prelude::*;

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

/// Log in with a username and password.
///
/// Five failures for one username within 15 minutes lock that username (and
/// only that one) until the window passes.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub(super) async fn login(
    state: State,
    body: JsonBody<LoginRequest>,
) -> AppResult<web::Json<TokenPair>> {
    let LoginRequest { username, password } = body.into_inner()?;
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
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::TooManyAttempts,
            "too many failed logins for this account; try again later",
        )
        .with_retry_after(secs));
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
    let ttl = state.settings.refresh_token_ttl_days;
    let (user_id, role, school) = (user.id.clone(), user.role.clone(), user.school_id.clone());
    let (session_id, first_refresh) = state
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
        .await?;
    Ok(web::Json(token_pair(
        &state,
        &user,
        &session_id,
        first_refresh,
    )?))
}

/// Trade a refresh token for a new pair. Each refresh token works once;
/// presenting a used one again ends the whole login session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[post("/auth/refresh")]
pub(super) async fn refresh(
    state: State,
    body: JsonBody<RefreshRequest>,
) -> AppResult<web::Json<TokenPair>> {
    let presented = body.into_inner()?.refresh_token.into_string();
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
        ) => Ok(web::Json(token_pair(
            &state,
            &user,
            &session_id,
            refresh_token,
        )?)),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Code::InvalidRefreshToken,
            "the refresh token is not valid; log in again",
        )),
    }
}

/// End the login session a refresh token belongs to (its access tokens too).
#[utoipa::path(tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
#[post("/auth/logout")]
pub(super) async fn logout(
    state: State,
    body: JsonBody<RefreshRequest>,
) -> AppResult<HttpResponse> {
    let presented = body.into_inner()?.refresh_token.into_string();
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
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the caller, on every device.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json")))]
#[post("/auth/logout-all")]
pub(super) async fn logout_all(state: State, caller: Caller) -> AppResult<HttpResponse> {
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
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change one's own password. Every session ends, this one included.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub(super) async fn change_password(
    state: State,
    caller: Caller,
    body: JsonBody<PasswordChange>,
) -> AppResult<HttpResponse> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.into_inner()?;
    let now = state.now_db();
    let user_id = caller.user_id.clone();
    let (username, hash, locked) = state
        .db
        .read(move |conn| {
            let (username, hash): (String, String) = users::table
                .find(&user_id)
                .select((users::username, users::password_hash))
                .first(conn)?;
            let locked = repo::lockout_remaining(conn, &username, now)?;
            Ok((username, hash, locked))
        })
        .await?;
    if let Some(secs) = locked {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::TooManyAttempts,
            "too many failed attempts for this account; try again later",
        )
        .with_retry_after(secs));
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
            diesel::update(users::table.find(&caller.user_id))
                .set(users::password_hash.eq(new_hash))
                .execute(conn)?;
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
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
