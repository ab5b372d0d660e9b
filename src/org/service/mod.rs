//! The school structure's use cases: what an admin may create, in which
//! school, and what is told and audited. Scope first, then the body: a
//! caller who may not see the school learns nothing of the body's rules.

mod consents;
mod edits;
mod offboard;

pub use consents::{consents, decide as decide_consent};
pub use edits::*;
pub use offboard::{offboard, run_departures_worker};

use super::dto::*;
use super::model::{ClassRow, SchoolRow, StudentRow, UserRow};
use super::repo;
use crate::account;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::{conflict_on_unique, new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::vetting;
use chrono::{DateTime, NaiveDateTime, Utc};

fn check_grade(grade: i32) -> AppResult<i32> {
    if (0..=12).contains(&grade) {
        Ok(grade)
    } else {
        Err(ApiError::invalid("grade", "grade must be from 0 to 12"))
    }
}

pub fn create_school(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    b: NewSchool,
) -> AppResult<School> {
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
        AuditEvent::by(caller, "school.create", "school", Some(&row.id)).in_school(Some(&row.id)),
    )?;
    Ok(row.into_dto())
}

pub fn create_class(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    school_id: &str,
    body: AppResult<NewClass>,
) -> AppResult<Class> {
    let school = repo::school(conn, caller, school_id)?;
    let b = body?;
    let grade = check_grade(b.grade)?;
    if let Some(teacher) = &b.head_teacher_id {
        let roles = [Role::Teacher, Role::SchoolAdmin];
        if !repo::has_role_in_school(conn, teacher.as_str(), &school.id, &roles)? {
            return Err(ApiError::invalid(
                "head_teacher_id",
                "the head teacher must be a teacher of this school",
            ));
        }
        vetting::require_cleared(conn, teacher.as_str(), now, "head_teacher_id")?;
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
        AuditEvent::by(caller, "class.create", "class", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    Ok(row.into_dto())
}

/// Whether the caller may create an account of this role: a district admin
/// any role in the district; a school admin the school's staff (not other
/// admins), parents and students.
pub fn may_create(caller: &Caller, role: Role) -> AppResult<()> {
    let school_admin_may = matches!(
        role,
        Role::Teacher
            | Role::Guard
            | Role::Counselor
            | Role::LegalVp
            | Role::DormManager
            | Role::Parent
            | Role::Student
    );
    if caller.role == Role::SchoolAdmin && !school_admin_may {
        return Err(ApiError::forbidden(
            Code::RoleNotAllowed,
            "a school admin may create staff, parents and students only",
        )
        .with_field("role"));
    }
    Ok(())
}

/// Creates an account whose password `hash` the caller has already made
/// (then it must be changed at first login), or, without one, with an
/// activation code.
pub fn create_user(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    b: NewUser,
    hash: Option<&str>,
    months: u32,
) -> AppResult<User> {
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
            Some(s) => Some(repo::school(conn, caller, &s)?.id),
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
        sex: b.sex.map(|s| s.as_str().to_string()),
    };
    let change_required = hash.is_some();
    repo::insert_user(conn, &row, hash.unwrap_or(""), change_required, now).map_err(
        conflict_on_unique(Code::UsernameTaken, "username", "this username is taken"),
    )?;
    if let (Some(school), true) = (&row.school_id, b.role.is_vetted()) {
        vetting::enrol_account(
            conn,
            now,
            &row.id,
            &row.district_id,
            school,
            &row.display_name,
            b.role,
        )?;
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "user.create", "user", Some(&row.id))
            .in_school(row.school_id.as_deref()),
    )?;
    let activation = match hash {
        Some(_) => None,
        None => Some(activation(conn, now, &row)?),
    };
    let mut user = user_view(conn, to_utc(now), months, row)?;
    user.activation = activation;
    Ok(user)
}

/// Issues a new account's activation code and sends it to the account's
/// own email or phone; with neither, the code is answered for the admin to
/// print.
pub fn activation(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: &UserRow,
) -> AppResult<account::dto::Activation> {
    let mut activation = account::activation::issue(conn, now, &row.id)?;
    if row.email.is_some() || row.phone.is_some() {
        notify::send(
            conn,
            now,
            std::slice::from_ref(&row.id),
            Template::AccountActivation,
            serde_json::json!({"username": row.username, "code": activation.code.take()}),
            Category::Account,
        )?;
        activation.sent = true;
    }
    Ok(activation)
}

/// An account as the API shows it, with its personnel record and vetting.
pub fn user_view(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    months: u32,
    row: UserRow,
) -> AppResult<User> {
    let vetted = vetting::of_user(conn, now, months, &row.id)?;
    let mut user = row.into_dto();
    if let Some((personnel_id, v)) = vetted {
        user.personnel_id = Some(personnel_id);
        user.vetting = Some(v);
    }
    Ok(user)
}

/// A page of the staff of the schools the caller oversees, with their
/// vetting (up to `limit + 1` rows: the extra one says there is more).
pub fn staff(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    months: u32,
    caller: &Caller,
    filter: repo::StaffFilter,
    limit: i64,
    after: Option<String>,
) -> AppResult<Vec<User>> {
    if let Some(school) = &filter.school_id {
        repo::school(conn, caller, school)?;
    }
    if filter.role.is_some_and(|r| !r.is_school_staff()) {
        return Err(ApiError::invalid(
            "role",
            "role must be a school staff role",
        ));
    }
    repo::staff_page(conn, caller, &filter, limit, after)?
        .into_iter()
        .map(|row| user_view(conn, now, months, row))
        .collect()
}

/// One account the caller may see.
pub fn user(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    months: u32,
    caller: &Caller,
    id: &str,
) -> AppResult<Tagged<User>> {
    let row = repo::user(conn, caller, id)?;
    if row.role == Role::Parent.as_str() && row.id != caller.user_id {
        // A guardian's phone and email, read by staff: recorded against each
        // of their children the reader's scope covers.
        let at = chrono::SubsecRound::trunc_subsecs(now, 6).naive_utc();
        for (child, ..) in repo::children(conn, &row.id)? {
            let in_scope = caller.role.is_district()
                || caller.school_id.as_deref() == Some(child.school_id.as_str());
            if in_scope {
                let what = audit::PupilRecord::GuardianContact;
                audit::record_pupil_read(conn, at, caller, what, &child.id, &child.school_id)?;
            }
        }
    }
    let etag = user_etag(&row);
    Ok(Tagged {
        value: user_view(conn, now, months, row)?,
        etag,
    })
}

/// Disables an account: it can no longer log in, and every session ends.
pub fn disable_user(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<User> {
    let mut target = repo::user(conn, caller, id)?;
    if target.id == caller.user_id {
        return Err(ApiError::conflict(
            Code::CannotDisableSelf,
            "you cannot disable your own account",
        ));
    }
    if repo::holds_last_district_key(conn, &target.district_id, &target.id)? {
        return Err(ApiError::conflict(
            Code::LastDistrictKey,
            "this is the last bureau officer holding a tip-line key: every mailbox of the district would refuse reports; give another officer a key first",
        ));
    }
    repo::disable_user(conn, &target.id)?;
    account::repo::end_all_sessions(conn, &target.id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "user.disable", "user", Some(&target.id))
            .in_school(target.school_id.as_deref()),
    )?;
    target.disabled = true;
    Ok(target.into_dto())
}

pub fn create_student(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    b: NewStudent,
) -> AppResult<Student> {
    let school = repo::school(conn, caller, b.school_id.as_str())?;
    let grade = check_grade(b.grade)?;
    if !repo::class_in_school(conn, b.class_id.as_str(), &school.id)? {
        return Err(ApiError::invalid(
            "class_id",
            "the class is not in this school",
        ));
    }
    if let Some(user_id) = &b.user_id {
        if !repo::has_role_in_school(conn, user_id.as_str(), &school.id, &[Role::Student])? {
            return Err(ApiError::invalid(
                "user_id",
                "the account must be a student account of this school",
            ));
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
        sex: b.sex.map(|s| s.as_str().to_string()),
        left_at: None,
    };
    repo::insert_student(conn, &row, now).map_err(conflict_on_unique(
        Code::StudentExists,
        "student_no",
        "this school already has this student number, or the account is linked to another student",
    ))?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "student.create", "student", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    Ok(row.into_dto())
}

/// Registers a parent account as a guardian of a pupil; the parent is told.
pub fn add_guardian(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewGuardian>,
) -> AppResult<Guardian> {
    let student = repo::student(conn, caller, student_id)?;
    let b = body?;
    let parent = repo::parent_in_district(conn, b.user_id.as_str(), &caller.district_id)?
        .ok_or_else(|| {
            ApiError::invalid(
                "user_id",
                "the account must be a parent account of this district",
            )
        })?;
    let guardian = Guardian {
        id: new_id(now),
        student_id: student.id.clone(),
        user_id: parent,
        relation: b.relation.into_string(),
        primary: b.primary,
    };
    repo::insert_guardian(conn, &guardian, now).map_err(conflict_on_unique(
        Code::AlreadyGuardian,
        "user_id",
        "this parent is already a guardian of the student",
    ))?;
    let school_name = repo::school_name(conn, &student.school_id)?;
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
        AuditEvent::by(caller, "guardian.add", "student", Some(&student.id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(guardian)
}

/// One pupil's record. A guardian whom a confirmed never-release entry
/// bars (a court order) no longer sees it (404); a read by staff is audited.
pub fn student_detail(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<StudentRow> {
    let row = repo::student(conn, caller, id)?;
    if caller.role == Role::Parent && !super::family::is_guardian(conn, &caller.user_id, &row.id)? {
        return Err(ApiError::not_found("student"));
    }
    audit::record_pupil_read(
        conn,
        now,
        caller,
        audit::PupilRecord::Detail,
        &row.id,
        &row.school_id,
    )?;
    Ok(row)
}

/// A parent's children, less those a confirmed never-release entry bars
/// them from.
pub fn children(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<Child>> {
    let followed = super::family::unbarred_children(conn, caller)?;
    Ok(repo::children(conn, &caller.user_id)?
        .into_iter()
        .filter(|(s, ..)| followed.contains(&s.id))
        .map(|(s, school_name, class_name, relation, primary)| Child {
            student: s.into_dto(),
            school_name,
            class_name,
            relation,
            primary,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            user_id: "u".into(),
            role,
            district_id: "d".into(),
            school_id: Some("s".into()),
            language: Default::default(),
            session_id: "sid".into(),
        }
    }

    #[test]
    fn a_school_admin_creates_staff_families_and_pupils_but_no_admins() {
        let admin = caller(Role::SchoolAdmin);
        for role in [Role::Teacher, Role::Guard, Role::Parent, Role::Student] {
            assert!(may_create(&admin, role).is_ok(), "{role:?}");
        }
        for role in [Role::SchoolAdmin, Role::BureauOfficer, Role::DistrictAdmin] {
            let e = may_create(&admin, role).unwrap_err();
            assert_eq!(e.code, Code::RoleNotAllowed, "{role:?}");
        }
        assert!(may_create(&caller(Role::DistrictAdmin), Role::SchoolAdmin).is_ok());
    }
}
