//! Rows of the school structure, as stored.

use super::dto::{Class, School, SchoolKind, Sex, Student, User};
use crate::auth::Role;
use crate::clock::to_utc;
use crate::db::schema::{classes, schools, students, users};
use crate::i18n::Language;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Clone)]
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

#[derive(Queryable, Selectable, Clone)]
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

#[derive(Queryable, Selectable, Clone)]
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
    pub sex: Option<String>,
    /// Set when the pupil transferred to another school: the record stays
    /// with this school, for its history, and changes no more.
    pub left_at: Option<NaiveDateTime>,
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
            sex: self.sex.as_deref().and_then(Sex::parse),
            left_at: self.left_at.map(crate::clock::to_utc),
        }
    }
}

#[derive(Queryable, Selectable, Clone)]
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
    pub sex: Option<String>,
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
            sex: self.sex.as_deref().and_then(Sex::parse),
            personnel_id: None,
            vetting: None,
            activation: None,
        }
    }
}
