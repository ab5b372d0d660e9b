//! Notifications: the in-app feed every domain writes to, in the same
//! transaction as the change that caused it, and the outbox rows that carry
//! it to email, push and SMS. Texts are kept as a template key and data, and
//! rendered in the reader's language. Notices (teacher and school messages
//! with read and acknowledgement tracking) build on the same rows.

pub mod channels;
mod dto;
mod handlers;
pub mod notices;
pub mod outbox;
mod prefs;
mod stream;
pub mod templates;

pub use dto::*;
pub use notices::create_notice;
pub use outbox::{run_escalation, run_outbox, run_workers};
pub use templates::{Category, Template};

use crate::db::schema::notifications;
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rows per INSERT statement when fanning out (well under both backends'
/// bind-parameter limits).
pub(crate) const INSERT_CHUNK: usize = 1000;

/// Records one notification for each user, in the caller's transaction, and
/// the outbox rows that deliver it on each user's enabled external channels.
pub fn send(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_ids: &[String],
    template: Template,
    data: serde_json::Value,
    category: Category,
) -> AppResult<()> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let batch = new_id(now);
    let data = data.to_string();
    let rows: Vec<_> = user_ids
        .iter()
        .map(|user_id| {
            (
                notifications::id.eq(new_id(now)),
                notifications::user_id.eq(user_id),
                notifications::template.eq(template.key()),
                notifications::data.eq(&data),
                notifications::category.eq(category.as_str()),
                notifications::created_at.eq(now),
                notifications::batch_id.eq(Some(&batch)),
            )
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        crate::on_backend!(conn, |c| diesel::insert_into(notifications::table)
            .values(chunk)
            .execute(c))?;
    }
    outbox::enqueue(
        conn,
        now,
        outbox::Selector::Batch(&batch),
        outbox::Reason::Initial,
        category,
    )
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::feed)
        .service(stream::stream)
        .service(handlers::mark_read)
        .service(handlers::ack)
        .service(prefs::get_preferences)
        .service(prefs::put_preferences)
        .service(handlers::create_notice)
        .service(handlers::list_notices)
        .service(handlers::get_notice)
        .service(handlers::receipts)
        .service(handlers::coverage)
        .service(handlers::admin_outbox)
        .service(handlers::retry_outbox);
}
