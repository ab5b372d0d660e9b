//! Notifications: the in-app feed every domain writes to, in the same
//! transaction as the change that caused it. Texts are kept as a template
//! key and data, and rendered in the reader's language.

mod handlers;
pub mod templates;

pub use templates::{Category, Language, Template};

use crate::db::schema::notifications;
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rows per INSERT statement when fanning out (well under both backends'
/// bind-parameter limits).
const INSERT_CHUNK: usize = 500;

/// Records one notification for each user, in the caller's transaction.
pub fn send(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_ids: &[String],
    template: Template,
    data: serde_json::Value,
    category: Category,
) -> AppResult<()> {
    let data = data.to_string();
    let rows: Vec<_> = user_ids
        .iter()
        .map(|user_id| {
            (
                notifications::id.eq(new_id()),
                notifications::user_id.eq(user_id),
                notifications::template.eq(template.key()),
                notifications::data.eq(&data),
                notifications::category.eq(category.as_str()),
                notifications::created_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notifications::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::feed).service(handlers::mark_read);
}
