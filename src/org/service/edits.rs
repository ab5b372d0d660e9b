//! Edits of the school structure: merge patches under If-Match, each change
//! audited with what it was and what it became; and the end of a
//! guardianship. Scope first (404), then the body's shape (400, 422), then
//! the precondition (428, 412), then the rules (422, 409).

use super::check_grade;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::db::{conflict_on_unique, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::http::{etag_of, Changes, IfMatch};
use crate::org::dto::*;
use crate::org::model::{ClassRow, SchoolRow, StudentRow, UserRow};
use crate::org::repo::{self, Editable};
use crate::vetting;
use chrono::NaiveDateTime;
use serde_json::json;

/// A record as the API shows it, with its ETag.
pub struct Tagged<T> {
    pub value: T,
    pub etag: String,
}

impl<T: serde::Serialize> Tagged<T> {
    pub fn new(value: T) -> Self {
        let etag = etag_of(&value);
        Tagged { value, etag }
    }
}

/// An account's ETag names its own fields, not its vetting (which the
/// bureau changes, not an edit).
pub fn user_etag(row: &UserRow) -> String {
    etag_of(&row.clone().into_dto())
}

fn audit_change(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    action: &str,
    target: (&str, &str),
    school_id: Option<&str>,
    changes: Changes,
) -> AppResult<()> {
    let (before, after) = changes.into_json();
    audit::record_change(
        conn,
        now,
        AuditEvent::by(caller, action, target.0, Some(target.1)).in_school(school_id),
        &before,
        &after,
    )
}

pub fn patch_student(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    body: AppResult<StudentPatch>,
) -> AppResult<Tagged<Student>> {
    repo::lock_for_edit(conn, Editable::Student, id)?;
    let mut row: StudentRow = repo::student(conn, caller, id)?;
    let b = body?;
    if_match.check(&etag_of(&row.clone().into_dto()))?;
    let mut changes = Changes::default();
    if let Some(name) = b.name.required("name")? {
        changes.set("name", &mut row.name, name.into_string());
    }
    if let Some(grade) = b.grade.required("grade")? {
        changes.set("grade", &mut row.grade, check_grade(grade)?);
    }
    if let Some(class) = b.class_id.required("class_id")? {
        if !repo::class_in_school(conn, class.as_str(), &row.school_id)? {
            return Err(ApiError::invalid(
                "class_id",
                "the class is not in the pupil's school (a move to another school is a transfer)",
            ));
        }
        changes.set("class_id", &mut row.class_id, class.into_string());
    }
    if let Some(no) = b.student_no.required("student_no")? {
        changes.set("student_no", &mut row.student_no, no.into_string());
    }
    if !changes.is_empty() {
        repo::update_student(conn, &row).map_err(conflict_on_unique(
            Code::StudentExists,
            "student_no",
            "this school already has this student number",
        ))?;
        let school = row.school_id.clone();
        audit_change(
            conn,
            now,
            caller,
            "student.update",
            ("student", &row.id),
            Some(&school),
            changes,
        )?;
    }
    Ok(Tagged::new(row.into_dto()))
}

pub fn patch_user(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    body: AppResult<UserPatch>,
) -> AppResult<UserRow> {
    repo::lock_for_edit(conn, Editable::User, id)?;
    let mut row = repo::user(conn, caller, id)?;
    let b = body?;
    if_match.check(&user_etag(&row))?;
    let mut changes = Changes::default();
    if let Some(name) = b.display_name.required("display_name")? {
        changes.set("display_name", &mut row.display_name, name.into_string());
    }
    if let Some(email) = b.email.nullable() {
        changes.set("email", &mut row.email, email.map(Email::into_string));
    }
    if let Some(phone) = b.phone.nullable() {
        changes.set("phone", &mut row.phone, phone.map(Phone::into_string));
    }
    if let Some(language) = b.language.required("language")? {
        changes.set("language", &mut row.language, language.as_str().to_string());
    }
    if !changes.is_empty() {
        repo::update_user(conn, &row)?;
        let school = row.school_id.clone();
        audit_change(
            conn,
            now,
            caller,
            "user.update",
            ("user", &row.id),
            school.as_deref(),
            changes,
        )?;
    }
    Ok(row)
}

pub fn patch_class(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    body: AppResult<ClassPatch>,
) -> AppResult<Tagged<Class>> {
    repo::lock_for_edit(conn, Editable::Class, id)?;
    let mut row: ClassRow = repo::class(conn, caller, id)?;
    let b = body?;
    if_match.check(&etag_of(&row.clone().into_dto()))?;
    let mut changes = Changes::default();
    if let Some(name) = b.name.required("name")? {
        changes.set("name", &mut row.name, name.into_string());
    }
    if let Some(teacher) = b.head_teacher_id.nullable() {
        let teacher = teacher.map(Id::into_string);
        if let Some(t) = &teacher {
            if row.head_teacher_id.as_ref() != Some(t) {
                let roles = [Role::Teacher, Role::SchoolAdmin];
                if !repo::has_role_in_school(conn, t, &row.school_id, &roles)? {
                    return Err(ApiError::invalid(
                        "head_teacher_id",
                        "the head teacher must be a teacher of this school",
                    ));
                }
                vetting::require_cleared(conn, t, now, "head_teacher_id")?;
            }
        }
        changes.set("head_teacher_id", &mut row.head_teacher_id, teacher);
    }
    if !changes.is_empty() {
        repo::update_class(conn, &row).map_err(conflict_on_unique(
            Code::ClassExists,
            "name",
            "this school already has a class of that grade and name",
        ))?;
        let school = row.school_id.clone();
        audit_change(
            conn,
            now,
            caller,
            "class.update",
            ("class", &row.id),
            Some(&school),
            changes,
        )?;
    }
    Ok(Tagged::new(row.into_dto()))
}

pub fn patch_school(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    body: AppResult<SchoolPatch>,
) -> AppResult<Tagged<School>> {
    repo::lock_for_edit(conn, Editable::School, id)?;
    let mut row: SchoolRow = repo::school(conn, caller, id)?;
    let b = body?;
    if_match.check(&etag_of(&row.clone().into_dto()))?;
    let mut changes = Changes::default();
    if let Some(name) = b.name.required("name")? {
        changes.set("name", &mut row.name, name.into_string());
    }
    if let Some(time) = b.dismissal_time.required("dismissal_time")? {
        changes.set(
            "dismissal_time",
            &mut row.dismissal_time,
            time.into_string(),
        );
    }
    if let Some(tz) = b.timezone.required("timezone")? {
        changes.set("timezone", &mut row.timezone, tz.into_string());
    }
    if !changes.is_empty() {
        repo::update_school(conn, &row)?;
        let school = row.id.clone();
        audit_change(
            conn,
            now,
            caller,
            "school.update",
            ("school", &school),
            Some(&school),
            changes,
        )?;
    }
    Ok(Tagged::new(row.into_dto()))
}

/// Ends a guardianship. The pupil keeps a primary guardian: removing the
/// last one needs another guardian named in its place (409
/// `last_primary_guardian` otherwise). What the removed guardian could do
/// ends with the row: the pupil leaves their scope, and the pickup persons
/// and passes they named stop releasing the pupil (pickup asks whether
/// their author is still a guardian at the gate).
pub fn end_guardianship(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    user_id: &str,
    new_primary: Option<String>,
) -> AppResult<()> {
    repo::lock_for_edit(conn, Editable::Student, student_id)?;
    let student = repo::student(conn, caller, student_id)?;
    let guardians = repo::guardianships_of(conn, &student.id)?;
    let ending = guardians
        .iter()
        .find(|g| g.user_id == user_id)
        .ok_or_else(|| ApiError::not_found("guardian"))?;
    let named = match &new_primary {
        Some(np) => Some(
            guardians
                .iter()
                .find(|g| &g.user_id == np && g.user_id != ending.user_id)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "new_primary_id",
                        "the new primary guardian must be another guardian of the pupil",
                    )
                })?,
        ),
        None => None,
    };
    let another_primary = guardians
        .iter()
        .any(|g| g.primary && g.user_id != ending.user_id);
    if ending.primary && !another_primary && named.is_none() {
        return Err(ApiError::conflict(
            Code::LastPrimaryGuardian,
            "this is the pupil's last primary guardian: name another guardian as primary (new_primary_id) to remove them",
        )
        .with_field("new_primary_id"));
    }
    let mut before = json!({"guardian": {"user_id": ending.user_id, "relation": ending.relation, "primary": ending.primary}});
    let mut after = json!({"guardian": null});
    if let Some(g) = named.filter(|g| !g.primary) {
        repo::make_primary(conn, &g.id)?;
        before["new_primary"] = json!({"user_id": g.user_id, "primary": false});
        after["new_primary"] = json!({"user_id": g.user_id, "primary": true});
    }
    repo::delete_guardianship(conn, &ending.id)?;
    audit::record_change(
        conn,
        now,
        AuditEvent::by(caller, "guardian.remove", "student", Some(&student.id))
            .in_school(Some(&student.school_id)),
        &before,
        &after,
    )
}
