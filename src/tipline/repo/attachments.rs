//! Attachments stored as blobs: the row that names each file, what a reader
//! needs to find and check it, and the district's daily total for its quota.

use crate::blobs::StoredBlob;
use crate::db::schema::{districts, tip_attachment_blobs as ab};
use crate::db::{dialect, AnyConnection};
use crate::error::AppResult;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use std::collections::HashMap;

/// Names a blob as a message's attachment. `at` is the message's window
/// start: the row tells no finer time than the message does.
pub fn insert_attachment_blob(
    conn: &mut AnyConnection,
    blob: &StoredBlob,
    message_id: &str,
    report_id: &str,
    district_id: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(ab::table)
        .values((
            ab::id.eq(&blob.id),
            ab::message_id.eq(message_id),
            ab::report_id.eq(report_id),
            ab::district_id.eq(district_id),
            ab::size.eq(blob.size),
            ab::sha256.eq(&blob.sha256),
            ab::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// A report's attachments stored as blobs: message id → (blob id, SHA-256).
/// Attachments stored before blobs existed have no row and keep their
/// envelope in the message.
pub fn attachment_blobs(
    conn: &mut AnyConnection,
    report_id: &str,
) -> AppResult<HashMap<String, (String, String)>> {
    let rows: Vec<(String, String, String)> = ab::table
        .filter(ab::report_id.eq(report_id))
        .select((ab::message_id, ab::id, ab::sha256))
        .load(conn)?;
    Ok(rows.into_iter().map(|(m, id, h)| (m, (id, h))).collect())
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Bytes of attachments the district stored on `day` (UTC, by window start:
/// windows never cross midnight).
pub fn attachment_bytes_on(
    conn: &mut AnyConnection,
    district_id: &str,
    day: NaiveDate,
) -> AppResult<i64> {
    let start = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back in the query.
    let sql = dialect(
        conn,
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM tip_attachment_blobs \
         WHERE district_id = ? AND created_at >= ? AND created_at < ?",
    );
    let row: Total = diesel::sql_query(sql)
        .bind::<Text, _>(district_id)
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(start + Duration::days(1))
        .get_result(conn)?;
    Ok(row.total)
}

/// Makes concurrent attachments of one district wait for each other on
/// PostgreSQL, so two cannot both fit the last of the day's quota (SQLite's
/// write transactions are serial already).
pub fn lock_district(conn: &mut AnyConnection, district_id: &str) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        districts::table
            .find(district_id)
            .select(districts::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// Which of these blob ids a row names (for the orphan sweep).
pub fn known_blobs(conn: &mut AnyConnection, ids: &[String]) -> AppResult<Vec<String>> {
    let mut known = Vec::new();
    for chunk in ids.chunks(crate::db::INSERT_CHUNK) {
        known.extend(
            ab::table
                .filter(ab::id.eq_any(chunk))
                .select(ab::id)
                .load::<String>(conn)?,
        );
    }
    Ok(known)
}
