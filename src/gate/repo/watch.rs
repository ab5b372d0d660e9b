//! The watch list as one school's gate sees it: the school's bans, the
//! district's vetting bars, staff a case suspended, and the never-release
//! entries of the school's pupils.

use crate::auth::Caller;
use crate::db::schema::{personnel, pickup_blocks, students, users, watch_list};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::gate::model::WatchRow;
use crate::gate::rules::{Marks, WatchEntry, WatchSource};
use crate::org::family::BLOCK_ACTIVE;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A suspended person: id, school, name, ID ending, ID hash.
type SuspendedRow = (String, String, String, Option<String>, Option<String>);
/// A never-release entry: id, name, phone, ID ending, made at.
type BlockRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// One entry in force at a school, with what its list shows.
pub struct Listed {
    pub entry: WatchEntry,
    pub school_id: Option<String>,
    pub note: Option<String>,
    pub created_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut AnyConnection, row: &WatchRow) -> AppResult<()> {
    diesel::insert_into(watch_list::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

fn user_phone(conn: &mut AnyConnection, personnel_id: &str) -> AppResult<Option<String>> {
    Ok(personnel::table
        .inner_join(users::table.on(personnel::user_id.eq(users::id.nullable())))
        .filter(personnel::id.eq(personnel_id))
        .select(users::phone)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Every entry in force at the school: its own bans, any vetting bar of the
/// district (a barred person is barred at every school), staff suspended by
/// a case anywhere in the district, and its pupils' never-release entries.
pub fn in_force(
    conn: &mut AnyConnection,
    district_id: &str,
    school_id: &str,
) -> AppResult<Vec<Listed>> {
    let mut out = Vec::new();
    let rows: Vec<WatchRow> = watch_list::table
        .filter(watch_list::district_id.eq(district_id))
        .filter(watch_list::lifted_at.is_null())
        .filter(
            watch_list::school_id
                .eq(school_id)
                .or(watch_list::reason.eq(WatchSource::VettingHit.as_str())),
        )
        .select(WatchRow::as_select())
        .order(watch_list::id)
        .load(conn)?;
    for r in rows {
        // A barred staff member's account phone is a mark the gate can match.
        let phone = match (&r.phone, &r.personnel_id) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => user_phone(conn, p)?,
            (None, None) => None,
        };
        out.push(Listed {
            entry: WatchEntry {
                id: r.id,
                source: WatchSource::parse(&r.reason).unwrap_or(WatchSource::Ban),
                marks: Marks {
                    name: Some(r.name),
                    phone,
                    id_last4: r.id_last4,
                    id_hmac: r.id_hmac,
                    plate: r.plate,
                },
            },
            school_id: r.school_id,
            note: r.note,
            created_at: Some(r.created_at),
        });
    }
    let suspended: Vec<SuspendedRow> = personnel::table
        .filter(personnel::district_id.eq(district_id))
        .filter(personnel::suspended_at.is_not_null())
        .select((
            personnel::id,
            personnel::school_id,
            personnel::name,
            personnel::id_last4,
            personnel::id_hmac,
        ))
        .order(personnel::id)
        .load(conn)?;
    for (id, school, name, id_last4, id_hmac) in suspended {
        let phone = user_phone(conn, &id)?;
        out.push(Listed {
            entry: WatchEntry {
                id,
                source: WatchSource::Suspended,
                marks: Marks {
                    name: Some(name),
                    phone,
                    id_last4,
                    id_hmac,
                    plate: None,
                },
            },
            school_id: Some(school),
            note: None,
            created_at: None,
        });
    }
    let blocks: Vec<BlockRow> = pickup_blocks::table
        .inner_join(students::table)
        .filter(students::school_id.eq(school_id))
        .filter(pickup_blocks::lifted_at.is_null())
        .filter(pickup_blocks::status.eq(BLOCK_ACTIVE))
        .select((
            pickup_blocks::id,
            pickup_blocks::name,
            pickup_blocks::phone,
            pickup_blocks::id_last4,
            pickup_blocks::created_at,
        ))
        .order(pickup_blocks::id)
        .load(conn)?;
    for (id, name, phone, id_last4, created_at) in blocks {
        out.push(Listed {
            entry: WatchEntry {
                id,
                source: WatchSource::NeverRelease,
                marks: Marks {
                    name: Some(name),
                    phone,
                    id_last4,
                    id_hmac: None,
                    plate: None,
                },
            },
            school_id: Some(school_id.to_string()),
            note: None,
            created_at: Some(created_at),
        });
    }
    Ok(out)
}

/// An entry of the list the caller keeps: their school's (a school admin),
/// their district's (the bureau, the district admin).
pub fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Option<WatchRow>> {
    let mut q = watch_list::table
        .filter(watch_list::id.eq(id))
        .filter(watch_list::district_id.eq(caller.district_id.clone()))
        .select(WatchRow::as_select())
        .into_boxed();
    if !caller.role.is_district() {
        q = q.filter(watch_list::school_id.eq(caller.school_id.clone().unwrap_or_default()));
    }
    Ok(q.first(conn).optional()?)
}

/// Lifts an entry in force; false when it was already lifted.
pub fn lift(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    note: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        watch_list::table
            .filter(watch_list::id.eq(id))
            .filter(watch_list::lifted_at.is_null()),
    )
    .set((
        watch_list::lifted_at.eq(now),
        watch_list::lifted_by.eq(by),
        watch_list::lift_note.eq(note),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
