//! The watch list: people never to be let in. The school admin bans; vetting
//! bars; a case suspends; a pupil's never-release list names. The gate
//! checks every visitor against all of them.

use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, to_utc};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::gate::dto::{LiftWatchEntry, NewWatchEntry, WatchListEntry};
use crate::gate::model::{VisitRow, WatchRow};
use crate::gate::repo::visits as visit_repo;
use crate::gate::repo::watch::{self as repo, Listed};
use crate::gate::rules::{first_match, normalise_id_number, Marks, WatchEntry, WatchSource};
use crate::notify::{self, Category, Template};
use crate::org::family;
use chrono::{DateTime, SubsecRound, Utc};

/// The entry that names the visitor at the school, if any.
pub fn check(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
    who: &Marks,
) -> AppResult<Option<WatchEntry>> {
    let listed = repo::in_force(conn, district_id, school_id)?;
    let entries: Vec<WatchEntry> = listed.into_iter().map(|l| l.entry).collect();
    Ok(first_match(&entries, who).cloned())
}

/// What the guard is told: why, without the entry's details.
fn refusal(source: WatchSource) -> ApiError {
    let why = match source {
        WatchSource::Ban => "the school has banned this person",
        WatchSource::VettingHit => "a vetting check barred this person from working with pupils",
        WatchSource::Suspended => "this staff member is suspended by a protective measure",
        WatchSource::NeverRelease => "a pupil's never-release list names this person",
    };
    ApiError::forbidden(
        Code::VisitorOnWatchList,
        format!("do not let this visitor in: {why}. The principal and the host have been alerted."),
    )
}

/// A visitor matched the watch list: the principal (the school admins) and
/// the host are alerted at once, the attempt is audited, and the guard is
/// told why. The caller keeps these writes and answers the returned problem.
pub fn refuse(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    visit: &VisitRow,
    entry: &WatchEntry,
) -> AppResult<ApiError> {
    let (school_id, visit_id) = (visit.school_id.as_str(), visit.id.as_str());
    let (host, visitor) = (visit.host_user_id.as_str(), visit.visitor_name.as_str());
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let (_, school_name, tz) = visit_repo::school(conn, school_id)?;
    let admins = family::school_admins(conn, school_id)?;
    let to = family::recipients(&[&admins, &[host.to_string()]]);
    notify::send(
        conn,
        now,
        &to,
        Template::GateWatchListHit,
        serde_json::json!({
            "time": school_local(now_utc, &tz).format("%H:%M").to_string(),
            "visitor": visitor,
            "school": school_name,
            "visit_id": visit_id,
        }),
        Category::Urgent,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "visit.watch_list_hit", "visit", Some(visit_id))
            .in_school(Some(school_id)),
    )?;
    Ok(refusal(entry.source))
}

fn view(l: Listed, lifted: Option<chrono::NaiveDateTime>) -> WatchListEntry {
    let m = l.entry.marks;
    WatchListEntry {
        id: l.entry.id,
        source: l.entry.source,
        school_id: l.school_id,
        name: m.name.unwrap_or_default(),
        phone: m.phone,
        id_last4: m.id_last4,
        vehicle_plate: m.plate,
        note: l.note,
        created_at: l.created_at.map(to_utc),
        lifted_at: lifted.map(to_utc),
    }
}

fn row_view(r: WatchRow) -> WatchListEntry {
    let lifted = r.lifted_at;
    let listed = Listed {
        entry: WatchEntry {
            id: r.id,
            source: WatchSource::parse(&r.reason).unwrap_or(WatchSource::Ban),
            marks: Marks {
                name: Some(r.name),
                phone: r.phone,
                id_last4: r.id_last4,
                id_hmac: None,
                plate: r.plate,
            },
        },
        school_id: r.school_id,
        note: r.note,
        created_at: Some(r.created_at),
    };
    view(listed, lifted)
}

/// The school's watch list in force, every source (the school admin their
/// school; the bureau and district admin any school of the district).
pub fn list(
    conn: &mut AnyConnection,
    now: chrono::NaiveDateTime,
    caller: &Caller,
    school_id: &str,
) -> AppResult<Vec<WatchListEntry>> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "watch_list.read", "school", Some(&school.id))
            .in_school(Some(&school.id)),
    )?;
    Ok(repo::in_force(conn, &school.district_id, &school.id)?
        .into_iter()
        .map(|l| view(l, None))
        .collect())
}

/// The school admin (or the bureau) bans a person from the school.
pub fn add(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id_key: &[u8],
    school_id: &str,
    body: AppResult<NewWatchEntry>,
) -> AppResult<WatchListEntry> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let b = body?;
    let number = match &b.id_number {
        Some(n) => Some(normalise_id_number(n.as_str()).ok_or_else(|| {
            ApiError::invalid("id_number", "an ID number is 6 to 32 letters and digits")
        })?),
        None => None,
    };
    let id_last4 = match (&number, b.id_last4) {
        (Some(n), _) => Some(n[n.len() - 4..].to_string()),
        (None, l) => l.map(|l| l.into_string()),
    };
    let now = now_utc.trunc_subsecs(6).naive_utc();
    let row = WatchRow {
        id: new_id(now),
        district_id: school.district_id.clone(),
        school_id: Some(school.id.clone()),
        personnel_id: None,
        name: b.name.into_string(),
        id_last4,
        id_hmac: number.map(|n| visit_repo::id_hmac(id_key, &n)),
        reason: WatchSource::Ban.as_str().to_string(),
        created_at: now,
        phone: b.phone.map(|p| p.into_string()),
        plate: b.vehicle_plate.map(|p| p.into_string()),
        note: Some(b.note.into_string()),
        created_by: Some(caller.user_id.clone()),
        lifted_at: None,
        lifted_by: None,
        lift_note: None,
    };
    repo::insert(conn, &row)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "watch_list.add", "watch_list", Some(&row.id))
            .in_school(Some(&school.id)),
    )?;
    Ok(row_view(row))
}

/// Lifts a ban (or, for the bureau, a vetting bar), with a note. A school
/// admin cannot lift a vetting bar: it is the bureau's.
pub fn lift(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: AppResult<LiftWatchEntry>,
) -> AppResult<WatchListEntry> {
    let row =
        repo::visible(conn, caller, id)?.ok_or_else(|| ApiError::not_found("watch-list entry"))?;
    let b = body?;
    if row.reason != WatchSource::Ban.as_str() && caller.role != Role::BureauOfficer {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "only the bureau lifts a vetting bar",
        ));
    }
    let now = now_utc.trunc_subsecs(6).naive_utc();
    if !repo::lift(conn, &row.id, &caller.user_id, b.note.as_str(), now)? {
        return Err(ApiError::conflict(
            Code::AlreadyLifted,
            "this entry was already lifted",
        ));
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "watch_list.lift", "watch_list", Some(&row.id))
            .in_school(row.school_id.as_deref()),
    )?;
    let row =
        repo::visible(conn, caller, id)?.ok_or_else(|| ApiError::not_found("watch-list entry"))?;
    Ok(row_view(row))
}
