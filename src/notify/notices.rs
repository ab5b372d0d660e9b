//! Notices: a message from a teacher, a school or the bureau to families
//! and students. Recipients are resolved when the notice is sent and kept
//! (one feed item per account, one recipient row per account and student),
//! so later class changes do not rewrite who was told.

use super::dto::*;
use super::outbox::{self, Reason, Selector};
use super::templates::Category;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::schema::{
    classes, guardianships, notice_recipients, notices, notifications, schools, students, users,
};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::org::repo as org;
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use std::collections::{BTreeMap, HashMap, HashSet};

const PENDING_LIMIT: i64 = 1000;

fn audience_refused(detail: &str) -> ApiError {
    ApiError::forbidden(Code::AudienceNotAllowed, detail.to_string()).with_field("audience")
}

/// The audience, checked against what the sender may reach.
enum Resolved {
    Schools(Vec<String>),
    Grades(Vec<i32>),
    Classes(Vec<String>),
    Students(Vec<String>),
}

fn ids(list: &[crate::org::dto::Id]) -> Vec<String> {
    let set: std::collections::BTreeSet<String> =
        list.iter().map(|i| i.as_str().to_string()).collect();
    set.into_iter().collect()
}

fn check_audience(conn: &mut AnyConnection, caller: &Caller, a: &Audience) -> AppResult<Resolved> {
    let given = [
        a.school_ids.is_some(),
        a.grades.is_some(),
        a.class_ids.is_some(),
        a.student_ids.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(ApiError::invalid(
            "audience",
            "give exactly one of school_ids, grades, class_ids or student_ids",
        ));
    }
    let len = a.school_ids.as_ref().map(Vec::len).unwrap_or(0)
        + a.grades.as_ref().map(Vec::len).unwrap_or(0)
        + a.class_ids.as_ref().map(Vec::len).unwrap_or(0)
        + a.student_ids.as_ref().map(Vec::len).unwrap_or(0);
    if len == 0 || len > MAX_AUDIENCE_ITEMS {
        return Err(ApiError::invalid(
            "audience",
            format!("the audience must list 1 to {MAX_AUDIENCE_ITEMS} items"),
        ));
    }
    let teacher = caller.role == Role::Teacher;
    if let Some(list) = &a.school_ids {
        if teacher {
            return Err(audience_refused("a teacher sends to their own classes"));
        }
        let list = ids(list);
        for id in &list {
            org::school(conn, caller, id)?;
        }
        return Ok(Resolved::Schools(list));
    }
    if let Some(grades) = &a.grades {
        if teacher {
            return Err(audience_refused("a teacher sends to their own classes"));
        }
        if grades.iter().any(|g| !(1..=12).contains(g)) {
            return Err(ApiError::invalid("audience.grades", "grades are 1 to 12"));
        }
        let mut g = grades.clone();
        g.sort_unstable();
        g.dedup();
        return Ok(Resolved::Grades(g));
    }
    if let Some(list) = &a.class_ids {
        let list = ids(list);
        for id in &list {
            let class = org::class(conn, caller, id)?;
            if teacher && class.head_teacher_id.as_deref() != Some(caller.user_id.as_str()) {
                return Err(audience_refused("a teacher sends to their own classes"));
            }
        }
        return Ok(Resolved::Classes(list));
    }
    let list = ids(a.student_ids.as_deref().unwrap_or_default());
    for id in &list {
        let student = org::student(conn, caller, id)?;
        if teacher {
            let head: Option<String> = classes::table
                .find(&student.class_id)
                .select(classes::head_teacher_id)
                .first(conn)?;
            if head.as_deref() != Some(caller.user_id.as_str()) {
                return Err(audience_refused("a teacher sends to their own classes"));
            }
        }
    }
    Ok(Resolved::Students(list))
}

/// (user, student, class, school) for every guardian or student account reached.
type Reach = (String, String, String, String);

macro_rules! within {
    ($q:expr, $caller:expr, $resolved:expr) => {{
        let mut q = $q;
        q = match $caller.role {
            r if r.is_district() => q.filter(
                students::school_id.eq_any(
                    schools::table
                        .filter(schools::district_id.eq($caller.district_id.clone()))
                        .select(schools::id),
                ),
            ),
            _ => q.filter(students::school_id.eq($caller.school_id.clone().unwrap_or_default())),
        };
        match $resolved {
            Resolved::Schools(v) => q.filter(students::school_id.eq_any(v.clone())),
            Resolved::Grades(v) => q.filter(students::grade.eq_any(v.clone())),
            Resolved::Classes(v) => q.filter(students::class_id.eq_any(v.clone())),
            Resolved::Students(v) => q.filter(students::id.eq_any(v.clone())),
        }
    }};
}

fn reach(
    conn: &mut AnyConnection,
    caller: &Caller,
    resolved: &Resolved,
    to: NoticeTo,
) -> AppResult<(Vec<Reach>, Vec<Reach>)> {
    let mut guardians = Vec::new();
    let mut pupils = Vec::new();
    if to != NoticeTo::Students {
        let q = guardianships::table
            .inner_join(students::table)
            .inner_join(users::table)
            .filter(users::disabled.eq(false))
            .select((
                guardianships::user_id,
                students::id,
                students::class_id,
                students::school_id,
            ))
            .into_boxed();
        guardians = within!(q, caller, resolved).load::<Reach>(conn)?;
    }
    if to != NoticeTo::Guardians {
        let q = students::table
            .filter(students::user_id.is_not_null())
            .select((
                students::user_id.assume_not_null(),
                students::id,
                students::class_id,
                students::school_id,
            ))
            .into_boxed();
        pupils = within!(q, caller, resolved).load::<Reach>(conn)?;
    }
    Ok((guardians, pupils))
}

/// Sends a notice: checks the audience, resolves and keeps its recipients,
/// writes one feed item per account and the outbox rows for their
/// channels, all in the caller's transaction. Batched inserts only.
pub fn create_notice(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    req: NewNotice,
) -> AppResult<Notice> {
    if !matches!(
        caller.role,
        Role::Teacher | Role::SchoolAdmin | Role::BureauOfficer
    ) {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "teachers, school admins and bureau officers send notices",
        ));
    }
    let ack_due_at = match (req.requires_ack, req.ack_due_at) {
        (false, Some(_)) => {
            return Err(ApiError::invalid(
                "ack_due_at",
                "ack_due_at needs requires_ack",
            ))
        }
        (_, Some(d)) if d.naive_utc() <= now => {
            return Err(ApiError::invalid(
                "ack_due_at",
                "ack_due_at must be in the future",
            ))
        }
        (_, d) => d.map(|d| d.naive_utc()),
    };
    let resolved = check_audience(conn, caller, &req.audience)?;
    let (guardians, pupils) = reach(conn, caller, &resolved, req.to)?;
    if guardians.is_empty() && pupils.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::AudienceEmpty,
            "nobody with an account is in this audience",
        )
        .with_field("audience"));
    }
    let category = req.category.category();
    let id = new_id(now);
    let school_id = match (&caller.school_id, &resolved) {
        (Some(s), _) => Some(s.clone()),
        (None, Resolved::Schools(v)) if v.len() == 1 => Some(v[0].clone()),
        _ => None,
    };
    // One feed item per account, however many of its children are reached.
    let mut item_of: HashMap<&str, String> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (user, ..) in guardians.iter().chain(pupils.iter()) {
        item_of.entry(user.as_str()).or_insert_with(|| {
            order.push(user.as_str());
            new_id(now)
        });
    }
    let audience = serde_json::to_string(&req.audience).map_err(ApiError::internal)?;
    diesel::insert_into(notices::table)
        .values((
            notices::id.eq(&id),
            notices::district_id.eq(&caller.district_id),
            notices::school_id.eq(&school_id),
            notices::sender_id.eq(&caller.user_id),
            notices::audience.eq(&audience),
            notices::to_whom.eq(req.to.as_str()),
            notices::category.eq(category.as_str()),
            notices::title.eq(req.title.as_str()),
            notices::body.eq(req.body.as_str()),
            notices::requires_ack.eq(req.requires_ack),
            notices::ack_due_at.eq(ack_due_at),
            notices::recipient_count.eq(order.len() as i32),
            notices::created_at.eq(now),
        ))
        .execute(conn)?;
    let items: Vec<_> = order
        .iter()
        .map(|user| {
            (
                notifications::id.eq(item_of[user].as_str()),
                notifications::user_id.eq(*user),
                notifications::template.eq("notice"),
                notifications::data.eq("{}"),
                notifications::category.eq(category.as_str()),
                notifications::created_at.eq(now),
                notifications::notice_id.eq(Some(id.as_str())),
                notifications::requires_ack.eq(req.requires_ack),
            )
        })
        .collect();
    for chunk in items.chunks(super::INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notifications::table)
            .values(chunk)
            .execute(c))?;
    }
    let rows: Vec<_> = guardians
        .iter()
        .map(|r| (r, "guardian"))
        .chain(pupils.iter().map(|r| (r, "student")))
        .map(|((user, student, class, school), kind)| {
            (
                notice_recipients::id.eq(new_id(now)),
                notice_recipients::notice_id.eq(id.as_str()),
                notice_recipients::notification_id.eq(item_of[user.as_str()].as_str()),
                notice_recipients::user_id.eq(user.as_str()),
                notice_recipients::student_id.eq(student.as_str()),
                notice_recipients::class_id.eq(class.as_str()),
                notice_recipients::school_id.eq(school.as_str()),
                notice_recipients::kind.eq(kind),
            )
        })
        .collect();
    for chunk in rows.chunks(super::INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notice_recipients::table)
            .values(chunk)
            .execute(c))?;
    }
    outbox::enqueue(conn, now, Selector::Notice(&id), Reason::Initial, category)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "notice.send", "notice", Some(&id)).in_school(school_id.as_deref()),
    )?;
    Ok(Notice {
        id,
        school_id,
        sender_id: caller.user_id.clone(),
        audience: req.audience,
        to: req.to,
        category,
        title: req.title.into_string(),
        body: req.body.into_string(),
        requires_ack: req.requires_ack,
        ack_due_at: ack_due_at.map(to_utc),
        recipients: order.len() as i64,
        created_at: to_utc(now),
    })
}

pub(super) type NoticeRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<NaiveDateTime>,
    i32,
    NaiveDateTime,
);

pub(super) fn notice_columns() -> (
    notices::id,
    notices::school_id,
    notices::sender_id,
    notices::audience,
    notices::to_whom,
    notices::category,
    notices::title,
    notices::body,
    notices::requires_ack,
    notices::ack_due_at,
    notices::recipient_count,
    notices::created_at,
) {
    (
        notices::id,
        notices::school_id,
        notices::sender_id,
        notices::audience,
        notices::to_whom,
        notices::category,
        notices::title,
        notices::body,
        notices::requires_ack,
        notices::ack_due_at,
        notices::recipient_count,
        notices::created_at,
    )
}

pub(super) fn to_dto(r: NoticeRow) -> Notice {
    let (id, school_id, sender_id, audience, to, category, title, body, ack, due, n, at) = r;
    Notice {
        id,
        school_id,
        sender_id,
        audience: serde_json::from_str(&audience).unwrap_or(Audience {
            school_ids: None,
            grades: None,
            class_ids: None,
            student_ids: None,
        }),
        to: NoticeTo::parse(&to).unwrap_or(NoticeTo::Guardians),
        category: Category::parse(&category).unwrap_or(Category::General),
        title,
        body,
        requires_ack: ack,
        ack_due_at: due.map(to_utc),
        recipients: n as i64,
        created_at: to_utc(at),
    }
}

/// Notices the caller may see as a sender: their own; a school admin's
/// school's; the district's for district roles.
pub fn notices_in_scope(caller: &Caller) -> notices::BoxedQuery<'static, crate::db::MultiBackend> {
    let q = notices::table.into_boxed();
    match caller.role {
        r if r.is_district() => q.filter(notices::district_id.eq(caller.district_id.clone())),
        Role::SchoolAdmin => q.filter(
            notices::sender_id
                .eq(caller.user_id.clone())
                .or(notices::school_id.eq(caller.school_id.clone().unwrap_or_default())),
        ),
        _ => q.filter(notices::sender_id.eq(caller.user_id.clone())),
    }
}

pub fn notice(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Notice> {
    notices_in_scope(caller)
        .filter(notices::id.eq(id.to_string()))
        .select(notice_columns())
        .first::<NoticeRow>(conn)
        .optional()?
        .map(to_dto)
        .ok_or_else(|| ApiError::not_found("notice"))
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    recipients: i64,
    #[diesel(sql_type = BigInt)]
    delivered: i64,
    #[diesel(sql_type = BigInt)]
    read: i64,
    #[diesel(sql_type = BigInt)]
    acked: i64,
}

#[derive(QueryableByName)]
struct ClassRow {
    #[diesel(sql_type = Text)]
    class_id: String,
    #[diesel(sql_type = Text)]
    class_name: String,
    #[diesel(sql_type = Integer)]
    grade: i32,
    #[diesel(sql_type = BigInt)]
    students: i64,
    #[diesel(sql_type = BigInt)]
    read: i64,
    #[diesel(sql_type = BigInt)]
    acked: i64,
}

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Text)]
    user_name: String,
    #[diesel(sql_type = Text)]
    student_id: String,
    #[diesel(sql_type = Text)]
    student_name: String,
    #[diesel(sql_type = Text)]
    class_id: String,
    #[diesel(sql_type = Text)]
    class_name: String,
}

fn pg(conn: &AnyConnection, sql: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => sql.to_string(),
        AnyConnection::Postgresql(_) => {
            let mut out = String::new();
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

pub fn receipts(conn: &mut AnyConnection, notice: &Notice) -> AppResult<Receipts> {
    let sql = pg(
        conn,
        "SELECT COUNT(*) AS recipients, \
         COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL OR read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered, \
         COALESCE(SUM(CASE WHEN read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS read, \
         COALESCE(SUM(CASE WHEN acked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS acked \
         FROM notifications WHERE notice_id = ?",
    );
    let t: Totals = diesel::sql_query(sql)
        .bind::<Text, _>(&notice.id)
        .get_result(conn)?;
    let sql = pg(
        conn,
        "SELECT r.class_id AS class_id, c.name AS class_name, c.grade AS grade, \
         COUNT(DISTINCT r.student_id) AS students, \
         COUNT(DISTINCT CASE WHEN f.read_at IS NOT NULL THEN r.student_id END) AS read, \
         COUNT(DISTINCT CASE WHEN f.acked_at IS NOT NULL THEN r.student_id END) AS acked \
         FROM notice_recipients r JOIN notifications f ON f.id = r.notification_id \
         JOIN classes c ON c.id = r.class_id \
         WHERE r.notice_id = ? GROUP BY r.class_id, c.name, c.grade ORDER BY c.grade, c.name, r.class_id",
    );
    let by_class: Vec<ClassRow> = diesel::sql_query(sql)
        .bind::<Text, _>(&notice.id)
        .load(conn)?;
    let waiting_on = if notice.requires_ack {
        "f.acked_at"
    } else {
        "f.read_at"
    };
    let sql = pg(
        conn,
        &format!(
            "SELECT r.user_id AS user_id, u.display_name AS user_name, r.student_id AS student_id, \
             s.name AS student_name, r.class_id AS class_id, c.name AS class_name \
             FROM notice_recipients r JOIN notifications f ON f.id = r.notification_id \
             JOIN users u ON u.id = r.user_id JOIN students s ON s.id = r.student_id \
             JOIN classes c ON c.id = r.class_id \
             WHERE r.notice_id = ? AND {waiting_on} IS NULL \
             ORDER BY c.grade, c.name, s.name, u.display_name, r.id LIMIT ?"
        ),
    );
    let mut pending: Vec<PendingRow> = diesel::sql_query(sql)
        .bind::<Text, _>(&notice.id)
        .bind::<BigInt, _>(PENDING_LIMIT + 1)
        .load(conn)?;
    let truncated = pending.len() as i64 > PENDING_LIMIT;
    pending.truncate(PENDING_LIMIT as usize);
    Ok(Receipts {
        notice_id: notice.id.clone(),
        recipients: t.recipients,
        delivered: t.delivered,
        read: t.read,
        acknowledged: t.acked,
        by_class: by_class
            .into_iter()
            .map(|c| ClassReceipts {
                class_id: c.class_id,
                class_name: c.class_name,
                grade: c.grade,
                students: c.students,
                read: c.read,
                acknowledged: c.acked,
            })
            .collect(),
        pending: pending
            .into_iter()
            .map(|p| PendingRecipient {
                user_id: p.user_id,
                user_name: p.user_name,
                student_id: p.student_id,
                student_name: p.student_name,
                class_id: p.class_id,
                class_name: p.class_name,
            })
            .collect(),
        pending_truncated: truncated,
    })
}

#[derive(QueryableByName)]
struct Acked {
    #[diesel(sql_type = Text)]
    student_id: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0
    }
}

/// Per school and class in the caller's view: the share of students, and of
/// families, who acknowledged at least one notice of the category sent in
/// [from, to). Classes are the students' current ones.
pub fn coverage(
    conn: &mut AnyConnection,
    caller: &Caller,
    category: Category,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<SchoolCoverage>> {
    let schools: Vec<(String, String)> = org::schools_in_scope(caller)
        .select((schools::id, schools::name))
        .order(schools::name)
        .load(conn)?;
    let mut out = Vec::with_capacity(schools.len());
    for (school_id, school_name) in schools {
        let class_list: Vec<(String, String, i32)> = classes::table
            .filter(classes::school_id.eq(&school_id))
            .select((classes::id, classes::name, classes::grade))
            .order((classes::grade, classes::name))
            .load(conn)?;
        let pupils: Vec<(String, String)> = students::table
            .filter(students::school_id.eq(&school_id))
            .select((students::id, students::class_id))
            .load(conn)?;
        let with_family: HashSet<String> = guardianships::table
            .inner_join(students::table)
            .filter(students::school_id.eq(&school_id))
            .select(guardianships::student_id)
            .distinct()
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let sql = pg(
            conn,
            "SELECT DISTINCT r.student_id AS student_id, r.kind AS kind \
             FROM notice_recipients r JOIN notices n ON n.id = r.notice_id \
             JOIN notifications f ON f.id = r.notification_id \
             JOIN students s ON s.id = r.student_id \
             WHERE s.school_id = ? AND n.category = ? AND n.created_at >= ? AND n.created_at < ? \
             AND f.acked_at IS NOT NULL",
        );
        let acked: Vec<Acked> = diesel::sql_query(sql)
            .bind::<Text, _>(&school_id)
            .bind::<Text, _>(category.as_str())
            .bind::<Timestamp, _>(from)
            .bind::<Timestamp, _>(to)
            .load(conn)?;
        let student_acked: HashSet<&str> = acked
            .iter()
            .filter(|a| a.kind == "student")
            .map(|a| a.student_id.as_str())
            .collect();
        let family_acked: HashSet<&str> = acked
            .iter()
            .filter(|a| a.kind == "guardian")
            .map(|a| a.student_id.as_str())
            .collect();
        // class → [students, students acked, families, families acked]
        let mut per: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
        for (student, class) in &pupils {
            let e = per.entry(class.as_str()).or_default();
            e[0] += 1;
            e[1] += student_acked.contains(student.as_str()) as i64;
            let fam = with_family.contains(student);
            e[2] += fam as i64;
            e[3] += (fam && family_acked.contains(student.as_str())) as i64;
        }
        let figures = |v: [i64; 4]| CoverageFigures {
            students: v[0],
            students_acknowledged: v[1],
            student_share: share(v[1], v[0]),
            families: v[2],
            families_acknowledged: v[3],
            family_share: share(v[3], v[2]),
        };
        let mut total = [0i64; 4];
        let classes_out: Vec<ClassCoverage> = class_list
            .into_iter()
            .map(|(id, name, grade)| {
                let v = per.get(id.as_str()).copied().unwrap_or_default();
                for i in 0..4 {
                    total[i] += v[i];
                }
                ClassCoverage {
                    class_id: id,
                    name,
                    grade,
                    figures: figures(v),
                }
            })
            .collect();
        out.push(SchoolCoverage {
            school_id,
            name: school_name,
            figures: figures(total),
            classes: classes_out,
        });
    }
    Ok(out)
}
