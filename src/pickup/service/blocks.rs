//! The never-release list: who must never take the pupil.

use super::{forbidden, Now};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::pickup::dto::{IdLast4, LiftBlock, NewPickupBlock, PickupBlock};
use crate::pickup::model::{BlockRow, NewBlockRow};
use crate::pickup::repo;

/// The district admin, an admin these routes are for, sees its schools'
/// pupils but acts on no pupil's never-release list: like anyone outside the
/// family and the school it is answered 404, but only once its body has been
/// read (the pupil is within its sight). Other district roles are refused
/// before the body, by `student_for_family_or_school`.
fn district_refused<T>(caller: &Caller, body: &AppResult<T>, what: &str) -> AppResult<()> {
    if caller.role == Role::DistrictAdmin {
        if let Err(e) = body {
            return Err(e.clone());
        }
        return Err(ApiError::not_found(what));
    }
    Ok(())
}

fn saved(conn: &mut AnyConnection, id: &str) -> AppResult<BlockRow> {
    repo::block(conn, id)?.ok_or_else(|| ApiError::not_found("pickup block"))
}

/// Records a never-release entry: the pupil in scope (404), a guardian or
/// the school admin (403), then the body. The family and the head teacher are told.
pub fn add(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewPickupBlock>,
) -> AppResult<PickupBlock> {
    crate::org::repo::student(conn, caller, student_id)?;
    district_refused(caller, &body, "student")?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    if !(rel.guardian || rel.school_admin) {
        return Err(forbidden(
            Code::ForbiddenRole,
            "only a guardian or the school admin may record a never-release entry",
        ));
    }
    let b = body?;
    let name_norm = family::normalise_name(b.name.as_str());
    if name_norm.is_empty() {
        return Err(ApiError::invalid("name", "name must contain letters"));
    }
    let row_id = new_id(now.db);
    let id_last4 = b.id_last4.clone().map(IdLast4::into_string);
    repo::insert_block(
        conn,
        NewBlockRow {
            id: &row_id,
            student_id: &student.id,
            name: b.name.as_str(),
            name_norm: &name_norm,
            phone: b.phone.as_ref().map(|p| p.as_str()),
            id_last4: id_last4.as_deref(),
            note: b.note.as_str(),
            court_order: b.court_order.unwrap_or(false),
            created_by: &caller.user_id,
            created_at: now.db,
        },
    )?;
    let guardians = family::guardians(conn, &student.id)?;
    let staff = family::head_teacher(conn, &student.class_id)?;
    notify::send(
        conn,
        now.db,
        &family::recipients(&[&guardians, &staff]),
        Template::PickupBlockAdded,
        serde_json::json!({"person": b.name.as_str(), "student": student.name,
                           "student_id": student.id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_block.create", "pickup_block", Some(&row_id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(saved(conn, &row_id)?.into_dto())
}

/// A case's `never_release` measure (see `cases`): the school will not
/// release the pupil to the named person. The case tells its handlers; the
/// family is not told here, since the suspect may be family.
pub fn add_for_case(
    conn: &mut AnyConnection,
    now: chrono::NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    name: &str,
    note: &str,
) -> AppResult<String> {
    let name_norm = family::normalise_name(name);
    if name_norm.is_empty() {
        return Err(ApiError::invalid("target", "name must contain letters"));
    }
    let row_id = new_id(now);
    repo::insert_block(
        conn,
        NewBlockRow {
            id: &row_id,
            student_id,
            name,
            name_norm: &name_norm,
            phone: None,
            id_last4: None,
            note,
            court_order: false,
            created_by: &caller.user_id,
            created_at: now,
        },
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "pickup_block.create", "pickup_block", Some(&row_id)),
    )?;
    Ok(row_id)
}

/// The pupil's never-release list, lifted entries included; every read is audited.
pub fn list(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
) -> AppResult<Vec<PickupBlock>> {
    let (student, _) = family::student_for_family_or_school(conn, caller, student_id)?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_block.list", "student", Some(&student.id))
            .in_school(Some(&student.school_id)),
    )?;
    let rows = repo::blocks_of(conn, &student.id)?;
    Ok(rows.into_iter().map(BlockRow::into_dto).collect())
}

/// Lifts an entry: the entry in scope (404), the school admin (403), then
/// the body; every guardian is told.
pub fn lift(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    block_id: &str,
    body: AppResult<LiftBlock>,
) -> AppResult<PickupBlock> {
    let block = repo::block(conn, block_id)?.ok_or_else(|| ApiError::not_found("pickup block"))?;
    crate::org::repo::student(conn, caller, &block.student_id)
        .map_err(|_| ApiError::not_found("pickup block"))?;
    district_refused(caller, &body, "pickup block")?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, &block.student_id)
        .map_err(|_| ApiError::not_found("pickup block"))?;
    if !rel.school_admin {
        return Err(forbidden(
            Code::ForbiddenRole,
            "only the school admin may lift a never-release entry",
        ));
    }
    let note = body?.note;
    if block.lifted_at.is_some() {
        return Err(ApiError::conflict(
            Code::AlreadyLifted,
            "this entry was already lifted",
        ));
    }
    repo::lift_block(conn, &block.id, now.db, &caller.user_id, note.as_str())?;
    let guardians = family::guardians(conn, &student.id)?;
    notify::send(
        conn,
        now.db,
        &guardians,
        Template::PickupBlockLifted,
        serde_json::json!({"person": block.name, "student": student.name,
                           "student_id": student.id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_block.lift", "pickup_block", Some(&block.id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(saved(conn, &block.id)?.into_dto())
}
