use super::dto::*;
use super::receipt::Receipt;
use super::repo::{self, ReporterKey};
use super::{pow, service};
use crate::audit::{self, AuditEvent};
use crate::auth::{Admin, BureauOfficer, Caller, Role, TiplineKeyHolder};
use crate::clock::to_utc;
use crate::crypto::envelope::KeyWrap;
use crate::crypto::{b64u_decode, hpke};
use crate::db::new_id;
use crate::db::schema::{
    tip_mailbox_recipients as mr, tip_recipient_keys as rk, tip_report_access as ra, users,
};
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::state::State;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::Duration;
use diesel::prelude::*;

/// Reports and messages: a sealed text of up to 20,000 characters with many wraps.
const CONTENT_BODY_LIMIT: usize = 512 * 1024;
const MAX_CONTENT_CIPHERTEXT: usize = 256 * 1024;
/// Attachments: 10 MiB of ciphertext is about 14 MiB of base64.
pub const ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;
const ATTACHMENT_BODY_LIMIT: usize = 15 * 1024 * 1024;
pub const ATTACHMENTS_PER_REPORT: i64 = 10;

fn anonymous_only(req: &HttpRequest) -> AppResult<()> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::AnonymousOnly,
            "the tip line is anonymous: send no Authorization header",
        )
        .with_field("Authorization"));
    }
    Ok(())
}

// --- recipient keys and mailboxes -------------------------------------------------

/// Register (or replace) the caller's tip-line public key.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    request_body = PutEncryptionKey,
    responses(
        (status = 200, body = KeyCreated),
    )
)]
#[put("/me/encryption-key")]
pub(super) async fn put_encryption_key(
    state: State,
    caller: TiplineKeyHolder,
    body: JsonBody<PutEncryptionKey>,
) -> AppResult<web::Json<KeyCreated>> {
    let b = body.into_inner()?;
    let pk = b64u_decode(&b.public_key)
        .filter(|k| hpke::usable_public_key(k).is_ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "public_key",
                "public_key must be base64url of a 32-byte X25519 key",
            )
        })?;
    if let Some(backup) = &b.key_backup {
        if backup.is_empty() || backup.len() > 4096 {
            return Err(ApiError::invalid(
                "key_backup",
                "key_backup must be 1 to 4096 characters",
            ));
        }
    }
    let public_key = crate::crypto::b64u(&pk);
    let now = state.now_db();
    let caller = caller.0;
    let key_id = state
        .db
        .write(move |conn| {
            diesel::update(
                rk::table
                    .filter(rk::user_id.eq(&caller.user_id))
                    .filter(rk::retired_at.is_null()),
            )
            .set(rk::retired_at.eq(now))
            .execute(conn)?;
            let key_id = new_id(now);
            diesel::insert_into(rk::table)
                .values((
                    rk::id.eq(&key_id),
                    rk::user_id.eq(&caller.user_id),
                    rk::public_key.eq(&public_key),
                    rk::key_backup.eq(&b.key_backup),
                    rk::created_at.eq(now),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.key.register",
                    "tip_recipient_key",
                    Some(&key_id),
                ),
            )?;
            Ok(key_id)
        })
        .await?;
    Ok(web::Json(KeyCreated { key_id }))
}

/// The caller's current tip-line key and its passphrase-encrypted backup.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MyEncryptionKey),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/encryption-key")]
pub(super) async fn get_encryption_key(
    state: State,
    caller: TiplineKeyHolder,
) -> AppResult<web::Json<MyEncryptionKey>> {
    let user_id = caller.0.user_id;
    let row = state
        .db
        .read(move |conn| {
            Ok(rk::table
                .filter(rk::user_id.eq(&user_id))
                .filter(rk::retired_at.is_null())
                .select((rk::id, rk::public_key, rk::key_backup, rk::created_at))
                .first::<(String, String, Option<String>, chrono::NaiveDateTime)>(conn)
                .optional()?)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("encryption key"))?;
    Ok(web::Json(MyEncryptionKey {
        key_id: row.0,
        public_key: row.1,
        key_backup: row.2,
        created_at: to_utc(row.3),
    }))
}

/// Designate the school staff who receive the school's mailbox (replaces the list).
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = SetRecipients,
    responses(
        (status = 200, body = MailboxRecipients),
    )
)]
#[put("/schools/{id}/mailbox/recipients")]
pub(super) async fn set_recipients(
    state: State,
    admin: Admin,
    path: web::Path<String>,
    body: JsonBody<SetRecipients>,
) -> AppResult<web::Json<MailboxRecipients>> {
    let school_id = path.into_inner();
    let mut user_ids = body.into_inner()?.user_ids;
    if user_ids.is_empty() || user_ids.len() > 50 {
        return Err(ApiError::invalid("user_ids", "name 1 to 50 recipients"));
    }
    user_ids.sort();
    user_ids.dedup();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            crate::org::repo::school(conn, &caller, &school_id)?;
            let eligible: i64 = users::table
                .filter(users::id.eq_any(&user_ids))
                .filter(users::school_id.eq(&school_id))
                .filter(users::disabled.eq(false))
                .filter(users::role.eq_any([Role::SchoolAdmin.as_str(), Role::Counselor.as_str()]))
                .count()
                .get_result(conn)?;
            if eligible != user_ids.len() as i64 {
                return Err(ApiError::invalid(
                    "user_ids",
                    "every recipient must be an active school admin or counsellor of this school",
                ));
            }
            diesel::delete(mr::table.filter(mr::school_id.eq(&school_id))).execute(conn)?;
            for u in &user_ids {
                diesel::insert_into(mr::table)
                    .values((
                        mr::id.eq(new_id(now)),
                        mr::school_id.eq(&school_id),
                        mr::user_id.eq(u),
                        mr::created_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.mailbox.recipients",
                    "school",
                    Some(&school_id),
                )
                .in_school(Some(&school_id)),
            )?;
            Ok(MailboxRecipients {
                school_id,
                user_ids,
            })
        })
        .await?;
    Ok(web::Json(out))
}

/// What an app needs to seal a report to a school's mailbox. No sign-in.
#[utoipa::path(
    tag = "tipline",
    params(("school_code" = String, Path)),
    responses(
        (status = 200, body = Mailbox),
    )
)]
#[get("/mailboxes/{school_code}")]
pub(super) async fn get_mailbox(
    state: State,
    path: web::Path<String>,
) -> AppResult<web::Json<Mailbox>> {
    let code = path.into_inner();
    let mailbox = state
        .db
        .read(move |conn| {
            let (school_id, district_id, name, crisis_line) = service::school_by_code(conn, &code)?;
            let (all, district) = repo::mailbox_keys(conn, &school_id, &district_id)?;
            Ok(Mailbox {
                school_code: code,
                school_name: name,
                categories: Category::ALL.to_vec(),
                recipient_keys: repo::keys_dto(&all),
                district_keys: repo::keys_dto(&district),
                crisis_line,
                suite: service::suite_info(),
            })
        })
        .await?;
    Ok(web::Json(mailbox))
}

// --- anonymous submission and follow-up ---------------------------------------------

/// A one-time proof-of-work challenge for a submission. No sign-in.
#[utoipa::path(
    tag = "tipline",
    responses(
        (status = 201, body = Challenge),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/challenge")]
pub(super) async fn challenge(state: State, req: HttpRequest) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let now = state.now_db();
    let settings = state.settings.tipline.clone();
    // The surge count is a read on any pooled connection; only the insert
    // waits for the (grouped) write.
    let counting = settings.clone();
    let difficulty = state
        .db
        .read(move |conn| pow::current_difficulty(conn, &counting, now))
        .await?;
    let (challenge, difficulty, expires_at) = state
        .db
        .write_grouped(move |conn| pow::issue(conn, &settings, now, difficulty))
        .await?;
    Ok(HttpResponse::Created().json(Challenge {
        challenge,
        difficulty,
        expires_at: to_utc(expires_at),
    }))
}

/// Submit a report anonymously. Returns the receipt, once.
///
/// Not idempotent by key: the answer holds the receipt, which is never
/// stored; the single-use proof of work already stops a duplicate.
#[utoipa::path(
    tag = "tipline",
    request_body = NewReport,
    responses(
        (status = 201, body = ReportReceipt),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports")]
pub(super) async fn submit_report(
    state: State,
    req: HttpRequest,
    body: JsonBody<NewReport, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    let now = state.now_db();
    let made = service::NewReceipt::generate(&state.settings.receipt_pepper);
    let receipt = state
        .db
        .write_grouped(move |conn| service::submit(conn, now, made, b))
        .await?;
    Ok(HttpResponse::Created().json(ReportReceipt {
        receipt: receipt.display(),
        status: Progress::Received,
    }))
}

/// Read a report's progress and replies with its receipt (in the body, never the URL).
#[utoipa::path(
    tag = "tipline",
    request_body = FollowupRequest,
    responses(
        (status = 200, body = Followup),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/followup")]
pub(super) async fn followup(
    state: State,
    req: HttpRequest,
    body: JsonBody<FollowupRequest>,
) -> AppResult<web::Json<Followup>> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    let report = service::report_by_receipt(&state, &b.receipt).await?;
    let receipt = Receipt::parse(&b.receipt).expect("checked by report_by_receipt");
    let out = state
        .db
        .read(move |conn| service::followup(conn, &report, b.open.then_some(&receipt)))
        .await?;
    Ok(web::Json(out))
}

/// Add a message to a report, sealed to its recipients, with the receipt.
#[utoipa::path(
    tag = "tipline",
    request_body = ReporterMessage,
    responses(
        (status = 201, body = MessageCreated),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/followup/messages")]
pub(super) async fn reporter_message(
    state: State,
    req: HttpRequest,
    body: JsonBody<ReporterMessage, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    let report = service::report_by_receipt(&state, &b.receipt).await?;
    let now = state.now_db();
    let created = state
        .db
        .write(move |conn| {
            let env = service::reporter_envelope(conn, &report, b.envelope, b.plaintext)?;
            service::reporter_adds(conn, now, &report, &env, false)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Add an attachment (a photo, a screenshot, a voice note) sealed like a message.
#[utoipa::path(
    tag = "tipline",
    request_body = ReporterAttachment,
    responses(
        (status = 201, body = MessageCreated),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/followup/attachments")]
pub(super) async fn reporter_attachment(
    state: State,
    req: HttpRequest,
    body: JsonBody<ReporterAttachment, ATTACHMENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    let report = service::report_by_receipt(&state, &b.receipt).await?;
    let now = state.now_db();
    let created = state
        .db
        .write(move |conn| service::reporter_adds(conn, now, &report, &b.envelope, true))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

// --- staff ----------------------------------------------------------------------------

/// Reports the caller receives, newest first: metadata only.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(ReportListQuery),
    responses(
        (status = 200, body = Page<ReportSummary>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports")]
pub(super) async fn list_reports(
    state: State,
    caller: Caller,
    query: web::Query<ReportListQuery>,
) -> AppResult<web::Json<Page<ReportSummary>>> {
    let q = query.into_inner();
    let page = crate::http::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| {
            if !repo::is_any_recipient(conn, &caller)? {
                return Err(ApiError::not_found("mailbox"));
            }
            let rows = repo::list_visible(conn, &caller, q.status, None, cursor, limit)?;
            let items = repo::summaries(conn, &caller, &rows)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "tipline.report.list", "tip_report", None),
            )?;
            Ok(Page::from_rows(items, limit, |s| s.id.clone()))
        })
        .await?;
    Ok(web::Json(out))
}

/// Reports of the district still `new` past their deadline (bureau only).
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(crate::http::PageQuery),
    responses(
        (status = 200, body = Page<ReportSummary>),
    )
)]
#[get("/reports/overdue")]
pub(super) async fn overdue_reports(
    state: State,
    officer: BureauOfficer,
    query: web::Query<crate::http::PageQuery>,
) -> AppResult<web::Json<Page<ReportSummary>>> {
    let (limit, cursor) = (query.limit()?, query.cursor()?);
    let now = state.now_db();
    let t = state.settings.tipline.clone();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| {
            let before = (
                now - Duration::minutes(t.urgent_deadline_mins),
                now - Duration::minutes(t.normal_deadline_mins),
            );
            let rows = repo::list_visible(conn, &caller, None, Some(before), cursor, limit)?;
            let items = repo::summaries(conn, &caller, &rows)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "tipline.report.list_overdue", "tip_report", None),
            )?;
            Ok(Page::from_rows(items, limit, |s| s.id.clone()))
        })
        .await?;
    Ok(web::Json(out))
}

/// A report with its envelope, messages, attachments and the keys a reply must be sealed to.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReportDetail),
    )
)]
#[get("/reports/{id}")]
pub(super) async fn get_report(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> AppResult<web::Json<ReportDetail>> {
    let id = path.into_inner();
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            let detail = service::detail(conn, &caller, &report)?;
            repo::mark_read(conn, &report.id, &caller.user_id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.read",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(detail)
        })
        .await?;
    Ok(web::Json(out))
}

/// Reply to the reporter, sealed to `reporter` and every recipient key.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StaffReply,
    responses(
        (status = 201, body = MessageCreated),
    )
)]
#[post("/reports/{id}/messages")]
pub(super) async fn staff_reply(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: JsonBody<StaffReply, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let digest = body.digest;
    let env = body.into_inner()?.envelope;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            let keys = repo::report_keys(conn, &report)?;
            repo::check_envelope(
                &env,
                &keys,
                ReporterKey::Required,
                true,
                MAX_CONTENT_CIPHERTEXT,
            )?;
            let msg_id = repo::insert_message(
                conn,
                &report.id,
                Sender::School,
                Some(&caller.user_id),
                false,
                &env,
                now,
            )?;
            repo::mark_read(conn, &report.id, &caller.user_id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.reply",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(MessageCreated {
                id: msg_id,
                sent_on: now.date(),
            })
        })
        .await
}

/// Move a report along: new → acknowledged → investigating → referred_to_police |
/// resolved; `closed` (with a note and an outcome) waits for a second person.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StatusChange,
    responses(
        (status = 200, body = ReportSummary),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/status")]
pub(super) async fn change_status(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody<StatusChange>,
) -> AppResult<web::Json<ReportSummary>> {
    let id = path.into_inner();
    let b = body.into_inner()?;
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| service::change_status(conn, now, &caller, &id, b))
        .await?;
    Ok(web::Json(out))
}

/// Confirm a requested closure: a second recipient or a bureau officer.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReportSummary),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/close-confirmation")]
pub(super) async fn confirm_close(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> AppResult<web::Json<ReportSummary>> {
    let id = path.into_inner();
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| service::confirm_close(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(out))
}

/// Step away from a report for a conflict of interest; access ends at once.
/// The last bureau officer who can read it may not: the district always
/// receives every report.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/recuse")]
pub(super) async fn recuse(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let now = state.now_db();
    state
        .db
        .write(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            repo::lock_report(conn, &report.id)?;
            if caller.role == Role::BureauOfficer
                && repo::other_district_readers(conn, &report, &caller.user_id)? == 0
            {
                return Err(ApiError::conflict(
                    Code::LastDistrictReader,
                    "the district must keep a reader: another bureau officer has to take the report first",
                ));
            }
            diesel::insert_into(ra::table)
                .values((
                    ra::id.eq(new_id(now)),
                    ra::report_id.eq(&report.id),
                    ra::user_id.eq(&caller.user_id),
                    ra::kind.eq(repo::RECUSED),
                    ra::created_at.eq(now),
                ))
                .execute(conn)?;
            service::event(
                conn,
                now,
                &report.id,
                Some(&caller.user_id),
                "recused",
                report.status(),
                None,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.recuse",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add content-key wraps for a recipient added later; the bureau may also
/// share a `concerns_staff` report with named school recipients.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AddKeys,
    responses(
        (status = 200, body = KeysAdded),
    )
)]
#[post("/reports/{id}/keys")]
pub(super) async fn add_keys(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody<AddKeys, CONTENT_BODY_LIMIT>,
) -> AppResult<web::Json<KeysAdded>> {
    let id = path.into_inner();
    let b = body.into_inner()?;
    if b.share_with.len() > 50 {
        return Err(ApiError::invalid(
            "share_with",
            "share with at most 50 people at once",
        ));
    }
    if b.wraps.len() > 1000 {
        return Err(ApiError::invalid(
            "wraps",
            "send at most 1000 wraps at once",
        ));
    }
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            let mut shared_with = Vec::new();
            if !b.share_with.is_empty() {
                if caller.role != Role::BureauOfficer {
                    return Err(ApiError::forbidden(
                        Code::ForbiddenRole,
                        "only the district bureau shares a report",
                    ));
                }
                for u in &b.share_with {
                    let ok: i64 = users::table
                        .filter(users::id.eq(u))
                        .filter(users::school_id.eq(&report.school_id))
                        .filter(
                            users::role
                                .eq_any([Role::SchoolAdmin.as_str(), Role::Counselor.as_str()]),
                        )
                        .count()
                        .get_result(conn)?;
                    if ok == 0 {
                        return Err(ApiError::invalid(
                            "share_with",
                            "share only with school admins or counsellors of the report's school",
                        ));
                    }
                    let exists: i64 = ra::table
                        .filter(ra::report_id.eq(&report.id))
                        .filter(ra::user_id.eq(u))
                        .filter(ra::kind.eq(repo::SHARED))
                        .count()
                        .get_result(conn)?;
                    if exists == 0 {
                        diesel::insert_into(ra::table)
                            .values((
                                ra::id.eq(new_id(now)),
                                ra::report_id.eq(&report.id),
                                ra::user_id.eq(u),
                                ra::kind.eq(repo::SHARED),
                                ra::created_at.eq(now),
                            ))
                            .execute(conn)?;
                    }
                    shared_with.push(u.clone());
                }
            }
            let keys = repo::report_keys(conn, &report)?;
            let mut added = 0;
            for w in &b.wraps {
                if !keys.iter().any(|k| k.key_id == w.key_id) {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Code::UnknownRecipientKey,
                        format!("{} is not a recipient key of this report", w.key_id),
                    )
                    .with_field("wraps.key_id"));
                }
                let wrap = KeyWrap {
                    key_id: w.key_id.clone(),
                    enc: w.enc.clone(),
                    ct: w.ct.clone(),
                };
                wrap.check_shape()
                    .map_err(|e| ApiError::invalid("wraps", e.to_string()))?;
                if service::append_wrap(conn, &report, &w.object_id, wrap)? {
                    added += 1;
                }
            }
            service::event(
                conn,
                now,
                &report.id,
                Some(&caller.user_id),
                "keys_added",
                report.status(),
                None,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.keys",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(KeysAdded {
                wraps_added: added,
                shared_with,
            })
        })
        .await?;
    Ok(web::Json(out))
}
