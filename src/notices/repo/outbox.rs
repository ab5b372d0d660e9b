//! The admin's view of the outbox: deliveries to the accounts they look
//! after, and a fresh set of attempts for a dead one.

use crate::auth::Caller;
use crate::db::schema::{guardianships, notifications, outbox, students, users};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::notices::model::OutboxRow;
use crate::notify::model::DeliveryState;
use crate::notify::Category;
use chrono::NaiveDateTime;
use diesel::prelude::*;

type OutboxColumns = (
    (
        outbox::id,
        outbox::notification_id,
        outbox::user_id,
        outbox::channel,
        outbox::reason,
        outbox::state,
    ),
    (
        outbox::attempts,
        outbox::last_error,
        outbox::next_attempt_at,
        outbox::created_at,
        outbox::sent_at,
    ),
);

fn outbox_select() -> OutboxColumns {
    (
        (
            outbox::id,
            outbox::notification_id,
            outbox::user_id,
            outbox::channel,
            outbox::reason,
            outbox::state,
        ),
        (
            outbox::attempts,
            outbox::last_error,
            outbox::next_attempt_at,
            outbox::created_at,
            outbox::sent_at,
        ),
    )
}

/// Deliveries to accounts the admin looks after: the district's, or the
/// school's staff, pupils and their families.
fn in_admin_scope(
    caller: &Caller,
) -> Box<
    dyn BoxableExpression<
        outbox::table,
        crate::db::MultiBackend,
        SqlType = diesel::sql_types::Bool,
    >,
> {
    match caller.school_id.clone() {
        // Tip-line alerts stay with the district: when they went out to
        // whom would tell a school that (and roughly when) someone reported.
        Some(school) if !caller.role.is_district() => Box::new(
            outbox::user_id
                .eq_any(
                    users::table
                        .filter(users::school_id.eq(school.clone()))
                        .select(users::id),
                )
                .or(outbox::user_id.eq_any(
                    guardianships::table
                        .inner_join(students::table)
                        .filter(students::school_id.eq(school))
                        .select(guardianships::user_id),
                ))
                .and(diesel::dsl::not(
                    outbox::notification_id.eq_any(
                        notifications::table
                            .filter(notifications::category.eq(Category::Tipline.as_str()))
                            .select(notifications::id),
                    ),
                )),
        ),
        _ => Box::new(
            outbox::user_id.eq_any(
                users::table
                    .filter(users::district_id.eq(caller.district_id.clone()))
                    .select(users::id),
            ),
        ),
    }
}

/// A page of the deliveries in the admin's view in one state, by id.
pub fn admin_page(
    conn: &mut AnyConnection,
    caller: &Caller,
    state: DeliveryState,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<OutboxRow>> {
    let mut query = outbox::table
        .select(outbox_select())
        .order(outbox::id.asc())
        .limit(limit)
        .into_boxed()
        .filter(outbox::state.eq(state.as_str()))
        .filter(in_admin_scope(caller));
    if let Some(c) = cursor {
        query = query.filter(outbox::id.gt(c));
    }
    Ok(query.load::<OutboxRow>(conn)?)
}

/// The state of a delivery in the admin's view.
pub fn state_in_admin_scope(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<Option<String>> {
    Ok(outbox::table
        .select(outbox::state)
        .into_boxed()
        .filter(outbox::id.eq(id.to_string()))
        .filter(in_admin_scope(caller))
        .first(conn)
        .optional()?)
}

/// A fresh set of attempts for a delivery, starting now.
pub fn restart(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> AppResult<OutboxRow> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(DeliveryState::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(outbox::table.find(id).select(outbox_select()).first(conn)?)
}
