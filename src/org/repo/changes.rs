//! Statements of records that change: edits under a row lock, the end of
//! a guardianship, the staff list, and staff departures.

use crate::auth::{Caller, Role};
use crate::db::schema::{classes, guardianships, schools, students, users};
use crate::db::{AnyConnection, MultiBackend};
use crate::error::AppResult;
use crate::org::model::{ClassRow, SchoolRow, StudentRow, UserRow};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The records an edit may change, each locked while one edit runs.
pub enum Editable {
    School,
    Class,
    Student,
    User,
}

/// Makes concurrent edits of one record wait for each other on PostgreSQL
/// (SQLite's write transactions are serial already), so the second checks
/// its If-Match against what the first wrote.
pub fn lock_for_edit(conn: &mut AnyConnection, what: Editable, id: &str) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        let id = id.to_string();
        match what {
            Editable::School => schools::table
                .find(id)
                .select(schools::id)
                .for_update()
                .first::<String>(c)
                .optional()?,
            Editable::Class => classes::table
                .find(id)
                .select(classes::id)
                .for_update()
                .first::<String>(c)
                .optional()?,
            Editable::Student => students::table
                .find(id)
                .select(students::id)
                .for_update()
                .first::<String>(c)
                .optional()?,
            Editable::User => users::table
                .find(id)
                .select(users::id)
                .for_update()
                .first::<String>(c)
                .optional()?,
        };
    }
    Ok(())
}

pub fn update_student(conn: &mut AnyConnection, row: &StudentRow) -> diesel::QueryResult<()> {
    diesel::update(students::table.find(&row.id))
        .set((
            students::class_id.eq(&row.class_id),
            students::name.eq(&row.name),
            students::student_no.eq(&row.student_no),
            students::grade.eq(row.grade),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn update_user(conn: &mut AnyConnection, row: &UserRow) -> AppResult<()> {
    diesel::update(users::table.find(&row.id))
        .set((
            users::display_name.eq(&row.display_name),
            users::phone.eq(&row.phone),
            users::email.eq(&row.email),
            users::language.eq(&row.language),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update_class(conn: &mut AnyConnection, row: &ClassRow) -> diesel::QueryResult<()> {
    diesel::update(classes::table.find(&row.id))
        .set((
            classes::name.eq(&row.name),
            classes::head_teacher_id.eq(&row.head_teacher_id),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn update_school(conn: &mut AnyConnection, row: &SchoolRow) -> AppResult<()> {
    diesel::update(schools::table.find(&row.id))
        .set((
            schools::name.eq(&row.name),
            schools::dismissal_time.eq(&row.dismissal_time),
            schools::timezone.eq(&row.timezone),
        ))
        .execute(conn)?;
    Ok(())
}

/// A pupil's guardianships, primary first.
pub fn guardianships_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<crate::org::dto::Guardian>> {
    let rows: Vec<(String, String, String, String, bool)> = guardianships::table
        .filter(guardianships::student_id.eq(student_id))
        .order((guardianships::is_primary.desc(), guardianships::id.asc()))
        .select((
            guardianships::id,
            guardianships::student_id,
            guardianships::user_id,
            guardianships::relation,
            guardianships::is_primary,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, student_id, user_id, relation, primary)| crate::org::dto::Guardian {
                id,
                student_id,
                user_id,
                relation,
                primary,
            },
        )
        .collect())
}

pub fn make_primary(conn: &mut AnyConnection, guardianship_id: &str) -> AppResult<()> {
    diesel::update(guardianships::table.find(guardianship_id))
        .set(guardianships::is_primary.eq(true))
        .execute(conn)?;
    Ok(())
}

pub fn delete_guardianship(conn: &mut AnyConnection, guardianship_id: &str) -> AppResult<()> {
    diesel::delete(guardianships::table.find(guardianship_id)).execute(conn)?;
    Ok(())
}

/// What a staff list is narrowed to.
pub struct StaffFilter {
    pub school_id: Option<String>,
    pub role: Option<Role>,
    pub q: Option<String>,
}

/// Staff accounts the caller oversees: the district's schools' for district
/// roles, their own school's for a school admin, none for anyone else.
fn staff_in_scope(caller: &Caller) -> users::BoxedQuery<'static, MultiBackend> {
    let staff: Vec<&str> = [
        Role::SchoolAdmin,
        Role::Teacher,
        Role::Guard,
        Role::Counselor,
        Role::LegalVp,
        Role::DormManager,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    let q = users::table
        .into_boxed()
        .filter(users::role.eq_any(staff))
        .filter(users::school_id.is_not_null());
    match caller.role {
        r if r.is_district() => q.filter(users::district_id.eq(caller.district_id.clone())),
        Role::SchoolAdmin => {
            q.filter(users::school_id.eq(caller.school_id.clone().unwrap_or_default()))
        }
        _ => q.filter(users::id.is_null()),
    }
}

/// One page of the staff the caller oversees, by id.
pub fn staff_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    filter: &StaffFilter,
    limit: i64,
    after: Option<String>,
) -> AppResult<Vec<UserRow>> {
    let mut q = staff_in_scope(caller)
        .select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit + 1);
    if let Some(school) = &filter.school_id {
        q = q.filter(users::school_id.eq(school.clone()));
    }
    if let Some(role) = filter.role {
        q = q.filter(users::role.eq(role.as_str()));
    }
    if let Some(text) = &filter.q {
        let pattern = format!("%{}%", like_escaped(text));
        let lower = format!("%{}%", like_escaped(&text.to_lowercase()));
        q = q.filter(
            users::display_name
                .like(pattern)
                .escape('\\')
                .or(users::username.like(lower).escape('\\')),
        );
    }
    if let Some(c) = after {
        q = q.filter(users::id.gt(c));
    }
    Ok(q.load(conn)?)
}

/// Text matched literally inside a LIKE pattern.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Plans (or moves) a staff member's departure.
pub fn plan_departure(
    conn: &mut AnyConnection,
    user_id: &str,
    school_id: &str,
    effective_on: crate::dates::LocalDate,
    effective_at: NaiveDateTime,
    requested_by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    use crate::db::schema::staff_departures as sd;
    diesel::delete(sd::table.find(user_id)).execute(conn)?;
    diesel::insert_into(sd::table)
        .values((
            sd::user_id.eq(user_id),
            sd::school_id.eq(school_id),
            sd::effective_on.eq(effective_on.to_string()),
            sd::effective_at.eq(effective_at),
            sd::requested_by.eq(requested_by),
            sd::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Departures whose day has come and that are not carried out yet:
/// (user, school).
pub fn departures_due(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
) -> AppResult<Vec<(String, String)>> {
    use crate::db::schema::staff_departures as sd;
    Ok(sd::table
        .filter(sd::done_at.is_null())
        .filter(sd::effective_at.le(now))
        .order(sd::effective_at.asc())
        .select((sd::user_id, sd::school_id))
        .load(conn)?)
}

pub fn mark_departed(conn: &mut AnyConnection, user_id: &str, now: NaiveDateTime) -> AppResult<()> {
    use crate::db::schema::staff_departures as sd;
    diesel::update(sd::table.find(user_id))
        .set(sd::done_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// Leaves every class the user heads without a head teacher; answers the
/// classes' names.
pub fn release_head_teacher(conn: &mut AnyConnection, user_id: &str) -> AppResult<Vec<String>> {
    let names: Vec<String> = classes::table
        .filter(classes::head_teacher_id.eq(user_id))
        .order(classes::name.asc())
        .select(classes::name)
        .load(conn)?;
    diesel::update(classes::table.filter(classes::head_teacher_id.eq(user_id)))
        .set(classes::head_teacher_id.eq(None::<String>))
        .execute(conn)?;
    Ok(names)
}

pub fn display_name(conn: &mut AnyConnection, user_id: &str) -> AppResult<String> {
    Ok(users::table
        .find(user_id)
        .select(users::display_name)
        .first(conn)?)
}

/// Moves a pupil to a new record at another school (a transfer): the old
/// record keeps its school and history, is marked as left and gives up its
/// account; the new record is written and the guardianships move to it.
pub fn move_pupil(
    conn: &mut AnyConnection,
    old: &StudentRow,
    new: &StudentRow,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    diesel::update(students::table.find(&old.id))
        .set((
            students::user_id.eq(None::<String>),
            students::left_at.eq(now),
        ))
        .execute(conn)?;
    super::insert_student(conn, new, now)?;
    diesel::update(guardianships::table.filter(guardianships::student_id.eq(&old.id)))
        .set(guardianships::student_id.eq(&new.id))
        .execute(conn)?;
    Ok(())
}

/// A pupil's record by id, unscoped: for a use case that has checked its
/// caller's right to it already (a transfer the receiving school decides).
pub fn student_by_id(conn: &mut AnyConnection, id: &str) -> AppResult<Option<StudentRow>> {
    Ok(students::table
        .find(id)
        .select(StudentRow::as_select())
        .first(conn)
        .optional()?)
}
