//! Handovers: releasing a pupil at the gate, and the family's answer.

use super::release::{authorise_among, consume, record_refusal, AdultRef};
use super::{forbidden, handover_view, handover_views, local_now, Now};
use crate::attendance::Presence;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::school_local;
use crate::concerns::service as concerns;
use crate::db::{conflict_on_unique, new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family::{self, Identity};
use crate::org::leads;
use crate::org::model::StudentRow;
use crate::pickup::dto::{DisputeBody, Handover, HistoryQuery, IdLast4, NewHandover, Presented};
use crate::pickup::model::{HandoverRow, NewHandoverRow};
use crate::pickup::repo;
use chrono::{Datelike, NaiveDate};

/// The one reference the gate gave for the adult.
fn adult_ref(b: &NewHandover) -> AppResult<AdultRef> {
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
    match (refs.pop(), refs.is_empty()) {
        (Some(adult), true) => Ok(adult),
        _ => Err(ApiError::invalid(
            "pass_code",
            "give exactly one of pass_code, qr_token, pickup_person_id, guardian_user_id",
        )),
    }
}

fn identity(presented: Option<Presented>) -> Identity {
    let p = presented.unwrap_or_default();
    Identity {
        name: p.name.map(|n| n.into_string()),
        phone: p.phone.map(|p| p.into_string()),
        id_last4: p.id_last4.map(IdLast4::into_string),
    }
}

/// Releases a pupil to an authorised adult (the gate role is the
/// extractor's). The pupil is named in the body, so the body comes first.
/// A refusal is `Ok(Err(_))`: its alerts and audit are kept.
pub fn release(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    body: AppResult<NewHandover>,
) -> AppResult<Result<Handover, ApiError>> {
    let b = body?;
    let adult = adult_ref(&b)?;
    let presented = identity(b.presented);
    let student = crate::org::repo::student(conn, caller, b.student_id.as_str())?;
    let (local, timezone) = local_now(conn, &student.school_id, now.utc)?;
    let time = local.format("%H:%M").to_string();
    let entries = family::blocks_and_holds(conn, &student.id)?;
    let released = match authorise_among(conn, &student, &adult, &presented, local, &entries)? {
        Ok(r) => r,
        Err(refusal) => {
            record_refusal(conn, now.db, caller, &student, &refusal, &time)?;
            return Ok(Err(refusal.error()));
        }
    };
    let presence = crate::attendance::presence_in_class(
        conn,
        &student.id,
        &student.class_id,
        &timezone,
        now.utc,
    )?;
    match presence {
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
    let handover_id = new_id(now.db);
    let new_row = NewHandoverRow {
        id: &handover_id,
        student_id: &student.id,
        school_id: &student.school_id,
        class_id: &student.class_id,
        local_date: local.date(),
        adult_kind: released.kind,
        guardian_user_id: released.guardian_user_id.as_deref(),
        pickup_person_id: released.pickup_person_id.as_deref(),
        pass_id: released.pass_id.as_deref(),
        released_name: &released.name,
        released_relation: &released.relation,
        released_by: &caller.user_id,
        at: now.db,
    };
    let written = new_row.written();
    repo::insert_handover(conn, new_row).map_err(conflict_on_unique(
        Code::AlreadyReleased,
        "student_id",
        "this pupil was already released today",
    ))?;
    consume(conn, &released, now.db)?;
    let guardians = family::guardians_beside(conn, &student.id, &entries.0)?;
    notify::send(
        conn,
        now.db,
        &guardians,
        Template::PickupReleased,
        serde_json::json!({"student": student.name, "student_id": student.id,
                           "adult": released.name, "relation": released.relation,
                           "time": time, "handover_id": handover_id}),
        Category::Pickup,
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "handover.release", "handover", Some(&handover_id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(Ok(written.into_dto(student.name, released.has_photo)))
}

fn saved(conn: &mut AnyConnection, id: &str) -> AppResult<HandoverRow> {
    repo::handover(conn, id)?.ok_or_else(|| ApiError::not_found("handover"))
}

/// A handover the caller's family may answer: in scope (404), a guardian (403).
fn for_guardian(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<(HandoverRow, StudentRow)> {
    let row = repo::handover(conn, id)?.ok_or_else(|| ApiError::not_found("handover"))?;
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

/// A guardian confirms the pupil reached them; a disputed handover stays disputed.
pub fn confirm(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    id: &str,
) -> AppResult<Handover> {
    let (row, student) = for_guardian(conn, caller, id)?;
    if row.disputed_at.is_some() {
        return Err(ApiError::conflict(
            Code::HandoverDisputed,
            "this handover is disputed; the school is handling it",
        ));
    }
    if row.confirmed_at.is_none() {
        repo::confirm(conn, &row.id, now.db, &caller.user_id)?;
        audit::record(
            conn,
            now.db,
            AuditEvent::by(caller, "handover.confirm", "handover", Some(&row.id))
                .in_school(Some(&student.school_id)),
        )?;
    }
    let row = saved(conn, &row.id)?;
    handover_view(conn, row)
}

/// A guardian disputes a handover: in scope (404), a guardian (403), then
/// the body; the head teacher and the school admins are alerted once.
pub fn dispute(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    id: &str,
    body: AppResult<DisputeBody>,
) -> AppResult<Handover> {
    let (row, student) = for_guardian(conn, caller, id)?;
    let note = body?.note;
    if row.disputed_at.is_none() {
        repo::dispute(conn, &row.id, now.db, &caller.user_id, note.as_str())?;
        let (_, timezone) = local_now(conn, &student.school_id, now.utc)?;
        let at = school_local(crate::clock::to_utc(row.at), &timezone)
            .format("%H:%M")
            .to_string();
        let staff = family::head_teacher(conn, &student.class_id)?;
        let admins = family::school_admins(conn, &student.school_id)?;
        notify::send(
            conn,
            now.db,
            &family::recipients(&[&staff, &admins]),
            Template::PickupDisputed,
            serde_json::json!({"student": student.name, "student_id": student.id,
                               "adult": row.released_name, "time": at,
                               "handover_id": row.id}),
            Category::Pickup,
        )?;
        audit::record(
            conn,
            now.db,
            AuditEvent::by(caller, "handover.dispute", "handover", Some(&row.id))
                .in_school(Some(&student.school_id)),
        )?;
    }
    let row = saved(conn, &row.id)?;
    handover_view(conn, row)
}

/// The pupil's handovers between two school days, newest first: at most a
/// year, 30 days up to today by default.
pub fn history(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    q: HistoryQuery,
) -> AppResult<Vec<Handover>> {
    let (student, _) = family::student_for_family_or_school(conn, caller, student_id)?;
    let (local, _) = local_now(conn, &student.school_id, now.utc)?;
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
    audit::record_pupil_read(
        conn,
        now.db,
        caller,
        audit::PupilRecord::Handovers,
        &student.id,
        &student.school_id,
    )?;
    let rows = repo::handovers_between(conn, &student.id, from, to)?;
    let mut views = handover_views(conn, rows)?;
    // The source links both ways: the school's safeguarding handlers and the
    // bureau see which handovers a case grew from; families and other staff
    // do not learn that a case exists.
    let handles_cases =
        caller.role == Role::BureauOfficer || leads::is_lead_of(conn, caller, &student.school_id)?;
    if handles_cases {
        for v in &mut views {
            v.cases = Some(concerns::cases_from(conn, "handover", &v.handover_id)?);
        }
    }
    Ok(views)
}
