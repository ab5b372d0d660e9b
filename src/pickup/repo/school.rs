//! A school's dismissal: settings, times, closed days, ways home, and the
//! pupils and adults the board and the late worker go through.

use crate::dates::LocalDate;
use crate::db::schema::{
    classes, guardianships, handovers, pickup_closed_days, pickup_dismissal_modes,
    pickup_dismissal_times, pickup_late_alerts, pickup_settings, schools, students, users,
};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use crate::org::model::{SchoolRow, StudentRow};
use crate::pickup::model::DismissalOverride;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

pub(in crate::pickup) const DEFAULT_LATE_THRESHOLD_MINUTES: i32 = 15;

pub(in crate::pickup) fn school_row(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<SchoolRow> {
    Ok(schools::table
        .find(school_id)
        .select(SchoolRow::as_select())
        .first(conn)?)
}

pub(in crate::pickup) fn school_ids(conn: &mut AnyConnection) -> AppResult<Vec<String>> {
    Ok(schools::table
        .select(schools::id)
        .order(schools::id)
        .load(conn)?)
}

/// A school's pickup settings: the late threshold and the pass cut-off.
pub(in crate::pickup) fn settings(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<(i32, Option<String>)> {
    Ok(pickup_settings::table
        .find(school_id)
        .select((
            pickup_settings::late_threshold_minutes,
            pickup_settings::pass_cutoff,
        ))
        .first::<(i32, Option<String>)>(conn)
        .optional()?
        .unwrap_or((DEFAULT_LATE_THRESHOLD_MINUTES, None)))
}

pub(in crate::pickup) fn replace_settings(
    conn: &mut AnyConnection,
    school_id: &str,
    late_threshold_minutes: i32,
    pass_cutoff: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(pickup_settings::table.find(school_id)).execute(conn)?;
    diesel::insert_into(pickup_settings::table)
        .values((
            pickup_settings::school_id.eq(school_id),
            pickup_settings::late_threshold_minutes.eq(late_threshold_minutes),
            pickup_settings::pass_cutoff.eq(pass_cutoff),
            pickup_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn dismissal_overrides(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<DismissalOverride>> {
    Ok(pickup_dismissal_times::table
        .filter(pickup_dismissal_times::school_id.eq(school_id))
        .select((
            pickup_dismissal_times::weekday,
            pickup_dismissal_times::grade,
            pickup_dismissal_times::dismissal_time,
        ))
        .order(pickup_dismissal_times::id)
        .load(conn)?)
}

pub(in crate::pickup) fn replace_dismissal_overrides(
    conn: &mut AnyConnection,
    school_id: &str,
    overrides: &[DismissalOverride],
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(
        pickup_dismissal_times::table.filter(pickup_dismissal_times::school_id.eq(school_id)),
    )
    .execute(conn)?;
    for (weekday, grade, time) in overrides {
        diesel::insert_into(pickup_dismissal_times::table)
            .values((
                pickup_dismissal_times::id.eq(new_id(now)),
                pickup_dismissal_times::school_id.eq(school_id),
                pickup_dismissal_times::weekday.eq(weekday),
                pickup_dismissal_times::grade.eq(grade),
                pickup_dismissal_times::dismissal_time.eq(time),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether the school is closed on a date (a holiday it recorded).
pub(in crate::pickup) fn closed_on(
    conn: &mut AnyConnection,
    school_id: &str,
    date: NaiveDate,
) -> AppResult<bool> {
    let n: i64 = pickup_closed_days::table
        .filter(pickup_closed_days::school_id.eq(school_id))
        .filter(pickup_closed_days::local_date.eq(LocalDate(date)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub(in crate::pickup) fn closed_days(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<LocalDate>> {
    Ok(pickup_closed_days::table
        .filter(pickup_closed_days::school_id.eq(school_id))
        .select(pickup_closed_days::local_date)
        .order(pickup_closed_days::local_date)
        .load(conn)?)
}

/// Replaces the school's closed days with these (sorted, without repeats).
pub(in crate::pickup) fn replace_closed_days(
    conn: &mut AnyConnection,
    school_id: &str,
    dates: &[LocalDate],
) -> AppResult<()> {
    diesel::delete(pickup_closed_days::table.filter(pickup_closed_days::school_id.eq(school_id)))
        .execute(conn)?;
    for d in dates {
        diesel::insert_into(pickup_closed_days::table)
            .values((
                pickup_closed_days::school_id.eq(school_id),
                pickup_closed_days::local_date.eq(d),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// (pupil id, mode) of these pupils' recorded ways home (at most 500 ids a call).
pub(in crate::pickup) fn modes_of(
    conn: &mut AnyConnection,
    student_ids: &[String],
) -> AppResult<Vec<(String, String)>> {
    Ok(pickup_dismissal_modes::table
        .filter(pickup_dismissal_modes::student_id.eq_any(student_ids))
        .select((
            pickup_dismissal_modes::student_id,
            pickup_dismissal_modes::mode,
        ))
        .load(conn)?)
}

pub(in crate::pickup) fn replace_mode(
    conn: &mut AnyConnection,
    student_id: &str,
    mode: &str,
    set_by: &str,
    approved_by: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(pickup_dismissal_modes::table.find(student_id)).execute(conn)?;
    diesel::insert_into(pickup_dismissal_modes::table)
        .values((
            pickup_dismissal_modes::student_id.eq(student_id),
            pickup_dismissal_modes::mode.eq(mode),
            pickup_dismissal_modes::set_by.eq(set_by),
            pickup_dismissal_modes::approved_by.eq(approved_by),
            pickup_dismissal_modes::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The school's pupils whose recorded way home is other than `handover_mode`.
pub(in crate::pickup) fn pupils_going_home_another_way(
    conn: &mut AnyConnection,
    school_id: &str,
    handover_mode: &str,
) -> AppResult<Vec<String>> {
    Ok(pickup_dismissal_modes::table
        .inner_join(students::table)
        .filter(students::school_id.eq(school_id))
        .filter(students::left_at.is_null())
        .filter(pickup_dismissal_modes::mode.ne(handover_mode))
        .select(pickup_dismissal_modes::student_id)
        .load(conn)?)
}

/// (id, name, class id, grade) of the school's pupils who need handover and
/// have none on this day.
pub(in crate::pickup) fn pupils_not_handed_over(
    conn: &mut AnyConnection,
    school_id: &str,
    date: NaiveDate,
) -> AppResult<Vec<(String, String, String, i32)>> {
    Ok(students::table
        .filter(students::school_id.eq(school_id))
        .filter(students::left_at.is_null())
        .filter(students::handover_required.eq(true))
        .filter(
            students::id.ne_all(
                handovers::table
                    .filter(handovers::school_id.eq(school_id))
                    .filter(handovers::local_date.eq(LocalDate(date)))
                    .select(handovers::student_id),
            ),
        )
        .select((
            students::id,
            students::name,
            students::class_id,
            students::grade,
        ))
        .order(students::id)
        .load(conn)?)
}

/// Records a late-pickup alert level of a pupil's day; 1 if new, 0 if it
/// was already recorded (by this round or another instance).
pub(in crate::pickup) fn record_late_alert(
    conn: &mut AnyConnection,
    student_id: &str,
    date: NaiveDate,
    level: i32,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(crate::on_backend!(conn, |c| diesel::insert_into(
        pickup_late_alerts::table
    )
    .values((
        pickup_late_alerts::id.eq(new_id(now)),
        pickup_late_alerts::student_id.eq(student_id),
        pickup_late_alerts::local_date.eq(LocalDate(date)),
        pickup_late_alerts::level.eq(level),
        pickup_late_alerts::created_at.eq(now),
    ))
    .on_conflict_do_nothing()
    .execute(c))?)
}

/// The highest late-pickup level recorded today for each of the school's
/// pupils that has one.
pub(in crate::pickup) fn late_levels_recorded(
    conn: &mut AnyConnection,
    school_id: &str,
    date: NaiveDate,
) -> AppResult<std::collections::HashMap<String, i32>> {
    let rows: Vec<(String, i32)> = pickup_late_alerts::table
        .inner_join(students::table.on(students::id.eq(pickup_late_alerts::student_id)))
        .filter(students::school_id.eq(school_id))
        .filter(pickup_late_alerts::local_date.eq(LocalDate(date)))
        .select((pickup_late_alerts::student_id, pickup_late_alerts::level))
        .load(conn)?;
    let mut levels = std::collections::HashMap::new();
    for (student, level) in rows {
        let l = levels.entry(student).or_insert(level);
        *l = (*l).max(level);
    }
    Ok(levels)
}

pub(in crate::pickup) fn class_pupils(
    conn: &mut AnyConnection,
    class_id: &str,
) -> AppResult<Vec<StudentRow>> {
    Ok(students::table
        .filter(students::class_id.eq(class_id))
        .filter(students::left_at.is_null())
        .select(StudentRow::as_select())
        .order((students::name, students::id))
        .load(conn)?)
}

pub(in crate::pickup) fn school_pupils(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<StudentRow>> {
    Ok(students::table
        .filter(students::school_id.eq(school_id))
        .filter(students::left_at.is_null())
        .select(StudentRow::as_select())
        .order((students::class_id, students::name))
        .load(conn)?)
}

/// (id, name, grade) of the school's classes, by grade and name.
pub(in crate::pickup) fn school_classes(
    conn: &mut AnyConnection,
    school_id: &str,
) -> AppResult<Vec<(String, String, i32)>> {
    Ok(classes::table
        .filter(classes::school_id.eq(school_id))
        .select((classes::id, classes::name, classes::grade))
        .order((classes::grade, classes::name))
        .load(conn)?)
}

/// (user id, display name, relation) of the pupil's guardians among `allowed`, enabled.
pub(in crate::pickup) fn guardians_named(
    conn: &mut AnyConnection,
    student_id: &str,
    allowed: &[String],
) -> AppResult<Vec<(String, String, String)>> {
    Ok(guardianships::table
        .inner_join(users::table)
        .filter(guardianships::student_id.eq(student_id))
        .filter(users::disabled.eq(false))
        .filter(users::id.eq_any(allowed))
        .select((users::id, users::display_name, guardianships::relation))
        .order(users::id)
        .load(conn)?)
}

/// (display name, phone, relation) of an enabled guardian of the pupil.
pub(in crate::pickup) fn guardian_of(
    conn: &mut AnyConnection,
    student_id: &str,
    user_id: &str,
) -> AppResult<Option<(String, Option<String>, String)>> {
    Ok(guardianships::table
        .inner_join(users::table)
        .filter(guardianships::student_id.eq(student_id))
        .filter(guardianships::user_id.eq(user_id))
        .filter(users::disabled.eq(false))
        .select((users::display_name, users::phone, guardianships::relation))
        .first(conn)
        .optional()?)
}
