//! A copy request's export: everything held about one pupil, as JSON, except
//! what protects others — tip-line reports, cases and concerns are left out
//! (so are never-release entries, which name third parties, and the gate's
//! hashed pass codes, which are no one's data).

use crate::db::schema::{
    absences, consents, guardianships, handovers, leave_requests, pickup_persons, students, users,
};
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

/// The export of a pupil's data at `now`.
#[allow(clippy::type_complexity)]
pub fn of_student(
    conn: &mut AnyConnection,
    student_id: &str,
    now: NaiveDateTime,
) -> AppResult<Value> {
    let (id, school_id, class_id, name, student_no, grade, handover_required, created_at): (
        String,
        String,
        String,
        String,
        String,
        i32,
        bool,
        NaiveDateTime,
    ) = students::table
        .find(student_id)
        .select((
            students::id,
            students::school_id,
            students::class_id,
            students::name,
            students::student_no,
            students::grade,
            students::handover_required,
            students::created_at,
        ))
        .first(conn)?;
    let guardians: Vec<(String, String, bool, String)> = guardianships::table
        .inner_join(users::table)
        .filter(guardianships::student_id.eq(student_id))
        .select((
            users::display_name,
            guardianships::relation,
            guardianships::is_primary,
            users::id,
        ))
        .load(conn)?;
    let absences: Vec<(String, i32, bool, Option<String>, Option<NaiveDateTime>)> = absences::table
        .filter(absences::student_id.eq(student_id))
        .order(absences::local_date)
        .select((
            absences::local_date,
            absences::period,
            absences::excused,
            absences::explanation,
            absences::withdrawn_at,
        ))
        .load(conn)?;
    let leaves: Vec<(
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        String,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    )> = leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .order(leave_requests::starts_at)
        .select((
            leave_requests::kind,
            leave_requests::starts_at,
            leave_requests::ends_at,
            leave_requests::reason,
            leave_requests::status,
            leave_requests::left_at,
            leave_requests::returned_at,
        ))
        .load(conn)?;
    let handed: Vec<(String, String, String, NaiveDateTime, Option<NaiveDateTime>)> =
        handovers::table
            .filter(handovers::student_id.eq(student_id))
            .order(handovers::at)
            .select((
                handovers::local_date,
                handovers::released_name,
                handovers::released_relation,
                handovers::at,
                handovers::disputed_at,
            ))
            .load(conn)?;
    let persons: Vec<(String, String, String, String, Option<NaiveDateTime>, bool)> =
        pickup_persons::table
            .filter(pickup_persons::student_id.eq(student_id))
            .order(pickup_persons::created_at)
            .select((
                pickup_persons::name,
                pickup_persons::relation,
                pickup_persons::valid_from,
                pickup_persons::valid_until,
                pickup_persons::revoked_at,
                pickup_persons::photo.is_not_null(),
            ))
            .load(conn)?;
    let consents: Vec<(String, bool, String, String, NaiveDateTime)> = consents::table
        .filter(consents::student_id.eq(student_id))
        .select((
            consents::purpose,
            consents::given,
            consents::policy_version,
            consents::channel,
            consents::decided_at,
        ))
        .load(conn)?;
    let t = |t: NaiveDateTime| crate::clock::to_utc(t).to_rfc3339();
    let ot = |o: Option<NaiveDateTime>| o.map(t);
    Ok(json!({
        "made_at": t(now),
        "left_out": "tip-line reports, cases and concerns, which protect others, are not part of a copy",
        "student": {"id": id, "school_id": school_id, "class_id": class_id, "name": name,
                    "student_no": student_no, "grade": grade,
                    "handover_required": handover_required, "enrolled_at": t(created_at)},
        "guardians": guardians.into_iter().map(|(n, r, p, uid)| json!({"user_id": uid, "name": n, "relation": r, "primary": p})).collect::<Vec<_>>(),
        "absences": absences.into_iter().map(|(d, p, e, x, w)| json!({"date": d, "period": p, "excused": e, "explanation": x, "withdrawn_at": ot(w)})).collect::<Vec<_>>(),
        "leave_requests": leaves.into_iter().map(|(k, s, e, r, st, l, ret)| json!({"kind": k, "starts_at": t(s), "ends_at": t(e), "reason": r, "status": st, "left_at": ot(l), "returned_at": ot(ret)})).collect::<Vec<_>>(),
        "handovers": handed.into_iter().map(|(d, n, r, at, disp)| json!({"date": d, "released_to": n, "relation": r, "at": t(at), "disputed_at": ot(disp)})).collect::<Vec<_>>(),
        "pickup_persons": persons.into_iter().map(|(n, r, f, u, rev, ph)| json!({"name": n, "relation": r, "valid_from": f, "valid_until": u, "revoked_at": ot(rev), "photo_kept": ph})).collect::<Vec<_>>(),
        "consents": consents.into_iter().map(|(p, g, v, c, at)| json!({"purpose": p, "given": g, "policy_version": v, "channel": c, "decided_at": t(at)})).collect::<Vec<_>>(),
    }))
}
