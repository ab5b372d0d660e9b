//! Where a pupil is at a moment: what the pickup handover and the dismissal
//! board ask before a pupil is released.

use crate::clock::school_local;
use crate::db::schema::{absences, roll_calls, students};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::leave::repo::{covering_leave, date_key, timezone};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Where a student is, for the pickup handover and the dismissal board.
pub enum Presence {
    Present,
    /// Marked absent at a roll call that school day (and not on leave).
    Absent,
    /// An approved leave covers the moment, or the student left through
    /// the gate on leave and has not come back.
    OnLeave,
}

/// Where `student_id` is at `at_utc`: on leave first; else absent when the
/// latest roll call of that school day so far (not withdrawn) marked them
/// absent — a pupil who came late and was present at a later period is
/// here; else present.
pub fn presence(
    conn: &mut AnyConnection,
    student_id: &str,
    at_utc: DateTime<Utc>,
) -> AppResult<Presence> {
    let at = at_utc.naive_utc();
    if covering_leave(conn, student_id, at)?.is_some() {
        return Ok(Presence::OnLeave);
    }
    let (school_id, class_id) = students::table
        .find(student_id)
        .select((students::school_id, students::class_id))
        .first::<(String, String)>(conn)?;
    let tz = timezone(conn, &school_id)?;
    let today = date_key(school_local(at_utc, &tz).date());
    let latest: Option<String> = roll_calls::table
        .filter(roll_calls::class_id.eq(&class_id))
        .filter(roll_calls::local_date.eq(&today))
        .filter(roll_calls::taken_at.le(at))
        .order(roll_calls::period.desc())
        .select(roll_calls::id)
        .first(conn)
        .optional()?;
    let Some(roll_call_id) = latest else {
        return Ok(Presence::Present);
    };
    let absent = absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::roll_call_id.eq(roll_call_id))
        .filter(absences::withdrawn_at.is_null())
        .count()
        .get_result::<i64>(conn)?;
    Ok(if absent > 0 {
        Presence::Absent
    } else {
        Presence::Present
    })
}
