//! Statements of a roster import and export: a school's classes, pupils and
//! guardianships at once, and the district's parents by phone.

use crate::db::schema::{classes, guardianships, students, users};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::org::dto::Guardian;
use crate::org::model::{ClassRow, StudentRow};
use diesel::prelude::*;

pub fn school_classes(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<ClassRow>> {
    Ok(classes::table
        .filter(classes::school_id.eq(school_id))
        .select(ClassRow::as_select())
        .load(conn)?)
}

pub fn school_students(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<StudentRow>> {
    Ok(students::table
        .filter(students::school_id.eq(school_id))
        .select(StudentRow::as_select())
        .load(conn)?)
}

/// The district's parent accounts: (id, username, phone).
pub fn district_parents(
    conn: &mut AnyConnection,
    district_id: &str,
) -> AppResult<Vec<(String, String, Option<String>)>> {
    Ok(users::table
        .filter(users::district_id.eq(district_id))
        .filter(users::role.eq("parent"))
        .order(users::id.asc())
        .select((users::id, users::username, users::phone))
        .load(conn)?)
}

type GuardianTuple = (String, String, String, String, bool);

fn guardian((id, student_id, user_id, relation, primary): GuardianTuple) -> Guardian {
    Guardian {
        id,
        student_id,
        user_id,
        relation,
        primary,
    }
}

/// Every guardianship of the school's pupils.
pub fn school_guardianships(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<Guardian>> {
    let rows: Vec<GuardianTuple> = guardianships::table
        .inner_join(students::table)
        .filter(students::school_id.eq(school_id))
        .select((
            guardianships::id,
            guardianships::student_id,
            guardianships::user_id,
            guardianships::relation,
            guardianships::is_primary,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(guardian).collect())
}

/// Every guardianship of the school's pupils with the guardian's name and phone.
pub fn school_guardians_with_contact(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<(Guardian, String, Option<String>)>> {
    let rows: Vec<(GuardianTuple, String, Option<String>)> = guardianships::table
        .inner_join(students::table)
        .inner_join(users::table)
        .filter(students::school_id.eq(school_id))
        .select((
            (
                guardianships::id,
                guardianships::student_id,
                guardianships::user_id,
                guardianships::relation,
                guardianships::is_primary,
            ),
            users::display_name,
            users::phone,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(g, name, phone)| (guardian(g), name, phone))
        .collect())
}

pub fn update_guardianship(
    conn: &mut AnyConnection,
    id: &str,
    relation: &str,
    primary: bool,
) -> AppResult<()> {
    diesel::update(guardianships::table.find(id))
        .set((
            guardianships::relation.eq(relation),
            guardianships::is_primary.eq(primary),
        ))
        .execute(conn)?;
    Ok(())
}
