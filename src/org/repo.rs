//! Queries of the school structure, each scoped to what the caller may see:
//! a query that forgets nothing returns another school's rows as "not found".

use super::dto::{Class, School, SchoolKind, Student, User};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::schema::{classes, guardianships, schools, students, users};
use crate::db::{AnyConnection, MultiBackend};
use crate::error::{ApiError, AppResult};
use crate::i18n::Language;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable)]
#[diesel(table_name = schools)]
pub struct SchoolRow {
    pub id: String,
    pub district_id: String,
    pub name: String,
    pub code: String,
    pub kind: String,
    pub timezone: String,
    pub dismissal_time: String,
    pub created_at: NaiveDateTime,
}

impl SchoolRow {
    pub fn kind(&self) -> SchoolKind {
        SchoolKind::parse(&self.kind).unwrap_or(SchoolKind::Primary)
    }

    pub fn into_dto(self) -> School {
        School {
            kind: self.kind(),
            id: self.id,
            district_id: self.district_id,
            name: self.name,
            code: self.code,
            timezone: self.timezone,
            dismissal_time: self.dismissal_time,
            created_at: to_utc(self.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = classes)]
pub struct ClassRow {
    pub id: String,
    pub school_id: String,
    pub grade: i32,
    pub name: String,
    pub head_teacher_id: Option<String>,
}

impl ClassRow {
    pub fn into_dto(self) -> Class {
        Class {
            id: self.id,
            school_id: self.school_id,
            grade: self.grade,
            name: self.name,
            head_teacher_id: self.head_teacher_id,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = students)]
pub struct StudentRow {
    pub id: String,
    pub school_id: String,
    pub class_id: String,
    pub name: String,
    pub student_no: String,
    pub grade: i32,
    pub handover_required: bool,
    pub user_id: Option<String>,
}

impl StudentRow {
    pub fn into_dto(self) -> Student {
        Student {
            id: self.id,
            school_id: self.school_id,
            class_id: self.class_id,
            name: self.name,
            student_no: self.student_no,
            grade: self.grade,
            handover_required: self.handover_required,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub district_id: String,
    pub school_id: Option<String>,
    pub role: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: String,
    pub disabled: bool,
}

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Student)
    }

    pub fn into_dto(self) -> User {
        User {
            role: self.role(),
            language: Language::parse(&self.language).unwrap_or_default(),
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            district_id: self.district_id,
            school_id: self.school_id,
            phone: self.phone,
            email: self.email,
            disabled: self.disabled,
        }
    }
}

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
            users::disabled.eq(row.disabled),
            users::tokens_valid_after.eq(now),
            users::created_at.eq(now),
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
