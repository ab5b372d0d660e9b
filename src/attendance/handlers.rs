//! Roll calls, absences and their alerts, the confidential concern pattern,
//! and a student's attendance record.

use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, school_local_to_utc, to_utc};
use crate::config::LeavePolicy;
use crate::db::schema::{absences, classes, concerns, leave_requests, roll_calls, students};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page, PageQuery};
use crate::leave::dto::*;
use crate::leave::repo::{self, date_key, parse_date_key};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};
use chrono::Datelike;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

const MAX_ABSENT: usize = 200;
/// How far back a roll call may be taken or corrected.
const ROLL_CALL_MAX_DAYS_BACK: i64 = 7;

#[derive(Queryable, Selectable)]
#[diesel(table_name = absences)]
struct AbsenceRow {
    id: String,
    student_id: String,
    local_date: String,
    period: i32,
    excused: bool,
    leave_id: Option<String>,
    explanation: Option<String>,
    explained_at: Option<NaiveDateTime>,
    withdrawn_at: Option<NaiveDateTime>,
}

impl AbsenceRow {
    fn into_dto(self, student_name: String, show_explanation: bool) -> Absence {
        Absence {
            id: self.id,
            student_id: self.student_id,
            student_name,
            date: parse_date_key(&self.local_date),
            period: self.period,
            excused: self.excused,
            leave_id: self.leave_id,
            explanation: self.explanation.filter(|_| show_explanation),
            explained_at: self.explained_at.map(to_utc),
            withdrawn: self.withdrawn_at.is_some(),
        }
    }
}

fn names(conn: &mut AnyConnection, ids: &[String]) -> AppResult<HashMap<String, String>> {
    Ok(students::table
        .filter(students::id.eq_any(ids))
        .select((students::id, students::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Absences as `caller` may see them: the family's explanation only where
/// `family::family_words_visible` allows.
fn absence_views(
    conn: &mut AnyConnection,
    caller: &Caller,
    rows: Vec<AbsenceRow>,
) -> AppResult<Vec<Absence>> {
    let ids: Vec<String> = rows.iter().map(|r| r.student_id.clone()).collect();
    let pupils: HashMap<String, (String, String, String)> = students::table
        .filter(students::id.eq_any(&ids))
        .select((
            students::id,
            students::name,
            students::school_id,
            students::class_id,
        ))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, school, class)| (id, (name, school, class)))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (name, show) = match pupils.get(&r.student_id) {
            Some((name, school, class)) => (
                name.clone(),
                family::family_words_visible(conn, caller, school, class)?,
            ),
            None => (String::new(), false),
        };
        out.push(r.into_dto(name, show));
    }
    Ok(out)
}

/// Take (or correct) the roll call of one lesson. Every absent student
/// without an approved leave covering it is an unexcused absence, and
/// their guardians are alerted at once. A second roll call of the same
/// class, date and period replaces the first: students no longer absent
/// have their alerts withdrawn with a follow-up notification.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "class id")),
    request_body = NewRollCall,
    responses(
        (status = 201, body = RollCall),
    )
)]
#[post("/classes/{id}/roll-calls")]
pub(super) async fn take_roll_call(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewRollCall>,
) -> AppResult<HttpResponse> {
    if !matches!(caller.role, Role::Teacher | Role::SchoolAdmin) {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "a teacher of the school takes the roll call",
        ));
    }
    let class_id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner()?;
    if !(1..=12).contains(&b.period) {
        return Err(ApiError::invalid("period", "period must be from 1 to 12"));
    }
    if b.absent.len() > MAX_ABSENT {
        return Err(ApiError::invalid("absent", "at most 200 students"));
    }
    let now_utc = state.now();
    let now = state.now_db();
    let policy = state.settings.leave.clone();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let class = crate::org::repo::class(conn, &caller, &class_id)?;
            let tz = repo::timezone(conn, &class.school_id)?;
            let today = school_local(now_utc, &tz).date();
            if b.date > today {
                return Err(ApiError::invalid(
                    "date",
                    "a roll call cannot be taken for a future date",
                ));
            }
            if b.date < today - chrono::Duration::days(ROLL_CALL_MAX_DAYS_BACK) {
                return Err(ApiError::invalid(
                    "date",
                    "a roll call may be taken or corrected up to 7 days later",
                ));
            }
            let members: BTreeSet<String> = students::table
                .filter(students::class_id.eq(&class.id))
                .select(students::id)
                .load::<String>(conn)?
                .into_iter()
                .collect();
            let mut absent = BTreeSet::new();
            for (i, s) in b.absent.iter().enumerate() {
                if !members.contains(s.as_str()) {
                    return Err(ApiError::invalid(
                        format!("absent[{i}]"),
                        "not a student of this class",
                    ));
                }
                absent.insert(s.as_str().to_string());
            }
            let date = date_key(b.date);
            let existing: Option<String> = roll_calls::table
                .filter(roll_calls::class_id.eq(&class.id))
                .filter(roll_calls::local_date.eq(&date))
                .filter(roll_calls::period.eq(b.period))
                .select(roll_calls::id)
                .first(conn)
                .optional()?;
            let corrected = existing.is_some();
            let roll_call_id = match existing {
                Some(id) => {
                    diesel::update(roll_calls::table.find(&id))
                        .set((
                            roll_calls::taken_by.eq(&caller.user_id),
                            roll_calls::corrected_at.eq(now),
                        ))
                        .execute(conn)?;
                    id
                }
                None => {
                    let id = new_id(now);
                    diesel::insert_into(roll_calls::table)
                        .values((
                            roll_calls::id.eq(&id),
                            roll_calls::class_id.eq(&class.id),
                            roll_calls::school_id.eq(&class.school_id),
                            roll_calls::local_date.eq(&date),
                            roll_calls::period.eq(b.period),
                            roll_calls::taken_by.eq(&caller.user_id),
                            roll_calls::taken_at.eq(now),
                        ))
                        .execute(conn)?;
                    id
                }
            };
            let before: Vec<AbsenceRow> = absences::table
                .filter(absences::roll_call_id.eq(&roll_call_id))
                .filter(absences::withdrawn_at.is_null())
                .select(AbsenceRow::as_select())
                .load(conn)?;
            let student_names = names(conn, &members.iter().cloned().collect::<Vec<_>>())?;
            let data_for = |student_id: &str| {
                serde_json::json!({
                    "student": student_names.get(student_id).cloned().unwrap_or_default(),
                    "student_id": student_id,
                    "date": date,
                    "period": b.period,
                })
            };
            // Students no longer absent: the alert was wrong.
            let mut withdrawn = Vec::new();
            for a in &before {
                if absent.contains(&a.student_id) {
                    continue;
                }
                diesel::update(absences::table.find(&a.id))
                    .set(absences::withdrawn_at.eq(now))
                    .execute(conn)?;
                if !a.excused {
                    let guardians = crate::org::family::guardians(conn, &a.student_id)?;
                    notify::send(
                        conn,
                        now,
                        &guardians,
                        Template::AbsenceWithdrawn,
                        data_for(&a.student_id),
                        Category::Attendance,
                    )?;
                }
                withdrawn.push(a.student_id.clone());
            }
            // The moment the roll call is about: now for today's lesson; for
            // an earlier day, any leave that day covers it.
            let day_start = school_local_to_utc(b.date.and_time(chrono::NaiveTime::MIN), &tz);
            let day_end = school_local_to_utc(
                b.date
                    .succ_opt()
                    .unwrap_or(b.date)
                    .and_time(chrono::NaiveTime::MIN),
                &tz,
            );
            let already: BTreeSet<String> = before.iter().map(|a| a.student_id.clone()).collect();
            for student_id in absent.iter().filter(|s| !already.contains(*s)) {
                let leave = if b.date == today {
                    repo::covering_leave(conn, student_id, now)?
                } else {
                    repo::leave_on_date(conn, student_id, day_start, day_end)?
                };
                diesel::insert_into(absences::table)
                    .values((
                        absences::id.eq(new_id(now)),
                        absences::roll_call_id.eq(&roll_call_id),
                        absences::student_id.eq(student_id),
                        absences::school_id.eq(&class.school_id),
                        absences::local_date.eq(&date),
                        absences::period.eq(b.period),
                        absences::excused.eq(leave.is_some()),
                        absences::leave_id.eq(&leave),
                        absences::created_at.eq(now),
                    ))
                    .execute(conn)?;
                if leave.is_none() {
                    let guardians = crate::org::family::guardians(conn, student_id)?;
                    notify::send(
                        conn,
                        now,
                        &guardians,
                        Template::AbsenceUnexcused,
                        data_for(student_id),
                        Category::Attendance,
                    )?;
                    raise_concern_if_pattern(conn, now, &policy, student_id, b.date)?;
                }
            }
            let action = if corrected {
                "roll_call.correct"
            } else {
                "roll_call.take"
            };
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, action, "roll_call", Some(&roll_call_id))
                    .in_school(Some(&class.school_id)),
            )?;
            let rows: Vec<AbsenceRow> = absences::table
                .filter(absences::roll_call_id.eq(&roll_call_id))
                .filter(absences::withdrawn_at.is_null())
                .select(AbsenceRow::as_select())
                .order(absences::student_id)
                .load(conn)?;
            Ok(RollCall {
                id: roll_call_id,
                class_id: class.id,
                date: b.date,
                period: b.period,
                corrected,
                absences: absence_views(conn, &caller, rows)?,
                withdrawn_student_ids: withdrawn,
            })
        })
        .await
}

/// Raises one confidential concern when the student's unexcused absences
/// reach the threshold within the window ending on `date`, unless a concern
/// of an overlapping window exists. Told only to the head teacher, the
/// school's counsellors and its admins; never to the family or other staff.
fn raise_concern_if_pattern(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    policy: &LeavePolicy,
    student_id: &str,
    date: NaiveDate,
) -> AppResult<()> {
    let start = date - chrono::Duration::days(policy.concern_window_days - 1);
    let days: Vec<String> = absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::excused.eq(false))
        .filter(absences::withdrawn_at.is_null())
        .filter(absences::local_date.ge(date_key(start)))
        .filter(absences::local_date.le(date_key(date)))
        .select(absences::local_date)
        .distinct()
        .load(conn)?;
    if (days.len() as i64) < policy.concern_absences {
        return Ok(());
    }
    let overlapping = concerns::table
        .filter(concerns::student_id.eq(student_id))
        .filter(concerns::window_end.ge(date_key(start)))
        .count()
        .get_result::<i64>(conn)?;
    if overlapping > 0 {
        return Ok(());
    }
    let (school_id, class_id, name) = students::table
        .find(student_id)
        .select((students::school_id, students::class_id, students::name))
        .first::<(String, String, String)>(conn)?;
    let id = new_id(now);
    diesel::insert_into(concerns::table)
        .values((
            concerns::id.eq(&id),
            concerns::student_id.eq(student_id),
            concerns::school_id.eq(&school_id),
            concerns::window_start.eq(date_key(start)),
            concerns::window_end.eq(date_key(date)),
            concerns::absence_days.eq(days.len() as i32),
            concerns::created_at.eq(now),
        ))
        .execute(conn)?;
    let mut to: Vec<String> = family::head_teacher_of(conn, &class_id)?
        .into_iter()
        .collect();
    to.extend(family::users_with_role(conn, &school_id, Role::Counselor)?);
    to.extend(family::users_with_role(
        conn,
        &school_id,
        Role::SchoolAdmin,
    )?);
    to.sort();
    to.dedup();
    notify::send(
        conn,
        now,
        &to,
        Template::ConcernRaised,
        serde_json::json!({"student": name, "student_id": student_id, "concern_id": id,
                           "count": days.len(), "days": policy.concern_window_days}),
        Category::Attendance,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::system("concern.raise", "concern", Some(&id)).in_school(Some(&school_id)),
    )?;
    Ok(())
}

/// A guardian answers an absence alert.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "absence id")),
    request_body = Explain,
    responses(
        (status = 200, body = Absence),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/absences/{id}/explain")]
pub(super) async fn explain(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<Explain>,
) -> AppResult<web::Json<Absence>> {
    let id = id.into_inner();
    let note = body.into_inner()?.note;
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| {
            let row: AbsenceRow = absences::table
                .find(&id)
                .select(AbsenceRow::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| ApiError::not_found("absence"))?;
            let (student, rel) =
                crate::org::family::student_for_family_or_school(conn, &caller, &row.student_id)
                    .map_err(|_| ApiError::not_found("absence"))?;
            if !rel.guardian {
                return Err(ApiError::forbidden(
                    Code::GuardianRequired,
                    "only a guardian of the student explains an absence",
                ));
            }
            if row.withdrawn_at.is_some() {
                return Err(ApiError::conflict(
                    Code::AbsenceWithdrawn,
                    "this absence was withdrawn by a correction",
                ));
            }
            diesel::update(absences::table.find(&row.id))
                .set((
                    absences::explanation.eq(note.as_str()),
                    absences::explained_by.eq(&caller.user_id),
                    absences::explained_at.eq(now),
                ))
                .execute(conn)?;
            let to: Vec<String> = family::head_teacher_of(conn, &student.class_id)?.into_iter().collect();
            notify::send(
                conn,
                now,
                &to,
                Template::AbsenceExplained,
                serde_json::json!({"student": student.name, "student_id": student.id,
                                   "absence_id": row.id, "date": row.local_date, "period": row.period}),
                Category::Attendance,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "absence.explain", "absence", Some(&row.id))
                    .in_school(Some(&student.school_id)),
            )?;
            let row: AbsenceRow = absences::table
                .find(&row.id)
                .select(AbsenceRow::as_select())
                .first(conn)?;
            // The guardian who wrote it reads it back.
            Ok(row.into_dto(student.name, true))
        })
        .await?;
    Ok(web::Json(view))
}

/// Confidential concerns: a head teacher sees their classes', the school's
/// counsellors and admins see the school's. No one else, and never a family.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Concern>),
    )
)]
#[get("/concerns")]
pub(super) async fn list_concerns(
    state: State,
    caller: Caller,
    q: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Concern>>> {
    let limit = q.limit()?;
    let cursor = q.cursor()?;
    let now = state.now_db();
    let page = state
        .db
        .write(move |conn| {
            let school = caller.school_id.clone().unwrap_or_default();
            let mut query = concerns::table
                .inner_join(students::table)
                .filter(concerns::school_id.eq(&school))
                .select((
                    concerns::id,
                    concerns::student_id,
                    students::name,
                    students::class_id,
                    concerns::window_start,
                    concerns::window_end,
                    concerns::absence_days,
                    concerns::created_at,
                ))
                .order(concerns::id.desc())
                .limit(limit + 1)
                .into_boxed();
            match caller.role {
                Role::SchoolAdmin | Role::Counselor => {}
                Role::Teacher => {
                    let mine: Vec<String> = classes::table
                        .filter(classes::head_teacher_id.eq(&caller.user_id))
                        .select(classes::id)
                        .load(conn)?;
                    query = query.filter(students::class_id.eq_any(mine));
                }
                _ => {
                    return Err(ApiError::forbidden(
                        Code::ForbiddenRole,
                        "concerns are for the head teacher, the counsellors and the school admin",
                    ))
                }
            }
            if let Some(c) = cursor {
                query = query.filter(concerns::id.lt(c));
            }
            type ConcernTuple = (
                String,
                String,
                String,
                String,
                String,
                String,
                i32,
                NaiveDateTime,
            );
            let rows: Vec<ConcernTuple> = query.load(conn)?;
            let page = Page::from_rows(rows, limit, |r: &ConcernTuple| r.0.clone());
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "concern.list", "concern", None).in_school(Some(&school)),
            )?;
            Ok(Page {
                items: page
                    .items
                    .into_iter()
                    .map(|r| Concern {
                        id: r.0,
                        student_id: r.1,
                        student_name: r.2,
                        class_id: r.3,
                        window_start: parse_date_key(&r.4),
                        window_end: parse_date_key(&r.5),
                        absence_days: r.6,
                        created_at: to_utc(r.7),
                    })
                    .collect(),
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// A student's absences and leaves over a range of school dates (guardians
/// and the school's staff).
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), AttendanceQuery),
    responses(
        (status = 200, body = Attendance),
    )
)]
#[get("/students/{id}/attendance")]
pub(super) async fn attendance(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<AttendanceQuery>,
) -> AppResult<web::Json<Attendance>> {
    let id = id.into_inner();
    let q = q.into_inner();
    let now_utc = state.now();
    let view = state
        .db
        .read(move |conn| {
            let (student, _) =
                crate::org::family::student_for_family_or_school(conn, &caller, &id)?;
            let tz = repo::timezone(conn, &student.school_id)?;
            let to = q.to.unwrap_or_else(|| school_local(now_utc, &tz).date());
            // Dates far outside any school year are bad input, not arithmetic overflow.
            let plausible = |d: NaiveDate| (2000..=2100).contains(&d.year());
            if !plausible(to) || q.from.is_some_and(|f| !plausible(f)) {
                return Err(ApiError::invalid(
                    "to",
                    "dates must be between the years 2000 and 2100",
                ));
            }
            let from = q.from.unwrap_or(to - chrono::Duration::days(30));
            if from > to {
                return Err(ApiError::invalid("from", "from must not be after to"));
            }
            if to - from > chrono::Duration::days(366) {
                return Err(ApiError::invalid("from", "at most 366 days at once"));
            }
            let rows: Vec<AbsenceRow> = absences::table
                .filter(absences::student_id.eq(&student.id))
                .filter(absences::local_date.ge(date_key(from)))
                .filter(absences::local_date.le(date_key(to)))
                .select(AbsenceRow::as_select())
                .order((absences::local_date, absences::period))
                .load(conn)?;
            let unexcused_days = rows
                .iter()
                .filter(|r| !r.excused && r.withdrawn_at.is_none())
                .map(|r| r.local_date.clone())
                .collect::<BTreeSet<_>>()
                .len() as i64;
            let start = school_local_to_utc(from.and_time(chrono::NaiveTime::MIN), &tz);
            let end = school_local_to_utc(
                to.succ_opt().unwrap_or(to).and_time(chrono::NaiveTime::MIN),
                &tz,
            );
            let leaves: Vec<repo::LeaveRow> = leave_requests::table
                .filter(leave_requests::student_id.eq(&student.id))
                .filter(leave_requests::starts_at.lt(end))
                .filter(leave_requests::ends_at.gt(start))
                .select(repo::LeaveRow::as_select())
                .order(leave_requests::starts_at)
                .load(conn)?;
            Ok(Attendance {
                student_id: student.id.clone(),
                from,
                to,
                absences: absence_views(conn, &caller, rows)?,
                leaves: repo::views(conn, &caller, leaves)?,
                unexcused_days,
            })
        })
        .await?;
    Ok(web::Json(view))
}
