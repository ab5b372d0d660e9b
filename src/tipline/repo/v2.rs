//! Protocol v2's columns of a report: its protocol, and the digest of the
//! submission a retry is compared with.

use crate::db::schema::{schools, tip_reports as tr};
use crate::db::AnyConnection;
use crate::error::AppResult;
use diesel::prelude::*;

/// Marks a report just inserted as v2, with the digest of its envelope.
pub fn set_v2(conn: &mut AnyConnection, report_id: &str, digest: &str) -> AppResult<()> {
    diesel::update(tr::table.find(report_id))
        .set((
            tr::protocol.eq(crate::tipline::protocol::VERSION),
            tr::submission_digest.eq(digest),
        ))
        .execute(conn)?;
    Ok(())
}

/// (protocol, submission digest) of a report.
pub fn protocol_of(conn: &mut AnyConnection, report_id: &str) -> AppResult<(i32, Option<String>)> {
    Ok(tr::table
        .find(report_id)
        .select((tr::protocol, tr::submission_digest))
        .first(conn)?)
}

/// The code of a report's school, as its AAD names it.
pub fn school_code(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    Ok(schools::table
        .find(school_id)
        .select(schools::code)
        .first(conn)?)
}
