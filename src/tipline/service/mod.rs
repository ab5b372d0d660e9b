//! The tip line's use cases: submission and follow-up by receipt
//! (`reporter`), the anonymous edge that a flood must not turn into writes
//! (`anonymous`: challenges, lookups; `attachments`: large bodies and their
//! blobs), reading, replies and status changes with two-person closing
//! (`handling`), readers and their keys (`readers`), deadlines, and the
//! windows that hold what a reporter sends (`windows`).

mod anonymous;
mod attachments;
mod deadline;
mod handling;
mod integrity;
mod readers;
mod reporter;
mod windows;

pub use anonymous::*;
pub use attachments::*;
pub use deadline::*;
pub use handling::*;
pub use integrity::*;
pub use readers::*;
pub use reporter::*;
pub use windows::*;

use super::dto::*;
use super::repo::{self, ReportRow};
use crate::crypto::envelope::{self};
use crate::crypto::hpke;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::notify::{self, Category as NotifyCategory, Template};
use chrono::NaiveDateTime;

const MAX_REPORT_CIPHERTEXT: usize = 256 * 1024;
/// A sealed message: a text of up to 20,000 characters.
const MAX_CONTENT_CIPHERTEXT: usize = 256 * 1024;
/// Attachments: 10 MiB of ciphertext (about 14 MiB of base64).
pub const ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;
pub const ATTACHMENTS_PER_REPORT: i64 = 10;

pub fn suite_info() -> SuiteInfo {
    SuiteInfo {
        name: hpke::SUITE,
        mode: 0,
        kem_id: 0x0020,
        kdf_id: 0x0001,
        aead_id: 0x0003,
        content_key_info: "safecampus/v1/content-key",
        reporter_key_salt: "safecampus/v1/reporter-key",
        padding_bucket: envelope::PAD_BUCKET,
        lookup_salt_v2: "safecampus/v2/lookup",
        reporter_key_salt_v2: "safecampus/v2/reporter-key",
        commit_label_v2: "safecampus/v2/commit",
    }
}

/// (school id, district id, school name, the district's crisis line).
pub fn school_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> AppResult<(String, String, String, String)> {
    repo::school_by_code(conn, code)?.ok_or_else(|| ApiError::not_found("mailbox"))
}

pub fn event(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
    actor: Option<&str>,
    action: &str,
    status: Status,
    note: Option<&str>,
) -> AppResult<()> {
    repo::insert_event(conn, now, report_id, actor, action, status.as_str(), note)
}

fn notify_data(conn: &mut AnyConnection, report: &ReportRow) -> AppResult<serde_json::Value> {
    let school = crate::org::repo::school_name(conn, &report.school_id)?;
    Ok(serde_json::json!({
        "school": school,
        "category": report.category,
        "urgency": report.urgency,
        "report_id": report.id,
    }))
}

/// Who is told about a report: the bureau, and the school's recipients
/// unless the report concerns staff.
fn notify_readers(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    template: Template,
) -> AppResult<()> {
    let readers = repo::readers(conn, report)?;
    let data = notify_data(conn, report)?;
    notify::send(conn, now, &readers, template, data, NotifyCategory::Tipline)
}
