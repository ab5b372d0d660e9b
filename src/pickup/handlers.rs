use super::dto::*;
use super::repo::{self, AdultRef, HandoverRow, PersonRow};
use crate::attendance::Presence;
use crate::audit::{self, AuditEvent};
use crate::auth::{Admin, Caller, GateStaff, Staff};
use crate::clock::school_local;
use crate::db::schema::{
    classes, guardianships, handovers, pickup_blocks, pickup_closed_days, pickup_dismissal_modes,
    pickup_dismissal_times, pickup_passes, pickup_persons, pickup_settings, students, users,
};
use crate::db::{conflict_on_unique, new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::notify::{self, Category, Template};
use crate::org::dto::Id;
use crate::org::family;
use crate::org::family::Identity;
use crate::org::repo::StudentRow;
use crate::state::State;
use actix_web::{delete, get, post, put, web, HttpResponse};
use base64::Engine;
use chrono::Datelike;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::HashMap;

fn forbidden(code: Code, detail: &str) -> ApiError {
    ApiError::forbidden(code, detail.to_string())
}

/// The school's local date and time now, for a pupil.
fn local_now(
    conn: &mut AnyConnection,
    school_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(NaiveDateTime, String)> {
    let school = repo::school_row(conn, school_id)?;
    Ok((school_local(now, &school.timezone), school.timezone))
}

fn days_text_zh(mask: i32) -> String {
    const NAMES: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    match mask {
        127 => "每天".into(),
        31 => "周一至周五".into(),
        _ => Weekday::from_mask(mask)
            .iter()
            .map(|d| NAMES[(d.number() - 1) as usize])
            .collect::<Vec<_>>()
            .join("、"),
    }
}

fn days_text(mask: i32) -> String {
    match mask {
        127 => "Mon–Sun".into(),
        31 => "Mon–Fri".into(),
        _ => Weekday::from_mask(mask)
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// JPEG or PNG, recognised by their first bytes, at most 512 KiB.
fn parse_photo(b64: &str) -> AppResult<(Vec<u8>, &'static str)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| ApiError::invalid("photo", "photo must be base64"))?;
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(ApiError::invalid("photo", "photo must be at most 512 KiB"));
    }
    let kind = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        "image/png"
    } else {
        return Err(ApiError::invalid("photo", "photo must be a JPEG or PNG"));
    };
    Ok((bytes, kind))
}

fn load_person(conn: &mut AnyConnection, id: &str) -> AppResult<PersonRow> {
    Ok(pickup_persons::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)?)
}

/// Authorise another adult to pick up a pupil (a primary guardian or the school admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupPerson,
    responses(
        (status = 201, body = PickupPerson),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/pickup-persons")]
pub(super) async fn add_pickup_person(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupPerson, PERSON_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let student_id = id.into_inner();
    let now_utc = state.now();
    let now = state.now_db();
    let photo = b.photo.as_deref().map(parse_photo).transpose()?;
    let weekdays = match &b.weekdays {
        None => 127,
        Some(days) if days.is_empty() => {
            return Err(ApiError::invalid("weekdays", "name at least one weekday"))
        }
        Some(days) => days.iter().fold(0, |m, d| m | d.bit()),
    };
    let valid_until = b.valid_until.ok_or_else(|| {
        ApiError::invalid(
            "valid_until",
            "valid_until is required for anyone who is not a guardian",
        )
    })?;
    if valid_until < b.valid_from {
        return Err(ApiError::invalid(
            "valid_until",
            "valid_until must not be before valid_from",
        ));
    }
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let (student, rel) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            if !(rel.primary_guardian || rel.school_admin) {
                return Err(forbidden(
                    Code::PrimaryGuardianRequired,
                    "only a primary guardian or the school admin may authorise pickup persons",
                ));
            }
            let (local, _) = local_now(conn, &student.school_id, now_utc)?;
            let today = local.date();
            if valid_until < today {
                return Err(ApiError::invalid(
                    "valid_until",
                    "valid_until is in the past",
                ));
            }
            if valid_until > today + chrono::Duration::days(366) {
                return Err(ApiError::invalid(
                    "valid_until",
                    "valid_until may be at most one school year ahead",
                ));
            }
            let who = Identity {
                name: Some(b.name.as_str().to_string()),
                phone: Some(b.phone.as_str().to_string()),
                id_last4: b.id_last4.clone().map(IdLast4::into_string),
            };
            if repo::matching_block(conn, &student.id, &[&who])?.is_some() {
                return Err(ApiError::conflict(
                    Code::PickupBlocked,
                    "this adult is on the pupil's never-release list",
                ));
            }
            let row_id = new_id(now);
            let (photo_bytes, photo_type) = match photo {
                Some((bytes, kind)) => (Some(bytes), Some(kind)),
                None => (None, None),
            };
            diesel::insert_into(pickup_persons::table)
                .values((
                    pickup_persons::id.eq(&row_id),
                    pickup_persons::student_id.eq(&student.id),
                    pickup_persons::name.eq(b.name.as_str()),
                    pickup_persons::name_norm.eq(family::normalise_name(b.name.as_str())),
                    pickup_persons::relation.eq(b.relation.as_str()),
                    pickup_persons::phone.eq(b.phone.as_str()),
                    pickup_persons::id_last4.eq(&who.id_last4),
                    pickup_persons::photo.eq(photo_bytes),
                    pickup_persons::photo_type.eq(photo_type),
                    pickup_persons::valid_from.eq(repo::date_key(b.valid_from)),
                    pickup_persons::valid_until.eq(repo::date_key(valid_until)),
                    pickup_persons::weekdays.eq(weekdays),
                    pickup_persons::created_by.eq(&caller.user_id),
                    pickup_persons::created_at.eq(now),
                ))
                .execute(conn)?;
            let guardians = family::guardians(conn, &student.id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::PickupPersonAdded,
                serde_json::json!({
                    "person": b.name.as_str(), "relation": b.relation.as_str(),
                    "student": student.name, "student_id": student.id,
                    "days": days_text(weekdays), "days_zh": days_text_zh(weekdays),
                    "from": repo::date_key(b.valid_from), "until": repo::date_key(valid_until),
                }),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup_person.create",
                    "pickup_person",
                    Some(&row_id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            Ok(load_person(conn, &row_id)?.into_dto())
        })
        .await
}

/// The adults authorised to pick up a pupil, revoked ones included (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupPerson>),
    )
)]
#[get("/students/{id}/pickup-persons")]
pub(super) async fn list_pickup_persons(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupPerson>>> {
    let student_id = id.into_inner();
    let rows = state
        .db
        .read(move |conn| {
            let (student, _) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            Ok(pickup_persons::table
                .filter(pickup_persons::student_id.eq(&student.id))
                .select(PersonRow::as_select())
                .order(pickup_persons::id)
                .load::<PersonRow>(conn)?)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter().map(PersonRow::into_dto).collect(),
    ))
}

/// Revoke a pickup person: kept for history, never erased (a primary guardian or the school admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), ("person_id" = String, Path)),
    responses(
        (status = 200, body = PickupPerson),
    )
)]
#[delete("/students/{id}/pickup-persons/{person_id}")]
pub(super) async fn revoke_pickup_person(
    state: State,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<PickupPerson>> {
    let (student_id, person_id) = path.into_inner();
    let now = state.now_db();
    let row = state
        .db
        .write(move |conn| {
            let (student, rel) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            let person = load_person(conn, &person_id)
                .ok()
                .filter(|p| p.student_id == student.id)
                .ok_or_else(|| ApiError::not_found("pickup person"))?;
            if !(rel.primary_guardian || rel.school_admin) {
                return Err(forbidden(
                    Code::PrimaryGuardianRequired,
                    "only a primary guardian or the school admin may revoke pickup persons",
                ));
            }
            if person.revoked_at.is_some() {
                return Ok(person);
            }
            diesel::update(pickup_persons::table.find(&person.id))
                .set((
                    pickup_persons::revoked_at.eq(now),
                    pickup_persons::revoked_by.eq(&caller.user_id),
                ))
                .execute(conn)?;
            let guardians = family::guardians(conn, &student.id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::PickupPersonRevoked,
                serde_json::json!({"person": person.name, "relation": person.relation,
                                   "student": student.name, "student_id": student.id}),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup_person.revoke",
                    "pickup_person",
                    Some(&person.id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            load_person(conn, &person.id)
        })
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// A pickup person's photo, for the school's staff and the pupil's family only.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "pickup person id")),
    responses(
        (status = 200, description = "The photo (image/jpeg or image/png)"),
    )
)]
#[get("/pickup-persons/{id}/photo")]
pub(super) async fn pickup_person_photo(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let person_id = id.into_inner();
    let now = state.now_db();
    let (bytes, kind) = state
        .db
        .write(move |conn| {
            let (student_id, photo, kind) = pickup_persons::table
                .find(&person_id)
                .select((
                    pickup_persons::student_id,
                    pickup_persons::photo,
                    pickup_persons::photo_type,
                ))
                .first::<(String, Option<Vec<u8>>, Option<String>)>(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("photo"))?;
            let (student, _) = family::student_for_family_or_school(conn, &caller, &student_id)
                .map_err(|_| ApiError::not_found("photo"))?;
            let (Some(photo), Some(kind)) = (photo, kind) else {
                return Err(ApiError::not_found("photo"));
            };
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup_person.photo_read",
                    "pickup_person",
                    Some(&person_id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            Ok((photo, kind))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", kind))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

/// Record someone who must never take the pupil (a guardian or the school admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupBlock,
    responses(
        (status = 201, body = PickupBlock),
    )
)]
#[post("/students/{id}/pickup-blocks")]
pub(super) async fn add_pickup_block(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupBlock>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let student_id = id.into_inner();
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let (student, rel) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            if !(rel.guardian || rel.school_admin) {
                return Err(forbidden(
                    Code::ForbiddenRole,
                    "only a guardian or the school admin may record a never-release entry",
                ));
            }
            let name_norm = family::normalise_name(b.name.as_str());
            if name_norm.is_empty() {
                return Err(ApiError::invalid("name", "name must contain letters"));
            }
            let row_id = new_id(now);
            diesel::insert_into(pickup_blocks::table)
                .values((
                    pickup_blocks::id.eq(&row_id),
                    pickup_blocks::student_id.eq(&student.id),
                    pickup_blocks::name.eq(b.name.as_str()),
                    pickup_blocks::name_norm.eq(&name_norm),
                    pickup_blocks::phone.eq(b.phone.as_ref().map(|p| p.as_str())),
                    pickup_blocks::id_last4.eq(b.id_last4.clone().map(IdLast4::into_string)),
                    pickup_blocks::note.eq(b.note.as_str()),
                    pickup_blocks::court_order.eq(b.court_order.unwrap_or(false)),
                    pickup_blocks::created_by.eq(&caller.user_id),
                    pickup_blocks::created_at.eq(now),
                ))
                .execute(conn)?;
            let guardians = family::guardians(conn, &student.id)?;
            let staff = family::head_teacher(conn, &student.class_id)?;
            notify::send(
                conn,
                now,
                &family::recipients(&[&guardians, &staff]),
                Template::PickupBlockAdded,
                serde_json::json!({"person": b.name.as_str(), "student": student.name,
                                   "student_id": student.id}),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup_block.create",
                    "pickup_block",
                    Some(&row_id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            Ok(pickup_blocks::table
                .find(&row_id)
                .select(repo::BlockRow::as_select())
                .first::<repo::BlockRow>(conn)?
                .into_dto())
        })
        .await
}

/// The pupil's never-release list, lifted entries included (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupBlock>),
    )
)]
#[get("/students/{id}/pickup-blocks")]
pub(super) async fn list_pickup_blocks(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupBlock>>> {
    let student_id = id.into_inner();
    let now = state.now_db();
    let rows = state
        .db
        .write(move |conn| {
            let (student, _) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "pickup_block.list", "student", Some(&student.id))
                    .in_school(Some(&student.school_id)),
            )?;
            Ok(pickup_blocks::table
                .filter(pickup_blocks::student_id.eq(&student.id))
                .select(repo::BlockRow::as_select())
                .order(pickup_blocks::id)
                .load::<repo::BlockRow>(conn)?)
        })
        .await?;
    Ok(web::Json(rows.into_iter().map(|r| r.into_dto()).collect()))
}

/// Lift a never-release entry, with a note (the school admin only); all guardians are told.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "block id")),
    request_body = LiftBlock,
    responses(
        (status = 200, body = PickupBlock),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-blocks/{id}/lift")]
pub(super) async fn lift_pickup_block(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<LiftBlock>,
) -> AppResult<web::Json<PickupBlock>> {
    let block_id = id.into_inner();
    let note = body.into_inner()?.note;
    let now = state.now_db();
    let row = state
        .db
        .write(move |conn| {
            let block = pickup_blocks::table
                .find(&block_id)
                .select(repo::BlockRow::as_select())
                .first::<repo::BlockRow>(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("pickup block"))?;
            let (student, rel) =
                family::student_for_family_or_school(conn, &caller, &block.student_id)
                    .map_err(|_| ApiError::not_found("pickup block"))?;
            if !rel.school_admin {
                return Err(forbidden(
                    Code::ForbiddenRole,
                    "only the school admin may lift a never-release entry",
                ));
            }
            if block.lifted_at.is_some() {
                return Err(ApiError::conflict(
                    Code::AlreadyLifted,
                    "this entry was already lifted",
                ));
            }
            diesel::update(pickup_blocks::table.find(&block.id))
                .set((
                    pickup_blocks::lifted_at.eq(now),
                    pickup_blocks::lifted_by.eq(&caller.user_id),
                    pickup_blocks::lift_note.eq(note.as_str()),
                ))
                .execute(conn)?;
            let guardians = family::guardians(conn, &student.id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::PickupBlockLifted,
                serde_json::json!({"person": block.name, "student": student.name,
                                   "student_id": student.id}),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup_block.lift",
                    "pickup_block",
                    Some(&block.id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            Ok(pickup_blocks::table
                .find(&block.id)
                .select(repo::BlockRow::as_select())
                .first::<repo::BlockRow>(conn)?)
        })
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// Issue a one-time pickup pass for a day (a guardian). The code and QR token are shown once.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupPass,
    responses(
        (status = 201, body = PickupPassIssued),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/pickup-passes")]
pub(super) async fn issue_pickup_pass(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupPass>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let student_id = id.into_inner();
    let now_utc = state.now();
    let now = state.now_db();
    let replay_caller = caller.clone();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run_secret(
            move |conn| {
                let (student, rel) =
                    family::student_for_family_or_school(conn, &caller, &student_id)?;
                if !rel.guardian {
                    return Err(forbidden(
                        Code::GuardianRequired,
                        "only a guardian may issue a pickup pass",
                    ));
                }
                // A pass naming nobody lets any holder take the child: only a
                // primary guardian may give such trust, like naming a pickup person.
                if b.pickup_person_id.is_none() && !rel.primary_guardian {
                    return Err(forbidden(
                        Code::PrimaryGuardianRequired,
                        "only a primary guardian may issue a pass that names no pickup person",
                    ));
                }
                let (local, timezone) = local_now(conn, &student.school_id, now_utc)?;
                let today = local.date();
                if b.date < today || b.date > today + chrono::Duration::days(31) {
                    return Err(ApiError::invalid(
                        "date",
                        "a pass is for a school day from today to 31 days ahead",
                    ));
                }
                let (_, cutoff) = repo::settings(conn, &student.school_id)?;
                if let Some(cutoff) = cutoff {
                    if b.date == today && local.format("%H:%M").to_string() >= cutoff {
                        return Err(ApiError::conflict(
                            Code::AfterCutoff,
                            format!(
                                "passes for today close at {cutoff}; call the head teacher instead"
                            ),
                        ));
                    }
                }
                let person_id = b.pickup_person_id.map(Id::into_string);
                if let Some(pid) = &person_id {
                    let ok = load_person(conn, pid)
                        .ok()
                        .filter(|p| p.student_id == student.id && p.revoked_at.is_none());
                    if ok.is_none() {
                        return Err(ApiError::invalid(
                            "pickup_person_id",
                            "not an authorised pickup person of this pupil",
                        ));
                    }
                }
                let (code, qr_token) = pass_secrets()?;
                let pass_id = new_id(now);
                let expires_at = repo::end_of_day_utc(b.date, &timezone);
                diesel::insert_into(pickup_passes::table)
                    .values((
                        pickup_passes::id.eq(&pass_id),
                        pickup_passes::student_id.eq(&student.id),
                        pickup_passes::pickup_person_id.eq(&person_id),
                        pickup_passes::valid_on.eq(repo::date_key(b.date)),
                        pickup_passes::code_hash.eq(repo::pass_code_hash(&code)),
                        pickup_passes::qr_token_hash.eq(repo::qr_token_hash(&qr_token)),
                        pickup_passes::expires_at.eq(expires_at),
                        pickup_passes::issued_by.eq(&caller.user_id),
                        pickup_passes::created_at.eq(now),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::by(&caller, "pickup_pass.issue", "pickup_pass", Some(&pass_id))
                        .in_school(Some(&student.school_id)),
                )?;
                Ok(PickupPassIssued {
                    pass_id,
                    code,
                    qr_token,
                    valid_on: b.date,
                    expires_at: crate::clock::to_utc(expires_at),
                    pickup_person_id: person_id,
                })
            },
            |issued: &PickupPassIssued| {
                // The key's record never holds the code or QR token.
                serde_json::json!({ "pass_id": issued.pass_id })
            },
            move |conn: &mut AnyConnection, record: serde_json::Value| {
                reissue_pass(conn, &replay_caller, now, record)
            },
        )
        .await
}

/// A pass's code and QR token: shown once, stored only as hashes.
fn pass_secrets() -> AppResult<(String, String)> {
    let code = format!(
        "{:08}",
        u64::from_be_bytes(
            crate::crypto::random_bytes(8)
                .try_into()
                .map_err(|_| ApiError::internal("random bytes"))?
        ) % 100_000_000
    );
    Ok((code, crate::crypto::random_token()))
}

/// A replayed pass request: its first answer was lost with the code in it,
/// and the server kept no copy, so the still-open pass gets a fresh code
/// and QR token (the lost ones stop working).
fn reissue_pass(
    conn: &mut AnyConnection,
    caller: &Caller,
    now: NaiveDateTime,
    record: serde_json::Value,
) -> AppResult<PickupPassIssued> {
    let pass_id = record["pass_id"]
        .as_str()
        .ok_or_else(|| ApiError::internal("idempotency record without a pass id"))?
        .to_string();
    let row = pickup_passes::table
        .find(&pass_id)
        .select(repo::PassRow::as_select())
        .first(conn)?;
    if row.used_at.is_some() || row.cancelled_at.is_some() || row.expires_at <= now {
        return Err(ApiError::conflict(
            Code::PassNotActive,
            "this pass was used, cancelled or has expired; issue a new one",
        ));
    }
    let (code, qr_token) = pass_secrets()?;
    diesel::update(pickup_passes::table.find(&pass_id))
        .set((
            pickup_passes::code_hash.eq(repo::pass_code_hash(&code)),
            pickup_passes::qr_token_hash.eq(repo::qr_token_hash(&qr_token)),
        ))
        .execute(conn)?;
    let school = students::table
        .find(&row.student_id)
        .select(students::school_id)
        .first::<String>(conn)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "pickup_pass.reissue", "pickup_pass", Some(&pass_id))
            .in_school(Some(&school)),
    )?;
    Ok(PickupPassIssued {
        pass_id,
        code,
        qr_token,
        valid_on: repo::parse_date_key(&row.valid_on),
        expires_at: crate::clock::to_utc(row.expires_at),
        pickup_person_id: row.pickup_person_id,
    })
}

/// A pupil's pickup passes (family and the school's staff); codes are never shown again.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupPass>),
    )
)]
#[get("/students/{id}/pickup-passes")]
pub(super) async fn list_pickup_passes(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupPass>>> {
    let student_id = id.into_inner();
    let rows = state
        .db
        .read(move |conn| {
            let (student, _) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            Ok(pickup_passes::table
                .filter(pickup_passes::student_id.eq(&student.id))
                .select(repo::PassRow::as_select())
                .order(pickup_passes::id.desc())
                .limit(100)
                .load::<repo::PassRow>(conn)?)
        })
        .await?;
    Ok(web::Json(rows.into_iter().map(|r| r.into_dto()).collect()))
}

/// Cancel an unused pass (a guardian).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "pass id")),
    responses(
        (status = 200, body = PickupPass),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-passes/{id}/cancel")]
pub(super) async fn cancel_pickup_pass(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<PickupPass>> {
    let pass_id = id.into_inner();
    let now = state.now_db();
    let row = state
        .db
        .write(move |conn| {
            let pass = pickup_passes::table
                .find(&pass_id)
                .select(repo::PassRow::as_select())
                .first::<repo::PassRow>(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("pickup pass"))?;
            let (student, rel) =
                family::student_for_family_or_school(conn, &caller, &pass.student_id)
                    .map_err(|_| ApiError::not_found("pickup pass"))?;
            if !rel.guardian {
                return Err(forbidden(
                    Code::GuardianRequired,
                    "only a guardian may cancel a pass",
                ));
            }
            if pass.used_at.is_some() {
                return Err(ApiError::conflict(
                    Code::PassUsed,
                    "this pass was already used",
                ));
            }
            if pass.cancelled_at.is_none() {
                diesel::update(pickup_passes::table.find(&pass.id))
                    .set(pickup_passes::cancelled_at.eq(now))
                    .execute(conn)?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::by(&caller, "pickup_pass.cancel", "pickup_pass", Some(&pass.id))
                        .in_school(Some(&student.school_id)),
                )?;
            }
            Ok(pickup_passes::table
                .find(&pass.id)
                .select(repo::PassRow::as_select())
                .first::<repo::PassRow>(conn)?)
        })
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// Release a pupil at the gate to an authorised adult (a teacher, guard or the school admin).
///
/// Refusals (403 `pickup_blocked`, `pickup_not_authorized`) release nothing,
/// alert the family and the head teacher (and the school admin for a
/// blocked adult), and are audited; with an `Idempotency-Key` a retry gets
/// the first answer and sends nothing again.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    request_body = NewHandover,
    responses(
        (status = 201, body = Handover),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handovers")]
pub(super) async fn create_handover(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    body: JsonBody<NewHandover>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let caller = gate.0;
    let now_utc = state.now();
    let now = state.now_db();
    let mut refs = Vec::new();
    if let Some(c) = &b.pass_code {
        if c.as_str().len() != 8 || !c.as_str().bytes().all(|x| x.is_ascii_digit()) {
            return Err(ApiError::invalid("pass_code", "pass_code is 8 digits"));
        }
        refs.push(AdultRef::PassCode(c.as_str().to_string()));
    }
    if let Some(t) = &b.qr_token {
        refs.push(AdultRef::QrToken(t.as_str().to_string()));
    }
    if let Some(p) = &b.pickup_person_id {
        refs.push(AdultRef::PickupPerson(p.as_str().to_string()));
    }
    if let Some(g) = &b.guardian_user_id {
        refs.push(AdultRef::Guardian(g.as_str().to_string()));
    }
    if refs.len() != 1 {
        return Err(ApiError::invalid(
            "pass_code",
            "give exactly one of pass_code, qr_token, pickup_person_id, guardian_user_id",
        ));
    }
    let adult = refs.pop().expect("one reference");
    let presented = b.presented.unwrap_or_default();
    let presented = Identity {
        name: presented.name.map(|n| n.into_string()),
        phone: presented.phone.map(|p| p.into_string()),
        id_last4: presented.id_last4.map(IdLast4::into_string),
    };
    let student_id = b.student_id.into_string();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run_keeping_refusals(move |conn| {
            let student = crate::org::repo::student(conn, &caller, &student_id)?;
            let (local, _) = local_now(conn, &student.school_id, now_utc)?;
            let time = local.format("%H:%M").to_string();
            let released = match repo::authorise_adult(conn, &student, &adult, &presented, local)? {
                Ok(r) => r,
                Err(refusal) => {
                    repo::record_refusal(conn, now, &caller, &student, &refusal, &time)?;
                    return Ok(Err(refusal.error()));
                }
            };
            match crate::attendance::presence(conn, &student.id, now_utc)? {
                Presence::Present => {}
                Presence::Absent => {
                    return Err(ApiError::conflict(
                        Code::StudentAbsent,
                        "the roll call says this pupil is not at school today",
                    ))
                }
                Presence::OnLeave => {
                    return Err(ApiError::conflict(
                        Code::StudentOnLeave,
                        "this pupil is on leave: use the leave exit at the gate",
                    ))
                }
            }
            let handover_id = new_id(now);
            diesel::insert_into(handovers::table)
                .values((
                    handovers::id.eq(&handover_id),
                    handovers::student_id.eq(&student.id),
                    handovers::school_id.eq(&student.school_id),
                    handovers::class_id.eq(&student.class_id),
                    handovers::local_date.eq(repo::date_key(local.date())),
                    handovers::adult_kind.eq(released.kind.as_str()),
                    handovers::guardian_user_id.eq(&released.guardian_user_id),
                    handovers::pickup_person_id.eq(&released.pickup_person_id),
                    handovers::pass_id.eq(&released.pass_id),
                    handovers::released_name.eq(&released.name),
                    handovers::released_relation.eq(&released.relation),
                    handovers::released_by.eq(&caller.user_id),
                    handovers::at.eq(now),
                ))
                .execute(conn)
                .map_err(conflict_on_unique(
                    Code::AlreadyReleased,
                    "student_id",
                    "this pupil was already released today",
                ))?;
            repo::consume(conn, &released, now)?;
            let guardians = family::guardians(conn, &student.id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::PickupReleased,
                serde_json::json!({"student": student.name, "student_id": student.id,
                                   "adult": released.name, "relation": released.relation,
                                   "time": time, "handover_id": handover_id}),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "handover.release", "handover", Some(&handover_id))
                    .in_school(Some(&student.school_id)),
            )?;
            let row = handover_row(conn, &handover_id)?;
            Ok(Ok(row.into_dto(student.name, released.has_photo)))
        })
        .await
}

fn handover_row(conn: &mut AnyConnection, id: &str) -> AppResult<HandoverRow> {
    Ok(handovers::table
        .find(id)
        .select(HandoverRow::as_select())
        .first(conn)?)
}

/// A handover the caller's family may answer.
fn handover_for_guardian(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<(HandoverRow, StudentRow)> {
    let row = handovers::table
        .find(id)
        .select(HandoverRow::as_select())
        .first::<HandoverRow>(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("handover"))?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, &row.student_id)
        .map_err(|_| ApiError::not_found("handover"))?;
    if !rel.guardian {
        return Err(forbidden(
            Code::GuardianRequired,
            "only a guardian of the pupil may answer a handover",
        ));
    }
    Ok((row, student))
}

fn one_view(conn: &mut AnyConnection, id: &str) -> AppResult<Handover> {
    let row = handover_row(conn, id)?;
    Ok(repo::handover_views(conn, vec![row])?.remove(0))
}

/// A guardian confirms the pupil reached them.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "handover id")),
    responses(
        (status = 200, body = Handover),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handovers/{id}/confirm")]
pub(super) async fn confirm_handover(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Handover>> {
    let id = id.into_inner();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| {
            let (row, student) = handover_for_guardian(conn, &caller, &id)?;
            if row.disputed_at.is_some() {
                return Err(ApiError::conflict(
                    Code::HandoverDisputed,
                    "this handover is disputed; the school is handling it",
                ));
            }
            if row.confirmed_at.is_none() {
                diesel::update(handovers::table.find(&row.id))
                    .set((
                        handovers::confirmed_at.eq(now),
                        handovers::answered_by.eq(&caller.user_id),
                    ))
                    .execute(conn)?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::by(&caller, "handover.confirm", "handover", Some(&row.id))
                        .in_school(Some(&student.school_id)),
                )?;
            }
            one_view(conn, &row.id)
        })
        .await?;
    Ok(web::Json(view))
}

/// A guardian disputes a handover: the head teacher and the school admin are alerted at once.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "handover id")),
    request_body = DisputeBody,
    responses(
        (status = 200, body = Handover),
    )
)]
#[post("/handovers/{id}/dispute")]
pub(super) async fn dispute_handover(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<DisputeBody>,
) -> AppResult<web::Json<Handover>> {
    let id = id.into_inner();
    let note = body.into_inner()?.note;
    let now_utc = state.now();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| {
            let (row, student) = handover_for_guardian(conn, &caller, &id)?;
            if row.disputed_at.is_none() {
                diesel::update(handovers::table.find(&row.id))
                    .set((
                        handovers::disputed_at.eq(now),
                        handovers::dispute_note.eq(note.as_str()),
                        handovers::answered_by.eq(&caller.user_id),
                    ))
                    .execute(conn)?;
                let (_, timezone) = local_now(conn, &student.school_id, now_utc)?;
                let at = school_local(crate::clock::to_utc(row.at), &timezone)
                    .format("%H:%M")
                    .to_string();
                let staff = family::head_teacher(conn, &student.class_id)?;
                let admins = family::school_admins(conn, &student.school_id)?;
                notify::send(
                    conn,
                    now,
                    &family::recipients(&[&staff, &admins]),
                    Template::PickupDisputed,
                    serde_json::json!({"student": student.name, "student_id": student.id,
                                       "adult": row.released_name, "time": at,
                                       "handover_id": row.id}),
                    Category::Pickup,
                )?;
                audit::record(
                    conn,
                    now,
                    AuditEvent::by(&caller, "handover.dispute", "handover", Some(&row.id))
                        .in_school(Some(&student.school_id)),
                )?;
            }
            one_view(conn, &row.id)
        })
        .await?;
    Ok(web::Json(view))
}

/// How a pupil goes home. Going home alone for a pupil who needs handover
/// takes the school admin's approval: only the school admin may set it.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = DismissalModeBody,
    responses(
        (status = 200, body = DismissalModeView),
    )
)]
#[put("/students/{id}/dismissal-mode")]
pub(super) async fn set_dismissal_mode(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<DismissalModeBody>,
) -> AppResult<web::Json<DismissalModeView>> {
    let student_id = id.into_inner();
    let mode = body.into_inner()?.mode;
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| {
            let (student, rel) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            if !(rel.guardian || rel.school_admin) {
                return Err(forbidden(
                    Code::ForbiddenRole,
                    "only a guardian or the school admin may set how a pupil goes home",
                ));
            }
            if student.handover_required && mode == DismissalMode::Alone && !rel.school_admin {
                return Err(forbidden(
                    Code::SchoolApprovalRequired,
                    "this pupil needs handover: going home alone needs the school admin's approval",
                ));
            }
            let approved_by = (student.handover_required && mode == DismissalMode::Alone)
                .then(|| caller.user_id.clone());
            diesel::delete(pickup_dismissal_modes::table.find(&student.id)).execute(conn)?;
            diesel::insert_into(pickup_dismissal_modes::table)
                .values((
                    pickup_dismissal_modes::student_id.eq(&student.id),
                    pickup_dismissal_modes::mode.eq(mode.as_str()),
                    pickup_dismissal_modes::set_by.eq(&caller.user_id),
                    pickup_dismissal_modes::approved_by.eq(&approved_by),
                    pickup_dismissal_modes::updated_at.eq(now),
                ))
                .execute(conn)?;
            let guardians = family::guardians(conn, &student.id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::DismissalModeChanged,
                serde_json::json!({"student": student.name, "student_id": student.id,
                                   "mode": mode.as_str()}),
                Category::Pickup,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "pickup.dismissal_mode",
                    "student",
                    Some(&student.id),
                )
                .in_school(Some(&student.school_id)),
            )?;
            Ok(DismissalModeView {
                student_id: student.id,
                mode,
                approved_by,
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// The school day asked for, or today at the school.
fn day_or_today(date: Option<NaiveDate>, local: NaiveDateTime) -> NaiveDate {
    date.unwrap_or(local.date())
}

struct DayState {
    handovers: HashMap<String, HandoverRow>,
    modes: HashMap<String, String>,
    presence: HashMap<String, Presence>,
}

/// The moment a board of `date` describes: now for today, midday otherwise.
fn board_instant(
    date: NaiveDate,
    local_now: NaiveDateTime,
    now_utc: chrono::DateTime<chrono::Utc>,
    timezone: &str,
) -> chrono::DateTime<chrono::Utc> {
    if date == local_now.date() {
        now_utc
    } else {
        let noon = date.and_hms_opt(12, 0, 0).expect("valid time");
        crate::clock::to_utc(crate::clock::school_local_to_utc(noon, timezone))
    }
}

fn day_state(
    conn: &mut AnyConnection,
    student_ids: &[String],
    date: NaiveDate,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<DayState> {
    let mut presence = HashMap::new();
    for id in student_ids {
        presence.insert(id.clone(), crate::attendance::presence(conn, id, at)?);
    }
    let mut handover_map = HashMap::new();
    let mut modes = HashMap::new();
    for chunk in student_ids.chunks(500) {
        let rows: Vec<HandoverRow> = handovers::table
            .filter(handovers::student_id.eq_any(chunk))
            .filter(handovers::local_date.eq(repo::date_key(date)))
            .select(HandoverRow::as_select())
            .load(conn)?;
        for r in rows {
            handover_map.insert(r.student_id.clone(), r);
        }
        let m: Vec<(String, String)> = pickup_dismissal_modes::table
            .filter(pickup_dismissal_modes::student_id.eq_any(chunk))
            .select((
                pickup_dismissal_modes::student_id,
                pickup_dismissal_modes::mode,
            ))
            .load(conn)?;
        modes.extend(m);
    }
    Ok(DayState {
        handovers: handover_map,
        modes,
        presence,
    })
}

impl DayState {
    fn state_of(&self, student_id: &str) -> BoardState {
        if self.handovers.contains_key(student_id) {
            return BoardState::Released;
        }
        match self.presence.get(student_id) {
            Some(Presence::OnLeave) => return BoardState::OnLeave,
            Some(Presence::Absent) => return BoardState::Absent,
            _ => {}
        }
        match self.modes.get(student_id).map(|m| DismissalMode::parse(m)) {
            Some(DismissalMode::Alone) => BoardState::Alone,
            Some(DismissalMode::Bus) => BoardState::Bus,
            _ => BoardState::Waiting,
        }
    }
}

/// The dismissal board of a class: each pupil's state and who may take them.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "class id"), DateQuery),
    responses(
        (status = 200, body = DismissalBoard),
    )
)]
#[get("/classes/{id}/dismissal")]
pub(super) async fn dismissal_board(
    state: State,
    gate: GateStaff,
    id: web::Path<String>,
    query: web::Query<DateQuery>,
) -> AppResult<web::Json<DismissalBoard>> {
    let class_id = id.into_inner();
    let caller = gate.0;
    let now_utc = state.now();
    let wanted = query.into_inner().date;
    let board = state
        .db
        .read(move |conn| {
            let class = crate::org::repo::class(conn, &caller, &class_id)?;
            let school = repo::school_row(conn, &class.school_id)?;
            let local_now = school_local(now_utc, &school.timezone);
            let date = day_or_today(wanted, local_now);
            let at = board_instant(date, local_now, now_utc, &school.timezone);
            let overrides = repo::dismissal_overrides(conn, &school.id)?;
            let dismissal = repo::dismissal_time(&school, &overrides, class.grade, date)
                .map(|t| t.format("%H:%M").to_string());
            let pupils: Vec<StudentRow> = students::table
                .filter(students::class_id.eq(&class.id))
                .select(StudentRow::as_select())
                .order((students::name, students::id))
                .load(conn)?;
            let ids: Vec<String> = pupils.iter().map(|s| s.id.clone()).collect();
            let mut day = day_state(conn, &ids, date, at)?;
            let mut out = Vec::with_capacity(pupils.len());
            for s in pupils {
                let state = day.state_of(&s.id);
                let handover = match day.handovers.remove(&s.id) {
                    Some(h) => Some(repo::handover_views(conn, vec![h])?.remove(0)),
                    None => None,
                };
                // A guardian on the never-release list is no authorised adult.
                let allowed = family::guardians(conn, &s.id)?;
                let mut adults: Vec<AuthorisedAdult> = guardianships::table
                    .inner_join(users::table)
                    .filter(guardianships::student_id.eq(&s.id))
                    .filter(users::disabled.eq(false))
                    .filter(users::id.eq_any(allowed))
                    .select((users::id, users::display_name, guardianships::relation))
                    .order(users::id)
                    .load::<(String, String, String)>(conn)?
                    .into_iter()
                    .map(|(id, name, relation)| AuthorisedAdult {
                        kind: AdultKind::Guardian,
                        id,
                        name,
                        relation,
                        photo_url: None,
                        valid_until: None,
                    })
                    .collect();
                let persons: Vec<PersonRow> = pickup_persons::table
                    .filter(pickup_persons::student_id.eq(&s.id))
                    .filter(pickup_persons::revoked_at.is_null())
                    .select(PersonRow::as_select())
                    .order(pickup_persons::id)
                    .load(conn)?;
                adults.extend(persons.into_iter().filter(|p| p.valid_on(date)).map(|p| {
                    AuthorisedAdult {
                        kind: AdultKind::PickupPerson,
                        photo_url: p.photo_url(),
                        valid_until: Some(repo::parse_date_key(&p.valid_until)),
                        id: p.id,
                        name: p.name,
                        relation: p.relation,
                    }
                }));
                let passes: Vec<(String, Option<String>)> = pickup_passes::table
                    .filter(pickup_passes::student_id.eq(&s.id))
                    .filter(pickup_passes::valid_on.eq(repo::date_key(date)))
                    .filter(pickup_passes::used_at.is_null())
                    .filter(pickup_passes::cancelled_at.is_null())
                    .select((pickup_passes::id, pickup_passes::pickup_person_id))
                    .order(pickup_passes::id)
                    .load(conn)?;
                for (pass_id, person_id) in passes {
                    let person = match person_id {
                        Some(pid) => Some(load_person(conn, &pid)?),
                        None => None,
                    };
                    adults.push(AuthorisedAdult {
                        kind: AdultKind::Pass,
                        id: pass_id,
                        photo_url: person.as_ref().and_then(PersonRow::photo_url),
                        valid_until: Some(date),
                        name: person
                            .as_ref()
                            .map(|p| p.name.clone())
                            .unwrap_or_else(|| "(open pass: name on ID)".into()),
                        relation: person
                            .map(|p| p.relation)
                            .unwrap_or_else(|| "pass holder".into()),
                    });
                }
                out.push(BoardStudent {
                    student_id: s.id,
                    name: s.name,
                    handover_required: s.handover_required,
                    state,
                    handover,
                    authorised_adults: adults,
                });
            }
            Ok(DismissalBoard {
                class_id: class.id,
                date,
                dismissal_time: dismissal,
                students: out,
            })
        })
        .await?;
    Ok(web::Json(board))
}

/// End of day for the principal: per class, how every pupil went home, and who is unresolved.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id"), DateQuery),
    responses(
        (status = 200, body = DismissalSummary),
    )
)]
#[get("/schools/{id}/dismissal-summary")]
pub(super) async fn dismissal_summary(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<DateQuery>,
) -> AppResult<web::Json<DismissalSummary>> {
    let school_id = id.into_inner();
    let caller = admin.0;
    let now_utc = state.now();
    let wanted = query.into_inner().date;
    let summary = state
        .db
        .read(move |conn| {
            let school = crate::org::repo::school(conn, &caller, &school_id)?;
            let local_now = school_local(now_utc, &school.timezone);
            let date = day_or_today(wanted, local_now);
            let at = board_instant(date, local_now, now_utc, &school.timezone);
            let class_rows: Vec<(String, String, i32)> = classes::table
                .filter(classes::school_id.eq(&school.id))
                .select((classes::id, classes::name, classes::grade))
                .order((classes::grade, classes::name))
                .load(conn)?;
            let pupils: Vec<StudentRow> = students::table
                .filter(students::school_id.eq(&school.id))
                .select(StudentRow::as_select())
                .order((students::class_id, students::name))
                .load(conn)?;
            let ids: Vec<String> = pupils.iter().map(|s| s.id.clone()).collect();
            let day = day_state(conn, &ids, date, at)?;
            let mut classes_out: Vec<ClassSummary> = class_rows
                .into_iter()
                .map(|(class_id, name, grade)| ClassSummary {
                    class_id,
                    name,
                    grade,
                    students: 0,
                    needs_handover: 0,
                    released: 0,
                    alone: 0,
                    bus: 0,
                    absent: 0,
                    on_leave: 0,
                    waiting: 0,
                })
                .collect();
            let mut unresolved = Vec::new();
            for s in pupils {
                let Some(c) = classes_out.iter_mut().find(|c| c.class_id == s.class_id) else {
                    continue;
                };
                c.students += 1;
                if s.handover_required {
                    c.needs_handover += 1;
                }
                match day.state_of(&s.id) {
                    BoardState::Released => c.released += 1,
                    BoardState::Alone => c.alone += 1,
                    BoardState::Bus => c.bus += 1,
                    BoardState::Absent => c.absent += 1,
                    BoardState::OnLeave => c.on_leave += 1,
                    BoardState::Waiting if s.handover_required => {
                        c.waiting += 1;
                        unresolved.push(UnresolvedStudent {
                            student_id: s.id,
                            name: s.name,
                            class_id: s.class_id,
                        });
                    }
                    BoardState::Waiting => {}
                }
            }
            Ok(DismissalSummary {
                school_id: school.id,
                date,
                classes: classes_out,
                unresolved,
            })
        })
        .await?;
    Ok(web::Json(summary))
}

/// A pupil's handovers between two school days, newest first (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), HistoryQuery),
    responses(
        (status = 200, body = Vec<Handover>),
    )
)]
#[get("/students/{id}/handovers")]
pub(super) async fn student_handovers(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<web::Json<Vec<Handover>>> {
    let student_id = id.into_inner();
    let q = query.into_inner();
    let now_utc = state.now();
    let views = state
        .db
        .read(move |conn| {
            let (student, _) = family::student_for_family_or_school(conn, &caller, &student_id)?;
            let (local, _) = local_now(conn, &student.school_id, now_utc)?;
            let to = q.to.unwrap_or(local.date());
            // Dates far outside any school year are bad input, not arithmetic overflow.
            let plausible = |d: NaiveDate| (2000..=2100).contains(&d.year());
            if !plausible(to) || q.from.is_some_and(|f| !plausible(f)) {
                return Err(ApiError::invalid(
                    "to",
                    "dates must be between the years 2000 and 2100",
                ));
            }
            let from = q.from.unwrap_or(to - chrono::Duration::days(30));
            if from > to || to - from > chrono::Duration::days(366) {
                return Err(ApiError::invalid(
                    "from",
                    "from must be before to, at most a year apart",
                ));
            }
            let rows: Vec<HandoverRow> = handovers::table
                .filter(handovers::student_id.eq(&student.id))
                .filter(handovers::local_date.ge(repo::date_key(from)))
                .filter(handovers::local_date.le(repo::date_key(to)))
                .select(HandoverRow::as_select())
                .order(handovers::local_date.desc())
                .load(conn)?;
            repo::handover_views(conn, rows)
        })
        .await?;
    Ok(web::Json(views))
}

fn settings_view(conn: &mut AnyConnection, school_id: &str) -> AppResult<PickupSettings> {
    let school = repo::school_row(conn, school_id)?;
    let (late, cutoff) = repo::settings(conn, school_id)?;
    let overrides = repo::dismissal_overrides(conn, school_id)?;
    let closed_dates: Vec<String> = pickup_closed_days::table
        .filter(pickup_closed_days::school_id.eq(school_id))
        .select(pickup_closed_days::local_date)
        .order(pickup_closed_days::local_date)
        .load(conn)?;
    Ok(PickupSettings {
        closed_dates: closed_dates
            .iter()
            .map(|d| repo::parse_date_key(d))
            .collect(),
        school_id: school.id,
        late_threshold_minutes: late,
        pass_cutoff: cutoff,
        default_dismissal_time: school.dismissal_time,
        dismissal_times: overrides
            .into_iter()
            .filter_map(|(w, g, t)| {
                Some(DismissalTime {
                    weekday: w.and_then(Weekday::from_number),
                    grade: g,
                    time: crate::org::dto::ClockTime::parse(&t).ok()?,
                })
            })
            .collect(),
    })
}

/// A school's dismissal times, late threshold and pass cut-off (the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    responses(
        (status = 200, body = PickupSettings),
    )
)]
#[get("/schools/{id}/pickup-settings")]
pub(super) async fn get_pickup_settings(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<PickupSettings>> {
    let school_id = id.into_inner();
    let caller = staff.0;
    let view = state
        .db
        .read(move |conn| {
            let school = crate::org::repo::school(conn, &caller, &school_id)?;
            settings_view(conn, &school.id)
        })
        .await?;
    Ok(web::Json(view))
}

/// Set a school's dismissal times, late threshold and pass cut-off (an admin).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = PickupSettingsBody,
    responses(
        (status = 200, body = PickupSettings),
    )
)]
#[put("/schools/{id}/pickup-settings")]
pub(super) async fn put_pickup_settings(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: JsonBody<PickupSettingsBody>,
) -> AppResult<web::Json<PickupSettings>> {
    let school_id = id.into_inner();
    let b = body.into_inner()?;
    let caller = admin.0;
    let now = state.now_db();
    let late = b
        .late_threshold_minutes
        .unwrap_or(repo::DEFAULT_LATE_THRESHOLD_MINUTES);
    if !(5..=120).contains(&late) {
        return Err(ApiError::invalid(
            "late_threshold_minutes",
            "late_threshold_minutes must be from 5 to 120",
        ));
    }
    if b.closed_dates.len() > 400 {
        return Err(ApiError::invalid("closed_dates", "at most 400 dates"));
    }
    if b.dismissal_times.len() > 100 {
        return Err(ApiError::invalid("dismissal_times", "at most 100 entries"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, t) in b.dismissal_times.iter().enumerate() {
        if t.grade.is_some_and(|g| !(0..=12).contains(&g)) {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}].grade"),
                "grade must be from 0 to 12",
            ));
        }
        if t.weekday.is_none() && t.grade.is_none() {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}]"),
                "name a weekday, a grade or both (the school's default time covers the rest)",
            ));
        }
        if !seen.insert((t.weekday.map(Weekday::number), t.grade)) {
            return Err(ApiError::invalid(
                format!("dismissal_times[{i}]"),
                "two entries for the same weekday and grade",
            ));
        }
    }
    let view = state
        .db
        .write(move |conn| {
            let school = crate::org::repo::school(conn, &caller, &school_id)?;
            diesel::delete(pickup_settings::table.find(&school.id)).execute(conn)?;
            diesel::insert_into(pickup_settings::table)
                .values((
                    pickup_settings::school_id.eq(&school.id),
                    pickup_settings::late_threshold_minutes.eq(late),
                    pickup_settings::pass_cutoff.eq(b.pass_cutoff.map(|c| c.into_string())),
                    pickup_settings::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::delete(
                pickup_dismissal_times::table
                    .filter(pickup_dismissal_times::school_id.eq(&school.id)),
            )
            .execute(conn)?;
            for t in &b.dismissal_times {
                diesel::insert_into(pickup_dismissal_times::table)
                    .values((
                        pickup_dismissal_times::id.eq(new_id(now)),
                        pickup_dismissal_times::school_id.eq(&school.id),
                        pickup_dismissal_times::weekday.eq(t.weekday.map(Weekday::number)),
                        pickup_dismissal_times::grade.eq(t.grade),
                        pickup_dismissal_times::dismissal_time.eq(t.time.as_str()),
                    ))
                    .execute(conn)?;
            }
            diesel::delete(
                pickup_closed_days::table.filter(pickup_closed_days::school_id.eq(&school.id)),
            )
            .execute(conn)?;
            let mut dates: Vec<String> =
                b.closed_dates.iter().map(|d| repo::date_key(*d)).collect();
            dates.sort();
            dates.dedup();
            for d in dates {
                diesel::insert_into(pickup_closed_days::table)
                    .values((
                        pickup_closed_days::school_id.eq(&school.id),
                        pickup_closed_days::local_date.eq(d),
                    ))
                    .execute(conn)?;
            }
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "pickup.settings", "school", Some(&school.id))
                    .in_school(Some(&school.id)),
            )?;
            settings_view(conn, &school.id)
        })
        .await?;
    Ok(web::Json(view))
}
