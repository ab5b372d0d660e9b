//! The dormitories' use cases: girls' dormitories closed to men (female
//! staff only, girls only, a man's entry approved beforehand or an
//! incident), and the nightly roll call that alerts families at once.

use super::dto::*;
use super::repo::{self, DormRow, EntryRow};
use super::rules::{is_incident, may_live_in, may_work_in};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, school_local_to_utc, to_utc};
use crate::db::{conflict_on_unique, new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::leave;
use crate::notify::{self, Category, Template};
use crate::org::dto::Sex;
use crate::org::family;
use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, SubsecRound, Utc};
use std::collections::BTreeSet;

fn as_stored(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(6).naive_utc()
}

fn dorm(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<DormRow> {
    repo::visible(conn, caller, id)?.ok_or_else(|| ApiError::not_found("dormitory"))
}

fn kind(row: &DormRow) -> DormKind {
    DormKind::parse(&row.3).unwrap_or(DormKind::Girls)
}

fn view(conn: &mut AnyConnection, row: DormRow) -> AppResult<Dorm> {
    Ok(Dorm {
        resident_ids: repo::residents(conn, &row.0)?,
        staff_ids: repo::staff(conn, &row.0)?,
        kind: kind(&row),
        id: row.0,
        school_id: row.1,
        name: row.2,
    })
}

/// The school admin (or the district admin) opens a dormitory.
pub fn create(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    body: AppResult<NewDorm>,
) -> AppResult<Dorm> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let b = body?;
    let row = (
        new_id(now),
        school.id.clone(),
        b.name.into_string(),
        b.kind.as_str().to_string(),
    );
    repo::insert(conn, &row, &caller.user_id, now).map_err(conflict_on_unique(
        Code::AlreadyExists,
        "name",
        "the school already has a dormitory of this name",
    ))?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "dorm.create", "dorm", Some(&row.0)).in_school(Some(&school.id)),
    )?;
    view(conn, row)
}

/// Pupils move in: only girls into a girls' dormitory, boys into a boys'.
pub fn add_residents(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewResidents>,
) -> AppResult<Dorm> {
    let row = dorm(conn, caller, id)?;
    let b = body?;
    if b.student_ids.is_empty() || b.student_ids.len() > 200 {
        return Err(ApiError::invalid("student_ids", "give 1 to 200 pupils"));
    }
    for (i, s) in b.student_ids.iter().enumerate() {
        let field = format!("student_ids[{i}]");
        let (_, sex) = repo::student(conn, &row.1, s.as_str())?
            .ok_or_else(|| ApiError::invalid(field.clone(), "not a pupil of this school"))?;
        if !may_live_in(kind(&row), sex.as_deref().and_then(Sex::parse)) {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                Code::DormResidentSex,
                "only a girl (sex recorded as female) lives in a girls' dormitory, only a boy in a boys'",
            )
            .with_field(field));
        }
        repo::add_resident(conn, &row.0, s.as_str(), now)?;
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "dorm.residents_add", "dorm", Some(&row.0)).in_school(Some(&row.1)),
    )?;
    view(conn, row)
}

/// A member of staff is assigned to the dormitory: only female staff to a
/// girls' dormitory (422 `dorm_staff_sex`).
pub fn add_staff(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewDormStaff>,
) -> AppResult<Dorm> {
    let row = dorm(conn, caller, id)?;
    let b = body?;
    let (_, sex) = repo::staff_member(conn, &row.1, b.user_id.as_str())?
        .filter(|(r, _)| Role::parse(r).is_some_and(Role::is_school_staff))
        .ok_or_else(|| ApiError::invalid("user_id", "not a member of this school's staff"))?;
    may_work_in(kind(&row), sex.as_deref().and_then(Sex::parse))?;
    repo::add_staff(conn, &row.0, b.user_id.as_str(), now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "dorm.staff_add", "dorm", Some(&row.0)).in_school(Some(&row.1)),
    )?;
    view(conn, row)
}

/// Whether the caller approves entries to, and takes the roll call of, the
/// dormitory: the school admin, or one of its staff.
fn keeps(conn: &mut AnyConnection, caller: &Caller, row: &DormRow) -> AppResult<bool> {
    Ok(caller.role == Role::SchoolAdmin || repo::staff(conn, &row.0)?.contains(&caller.user_id))
}

/// A man entering a girls' dormitory is logged with its time; without the
/// approval of the school admin or the dormitory's staff (who record it
/// beforehand, with a reason) it is an incident, and the principal is alerted.
pub fn record_entry(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: AppResult<NewDormEntry>,
) -> AppResult<DormEntry> {
    let row = dorm(conn, caller, id)?;
    let b = body?;
    if kind(&row) != DormKind::Girls {
        return Err(ApiError::invalid(
            "id",
            "entries are recorded for girls' dormitories",
        ));
    }
    let now = as_stored(now_utc);
    let approver = keeps(conn, caller, &row)?;
    let reason = b.reason.map(|r| r.into_string());
    let incident = is_incident(approver, reason.as_deref());
    let entry_id = new_id(now);
    let name = b.name.into_string();
    let user_id = b.user_id.map(|u| u.into_string());
    let approved_by = (!incident).then(|| caller.user_id.clone());
    repo::insert_entry(
        conn,
        &EntryRow {
            id: &entry_id,
            dorm_id: &row.0,
            name: &name,
            user_id: user_id.as_deref(),
            reason: reason.as_deref(),
            approved_by: approved_by.as_deref(),
            incident,
            at: now,
            by: &caller.user_id,
        },
    )?;
    if incident {
        let tz = leave::timezone(conn, &row.1)?;
        let admins = family::school_admins(conn, &row.1)?;
        notify::send(
            conn,
            now,
            &admins,
            Template::DormEntryIncident,
            serde_json::json!({"dorm": row.2, "name": name,
                "time": school_local(now_utc, &tz).format("%H:%M").to_string()}),
            Category::Urgent,
        )?;
    }
    let action = if incident {
        "dorm.entry_incident"
    } else {
        "dorm.entry"
    };
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, action, "dorm", Some(&row.0)).in_school(Some(&row.1)),
    )?;
    Ok(DormEntry {
        id: entry_id,
        dorm_id: row.0,
        name,
        user_id,
        reason,
        approved_by,
        incident,
        entered_at: to_utc(now),
    })
}

/// The nightly roll call: each pupil absent without leave alerts the
/// dormitory's staff, the head teacher and every guardian at once; a pupil
/// on approved leave is excused by it.
pub fn take_roll_call(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: AppResult<NewDormRollCall>,
) -> AppResult<DormRollCall> {
    let row = dorm(conn, caller, id)?;
    if !keeps(conn, caller, &row)? {
        return Err(ApiError::not_found("dormitory"));
    }
    let b = body?;
    let tz = leave::timezone(conn, &row.1)?;
    let today = school_local(now_utc, &tz).date();
    if b.date > today || b.date < today - Duration::days(7) {
        return Err(ApiError::invalid(
            "date",
            "a roll call is of the last 7 days, not the future",
        ));
    }
    let residents: BTreeSet<String> = repo::residents(conn, &row.0)?.into_iter().collect();
    let mut absent = BTreeSet::new();
    for (i, s) in b.absent.iter().enumerate() {
        if !residents.contains(s.as_str()) {
            return Err(ApiError::invalid(
                format!("absent[{i}]"),
                "not a resident of this dormitory",
            ));
        }
        absent.insert(s.as_str().to_string());
    }
    let now = as_stored(now_utc);
    let roll_id = new_id(now);
    repo::insert_roll_call(
        conn,
        &roll_id,
        &row.0,
        &b.date.to_string(),
        &caller.user_id,
        now,
    )
    .map_err(conflict_on_unique(
        Code::AlreadyExists,
        "date",
        "this dormitory's roll call of that night is taken",
    ))?;
    // The night a past roll call is about: 21:00 to 06:00 at the school.
    let night = (
        school_local_to_utc(
            b.date
                .and_time(NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default()),
            &tz,
        ),
        school_local_to_utc(
            (b.date + Duration::days(1))
                .and_time(NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default()),
            &tz,
        ),
    );
    let staff = repo::staff(conn, &row.0)?;
    let mut absences = Vec::new();
    for student_id in absent {
        let leave = if b.date == today {
            leave::covering_leave(conn, &student_id, now)?
        } else {
            leave::leave_on_date(conn, &student_id, night.0, night.1)?
        };
        repo::insert_absence(conn, &roll_id, &student_id, leave.as_deref())?;
        if leave.is_none() {
            let (class_id, _) = repo::student(conn, &row.1, &student_id)?.unwrap_or_default();
            let head = family::head_teacher_of(conn, &class_id)?
                .into_iter()
                .collect::<Vec<_>>();
            let guardians = family::guardians(conn, &student_id)?;
            let to = family::recipients(&[&staff, &head, &guardians]);
            let name = repo::student_name(conn, &student_id)?;
            notify::send(
                conn,
                now,
                &to,
                Template::DormAbsent,
                serde_json::json!({"student": name, "dorm": row.2, "date": b.date.to_string()}),
                Category::Attendance,
            )?;
        }
        absences.push(DormAbsence {
            student_id,
            excused_by_leave: leave,
        });
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "dorm.roll_call", "dorm", Some(&row.0)).in_school(Some(&row.1)),
    )?;
    Ok(DormRollCall {
        id: roll_id,
        dorm_id: row.0,
        date: b.date,
        absences,
    })
}
