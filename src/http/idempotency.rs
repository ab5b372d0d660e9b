//! `Idempotency-Key` on creating POSTs. The key's record is written in the
//! same transaction as what the request creates, so a crash or a concurrent
//! duplicate can never leave a resource without its record, or two resources.

use crate::crypto::{hex, sha256_hex};
use crate::db::schema::idempotency_keys as ik;
use crate::db::{is_unique_violation, new_id, AnyConnection, Db};
use crate::error::{ApiError, AppResult, Code};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use std::future::{ready, Ready};

pub const KEY_LIFETIME_HOURS: i64 = 24;

/// The optional `Idempotency-Key` header, with the method and path it came on.
pub struct IdempotencyKey {
    key: Option<String>,
    target: String,
}

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let target = format!("{} {}", req.method(), req.path());
        let key = match req.headers().get("idempotency-key") {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(s)
                    if !s.is_empty()
                        && s.len() <= 255
                        && s.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Ok(Some(s.to_string()))
                }
                _ => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidIdempotencyKey,
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                )
                .with_field("Idempotency-Key")),
            },
        };
        ready(key.map(|key| IdempotencyKey { key, target }))
    }
}

pub enum Outcome {
    Fresh(String),
    Replay { status: u16, body: String },
}

/// A create that honours `Idempotency-Key`: `create` runs once per (scope,
/// key); a replay with the same body answers what the first answered; the
/// same key with another body is a 422. `scope` keeps one caller's keys apart
/// from another's. The key's record is written in the create's transaction.
///
/// ```ignore
/// Idempotent::new(&state.db, now, caller.idempotency_scope(), key, body.digest)
///     .run(move |conn| service::create_class(conn, now, &caller, &school_id, body))
///     .await
/// ```
pub struct Idempotent<'a> {
    db: &'a Db,
    now: NaiveDateTime,
    scope: String,
    key: IdempotencyKey,
    body_digest: [u8; 32],
    status: StatusCode,
    lane: Lane,
}

impl<'a> Idempotent<'a> {
    /// Answers 201 Created, in the group-commit lane, unless told otherwise.
    pub fn new(
        db: &'a Db,
        now: NaiveDateTime,
        scope: String,
        key: IdempotencyKey,
        body_digest: [u8; 32],
    ) -> Self {
        Idempotent {
            db,
            now,
            scope,
            key,
            body_digest,
            status: StatusCode::CREATED,
            lane: Lane::Grouped,
        }
    }

    /// The status of a fresh answer.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// For a create that writes many rows (a notice fanned out to a
    /// district): it commits in a transaction of its own, so the group
    /// writer, which reports and handovers share, never waits behind it.
    pub fn alone(mut self) -> Self {
        self.lane = Lane::Alone;
        self
    }

    pub async fn run<T, F>(self, create: F) -> AppResult<HttpResponse>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        self.run_keeping_refusals(move |conn| create(conn).map(Ok))
            .await
    }

    /// For a request whose refusal must itself be kept: when `create`
    /// answers `Ok(Err(problem))` its writes (alerts, audit) are committed,
    /// the problem is the response, and a replay of the key answers the same
    /// problem without running `create` again. `Err` still rolls everything
    /// back and records nothing.
    pub async fn run_keeping_refusals<T, F>(self, create: F) -> AppResult<HttpResponse>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<Result<T, ApiError>> + Send + 'static,
    {
        respond_idempotent_in(
            self.lane,
            self.db,
            self.now,
            self.scope,
            self.key,
            self.body_digest,
            self.status,
            create,
        )
        .await
    }
}

/// Which transaction a create commits in.
#[derive(Clone, Copy)]
enum Lane {
    /// With the other short writes waiting at the same moment (`Db::write_grouped`).
    Grouped,
    /// In its own transaction (`Db::write`).
    Alone,
}

impl Lane {
    async fn write<T, F>(self, db: &Db, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        match self {
            Lane::Grouped => db.write_grouped(f).await,
            Lane::Alone => db.write(f).await,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn respond_idempotent_in<T, F>(
    lane: Lane,
    db: &Db,
    now: NaiveDateTime,
    scope: String,
    key: IdempotencyKey,
    body_digest: [u8; 32],
    status: StatusCode,
    create: F,
) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut AnyConnection) -> AppResult<Result<T, ApiError>> + Send + 'static,
{
    let Some(k) = key.key else {
        let value = lane.write(db, create).await??;
        return Ok(HttpResponse::build(status).json(value));
    };
    let fingerprint = sha256_hex(format!("{}\n{}", key.target, hex(&body_digest)).as_bytes());
    let (scope2, k2, fp2) = (scope.clone(), k.clone(), fingerprint.clone());
    let attempt = lane
        .write(db, move |conn| {
            forget_expired(conn, &scope, &k, now)?;
            if let Some(done) = lookup(conn, &scope, &k, &fingerprint, now)? {
                return Ok((status, done));
            }
            let (status, body) = match create(conn)? {
                Ok(value) => (
                    status,
                    serde_json::to_string(&value).map_err(ApiError::internal)?,
                ),
                Err(problem) => (
                    problem.status,
                    serde_json::to_string(&problem.problem()).map_err(ApiError::internal)?,
                ),
            };
            remember(conn, &scope, &k, &fingerprint, status, &body, now)?;
            // A refusal answers with its own status, a replay with the stored one.
            Ok((status, Outcome::Fresh(body)))
        })
        .await;
    let (fresh_status, outcome) = match attempt {
        Ok(done) => done,
        // A concurrent twin may have committed first: answer as it did.
        Err(err) if err.status.is_client_error() || err.code == Code::IdempotencyInFlight => {
            match db
                .read(move |conn| lookup(conn, &scope2, &k2, &fp2, now))
                .await?
            {
                Some(done) => (status, done),
                None => return Err(err),
            }
        }
        Err(err) => return Err(err),
    };
    Ok(match outcome {
        Outcome::Fresh(body) => HttpResponse::build(fresh_status)
            .insert_header((header::CONTENT_TYPE, content_type(fresh_status)))
            .body(body),
        Outcome::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, content_type(status)))
                .insert_header(("Idempotent-Replayed", "true"))
                .body(body)
        }
    })
}

/// What a secret-bearing create answers.
enum SecretAnswer<T> {
    Fresh(T),
    Replayed(T),
    Stored(u16, String),
}

impl Idempotent<'_> {
    /// For a create whose answer holds a secret shown once (a pickup pass
    /// code): the key's record keeps only `redact(&value)`, never the
    /// secret, and a replay answers `reissue(conn, record)`, which may show a
    /// fresh secret (the first answer was lost, or the client would not
    /// replay). A stored refusal replays as is.
    pub async fn run_secret<T, F, R>(
        self,
        create: F,
        redact: fn(&T) -> serde_json::Value,
        reissue: R,
    ) -> AppResult<HttpResponse>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
        R: Fn(&mut AnyConnection, serde_json::Value) -> AppResult<T> + Clone + Send + 'static,
    {
        let Idempotent {
            db,
            now,
            scope,
            key,
            body_digest,
            status,
            ..
        } = self;
        let Some(k) = key.key else {
            let value = db.write(create).await?;
            return Ok(HttpResponse::build(status).json(value));
        };
        let fingerprint = sha256_hex(format!("{}\n{}", key.target, hex(&body_digest)).as_bytes());
        let replay = |conn: &mut AnyConnection,
                      found: Option<Outcome>,
                      reissue: &R|
         -> AppResult<Option<SecretAnswer<T>>> {
            Ok(match found {
                Some(Outcome::Replay { status, body }) if (200..300).contains(&status) => {
                    let record = serde_json::from_str(&body).map_err(ApiError::internal)?;
                    Some(SecretAnswer::Replayed(reissue(conn, record)?))
                }
                Some(Outcome::Replay { status, body }) => Some(SecretAnswer::Stored(status, body)),
                Some(Outcome::Fresh(_)) | None => None,
            })
        };
        let (scope2, k2, fp2, reissue2) = (
            scope.clone(),
            k.clone(),
            fingerprint.clone(),
            reissue.clone(),
        );
        let attempt = db
            .write(move |conn| {
                forget_expired(conn, &scope, &k, now)?;
                let found = lookup(conn, &scope, &k, &fingerprint, now)?;
                if let Some(answer) = replay(conn, found, &reissue)? {
                    return Ok(answer);
                }
                let value = create(conn)?;
                let record = serde_json::to_string(&redact(&value)).map_err(ApiError::internal)?;
                remember(conn, &scope, &k, &fingerprint, status, &record, now)?;
                Ok(SecretAnswer::Fresh(value))
            })
            .await;
        let answer = match attempt {
            Ok(answer) => answer,
            // A concurrent twin may have committed first: answer as a replay.
            Err(err) if err.status.is_client_error() || err.code == Code::IdempotencyInFlight => {
                let found = db
                    .write(move |conn| {
                        let found = lookup(conn, &scope2, &k2, &fp2, now)?;
                        replay(conn, found, &reissue2)
                    })
                    .await?;
                match found {
                    Some(answer) => answer,
                    None => return Err(err),
                }
            }
            Err(err) => return Err(err),
        };
        Ok(match answer {
            SecretAnswer::Fresh(value) => HttpResponse::build(status).json(value),
            SecretAnswer::Replayed(value) => HttpResponse::build(status)
                .insert_header(("Idempotent-Replayed", "true"))
                .json(value),
            SecretAnswer::Stored(code, body) => {
                let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
                HttpResponse::build(code)
                    .insert_header((header::CONTENT_TYPE, content_type(code)))
                    .insert_header(("Idempotent-Replayed", "true"))
                    .body(body)
            }
        })
    }
}

/// Drops the key's record once it has outlived `KEY_LIFETIME_HOURS`, so the
/// key may be used afresh.
fn forget_expired(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let fresh_after = now - chrono::Duration::hours(KEY_LIFETIME_HOURS);
    diesel::delete(
        ik::table
            .filter(ik::scope.eq(scope))
            .filter(ik::idem_key.eq(key))
            .filter(ik::created_at.lt(fresh_after)),
    )
    .execute(conn)?;
    Ok(())
}

/// Records what the key's first request answered, in the create's own
/// transaction; a twin that got there first makes this 409
/// `idempotency_in_flight`.
fn remember(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    status: StatusCode,
    body: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(ik::table)
        .values((
            ik::id.eq(new_id(now)),
            ik::scope.eq(scope),
            ik::idem_key.eq(key),
            ik::request_hash.eq(fingerprint),
            ik::status.eq(status.as_u16() as i32),
            ik::body.eq(body),
            ik::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::conflict(
                    Code::IdempotencyInFlight,
                    "a request with this Idempotency-Key is in progress",
                )
            } else {
                e.into()
            }
        })?;
    Ok(())
}

fn content_type(status: StatusCode) -> &'static str {
    if status.is_client_error() || status.is_server_error() {
        "application/problem+json"
    } else {
        "application/json"
    }
}

fn lookup(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> AppResult<Option<Outcome>> {
    let fresh_after = now - chrono::Duration::hours(KEY_LIFETIME_HOURS);
    let row = ik::table
        .filter(ik::scope.eq(scope))
        .filter(ik::idem_key.eq(key))
        .filter(ik::created_at.ge(fresh_after))
        .select((ik::request_hash, ik::status, ik::body))
        .first::<(String, i32, String)>(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some((hash, status, body)) if hash == fingerprint => Ok(Some(Outcome::Replay {
            status: status as u16,
            body,
        })),
        Some(_) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request",
        )
        .with_field("Idempotency-Key")),
    }
}

/// Forgets keys older than their lifetime.
pub fn purge_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::delete(
        ik::table.filter(ik::created_at.lt(now - chrono::Duration::hours(KEY_LIFETIME_HOURS))),
    )
    .execute(conn)?)
}
