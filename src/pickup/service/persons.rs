//! Pickup persons: the adults a family authorises, and their photos.

use super::{forbidden, local_now, release::matching_block, Now};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family::{self, Identity};
use crate::pickup::dto::{IdLast4, NewPickupPerson, Photo, PickupPerson, Weekday};
use crate::pickup::model::NewPersonRow;
use crate::pickup::repo;

/// The body's values once checked: the photo decoded, the days as a mask.
struct Checked {
    photo: Option<Photo>,
    weekdays: i32,
    valid_until: chrono::NaiveDate,
}

fn check(b: &NewPickupPerson) -> AppResult<Checked> {
    let photo = b.photo.as_deref().map(Photo::parse).transpose()?;
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
    Ok(Checked {
        photo,
        weekdays,
        valid_until,
    })
}

/// Authorises an adult to take the pupil: the pupil in scope (404), a
/// primary guardian or the school admin (403), then the body.
pub fn add(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewPickupPerson>,
) -> AppResult<PickupPerson> {
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    if !(rel.primary_guardian || rel.school_admin) {
        return Err(forbidden(
            Code::PrimaryGuardianRequired,
            "only a primary guardian or the school admin may authorise pickup persons",
        ));
    }
    let b = body?;
    let Checked {
        photo,
        weekdays,
        valid_until,
    } = check(&b)?;
    let (local, _) = local_now(conn, &student.school_id, now.utc)?;
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
    if matching_block(conn, &student.id, &[&who])?.is_some() {
        return Err(ApiError::conflict(
            Code::PickupBlocked,
            "this adult is on the pupil's never-release list",
        ));
    }
    let row_id = new_id(now.db);
    repo::insert_person(
        conn,
        NewPersonRow {
            id: &row_id,
            student_id: &student.id,
            name: b.name.as_str(),
            relation: b.relation.as_str(),
            phone: b.phone.as_str(),
            id_last4: who.id_last4.as_deref(),
            photo,
            valid_from: b.valid_from,
            valid_until,
            weekdays,
            created_by: &caller.user_id,
            created_at: now.db,
        },
    )?;
    let guardians = family::guardians(conn, &student.id)?;
    notify::send(
        conn,
        now.db,
        &guardians,
        Template::PickupPersonAdded,
        serde_json::json!({
            "person": b.name.as_str(), "relation": b.relation.as_str(),
            "student": student.name, "student_id": student.id,
            "days": Weekday::days_text(weekdays), "days_zh": Weekday::days_text_zh(weekdays),
            "from": LocalDate(b.valid_from).to_string(),
            "until": LocalDate(valid_until).to_string(),
        }),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup_person.create",
            "pickup_person",
            Some(&row_id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    let row = repo::person(conn, &row_id)?.ok_or_else(|| ApiError::not_found("pickup person"))?;
    Ok(row.into_dto())
}

/// The pupil's pickup persons, revoked ones included (family and the school's staff).
pub fn list(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
) -> AppResult<Vec<PickupPerson>> {
    let (student, _) = family::student_for_family_or_school(conn, caller, student_id)?;
    let rows = repo::persons_of(conn, &student.id)?;
    // A photo is offered only while it may be served (`photo`).
    let photos =
        crate::org::consent::allows(conn, &student, crate::org::consent::Purpose::PickupPhotos)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut person = row.into_dto();
            person.photo_url = person.photo_url.filter(|_| photos);
            person
        })
        .collect())
}

/// Revokes a pickup person, kept for history; the family is told.
pub fn revoke(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    person_id: &str,
) -> AppResult<PickupPerson> {
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    let person = repo::person(conn, person_id)?
        .filter(|p| p.student_id == student.id)
        .ok_or_else(|| ApiError::not_found("pickup person"))?;
    if !(rel.primary_guardian || rel.school_admin) {
        return Err(forbidden(
            Code::PrimaryGuardianRequired,
            "only a primary guardian or the school admin may revoke pickup persons",
        ));
    }
    if person.revoked_at.is_some() {
        return Ok(person.into_dto());
    }
    repo::revoke_person(conn, &person.id, now.db, &caller.user_id)?;
    let guardians = family::guardians(conn, &student.id)?;
    notify::send(
        conn,
        now.db,
        &guardians,
        Template::PickupPersonRevoked,
        serde_json::json!({"person": person.name, "relation": person.relation,
                           "student": student.name, "student_id": student.id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup_person.revoke",
            "pickup_person",
            Some(&person.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    let row =
        repo::person(conn, &person.id)?.ok_or_else(|| ApiError::not_found("pickup person"))?;
    Ok(row.into_dto())
}

/// A pickup person's photo and its content type, for the school's staff
/// and the pupil's family only; every read is audited.
pub fn photo(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    person_id: &str,
) -> AppResult<(Vec<u8>, String)> {
    let (student_id, photo, kind) =
        repo::person_photo(conn, person_id)?.ok_or_else(|| ApiError::not_found("photo"))?;
    let (student, _) = family::student_for_family_or_school(conn, caller, &student_id)
        .map_err(|_| ApiError::not_found("photo"))?;
    let (Some(photo), Some(kind)) = (photo, kind) else {
        return Err(ApiError::not_found("photo"));
    };
    crate::org::consent::require(conn, &student, crate::org::consent::Purpose::PickupPhotos)?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup_person.photo_read",
            "pickup_person",
            Some(person_id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    Ok((photo, kind))
}
