use super::dto::*;
use super::repo::{self, ClassRow, SchoolRow, StudentRow, UserRow};
use crate::audit::{self, AuditEvent};
use crate::auth::password::NewPassword;
use crate::auth::{self, Admin, Caller, DistrictAdmin, Parent, Role, Staff};
use crate::db::schema::{classes, guardianships, schools, students, users};
use crate::db::{conflict_on_unique, new_id};
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page, PageQuery};
use crate::notify::{self, Category, Template};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};
use diesel::prelude::*;

fn check_grade(grade: i32) -> AppResult<i32> {
    if (0..=12).contains(&grade) {
        Ok(grade)
    } else {
        Err(ApiError::invalid("grade", "grade must be from 0 to 12"))
    }
}

/// Create a school in the caller's district.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    request_body = NewSchool,
    responses(
        (status = 201, body = School),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools")]
pub(super) async fn create_school(
    state: State,
    admin: DistrictAdmin,
    key: IdempotencyKey,
    body: JsonBody<NewSchool>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let row = SchoolRow {
                id: new_id(now),
                district_id: caller.district_id.clone(),
                name: b.name.into_string(),
                code: b.code.into_string(),
                kind: b.kind.as_str().to_string(),
                timezone: b
                    .timezone
                    .map(TimeZone::into_string)
                    .unwrap_or_else(|| "Asia/Shanghai".into()),
                dismissal_time: b
                    .dismissal_time
                    .map(ClockTime::into_string)
                    .unwrap_or_else(|| "16:30".into()),
                created_at: now,
            };
            repo::insert_school(conn, &row).map_err(conflict_on_unique(
                Code::SchoolCodeTaken,
                "code",
                "another school has this code",
            ))?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "school.create", "school", Some(&row.id))
                    .in_school(Some(&row.id)),
            )?;
            Ok(row.into_dto())
        })
        .await
}

/// The schools the caller may see.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<School>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schools")]
pub(super) async fn list_schools(
    state: State,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<School>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let rows = state
        .db
        .read(move |conn| {
            let mut q = repo::schools_in_scope(&caller)
                .select(SchoolRow::as_select())
                .order(schools::id.asc())
                .limit(limit + 1);
            if let Some(c) = cursor {
                q = q.filter(schools::id.gt(c));
            }
            Ok(q.load::<SchoolRow>(conn)?)
        })
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    Ok(web::Json(Page {
        items: page.items.into_iter().map(SchoolRow::into_dto).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One school.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = School), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schools/{id}")]
pub(super) async fn get_school(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<School>> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| repo::school(conn, &caller, &id))
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// Create a class in a school.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewClass,
    responses(
        (status = 201, body = Class),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/classes")]
pub(super) async fn create_class(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewClass>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let school_id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let school = repo::school(conn, &caller, &school_id)?;
            let grade = check_grade(b.grade)?;
            if let Some(teacher) = &b.head_teacher_id {
                let is_teacher: i64 = users::table
                    .filter(users::id.eq(teacher.as_str()))
                    .filter(users::school_id.eq(&school.id))
                    .filter(
                        users::role.eq_any([Role::Teacher.as_str(), Role::SchoolAdmin.as_str()]),
                    )
                    .count()
                    .get_result(conn)?;
                if is_teacher == 0 {
                    return Err(ApiError::invalid(
                        "head_teacher_id",
                        "the head teacher must be a teacher of this school",
                    ));
                }
            }
            let row = ClassRow {
                id: new_id(now),
                school_id: school.id.clone(),
                grade,
                name: b.name.into_string(),
                head_teacher_id: b.head_teacher_id.map(Id::into_string),
            };
            repo::insert_class(conn, &row, now).map_err(conflict_on_unique(
                Code::ClassExists,
                "name",
                "this school already has a class of that grade and name",
            ))?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "class.create", "class", Some(&row.id))
                    .in_school(Some(&row.school_id)),
            )?;
            Ok(row.into_dto())
        })
        .await
}

/// The classes of a school.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Class>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schools/{id}/classes")]
pub(super) async fn list_classes(
    state: State,
    staff: Staff,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Class>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let school_id = id.into_inner();
    let caller = staff.0;
    let rows = state
        .db
        .read(move |conn| {
            let school = repo::school(conn, &caller, &school_id)?;
            let mut q = repo::classes_in_scope(&caller)
                .filter(classes::school_id.eq(school.id))
                .select(ClassRow::as_select())
                .order(classes::id.asc())
                .limit(limit + 1);
            if let Some(c) = cursor {
                q = q.filter(classes::id.gt(c));
            }
            Ok(q.load::<ClassRow>(conn)?)
        })
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    Ok(web::Json(Page {
        items: page.items.into_iter().map(ClassRow::into_dto).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Roles a school admin may create: the school's staff (not other admins),
/// parents and students.
fn school_admin_may_create(role: Role) -> bool {
    matches!(
        role,
        Role::Teacher
            | Role::Guard
            | Role::Counselor
            | Role::LegalVp
            | Role::DormManager
            | Role::Parent
            | Role::Student
    )
}

/// Create an account.
///
/// A district admin creates any role in the district; a school admin
/// creates staff, parents and students of their school.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, body = User),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub(super) async fn create_user(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    body: JsonBody<NewUser>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let caller = admin.0;
    if caller.role == Role::SchoolAdmin && !school_admin_may_create(b.role) {
        return Err(ApiError::forbidden(
            Code::RoleNotAllowed,
            "a school admin may create staff, parents and students only",
        )
        .with_field("role"));
    }
    let password = NewPassword::parse("password", b.password.into_string(), b.username.as_str())?;
    let hash = state.passwords.hash(password.into_string()).await?;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let wanted_school = b.school_id.map(Id::into_string);
            let school_id = if b.role.is_district() {
                if wanted_school.is_some() {
                    return Err(ApiError::invalid(
                        "school_id",
                        "district roles belong to no school",
                    ));
                }
                None
            } else {
                let chosen = match (wanted_school, caller.role) {
                    (Some(s), _) => Some(s),
                    (None, Role::SchoolAdmin) => caller.school_id.clone(),
                    (None, _) if b.role == Role::Parent => None,
                    (None, _) => {
                        return Err(ApiError::invalid(
                            "school_id",
                            "school_id is required for this role",
                        ))
                    }
                };
                match chosen {
                    Some(s) => Some(repo::school(conn, &caller, &s)?.id),
                    None => None,
                }
            };
            let row = UserRow {
                id: new_id(now),
                district_id: caller.district_id.clone(),
                school_id,
                role: b.role.as_str().to_string(),
                username: b.username.into_string(),
                display_name: b.display_name.into_string(),
                phone: b.phone.map(Phone::into_string),
                email: b.email.map(Email::into_string),
                language: b.language.unwrap_or_default().as_str().to_string(),
                disabled: false,
            };
            repo::insert_user(conn, &row, &hash, now).map_err(conflict_on_unique(
                Code::UsernameTaken,
                "username",
                "this username is taken",
            ))?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "user.create", "user", Some(&row.id))
                    .in_school(row.school_id.as_deref()),
            )?;
            Ok(row.into_dto())
        })
        .await
}

/// One account the caller may see.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/users/{id}")]
pub(super) async fn get_user(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<User>> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| repo::user(conn, &caller, &id))
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// Disable an account: it can no longer log in and every session ends at once.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = User),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/disable")]
pub(super) async fn disable_user(
    state: State,
    admin: Admin,
    id: web::Path<String>,
) -> AppResult<web::Json<User>> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let row = state
        .db
        .write(move |conn| {
            let mut target = repo::user(conn, &caller, &id)?;
            if target.id == caller.user_id {
                return Err(ApiError::conflict(
                    Code::CannotDisableSelf,
                    "you cannot disable your own account",
                ));
            }
            diesel::update(users::table.find(&target.id))
                .set(users::disabled.eq(true))
                .execute(conn)?;
            auth::repo::end_all_sessions(conn, &target.id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "user.disable", "user", Some(&target.id))
                    .in_school(target.school_id.as_deref()),
            )?;
            target.disabled = true;
            Ok(target)
        })
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// Enrol a student.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    request_body = NewStudent,
    responses(
        (status = 201, body = Student),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students")]
pub(super) async fn create_student(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    body: JsonBody<NewStudent>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest).run(move |conn| {
        let school = repo::school(conn, &caller, b.school_id.as_str())?;
        let grade = check_grade(b.grade)?;
        let class_found: i64 = classes::table
            .filter(classes::id.eq(b.class_id.as_str()))
            .filter(classes::school_id.eq(&school.id))
            .count()
            .get_result(conn)?;
        if class_found == 0 {
            return Err(ApiError::invalid("class_id", "the class is not in this school"));
        }
        if let Some(user_id) = &b.user_id {
            let is_student: i64 = users::table
                .filter(users::id.eq(user_id.as_str()))
                .filter(users::school_id.eq(&school.id))
                .filter(users::role.eq(Role::Student.as_str()))
                .count()
                .get_result(conn)?;
            if is_student == 0 {
                return Err(ApiError::invalid("user_id", "the account must be a student account of this school"));
            }
        }
        let row = StudentRow {
            id: new_id(now),
            school_id: school.id.clone(),
            class_id: b.class_id.into_string(),
            name: b.name.into_string(),
            student_no: b.student_no.into_string(),
            grade,
            handover_required: b
                .handover_required
                .unwrap_or_else(|| school.kind().handover_required_by_default(grade)),
            user_id: b.user_id.map(Id::into_string),
        };
        repo::insert_student(conn, &row, now)
            .map_err(conflict_on_unique(
                Code::StudentExists,
                "student_no",
                "this school already has this student number, or the account is linked to another student",
            ))?;
        audit::record(
            conn,
            now,
            AuditEvent::by(&caller, "student.create", "student", Some(&row.id)).in_school(Some(&row.school_id)),
        )?;
        Ok(row.into_dto())
    })
    .await
}

/// One student the caller may see.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Student), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/students/{id}")]
pub(super) async fn get_student(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Student>> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| repo::student(conn, &caller, &id))
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// The students of a class.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Student>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/classes/{id}/students")]
pub(super) async fn list_class_students(
    state: State,
    staff: Staff,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Student>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let class_id = id.into_inner();
    let caller = staff.0;
    let rows = state
        .db
        .read(move |conn| {
            let class = repo::class(conn, &caller, &class_id)?;
            let mut q = repo::students_in_scope(&caller)
                .filter(students::class_id.eq(class.id))
                .select(StudentRow::as_select())
                .order(students::id.asc())
                .limit(limit + 1);
            if let Some(c) = cursor {
                q = q.filter(students::id.gt(c));
            }
            Ok(q.load::<StudentRow>(conn)?)
        })
        .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    Ok(web::Json(Page {
        items: page.items.into_iter().map(StudentRow::into_dto).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Register a parent account as a guardian of a student. The parent is told.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewGuardian,
    responses(
        (status = 201, body = Guardian),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/guardians")]
pub(super) async fn add_guardian(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewGuardian>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let student_id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest).run(move |conn| {
        let student = repo::student(conn, &caller, &student_id)?;
        let parent: Option<String> = users::table
            .filter(users::id.eq(b.user_id.as_str()))
            .filter(users::district_id.eq(&caller.district_id))
            .filter(users::role.eq(Role::Parent.as_str()))
            .select(users::id)
            .first(conn)
            .optional()?;
        let parent = parent.ok_or_else(|| ApiError::invalid("user_id", "the account must be a parent account of this district"))?;
        let guardian = Guardian {
            id: new_id(now),
            student_id: student.id.clone(),
            user_id: parent,
            relation: b.relation.into_string(),
            primary: b.primary,
        };
        repo::insert_guardian(conn, &guardian, now)
            .map_err(conflict_on_unique(Code::AlreadyGuardian, "user_id", "this parent is already a guardian of the student"))?;
        let school_name: String = schools::table
            .find(&student.school_id)
            .select(schools::name)
            .first(conn)?;
        notify::send(
            conn,
            now,
            std::slice::from_ref(&guardian.user_id),
            Template::GuardianLinked,
            serde_json::json!({"student": student.name, "school": school_name, "relation": guardian.relation}),
            Category::Account,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::by(&caller, "guardian.add", "student", Some(&student.id)).in_school(Some(&student.school_id)),
        )?;
        Ok(guardian)
    })
    .await
}

/// The caller's own account.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me")]
pub(super) async fn me(state: State, caller: Caller) -> AppResult<web::Json<User>> {
    let row = state
        .db
        .read(move |conn| repo::user(conn, &caller, &caller.user_id))
        .await?;
    Ok(web::Json(row.into_dto()))
}

/// A parent's children.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Child>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/children")]
pub(super) async fn my_children(state: State, parent: Parent) -> AppResult<web::Json<Vec<Child>>> {
    let caller = parent.0;
    let rows = state
        .db
        .read(move |conn| {
            Ok(guardianships::table
                .inner_join(
                    students::table
                        .inner_join(schools::table)
                        .inner_join(classes::table),
                )
                .filter(guardianships::user_id.eq(&caller.user_id))
                .order(students::name.asc())
                .select((
                    StudentRow::as_select(),
                    schools::name,
                    classes::name,
                    guardianships::relation,
                    guardianships::is_primary,
                ))
                .load::<(StudentRow, String, String, String, bool)>(conn)?)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|(s, school_name, class_name, relation, primary)| Child {
                student: s.into_dto(),
                school_name,
                class_name,
                relation,
                primary,
            })
            .collect(),
    ))
}
