//! First-run helpers: the first district admin, and a demo district to try
//! the apps against.

use crate::audit::{self, AuditEvent};
use crate::auth::Role;
use crate::crypto::password::{hash_now, NewPassword};
use crate::db::schema::users;
use crate::db::{new_id, AnyConnection, Db};
use crate::error::{ApiError, AppResult, Code};
use crate::org::dto::{Guardian, SchoolKind};
use crate::org::model::{ClassRow, SchoolRow, StudentRow, UserRow};
use crate::org::repo;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Creates a district and its first admin. Refuses an existing username.
pub fn bootstrap_admin(
    db: &Db,
    now: NaiveDateTime,
    district: &str,
    username: &str,
    password: &str,
) -> AppResult<String> {
    let username =
        crate::org::dto::Username::parse(username).map_err(|e| ApiError::invalid("username", e))?;
    let password = NewPassword::parse("password", password.to_string(), username.as_str())?;
    let hash = hash_now(&password.into_string())?;
    db.write_blocking(|conn| {
        let taken: i64 = users::table
            .filter(users::username.eq(username.as_str()))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(ApiError::conflict(
                Code::UsernameTaken,
                "this username already exists",
            ));
        }
        let district_id = new_id(now);
        repo::insert_district(conn, &district_id, district, now)?;
        let user = user_row(
            now,
            &district_id,
            None,
            Role::DistrictAdmin,
            username.as_str(),
            "District administrator",
        );
        repo::insert_user(conn, &user, &hash, false, now)?;
        audit::record(
            conn,
            now,
            AuditEvent::system("user.bootstrap_admin", "user", Some(&user.id)),
        )?;
        Ok(user.id)
    })
}

fn user_row(
    now: NaiveDateTime,
    district_id: &str,
    school_id: Option<&str>,
    role: Role,
    username: &str,
    name: &str,
) -> UserRow {
    UserRow {
        id: new_id(now),
        district_id: district_id.to_string(),
        school_id: school_id.map(str::to_string),
        role: role.as_str().to_string(),
        username: username.to_string(),
        display_name: name.to_string(),
        phone: None,
        email: None,
        language: "zh-CN".to_string(),
        disabled: false,
        sex: None,
    }
}

pub fn is_empty(db: &Db) -> AppResult<bool> {
    db.write_blocking(|conn| {
        let n: i64 = users::table.count().get_result(conn)?;
        Ok(n == 0)
    })
}

/// A demo login: (role, username).
pub type DemoLogin = (Role, String);

struct Seeder<'a> {
    conn: &'a mut AnyConnection,
    now: NaiveDateTime,
    hash: &'a str,
    district_id: String,
    logins: Vec<DemoLogin>,
    /// The bureau officer who records the demo staff's vetting.
    officer: Option<String>,
}

impl Seeder<'_> {
    fn user(
        &mut self,
        school: Option<&str>,
        role: Role,
        username: &str,
        name: &str,
    ) -> AppResult<String> {
        let mut row = user_row(self.now, &self.district_id, school, role, username, name);
        row.email = Some(format!("{username}@demo.safecampus.invalid"));
        repo::insert_user(self.conn, &row, self.hash, false, self.now)?;
        self.logins.push((role, username.to_string()));
        if role == Role::BureauOfficer {
            self.officer = Some(row.id.clone());
        }
        if let (Some(school), true) = (school, role.is_vetted()) {
            let officer = self.officer.clone().ok_or_else(|| {
                crate::error::ApiError::internal("the demo's bureau officer is seeded first")
            })?;
            crate::vetting::enrol_account(
                self.conn,
                self.now,
                &row.id,
                &self.district_id,
                school,
                name,
                role,
            )?;
            crate::vetting::service::record_complete(self.conn, self.now, &row.id, &officer, 12)?;
            if role == Role::Counselor {
                // The principal names the demo's counsellors safeguarding handlers.
                crate::org::leads::insert(self.conn, self.now, school, &row.id, None)?;
            }
        }
        Ok(row.id)
    }

    fn school(&mut self, name: &str, code: &str, kind: SchoolKind) -> AppResult<String> {
        let row = SchoolRow {
            id: new_id(self.now),
            district_id: self.district_id.clone(),
            name: name.into(),
            code: code.into(),
            kind: kind.as_str().into(),
            timezone: "Asia/Shanghai".into(),
            dismissal_time: "16:30".into(),
            created_at: self.now,
        };
        repo::insert_school(self.conn, &row)?;
        Ok(row.id)
    }

    fn class(
        &mut self,
        school: &str,
        grade: i32,
        name: &str,
        head: Option<&str>,
    ) -> AppResult<String> {
        let row = ClassRow {
            id: new_id(self.now),
            school_id: school.into(),
            grade,
            name: name.into(),
            head_teacher_id: head.map(str::to_string),
        };
        repo::insert_class(self.conn, &row, self.now)?;
        Ok(row.id)
    }

    #[allow(clippy::too_many_arguments)]
    fn student(
        &mut self,
        school: &str,
        kind: SchoolKind,
        class: &str,
        grade: i32,
        name: &str,
        no: &str,
        account: Option<&str>,
    ) -> AppResult<String> {
        let row = StudentRow {
            id: new_id(self.now),
            school_id: school.into(),
            class_id: class.into(),
            name: name.into(),
            student_no: no.into(),
            grade,
            handover_required: kind.handover_required_by_default(grade),
            user_id: account.map(str::to_string),
            sex: None,
            left_at: None,
        };
        repo::insert_student(self.conn, &row, self.now)?;
        Ok(row.id)
    }

    fn guardian(&mut self, student: &str, parent: &str, relation: &str) -> AppResult<()> {
        let g = Guardian {
            id: new_id(self.now),
            student_id: student.into(),
            user_id: parent.into(),
            relation: relation.into(),
            primary: true,
        };
        Ok(repo::insert_guardian(self.conn, &g, self.now)?)
    }
}

/// Seeds a demo district on an empty database; every demo account has the
/// same `password`. Returns the logins.
pub fn seed(db: &Db, now: NaiveDateTime, password: &str) -> AppResult<Vec<DemoLogin>> {
    let hash = hash_now(password)?;
    db.write_blocking(|conn| {
        let taken: i64 = users::table.count().get_result(conn)?;
        if taken > 0 {
            return Err(ApiError::conflict(
                Code::NotEmpty,
                "the database already holds data",
            ));
        }
        let district_id = new_id(now);
        repo::insert_district(
            conn,
            &district_id,
            "示范区教育局 Demo District Education Bureau",
            now,
        )?;
        let mut s = Seeder {
            conn,
            now,
            hash: &hash,
            district_id,
            logins: Vec::new(),
            officer: None,
        };
        s.user(
            None,
            Role::DistrictAdmin,
            "admin",
            "系统管理员 System admin",
        )?;
        s.user(
            None,
            Role::BureauOfficer,
            "bureau.zhao",
            "赵科长 Officer Zhao",
        )?;

        let sunshine = s.school(
            "阳光小学 Sunshine Primary School",
            "SUN-PRI",
            SchoolKind::Primary,
        )?;
        s.user(
            Some(&sunshine),
            Role::SchoolAdmin,
            "principal.chen",
            "陈校长 Principal Chen",
        )?;
        let wang = s.user(
            Some(&sunshine),
            Role::Teacher,
            "teacher.wang",
            "王老师 Teacher Wang",
        )?;
        s.user(
            Some(&sunshine),
            Role::Guard,
            "guard.liu",
            "刘师傅 Guard Liu",
        )?;
        s.user(
            Some(&sunshine),
            Role::Counselor,
            "counselor.sun",
            "孙老师 Counsellor Sun",
        )?;
        let c1 = s.class(&sunshine, 1, "一年级1班 Grade 1 Class 1", Some(&wang))?;
        let c4 = s.class(&sunshine, 4, "四年级2班 Grade 4 Class 2", None)?;
        let xiaoming = s.student(
            &sunshine,
            SchoolKind::Primary,
            &c1,
            1,
            "李小明 Li Xiaoming",
            "S2026001",
            None,
        )?;
        let xiaohong = s.student(
            &sunshine,
            SchoolKind::Primary,
            &c4,
            4,
            "张小红 Zhang Xiaohong",
            "S2023017",
            None,
        )?;
        let li = s.user(None, Role::Parent, "parent.li", "李妈妈 Mrs Li")?;
        let zhang = s.user(None, Role::Parent, "parent.zhang", "张爸爸 Mr Zhang")?;
        s.guardian(&xiaoming, &li, "mother")?;
        s.guardian(&xiaohong, &zhang, "father")?;

        let riverside = s.school(
            "江边中学 Riverside Middle School",
            "RIV-MID",
            SchoolKind::Middle,
        )?;
        s.user(
            Some(&riverside),
            Role::SchoolAdmin,
            "principal.huang",
            "黄校长 Principal Huang",
        )?;
        let zhou = s.user(
            Some(&riverside),
            Role::Teacher,
            "teacher.zhou",
            "周老师 Teacher Zhou",
        )?;
        s.user(
            Some(&riverside),
            Role::Counselor,
            "counselor.he",
            "何老师 Counsellor He",
        )?;
        let c7 = s.class(&riverside, 7, "七年级1班 Grade 7 Class 1", Some(&zhou))?;
        let lin_account = s.user(
            Some(&riverside),
            Role::Student,
            "student.lin",
            "林芳 Lin Fang",
        )?;
        let lin = s.student(
            &riverside,
            SchoolKind::Middle,
            &c7,
            7,
            "林芳 Lin Fang",
            "M2026042",
            Some(&lin_account),
        )?;
        let lin_parent = s.user(None, Role::Parent, "parent.lin", "林爸爸 Mr Lin")?;
        s.guardian(&lin, &lin_parent, "father")?;
        audit::record(
            s.conn,
            now,
            AuditEvent::system("demo.seed", "district", Some(&s.district_id)),
        )?;
        Ok(s.logins)
    })
}
