//! Queries of the school structure, each scoped to what the caller may see:
//! a query that forgets nothing returns another school's rows as "not found".

use super::model::{ClassRow, SchoolRow, StudentRow, UserRow};
use crate::auth::{Caller, Role};
use crate::db::schema::{classes, guardianships, schools, students, users};
use crate::db::{AnyConnection, MultiBackend};
use crate::error::{ApiError, AppResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;

mod changes;
mod roster;

pub use changes::*;
pub use roster::*;

/// Schools the caller may see: the district's for district roles, their
/// children's for parents, their own for everyone else.
pub fn schools_in_scope(caller: &Caller) -> schools::BoxedQuery<'static, MultiBackend> {
    let q = schools::table.into_boxed();
    match caller.role {
        r if r.is_district() => q.filter(schools::district_id.eq(caller.district_id.clone())),
        Role::Parent => q.filter(
            schools::id.eq_any(
                guardianships::table
                    .inner_join(students::table)
                    .filter(guardianships::user_id.eq(caller.user_id.clone()))
                    .select(students::school_id),
            ),
        ),
        _ => q.filter(schools::id.eq(caller.school_id.clone().unwrap_or_default())),
    }
}

/// Students the caller may see: their district's or school's for staff,
/// their own children for parents, themself for a student.
pub fn students_in_scope(caller: &Caller) -> students::BoxedQuery<'static, MultiBackend> {
    let q = students::table.into_boxed();
    match caller.role {
        r if r.is_district() => q.filter(
            students::school_id.eq_any(
                schools::table
                    .filter(schools::district_id.eq(caller.district_id.clone()))
                    .select(schools::id),
            ),
        ),
        Role::Parent => q.filter(
            students::id.eq_any(
                guardianships::table
                    .filter(guardianships::user_id.eq(caller.user_id.clone()))
                    .select(guardianships::student_id),
            ),
        ),
        Role::Student => q.filter(students::user_id.eq(caller.user_id.clone())),
        _ => q.filter(students::school_id.eq(caller.school_id.clone().unwrap_or_default())),
    }
}

/// Classes the caller may see: staff see their school's (the district's for
/// district roles); families see none.
pub fn classes_in_scope(caller: &Caller) -> classes::BoxedQuery<'static, MultiBackend> {
    let q = classes::table.into_boxed();
    match caller.role {
        r if r.is_district() => q.filter(
            classes::school_id.eq_any(
                schools::table
                    .filter(schools::district_id.eq(caller.district_id.clone()))
                    .select(schools::id),
            ),
        ),
        r if r.is_school_staff() => {
            q.filter(classes::school_id.eq(caller.school_id.clone().unwrap_or_default()))
        }
        // No class is visible: ids are never NULL.
        _ => q.filter(classes::id.is_null()),
    }
}

/// Accounts the caller may see: their own; the district's for the district
/// admin; for a school admin, their school's and its students' guardians.
pub fn users_in_scope(caller: &Caller) -> users::BoxedQuery<'static, MultiBackend> {
    let q = users::table.into_boxed();
    let me = users::id.eq(caller.user_id.clone());
    match caller.role {
        Role::DistrictAdmin => q.filter(users::district_id.eq(caller.district_id.clone())),
        Role::SchoolAdmin => {
            let school = caller.school_id.clone().unwrap_or_default();
            q.filter(
                me.or(users::school_id.eq(school.clone()))
                    .or(users::id.eq_any(
                        guardianships::table
                            .inner_join(students::table)
                            .filter(students::school_id.eq(school))
                            .select(guardianships::user_id),
                    )),
            )
        }
        _ => q.filter(me),
    }
}

pub fn school(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<SchoolRow> {
    schools_in_scope(caller)
        .filter(schools::id.eq(id.to_string()))
        .select(SchoolRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("school"))
}

pub fn class(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<ClassRow> {
    classes_in_scope(caller)
        .filter(classes::id.eq(id.to_string()))
        .select(ClassRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("class"))
}

pub fn student(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<StudentRow> {
    students_in_scope(caller)
        .filter(students::id.eq(id.to_string()))
        .select(StudentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("student"))
}

pub fn user(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<UserRow> {
    users_in_scope(caller)
        .filter(users::id.eq(id.to_string()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("user"))
}

pub fn insert_district(
    conn: &mut AnyConnection,
    id: &str,
    name: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    use crate::db::schema::districts;
    diesel::insert_into(districts::table)
        .values((
            districts::id.eq(id),
            districts::name.eq(name),
            districts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_school(conn: &mut AnyConnection, row: &SchoolRow) -> diesel::QueryResult<()> {
    diesel::insert_into(schools::table)
        .values((
            schools::id.eq(&row.id),
            schools::district_id.eq(&row.district_id),
            schools::name.eq(&row.name),
            schools::code.eq(&row.code),
            schools::kind.eq(&row.kind),
            schools::timezone.eq(&row.timezone),
            schools::dismissal_time.eq(&row.dismissal_time),
            schools::created_at.eq(row.created_at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_class(
    conn: &mut AnyConnection,
    row: &ClassRow,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    diesel::insert_into(classes::table)
        .values((
            classes::id.eq(&row.id),
            classes::school_id.eq(&row.school_id),
            classes::grade.eq(row.grade),
            classes::name.eq(&row.name),
            classes::head_teacher_id.eq(&row.head_teacher_id),
            classes::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_user(
    conn: &mut AnyConnection,
    row: &UserRow,
    password_hash: &str,
    password_change_required: bool,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&row.id),
            users::district_id.eq(&row.district_id),
            users::school_id.eq(&row.school_id),
            users::role.eq(&row.role),
            users::username.eq(&row.username),
            users::display_name.eq(&row.display_name),
            users::phone.eq(&row.phone),
            users::email.eq(&row.email),
            users::language.eq(&row.language),
            users::password_hash.eq(password_hash),
            users::password_change_required.eq(password_change_required),
            users::disabled.eq(row.disabled),
            users::tokens_valid_after.eq(now),
            users::created_at.eq(now),
            users::sex.eq(&row.sex),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_student(
    conn: &mut AnyConnection,
    row: &StudentRow,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    diesel::insert_into(students::table)
        .values((
            students::id.eq(&row.id),
            students::school_id.eq(&row.school_id),
            students::class_id.eq(&row.class_id),
            students::name.eq(&row.name),
            students::student_no.eq(&row.student_no),
            students::grade.eq(row.grade),
            students::handover_required.eq(row.handover_required),
            students::user_id.eq(&row.user_id),
            students::created_at.eq(now),
            students::sex.eq(&row.sex),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_guardian(
    conn: &mut AnyConnection,
    g: &super::dto::Guardian,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    diesel::insert_into(guardianships::table)
        .values((
            guardianships::id.eq(&g.id),
            guardianships::student_id.eq(&g.student_id),
            guardianships::user_id.eq(&g.user_id),
            guardianships::relation.eq(&g.relation),
            guardianships::is_primary.eq(g.primary),
            guardianships::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// One page of the schools the caller may see, in the order they were made.
pub fn schools_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    limit: i64,
    after: Option<String>,
) -> AppResult<Vec<SchoolRow>> {
    let mut q = schools_in_scope(caller)
        .select(SchoolRow::as_select())
        .order(schools::id.asc())
        .limit(limit + 1);
    if let Some(c) = after {
        q = q.filter(schools::id.gt(c));
    }
    Ok(q.load(conn)?)
}

/// One page of a school's classes the caller may see.
pub fn classes_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
    limit: i64,
    after: Option<String>,
) -> AppResult<Vec<ClassRow>> {
    let mut q = classes_in_scope(caller)
        .filter(classes::school_id.eq(school_id.to_string()))
        .select(ClassRow::as_select())
        .order(classes::id.asc())
        .limit(limit + 1);
    if let Some(c) = after {
        q = q.filter(classes::id.gt(c));
    }
    Ok(q.load(conn)?)
}

/// One page of a class's students the caller may see.
pub fn class_students_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    class_id: &str,
    limit: i64,
    after: Option<String>,
) -> AppResult<Vec<StudentRow>> {
    let mut q = students_in_scope(caller)
        .filter(students::class_id.eq(class_id.to_string()))
        .filter(students::left_at.is_null())
        .select(StudentRow::as_select())
        .order(students::id.asc())
        .limit(limit + 1);
    if let Some(c) = after {
        q = q.filter(students::id.gt(c));
    }
    Ok(q.load(conn)?)
}

/// Whether a user of the school holds one of the roles.
pub fn has_role_in_school(
    conn: &mut AnyConnection,
    user_id: &str,
    school_id: &str,
    roles: &[Role],
) -> AppResult<bool> {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let n: i64 = users::table
        .filter(users::id.eq(user_id))
        .filter(users::school_id.eq(school_id))
        .filter(users::role.eq_any(roles))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn class_in_school(
    conn: &mut AnyConnection,
    class_id: &str,
    school_id: &str,
) -> AppResult<bool> {
    let n: i64 = classes::table
        .filter(classes::id.eq(class_id))
        .filter(classes::school_id.eq(school_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A parent account of the district, by id.
pub fn parent_in_district(
    conn: &mut AnyConnection,
    user_id: &str,
    district_id: &str,
) -> AppResult<Option<String>> {
    Ok(users::table
        .filter(users::id.eq(user_id))
        .filter(users::district_id.eq(district_id))
        .filter(users::role.eq(Role::Parent.as_str()))
        .select(users::id)
        .first(conn)
        .optional()?)
}

pub fn school_name(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    Ok(schools::table
        .find(school_id)
        .select(schools::name)
        .first(conn)?)
}

/// Whether the user is the district's last enabled bureau officer holding
/// a current tip-line key: without them every mailbox of the district would
/// refuse reports (a report must be sealed to the district).
pub fn holds_last_district_key(
    conn: &mut AnyConnection,
    district_id: &str,
    user_id: &str,
) -> AppResult<bool> {
    use crate::db::schema::tip_recipient_keys as rk;
    let holders: Vec<String> = rk::table
        .inner_join(users::table)
        .filter(rk::retired_at.is_null())
        .filter(users::district_id.eq(district_id))
        .filter(users::role.eq(Role::BureauOfficer.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .distinct()
        .load(conn)?;
    Ok(holders.len() == 1 && holders[0] == user_id)
}

pub fn disable_user(conn: &mut AnyConnection, user_id: &str) -> AppResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::disabled.eq(true))
        .execute(conn)?;
    Ok(())
}

/// A child of a parent: the pupil, school name, class name, relation, primary.
pub type ChildRow = (StudentRow, String, String, String, bool);

/// A parent's children with their school, class and the guardianship.
pub fn children(conn: &mut AnyConnection, parent_id: &str) -> AppResult<Vec<ChildRow>> {
    Ok(guardianships::table
        .inner_join(
            students::table
                .inner_join(schools::table)
                .inner_join(classes::table),
        )
        .filter(guardianships::user_id.eq(parent_id))
        .order(students::name.asc())
        .select((
            StudentRow::as_select(),
            schools::name,
            classes::name,
            guardianships::relation,
            guardianships::is_primary,
        ))
        .load(conn)?)
}
