//! The never-release list: who must never take the pupil.

use super::{forbidden, Now};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family::{self, NeverRelease};
use crate::org::model::StudentRow;
use crate::pickup::dto::{
    BlockStatus, ConfirmBlock, IdLast4, LiftBlock, NewPickupBlock, PickupBlock, RejectBlock,
};
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

/// Records a never-release entry: the pupil in scope (404), a primary
/// guardian or the school admin (403), then the body. An entry naming one of
/// the pupil's current guardians cuts nobody off on one parent's word: a
/// primary guardian's is `pending` (the school admins are alerted, and a
/// release to that guardian is held) until the school admin confirms it; the
/// school admin's own must cite the court or protective order (422) and is
/// in force at once. An entry in force is told to the family and the head teacher.
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
    if rel.guardian && !rel.primary_guardian {
        return Err(forbidden(
            Code::PrimaryGuardianRequired,
            "only a primary guardian or the school admin may record a never-release entry",
        ));
    }
    if !(rel.primary_guardian || rel.school_admin) {
        return Err(forbidden(
            Code::ForbiddenRole,
            "only a primary guardian or the school admin may record a never-release entry",
        ));
    }
    let b = body?;
    let name_norm = family::normalise_name(b.name.as_str());
    if name_norm.is_empty() {
        return Err(ApiError::invalid("name", "name must contain letters"));
    }
    let id_last4 = b.id_last4.clone().map(IdLast4::into_string);
    let entry = NeverRelease {
        id: String::new(),
        name_norm: name_norm.clone(),
        phone: b.phone.as_ref().map(|p| p.as_str().to_owned()),
        id_last4: id_last4.clone(),
    };
    let names_guardian = family::guardian_identities(conn, &student.id)?
        .iter()
        .any(|(_, who)| entry.names(who));
    let court_order_ref = b.court_order_ref.as_ref().map(|r| r.as_str().trim());
    if names_guardian && rel.school_admin && court_order_ref.is_none() {
        return Err(ApiError::invalid(
            "court_order_ref",
            "this entry names a guardian of the pupil: cite the court or protective order",
        ));
    }
    let pending = names_guardian && !rel.school_admin;
    let status = if pending {
        BlockStatus::Pending
    } else {
        BlockStatus::Active
    };
    let row_id = new_id(now.db);
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
            court_order: b.court_order.unwrap_or(false) || court_order_ref.is_some(),
            created_by: &caller.user_id,
            created_at: now.db,
            status: status.as_str(),
            court_order_ref,
            confirmed_by: (names_guardian && rel.school_admin).then_some(caller.user_id.as_str()),
        },
    )?;
    let staff = family::head_teacher(conn, &student.class_id)?;
    let data = serde_json::json!({"person": b.name.as_str(), "student": student.name,
                                  "student_id": student.id});
    if pending {
        let admins = family::school_admins(conn, &student.school_id)?;
        notify::send(
            conn,
            now.db,
            &family::recipients(&[&admins, &staff]),
            Template::PickupBlockPending,
            data,
            Category::Pickup,
        )?;
    } else {
        let guardians = family::guardians(conn, &student.id)?;
        notify::send(
            conn,
            now.db,
            &family::recipients(&[&guardians, &staff]),
            Template::PickupBlockAdded,
            data,
            Category::Pickup,
        )?;
    }
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_block.create", "pickup_block", Some(&row_id))
            .in_school(Some(&student.school_id)),
    )?;
    if pending {
        audit::record(
            conn,
            now.db,
            AuditEvent::by(
                caller,
                "pickup_block.pending",
                "pickup_block",
                Some(&row_id),
            )
            .in_school(Some(&student.school_id)),
        )?;
    }
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
            // A case's protective measure, decided by the school admin or
            // the bureau: in force at once.
            status: BlockStatus::Active.as_str(),
            court_order_ref: None,
            confirmed_by: Some(&caller.user_id),
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

/// An entry for the school admin to decide on: the entry in scope (404),
/// the school admin (403), then the body.
fn for_school_admin<T>(
    conn: &mut AnyConnection,
    caller: &Caller,
    block_id: &str,
    body: AppResult<T>,
    doing: &str,
) -> AppResult<(BlockRow, StudentRow, T)> {
    let block = repo::block(conn, block_id)?.ok_or_else(|| ApiError::not_found("pickup block"))?;
    crate::org::repo::student(conn, caller, &block.student_id)
        .map_err(|_| ApiError::not_found("pickup block"))?;
    district_refused(caller, &body, "pickup block")?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, &block.student_id)
        .map_err(|_| ApiError::not_found("pickup block"))?;
    if !rel.school_admin {
        return Err(forbidden(
            Code::ForbiddenRole,
            &format!("only the school admin may {doing} a never-release entry"),
        ));
    }
    Ok((block, student, body?))
}

fn not_pending() -> ApiError {
    ApiError::conflict(
        Code::PickupBlockNotPending,
        "this entry is not awaiting confirmation",
    )
}

/// Confirms a pending entry against a court or protective order: it comes
/// into force, and the guardian it names is cut off. The family still
/// following the pupil and the head teacher are told.
pub fn confirm(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    block_id: &str,
    body: AppResult<ConfirmBlock>,
) -> AppResult<PickupBlock> {
    let (block, student, b) = for_school_admin(conn, caller, block_id, body, "confirm")?;
    let court_order_ref = b.court_order_ref.as_str().trim();
    if block.status != BlockStatus::Pending.as_str() || block.lifted_at.is_some() {
        return Err(not_pending());
    }
    if !repo::confirm_block(conn, &block.id, now.db, &caller.user_id, court_order_ref)? {
        return Err(not_pending());
    }
    let guardians = family::guardians(conn, &student.id)?;
    let staff = family::head_teacher(conn, &student.class_id)?;
    notify::send(
        conn,
        now.db,
        &family::recipients(&[&guardians, &staff]),
        Template::PickupBlockConfirmed,
        serde_json::json!({"person": block.name, "student": student.name,
                           "student_id": student.id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup_block.confirm",
            "pickup_block",
            Some(&block.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    Ok(saved(conn, &block.id)?.into_dto())
}

/// Rejects a pending entry, with a note: it ends, and the guardian it named
/// is no longer held. Every guardian and the head teacher are told.
pub fn reject(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    block_id: &str,
    body: AppResult<RejectBlock>,
) -> AppResult<PickupBlock> {
    let (block, student, b) = for_school_admin(conn, caller, block_id, body, "reject")?;
    if block.status != BlockStatus::Pending.as_str() || block.lifted_at.is_some() {
        return Err(not_pending());
    }
    if !repo::reject_block(conn, &block.id, now.db, &caller.user_id, b.note.as_str())? {
        return Err(not_pending());
    }
    let guardians = family::guardians(conn, &student.id)?;
    let staff = family::head_teacher(conn, &student.class_id)?;
    notify::send(
        conn,
        now.db,
        &family::recipients(&[&guardians, &staff]),
        Template::PickupBlockRejected,
        serde_json::json!({"person": block.name, "student": student.name,
                           "student_id": student.id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(
            caller,
            "pickup_block.reject",
            "pickup_block",
            Some(&block.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    Ok(saved(conn, &block.id)?.into_dto())
}

/// Lifts an entry (a pending one too): the entry in scope (404), the school
/// admin (403), then the body; every guardian is told.
pub fn lift(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    block_id: &str,
    body: AppResult<LiftBlock>,
) -> AppResult<PickupBlock> {
    let (block, student, b) = for_school_admin(conn, caller, block_id, body, "lift")?;
    let note = b.note;
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
