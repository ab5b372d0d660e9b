//! Who reads reports: readers' keys, a school's mailbox recipients, and the
//! per-report access (shared by the bureau, recused).

use crate::auth::Role;
use crate::db::schema::{
    tip_mailbox_recipients as mr, tip_recipient_changes as rc, tip_recipient_keys as rk,
    tip_report_access as ra, users,
};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Retires the user's current key and registers a new one; the new key's id.
pub fn replace_key(
    conn: &mut AnyConnection,
    user_id: &str,
    public_key: &str,
    key_backup: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<String> {
    diesel::update(
        rk::table
            .filter(rk::user_id.eq(user_id))
            .filter(rk::retired_at.is_null()),
    )
    .set(rk::retired_at.eq(now))
    .execute(conn)?;
    let key_id = new_id(now);
    diesel::insert_into(rk::table)
        .values((
            rk::id.eq(&key_id),
            rk::user_id.eq(user_id),
            rk::public_key.eq(public_key),
            rk::key_backup.eq(key_backup),
            rk::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(key_id)
}

/// A reader's key: id, public key, backup, registered at.
pub type KeyRow = (String, String, Option<String>, NaiveDateTime);

/// The user's current key.
pub fn current_key(conn: &mut AnyConnection, user_id: &str) -> AppResult<Option<KeyRow>> {
    Ok(rk::table
        .filter(rk::user_id.eq(user_id))
        .filter(rk::retired_at.is_null())
        .select((rk::id, rk::public_key, rk::key_backup, rk::created_at))
        .first(conn)
        .optional()?)
}

/// How many of `user_ids` are active school admins or counsellors of the school.
pub fn school_readers_among(
    conn: &mut AnyConnection,
    school_id: &str,
    user_ids: &[String],
) -> AppResult<i64> {
    Ok(users::table
        .filter(users::id.eq_any(user_ids))
        .filter(users::school_id.eq(school_id))
        .filter(users::disabled.eq(false))
        .filter(users::role.eq_any([Role::SchoolAdmin.as_str(), Role::Counselor.as_str()]))
        .count()
        .get_result(conn)?)
}

/// Whether the user is a school admin or counsellor of the school.
pub fn may_be_shared_with(
    conn: &mut AnyConnection,
    user_id: &str,
    school_id: &str,
) -> AppResult<bool> {
    let n: i64 = users::table
        .filter(users::id.eq(user_id))
        .filter(users::school_id.eq(school_id))
        .filter(users::role.eq_any([Role::SchoolAdmin.as_str(), Role::Counselor.as_str()]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Replaces the school's mailbox recipients.
pub fn replace_recipients(
    conn: &mut AnyConnection,
    school_id: &str,
    user_ids: &[String],
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(mr::table.filter(mr::school_id.eq(school_id))).execute(conn)?;
    for u in user_ids {
        diesel::insert_into(mr::table)
            .values((
                mr::id.eq(new_id(now)),
                mr::school_id.eq(school_id),
                mr::user_id.eq(u),
                mr::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Records a user's relation to a report (`SHARED`, `RECUSED`) once.
pub fn add_access(
    conn: &mut AnyConnection,
    report_id: &str,
    user_id: &str,
    kind: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let exists: i64 = ra::table
        .filter(ra::report_id.eq(report_id))
        .filter(ra::user_id.eq(user_id))
        .filter(ra::kind.eq(kind))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(ra::table)
            .values((
                ra::id.eq(new_id(now)),
                ra::report_id.eq(report_id),
                ra::user_id.eq(user_id),
                ra::kind.eq(kind),
                ra::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// When the account was made (the 7-day rule).
pub fn user_created_at(conn: &mut AnyConnection, user_id: &str) -> AppResult<NaiveDateTime> {
    Ok(users::table
        .find(user_id)
        .select(users::created_at)
        .first(conn)?)
}

pub fn username(conn: &mut AnyConnection, user_id: &str) -> AppResult<String> {
    Ok(users::table
        .find(user_id)
        .select(users::username)
        .first(conn)?)
}

/// A proposed change of a school's recipients, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = rc)]
pub struct ChangeRow {
    pub id: String,
    pub district_id: String,
    pub school_id: String,
    pub proposed_by: String,
    pub user_ids: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
}

/// Records a proposal; an older pending one for the school is superseded.
pub fn insert_change(conn: &mut AnyConnection, row: &ChangeRow) -> AppResult<()> {
    diesel::update(
        rc::table
            .filter(rc::school_id.eq(&row.school_id))
            .filter(rc::status.eq(PENDING)),
    )
    .set(rc::status.eq(SUPERSEDED))
    .execute(conn)?;
    diesel::insert_into(rc::table)
        .values((
            rc::id.eq(&row.id),
            rc::district_id.eq(&row.district_id),
            rc::school_id.eq(&row.school_id),
            rc::proposed_by.eq(&row.proposed_by),
            rc::user_ids.eq(&row.user_ids),
            rc::status.eq(&row.status),
            rc::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const SUPERSEDED: &str = "superseded";

/// A change in the district, or none (404 for another district's).
pub fn change_in_district(
    conn: &mut AnyConnection,
    district_id: &str,
    id: &str,
) -> AppResult<Option<ChangeRow>> {
    Ok(rc::table
        .find(id)
        .filter(rc::district_id.eq(district_id))
        .select(ChangeRow::as_select())
        .first(conn)
        .optional()?)
}

/// The district's changes waiting for approval, newest first.
pub fn pending_changes(
    conn: &mut AnyConnection,
    district_id: &str,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<ChangeRow>> {
    let mut q = rc::table
        .filter(rc::district_id.eq(district_id.to_string()))
        .filter(rc::status.eq(PENDING))
        .into_boxed();
    if let Some(c) = cursor {
        q = q.filter(rc::id.lt(c));
    }
    Ok(q.order(rc::id.desc())
        .limit(limit + 1)
        .select(ChangeRow::as_select())
        .load(conn)?)
}

/// Marks a pending change approved; false when it was no longer pending.
pub fn approve_change(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(rc::table.find(id).filter(rc::status.eq(PENDING)))
        .set((
            rc::status.eq(APPROVED),
            rc::decided_by.eq(by),
            rc::decided_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}
