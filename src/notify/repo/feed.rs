//! Writing the feed: one notification per recipient, in the caller's
//! transaction.

use crate::db::schema::notifications as n;
use crate::db::INSERT_CHUNK;
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Writes one notification per user, all of one batch.
pub fn insert_batch(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    batch: &str,
    user_ids: &[String],
    template: &str,
    data: &str,
    category: &str,
) -> AppResult<()> {
    let rows: Vec<_> = user_ids
        .iter()
        .map(|user_id| {
            (
                n::id.eq(new_id(now)),
                n::user_id.eq(user_id),
                n::template.eq(template),
                n::data.eq(data),
                n::category.eq(category),
                n::created_at.eq(now),
                n::batch_id.eq(Some(batch)),
            )
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(n::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}
