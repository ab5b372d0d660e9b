//! Notices: who they reach, what is kept of them, and their receipts and
//! coverage figures.

use crate::auth::{Caller, Role};
use crate::db::schema::{
    classes, guardianships, notice_recipients, notices, notifications, schools, students, users,
};
use crate::db::{dialect, INSERT_CHUNK};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use crate::notices::dto::NoticeTo;
use crate::notices::model::{
    Acked, ClassRow, NoticeInsert, NoticeRow, PendingRow, Reach, Resolved, Totals,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Text, Timestamp};

/// The head teacher of a class.
pub fn head_teacher(conn: &mut AnyConnection, class_id: &str) -> AppResult<Option<String>> {
    Ok(classes::table
        .find(class_id)
        .select(classes::head_teacher_id)
        .first(conn)?)
}

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

/// The guardian and student accounts an audience reaches, within the
/// sender's school or district.
pub fn reach(
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

pub fn insert_notice(conn: &mut AnyConnection, row: &NoticeInsert<'_>) -> AppResult<()> {
    diesel::insert_into(notices::table)
        .values((
            notices::id.eq(row.id),
            notices::district_id.eq(row.district_id),
            notices::school_id.eq(row.school_id),
            notices::sender_id.eq(row.sender_id),
            notices::audience.eq(row.audience),
            notices::to_whom.eq(row.to_whom),
            notices::category.eq(row.category),
            notices::title.eq(row.title),
            notices::body.eq(row.body),
            notices::requires_ack.eq(row.requires_ack),
            notices::ack_due_at.eq(row.ack_due_at),
            notices::recipient_count.eq(row.recipient_count),
            notices::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// One feed item per (user, item id) for a notice, batched. On PostgreSQL
/// the whole audience is one statement over arrays (`unnest`): a round
/// trip per thousand rows was most of a district-wide notice's time.
pub fn insert_items(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    notice: &NoticeInsert<'_>,
    items: &[(&str, &str)],
) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        let (users, ids): (Vec<&str>, Vec<&str>) = items.iter().copied().unzip();
        diesel::sql_query(
            "INSERT INTO notifications \
             (id, user_id, template, data, category, created_at, notice_id, requires_ack) \
             SELECT i, u, 'notice', '{}', $3, $4, $5, $6 \
             FROM unnest($1::text[], $2::text[]) AS t(i, u)",
        )
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(users)
        .bind::<Text, _>(notice.category)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(notice.id)
        .bind::<Bool, _>(notice.requires_ack)
        .execute(c)?;
        return Ok(());
    }
    let rows: Vec<_> = items
        .iter()
        .map(|(user, item)| {
            (
                notifications::id.eq(*item),
                notifications::user_id.eq(*user),
                notifications::template.eq("notice"),
                notifications::data.eq("{}"),
                notifications::category.eq(notice.category),
                notifications::created_at.eq(now),
                notifications::notice_id.eq(Some(notice.id)),
                notifications::requires_ack.eq(notice.requires_ack),
            )
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notifications::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// One recipient row per (reach, kind, feed item id), batched (on
/// PostgreSQL one statement over arrays, as `insert_items`).
pub fn insert_recipients(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    notice_id: &str,
    recipients: &[(&Reach, &str, &str)],
) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        let n = recipients.len();
        let (mut ids, mut items, mut users) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut pupils, mut classes_, mut schools_, mut kinds) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((user, student, class, school), kind, item) in recipients {
            ids.push(new_id(now));
            items.push(*item);
            users.push(user.as_str());
            pupils.push(student.as_str());
            classes_.push(class.as_str());
            schools_.push(school.as_str());
            kinds.push(*kind);
        }
        diesel::sql_query(
            "INSERT INTO notice_recipients \
             (id, notice_id, notification_id, user_id, student_id, class_id, school_id, kind) \
             SELECT i, $8, n, u, p, c, s, k \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::text[], $7::text[]) AS t(i, n, u, p, c, s, k)",
        )
        .bind::<Array<Text>, _>(ids)
        .bind::<Array<Text>, _>(items)
        .bind::<Array<Text>, _>(users)
        .bind::<Array<Text>, _>(pupils)
        .bind::<Array<Text>, _>(classes_)
        .bind::<Array<Text>, _>(schools_)
        .bind::<Array<Text>, _>(kinds)
        .bind::<Text, _>(notice_id)
        .execute(c)?;
        return Ok(());
    }
    let rows: Vec<_> = recipients
        .iter()
        .map(|((user, student, class, school), kind, item)| {
            (
                notice_recipients::id.eq(new_id(now)),
                notice_recipients::notice_id.eq(notice_id),
                notice_recipients::notification_id.eq(*item),
                notice_recipients::user_id.eq(user.as_str()),
                notice_recipients::student_id.eq(student.as_str()),
                notice_recipients::class_id.eq(class.as_str()),
                notice_recipients::school_id.eq(school.as_str()),
                notice_recipients::kind.eq(*kind),
            )
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notice_recipients::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

type NoticeColumns = (
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
);

fn notice_columns() -> NoticeColumns {
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

/// Notices the caller may see as a sender: their own; a school admin's
/// school's; the district's for district roles.
fn notices_in_scope(caller: &Caller) -> notices::BoxedQuery<'static, crate::db::MultiBackend> {
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

/// A page of the notices in the caller's view, newest first.
pub fn list(
    conn: &mut AnyConnection,
    caller: &Caller,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<NoticeRow>> {
    let mut q = notices_in_scope(caller)
        .select(notice_columns())
        .order(notices::id.desc())
        .limit(limit);
    if let Some(c) = cursor {
        q = q.filter(notices::id.lt(c));
    }
    Ok(q.load::<NoticeRow>(conn)?)
}

/// One notice in the caller's view.
pub fn visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<NoticeRow>> {
    Ok(notices_in_scope(caller)
        .filter(notices::id.eq(id.to_string()))
        .select(notice_columns())
        .first::<NoticeRow>(conn)
        .optional()?)
}

/// Recipients, and those delivered, read and acknowledged, of a notice.
pub fn totals(conn: &mut AnyConnection, notice_id: &str) -> AppResult<Totals> {
    let sql = dialect(
        conn,
        "SELECT COUNT(*) AS recipients, \
         COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL OR read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered, \
         COALESCE(SUM(CASE WHEN read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS read, \
         COALESCE(SUM(CASE WHEN acked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS acked \
         FROM notifications WHERE notice_id = ?",
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(notice_id)
        .get_result(conn)?)
}

/// A notice's receipts counted by class.
pub fn by_class(conn: &mut AnyConnection, notice_id: &str) -> AppResult<Vec<ClassRow>> {
    let sql = dialect(
        conn,
        "SELECT r.class_id AS class_id, c.name AS class_name, c.grade AS grade, \
         COUNT(DISTINCT r.student_id) AS students, \
         COUNT(DISTINCT CASE WHEN f.read_at IS NOT NULL THEN r.student_id END) AS read, \
         COUNT(DISTINCT CASE WHEN f.acked_at IS NOT NULL THEN r.student_id END) AS acked \
         FROM notice_recipients r JOIN notifications f ON f.id = r.notification_id \
         JOIN classes c ON c.id = r.class_id \
         WHERE r.notice_id = ? GROUP BY r.class_id, c.name, c.grade ORDER BY c.grade, c.name, r.class_id",
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(notice_id)
        .load(conn)?)
}

/// Up to `limit` recipients who have not acknowledged (or, when no
/// acknowledgement is asked, read) a notice.
pub fn pending(
    conn: &mut AnyConnection,
    notice_id: &str,
    requires_ack: bool,
    limit: i64,
) -> AppResult<Vec<PendingRow>> {
    let waiting_on = if requires_ack {
        "f.acked_at"
    } else {
        "f.read_at"
    };
    let sql = dialect(
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
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(notice_id)
        .bind::<BigInt, _>(limit)
        .load(conn)?)
}

/// (id, name) of the schools in the caller's view, by name.
pub fn schools(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<(String, String)>> {
    Ok(crate::org::repo::schools_in_scope(caller)
        .select((schools::id, schools::name))
        .order(schools::name)
        .load(conn)?)
}

/// (id, name, grade) of a school's classes, by grade and name.
pub fn classes_of(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<(String, String, i32)>> {
    Ok(classes::table
        .filter(classes::school_id.eq(school_id))
        .select((classes::id, classes::name, classes::grade))
        .order((classes::grade, classes::name))
        .load(conn)?)
}

/// (student, class) of a school's pupils.
pub fn pupils_of(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<(String, String)>> {
    Ok(students::table
        .filter(students::school_id.eq(school_id))
        .select((students::id, students::class_id))
        .load(conn)?)
}

/// A school's pupils with at least one guardian.
pub fn with_family(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<String>> {
    Ok(guardianships::table
        .inner_join(students::table)
        .filter(students::school_id.eq(school_id))
        .select(guardianships::student_id)
        .distinct()
        .load::<String>(conn)?)
}

/// The (student, kind of recipient) pairs of a school that acknowledged a
/// notice of the category sent in [from, to).
pub fn acknowledged(
    conn: &mut AnyConnection,
    school_id: &str,
    category: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> AppResult<Vec<Acked>> {
    let sql = dialect(
        conn,
        "SELECT DISTINCT r.student_id AS student_id, r.kind AS kind \
         FROM notice_recipients r JOIN notices n ON n.id = r.notice_id \
         JOIN notifications f ON f.id = r.notification_id \
         JOIN students s ON s.id = r.student_id \
         WHERE s.school_id = ? AND n.category = ? AND n.created_at >= ? AND n.created_at < ? \
         AND f.acked_at IS NOT NULL",
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(school_id)
        .bind::<Text, _>(category)
        .bind::<Timestamp, _>(from)
        .bind::<Timestamp, _>(to)
        .load(conn)?)
}
