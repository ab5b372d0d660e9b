//! Every SQL statement of the dormitories.

use crate::auth::Caller;
use crate::db::schema::{
    dorm_absences, dorm_entries, dorm_residents, dorm_roll_calls, dorm_staff, dorms, schools,
    students, users,
};
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A dormitory: id, school, name, kind.
pub type DormRow = (String, String, String, String);

pub fn insert(
    conn: &mut AnyConnection,
    row: &DormRow,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(dorms::table)
        .values((
            dorms::id.eq(&row.0),
            dorms::school_id.eq(&row.1),
            dorms::name.eq(&row.2),
            dorms::kind.eq(&row.3),
            dorms::created_by.eq(by),
            dorms::created_at.eq(now),
        ))
        .execute(conn)
}

/// A dormitory of the caller's school (of their district, for district roles).
pub fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Option<DormRow>> {
    let mut q = dorms::table
        .inner_join(schools::table)
        .filter(dorms::id.eq(id))
        .filter(schools::district_id.eq(caller.district_id.clone()))
        .select((dorms::id, dorms::school_id, dorms::name, dorms::kind))
        .into_boxed();
    if !caller.role.is_district() {
        q = q.filter(dorms::school_id.eq(caller.school_id.clone().unwrap_or_default()));
    }
    Ok(q.first(conn).optional()?)
}

pub fn residents(conn: &mut AnyConnection, dorm_id: &str) -> AppResult<Vec<String>> {
    Ok(dorm_residents::table
        .filter(dorm_residents::dorm_id.eq(dorm_id))
        .select(dorm_residents::student_id)
        .order(dorm_residents::student_id)
        .load(conn)?)
}

/// The dormitory's staff who still work here: an account disabled or
/// offboarded holds no dormitory place.
pub fn staff(conn: &mut AnyConnection, dorm_id: &str) -> AppResult<Vec<String>> {
    Ok(dorm_staff::table
        .inner_join(users::table.on(users::id.eq(dorm_staff::user_id)))
        .filter(dorm_staff::dorm_id.eq(dorm_id))
        .filter(users::disabled.eq(false))
        .select(dorm_staff::user_id)
        .order(dorm_staff::user_id)
        .load(conn)?)
}

/// A pupil of the school: (class, sex).
pub fn student(
    conn: &mut AnyConnection,
    school_id: &str,
    id: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    Ok(students::table
        .filter(students::id.eq(id))
        .filter(students::school_id.eq(school_id))
        .filter(students::left_at.is_null())
        .select((students::class_id, students::sex))
        .first(conn)
        .optional()?)
}

/// An enabled member of the school's staff: (role, sex).
pub fn staff_member(
    conn: &mut AnyConnection,
    school_id: &str,
    id: &str,
) -> AppResult<Option<(String, Option<String>)>> {
    Ok(users::table
        .filter(users::id.eq(id))
        .filter(users::school_id.eq(school_id))
        .filter(users::disabled.eq(false))
        .select((users::role, users::sex))
        .first(conn)
        .optional()?)
}

pub fn add_resident(
    conn: &mut AnyConnection,
    dorm_id: &str,
    student_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let n: i64 = dorm_residents::table
        .filter(dorm_residents::dorm_id.eq(dorm_id))
        .filter(dorm_residents::student_id.eq(student_id))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(dorm_residents::table)
            .values((
                dorm_residents::dorm_id.eq(dorm_id),
                dorm_residents::student_id.eq(student_id),
                dorm_residents::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn add_staff(
    conn: &mut AnyConnection,
    dorm_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let n: i64 = dorm_staff::table
        .filter(dorm_staff::dorm_id.eq(dorm_id))
        .filter(dorm_staff::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(dorm_staff::table)
            .values((
                dorm_staff::dorm_id.eq(dorm_id),
                dorm_staff::user_id.eq(user_id),
                dorm_staff::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A man's entry: id, dorm, name, account, reason, approver, incident, at, recorded by.
pub struct EntryRow<'a> {
    pub id: &'a str,
    pub dorm_id: &'a str,
    pub name: &'a str,
    pub user_id: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub approved_by: Option<&'a str>,
    pub incident: bool,
    pub at: NaiveDateTime,
    pub by: &'a str,
}

pub fn insert_entry(conn: &mut AnyConnection, e: &EntryRow) -> AppResult<()> {
    diesel::insert_into(dorm_entries::table)
        .values((
            dorm_entries::id.eq(e.id),
            dorm_entries::dorm_id.eq(e.dorm_id),
            dorm_entries::name.eq(e.name),
            dorm_entries::user_id.eq(e.user_id),
            dorm_entries::reason.eq(e.reason),
            dorm_entries::approved_by.eq(e.approved_by),
            dorm_entries::incident.eq(e.incident),
            dorm_entries::entered_at.eq(e.at),
            dorm_entries::recorded_by.eq(e.by),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_roll_call(
    conn: &mut AnyConnection,
    id: &str,
    dorm_id: &str,
    date: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(dorm_roll_calls::table)
        .values((
            dorm_roll_calls::id.eq(id),
            dorm_roll_calls::dorm_id.eq(dorm_id),
            dorm_roll_calls::local_date.eq(date),
            dorm_roll_calls::taken_by.eq(by),
            dorm_roll_calls::taken_at.eq(now),
        ))
        .execute(conn)
}

pub fn insert_absence(
    conn: &mut AnyConnection,
    roll_call_id: &str,
    student_id: &str,
    leave: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(dorm_absences::table)
        .values((
            dorm_absences::roll_call_id.eq(roll_call_id),
            dorm_absences::student_id.eq(student_id),
            dorm_absences::excused_by_leave.eq(leave),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn student_name(conn: &mut AnyConnection, id: &str) -> AppResult<String> {
    Ok(students::table
        .find(id)
        .select(students::name)
        .first(conn)?)
}

/// A pupil leaves every dormitory (a transfer); answers how many places.
pub fn remove_resident_everywhere(conn: &mut AnyConnection, student_id: &str) -> AppResult<usize> {
    Ok(
        diesel::delete(dorm_residents::table.filter(dorm_residents::student_id.eq(student_id)))
            .execute(conn)?,
    )
}
