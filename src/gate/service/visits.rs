//! Visitors and vehicles: a host pre-registers a visit (a code good once,
//! inside its window), or the guard records a walk-in who waits for the
//! host. Every check-in is checked against the watch list first.

use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::{school_local, school_local_to_utc, to_utc};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::gate::dto::{
    CaseLink, CheckIn, NewVisit, Visit, VisitRegistered, VisitWindow, Visitor, VisitorView,
    VisitsQuery,
};
use crate::gate::model::VisitRow;
use crate::gate::repo::visits as repo;
use crate::gate::rules::{
    allowed_next, inside_window, normalise_id_number, Marks, VisitStatus, MAX_WINDOW_DAYS,
    WALK_IN_HOURS,
};
use crate::gate::service::watch;
use crate::http::Page;
use crate::notify::{self, Category, Template};
use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};

fn as_stored(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(6).naive_utc()
}

pub fn view(r: VisitRow) -> Visit {
    Visit {
        status: VisitStatus::parse(&r.status).unwrap_or(VisitStatus::Expected),
        id: r.id,
        school_id: r.school_id,
        host_user_id: r.host_user_id,
        visitor: VisitorView {
            name: r.visitor_name,
            phone: r.visitor_phone,
            id_last4: r.id_last4,
        },
        purpose: r.purpose,
        vehicle_plate: r.vehicle_plate,
        window: VisitWindow {
            from: to_utc(r.window_from),
            until: to_utc(r.window_until),
        },
        walk_in: r.walk_in,
        checked_in_at: r.checked_in_at.map(to_utc),
        checked_out_at: r.checked_out_at.map(to_utc),
        created_at: to_utc(r.created_at),
    }
}

fn random_code() -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&crate::crypto::random_bytes(8));
    format!("{:08}", u64::from_be_bytes(b) % 100_000_000)
}

/// The visitor's ID number as kept: its last 4 and a keyed hash.
fn id_parts(id_key: &[u8], v: &Visitor) -> AppResult<(Option<String>, Option<String>)> {
    let Some(n) = &v.id_number else {
        return Ok((None, None));
    };
    let n = normalise_id_number(n.as_str()).ok_or_else(|| {
        ApiError::invalid(
            "visitor.id_number",
            "an ID number is 6 to 32 letters and digits",
        )
    })?;
    Ok((
        Some(n[n.len() - 4..].to_string()),
        Some(repo::id_hmac(id_key, &n)),
    ))
}

fn marks(r: &VisitRow) -> Marks {
    Marks {
        name: Some(r.visitor_name.clone()),
        phone: Some(r.visitor_phone.clone()),
        id_last4: r.id_last4.clone(),
        id_hmac: r.id_hmac.clone(),
        plate: r.vehicle_plate.clone(),
    }
}

/// A new visit's row: the visitor, the purpose, the plate, the window.
struct Draft {
    school_id: String,
    host: String,
    visitor: Visitor,
    purpose: String,
    plate: Option<String>,
    window: (NaiveDateTime, NaiveDateTime),
}

fn row_of(id_key: &[u8], caller: &Caller, now: NaiveDateTime, d: Draft) -> AppResult<VisitRow> {
    let (id_last4, id_hmac) = id_parts(id_key, &d.visitor)?;
    Ok(VisitRow {
        id: new_id(now),
        school_id: d.school_id,
        host_user_id: d.host,
        visitor_name: d.visitor.name.into_string(),
        visitor_phone: d.visitor.phone.into_string(),
        id_last4,
        id_hmac,
        purpose: d.purpose,
        vehicle_plate: d.plate,
        window_from: d.window.0,
        window_until: d.window.1,
        code_hash: None,
        walk_in: false,
        status: VisitStatus::Expected.as_str().to_string(),
        created_by: caller.user_id.clone(),
        created_at: now,
        decided_by: None,
        decided_at: None,
        checked_in_at: None,
        checked_in_by: None,
        checked_out_at: None,
        checked_out_by: None,
        overstay_alerted_at: None,
        case_id: None,
    })
}

/// A host pre-registers a visitor at their school: the code is shown once.
pub fn register(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id_key: &[u8],
    body: AppResult<NewVisit>,
) -> AppResult<VisitRegistered> {
    let b = body?;
    let school = crate::org::repo::school(conn, caller, b.school_id.as_str())?;
    let (from, until) = (as_stored(b.window.from), as_stored(b.window.until));
    let now = as_stored(now_utc);
    if from >= until || until <= now || until - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(ApiError::invalid(
            "window",
            "the window must end after it starts, in the future, and last at most 7 days",
        ));
    }
    let draft = Draft {
        school_id: school.id.clone(),
        host: caller.user_id.clone(),
        visitor: b.visitor,
        purpose: b.purpose.into_string(),
        plate: b.vehicle_plate.map(|p| p.into_string()),
        window: (from, until),
    };
    let mut row = row_of(id_key, caller, now, draft)?;
    // A code unique among the school's visits still expected.
    let code = loop {
        let c = random_code();
        let h = repo::code_hash(id_key, &school.id, &c);
        if !repo::code_taken(conn, &school.id, &h)? {
            row.code_hash = Some(h);
            break c;
        }
    };
    repo::insert(conn, &row)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "visit.register", "visit", Some(&row.id))
            .in_school(Some(&school.id)),
    )?;
    let qr = format!("safecampus:visit:v1:{}:{code}", school.code);
    Ok(VisitRegistered {
        visit: view(row),
        code,
        qr,
    })
}

/// The guard checks a visitor in: a pre-registered code, or a walk-in.
/// A visitor the watch list names is refused, and that refusal is kept.
pub fn check_in(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id_key: &[u8],
    body: AppResult<CheckIn>,
) -> AppResult<Result<Visit, ApiError>> {
    let b = body?;
    let school = caller.own_school()?.to_string();
    match b.code {
        Some(code) => {
            if b.school_id.is_some()
                || b.visitor.is_some()
                || b.purpose.is_some()
                || b.host_user_id.is_some()
                || b.vehicle_plate.is_some()
            {
                return Err(ApiError::invalid(
                    "code",
                    "give a code alone, or a walk-in without one",
                ));
            }
            let code = code.as_str();
            if code.len() != 8 || !code.bytes().all(|c| c.is_ascii_digit()) {
                return Err(ApiError::invalid("code", "a visit code is 8 digits"));
            }
            by_code(conn, now_utc, caller, id_key, &school, code)
        }
        None => walk_in(conn, now_utc, caller, id_key, &school, b),
    }
}

fn by_code(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id_key: &[u8],
    school: &str,
    code: &str,
) -> AppResult<Result<Visit, ApiError>> {
    let now = as_stored(now_utc);
    let hash = repo::code_hash(id_key, school, code);
    let row =
        repo::by_code(conn, school, &hash)?.ok_or_else(|| ApiError::not_found("visit code"))?;
    if row.status != VisitStatus::Expected.as_str() {
        return Err(ApiError::conflict(
            Code::VisitCodeUsed,
            "this code was already used or the visit was refused",
        ));
    }
    if !inside_window(row.window_from, row.window_until, now) {
        return Err(ApiError::conflict(
            Code::VisitOutsideWindow,
            "this code works only inside its visit's window",
        ));
    }
    let (district, _, _) = repo::school(conn, school)?;
    if let Some(hit) = watch::check(conn, &district, school, &marks(&row))? {
        repo::set_status(conn, &row.id, VisitStatus::Expected, VisitStatus::Barred)?;
        let e = watch::refuse(conn, now_utc, caller, &row, &hit)?;
        return Ok(Err(e));
    }
    if !repo::set_status(conn, &row.id, VisitStatus::Expected, VisitStatus::OnSite)? {
        return Err(ApiError::conflict(
            Code::VisitCodeUsed,
            "this code was already used",
        ));
    }
    repo::mark_in(conn, &row.id, &caller.user_id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "visit.check_in", "visit", Some(&row.id)).in_school(Some(school)),
    )?;
    Ok(Ok(view(repo::get(conn, &row.id)?)))
}

fn walk_in(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id_key: &[u8],
    school: &str,
    b: CheckIn,
) -> AppResult<Result<Visit, ApiError>> {
    let missing = |f: &str| ApiError::invalid(f, format!("a walk-in needs {f} (or give a code)"));
    let school_id = b.school_id.ok_or_else(|| missing("school_id"))?;
    if school_id.as_str() != school {
        return Err(ApiError::not_found("school"));
    }
    let visitor = b.visitor.ok_or_else(|| missing("visitor"))?;
    let purpose = b.purpose.ok_or_else(|| missing("purpose"))?;
    let host = b.host_user_id.ok_or_else(|| missing("host_user_id"))?;
    let now = as_stored(now_utc);
    // The host is cleared staff of the school, as a pre-registering host is.
    if !repo::is_school_staff(conn, school, host.as_str())?
        || !crate::auth::extract::may_reach_pupils(conn, host.as_str(), now)?
    {
        return Err(ApiError::invalid(
            "host_user_id",
            "the host must be staff of this school whose vetting is complete",
        ));
    }
    let draft = Draft {
        school_id: school.to_string(),
        host: host.into_string(),
        visitor,
        purpose: purpose.into_string(),
        plate: b.vehicle_plate.map(|p| p.into_string()),
        window: (now, now + Duration::hours(WALK_IN_HOURS)),
    };
    let mut row = row_of(id_key, caller, now, draft)?;
    row.walk_in = true;
    let (district, _, tz) = repo::school(conn, school)?;
    if let Some(hit) = watch::check(conn, &district, school, &marks(&row))? {
        row.status = VisitStatus::Barred.as_str().to_string();
        repo::insert(conn, &row)?;
        let e = watch::refuse(conn, now_utc, caller, &row, &hit)?;
        return Ok(Err(e));
    }
    row.status = VisitStatus::PendingHost.as_str().to_string();
    repo::insert(conn, &row)?;
    notify::send(
        conn,
        now,
        &[row.host_user_id.clone()],
        Template::GateVisitorWaiting,
        serde_json::json!({"visitor": row.visitor_name, "purpose": row.purpose, "visit_id": row.id,
            "time": school_local(now_utc, &tz).format("%H:%M").to_string()}),
        Category::Urgent,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "visit.walk_in", "visit", Some(&row.id)).in_school(Some(school)),
    )?;
    Ok(Ok(view(row)))
}

/// The host (or the school admin) lets a waiting walk-in in, or refuses a
/// visit; the guards are told.
pub fn decide(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    approve: bool,
) -> AppResult<Visit> {
    let row = repo::decidable(conn, caller, id)?.ok_or_else(|| ApiError::not_found("visit"))?;
    let from = VisitStatus::parse(&row.status).unwrap_or(VisitStatus::Left);
    let to = if approve {
        VisitStatus::OnSite
    } else {
        VisitStatus::Refused
    };
    let waiting = from == VisitStatus::PendingHost || (!approve && from == VisitStatus::Expected);
    if !waiting || !allowed_next(from, to) || !repo::set_status(conn, &row.id, from, to)? {
        return Err(ApiError::conflict(
            Code::VisitNotPending,
            "only a walk-in waiting for its host is approved; only a visit not yet in is refused",
        ));
    }
    let now = as_stored(now_utc);
    repo::mark_decided(conn, &row.id, &caller.user_id, now)?;
    if approve {
        repo::mark_in(conn, &row.id, &row.created_by, now)?;
    }
    let guards = repo::guards(conn, &row.school_id)?;
    let decision = if approve { "approved" } else { "refused" };
    notify::send(
        conn,
        now,
        &guards,
        Template::GateVisitDecided,
        serde_json::json!({"visitor": row.visitor_name, "decision": decision, "visit_id": row.id}),
        Category::Urgent,
    )?;
    let action = if approve {
        "visit.approve"
    } else {
        "visit.refuse"
    };
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, action, "visit", Some(&row.id)).in_school(Some(&row.school_id)),
    )?;
    Ok(view(repo::get(conn, &row.id)?))
}

/// The guard checks a visitor out.
pub fn check_out(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
) -> AppResult<Visit> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(|| ApiError::not_found("visit"))?;
    if !repo::set_status(conn, &row.id, VisitStatus::OnSite, VisitStatus::Left)? {
        return Err(ApiError::conflict(
            Code::VisitNotOnSite,
            "this visitor is not inside",
        ));
    }
    let now = as_stored(now_utc);
    repo::mark_out(conn, &row.id, &caller.user_id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "visit.check_out", "visit", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    Ok(view(repo::get(conn, &row.id)?))
}

/// A school's log of a day (its date, today by default), or who is inside.
pub fn log(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    school_id: &str,
    q: VisitsQuery,
    (limit, cursor): (i64, Option<String>),
) -> AppResult<Page<Visit>> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    let date =
        q.on.unwrap_or_else(|| school_local(now_utc, &school.timezone).date());
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let day = (
        school_local_to_utc(start, &school.timezone),
        school_local_to_utc(start + Duration::days(1), &school.timezone),
    );
    let rows = repo::day_log(
        conn,
        &school.id,
        day,
        q.on_site.unwrap_or(false),
        cursor,
        limit,
    )?;
    audit::record(
        conn,
        as_stored(now_utc),
        AuditEvent::by(caller, "visit.log_read", "school", Some(&school.id))
            .in_school(Some(&school.id)),
    )?;
    Ok(Page::from_rows(rows, limit, |r| r.id.clone()).map(view))
}

/// The school admin or the bureau links a visit to a case of its school: the
/// visit is then kept with the case, past the retention period.
pub fn link_case(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: AppResult<CaseLink>,
) -> AppResult<Visit> {
    let row =
        repo::in_district_scope(conn, caller, id)?.ok_or_else(|| ApiError::not_found("visit"))?;
    let b = body?;
    if !repo::case_of_school(conn, b.case_id.as_str(), &row.school_id)? {
        return Err(ApiError::invalid(
            "case_id",
            "no case of this visit's school has this id",
        ));
    }
    repo::link_case(conn, &row.id, b.case_id.as_str())?;
    audit::record(
        conn,
        as_stored(now_utc),
        AuditEvent::by(caller, "visit.case_link", "visit", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    Ok(view(repo::get(conn, &row.id)?))
}
