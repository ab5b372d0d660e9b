//! Tip-line queries. Who may see a report is decided here, in one place:
//! the district's bureau officers; the school's designated recipients (not
//! for a `concerns_staff` report); users the bureau shared it with; never
//! someone who recused.

use super::dto::*;
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::crypto::envelope::{Envelope, REPORTER_KEY_ID};
use crate::db::schema::{
    schools, tip_mailbox_recipients as mr, tip_messages as tm, tip_recipient_keys as rk,
    tip_report_access as ra, tip_report_reads as rr, tip_reports as tr, users,
};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

mod attachments;
mod lifecycle;
mod readers;
mod v2;
mod windows;
pub use attachments::*;
pub use lifecycle::*;
pub use readers::*;
pub use v2::*;
pub use windows::*;

pub const SHARED: &str = "shared";
pub const RECUSED: &str = "recused";
/// Named by the bureau as concerned by the report: never reads it again.
pub const CONCERNED: &str = "concerned";

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = tr)]
pub struct ReportRow {
    pub id: String,
    pub district_id: String,
    pub school_id: String,
    pub category: String,
    pub urgency: String,
    pub concerns_staff: bool,
    pub status: String,
    pub reporter_public_key: String,
    pub envelope: String,
    pub created_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
    pub escalated_at: Option<NaiveDateTime>,
    pub outcome: Option<String>,
    pub close_requested_by: Option<String>,
    pub close_outcome: Option<String>,
    pub close_note: Option<String>,
    pub due_at: Option<NaiveDateTime>,
}

impl ReportRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::New)
    }
    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Normal)
    }
    pub fn category(&self) -> Category {
        Category::parse(&self.category).unwrap_or(Category::Other)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tm)]
pub struct MessageRow {
    pub id: String,
    pub sender: String,
    pub author_id: Option<String>,
    pub is_attachment: bool,
    pub envelope: String,
    pub created_at: NaiveDateTime,
    pub seq: i32,
}

/// An id for a report or a reporter's message that does not tell the
/// moment it was made (a UUIDv7 would, to the millisecond): its time part is
/// the hour only, the rest is random, so lists still sort by hour.
pub fn anonymous_id(now: NaiveDateTime) -> String {
    let hour_ms = to_hour(now).timestamp_millis().max(0) as u64;
    let mut random = [0u8; 10];
    random.copy_from_slice(&crate::crypto::random_bytes(10));
    uuid::Builder::from_unix_timestamp_millis(hour_ms, &random)
        .into_uuid()
        .to_string()
}

pub fn to_hour(t: NaiveDateTime) -> DateTime<Utc> {
    to_utc(
        t.with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t),
    )
}

pub fn parse_envelope(text: &str) -> AppResult<Envelope> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

pub fn envelope_text(env: &Envelope) -> String {
    serde_json::to_string(env).expect("an envelope serialises")
}

/// A key a report or message must be sealed to.
#[derive(Clone, Debug)]
pub struct KeyHolder {
    pub key_id: String,
    pub user_id: String,
    pub public_key: String,
}

fn current_keys(conn: &mut AnyConnection, user_ids: &[String]) -> AppResult<Vec<KeyHolder>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String)> = rk::table
        .inner_join(users::table)
        .filter(rk::user_id.eq_any(user_ids))
        .filter(rk::retired_at.is_null())
        .filter(users::disabled.eq(false))
        .select((rk::id, rk::user_id, rk::public_key))
        .order(rk::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(key_id, user_id, public_key)| KeyHolder {
            key_id,
            user_id,
            public_key,
        })
        .collect())
}

pub fn bureau_officer_ids(conn: &mut AnyConnection, district_id: &str) -> AppResult<Vec<String>> {
    Ok(users::table
        .filter(users::district_id.eq(district_id))
        .filter(users::role.eq(Role::BureauOfficer.as_str()))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

pub fn school_recipient_ids(conn: &mut AnyConnection, school_id: &str) -> AppResult<Vec<String>> {
    Ok(mr::table
        .inner_join(users::table)
        .filter(mr::school_id.eq(school_id))
        .filter(users::disabled.eq(false))
        .select(mr::user_id)
        .order(mr::user_id)
        .load(conn)?)
}

fn access_user_ids(
    conn: &mut AnyConnection,
    report_id: &str,
    kind: &str,
) -> AppResult<Vec<String>> {
    Ok(ra::table
        .filter(ra::report_id.eq(report_id))
        .filter(ra::kind.eq(kind))
        .select(ra::user_id)
        .load(conn)?)
}

/// (school recipient keys + district keys, district keys) of a mailbox.
pub fn mailbox_keys(
    conn: &mut AnyConnection,
    school_id: &str,
    district_id: &str,
) -> AppResult<(Vec<KeyHolder>, Vec<KeyHolder>)> {
    let bureau = bureau_officer_ids(conn, district_id)?;
    let district = current_keys(conn, &bureau)?;
    let school = school_recipient_ids(conn, school_id)?;
    let mut all = current_keys(conn, &school)?;
    all.extend(district.iter().cloned());
    dedup(&mut all);
    Ok((all, district))
}

fn dedup(keys: &mut Vec<KeyHolder>) {
    let mut seen = BTreeSet::new();
    keys.retain(|k| seen.insert(k.key_id.clone()));
}

/// The users who may read a report now.
pub fn readers(conn: &mut AnyConnection, report: &ReportRow) -> AppResult<Vec<String>> {
    let mut ids = bureau_officer_ids(conn, &report.district_id)?;
    if !report.concerns_staff {
        ids.extend(school_recipient_ids(conn, &report.school_id)?);
    }
    ids.extend(access_user_ids(conn, &report.id, SHARED)?);
    let mut recused: BTreeSet<String> = access_user_ids(conn, &report.id, RECUSED)?
        .into_iter()
        .collect();
    recused.extend(access_user_ids(conn, &report.id, CONCERNED)?);
    let mut seen = BTreeSet::new();
    ids.retain(|id| !recused.contains(id) && seen.insert(id.clone()));
    Ok(ids)
}

/// Makes concurrent changes to one report's readers wait for each other on
/// PostgreSQL (SQLite's write transactions are serial already), so two
/// officers recusing at once cannot both think the other stays.
pub fn lock_report(conn: &mut AnyConnection, report_id: &str) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        tr::table
            .find(report_id)
            .select(tr::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

/// How many bureau officers besides `user_id` can read the report now.
pub fn other_district_readers(
    conn: &mut AnyConnection,
    report: &ReportRow,
    user_id: &str,
) -> AppResult<usize> {
    let bureau: BTreeSet<String> = bureau_officer_ids(conn, &report.district_id)?
        .into_iter()
        .collect();
    Ok(readers(conn, report)?
        .into_iter()
        .filter(|u| u != user_id && bureau.contains(u))
        .count())
}

/// Every current recipient key of a report: what each new message must be sealed to.
pub fn report_keys(conn: &mut AnyConnection, report: &ReportRow) -> AppResult<Vec<KeyHolder>> {
    let readers = readers(conn, report)?;
    let mut keys = current_keys(conn, &readers)?;
    dedup(&mut keys);
    Ok(keys)
}

pub fn keys_dto(keys: &[KeyHolder]) -> Vec<RecipientKey> {
    keys.iter()
        .map(|k| RecipientKey {
            key_id: k.key_id.clone(),
            public_key: k.public_key.clone(),
        })
        .collect()
}

/// Checks an envelope's shape, its padding, and that it is sealed to every
/// required key and to no other (the reporter key only where allowed).
pub fn check_envelope(
    env: &Envelope,
    required: &[KeyHolder],
    reporter: ReporterKey,
    padded: bool,
    max_ciphertext: usize,
) -> AppResult<()> {
    let len = env.check_shape().map_err(|e| {
        ApiError::invalid("envelope", e.to_string()).with_field(match e {
            crate::crypto::envelope::EnvelopeError::Malformed(f) => format!("envelope.{f}"),
            _ => "envelope".to_string(),
        })
    })?;
    if len > max_ciphertext {
        return Err(ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            Code::ContentTooLarge,
            format!("the ciphertext must be at most {max_ciphertext} bytes"),
        )
        .with_field("envelope.ciphertext"));
    }
    if padded && !crate::crypto::envelope::is_padded_length(len) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Code::UnpaddedCiphertext,
            "pad the plaintext with trailing spaces to a multiple of 512 bytes before sealing",
        )
        .with_field("envelope.ciphertext"));
    }
    let mut present = BTreeSet::new();
    for k in &env.keys {
        if !present.insert(k.key_id.as_str()) {
            return Err(ApiError::invalid("envelope.keys", "a key_id appears twice"));
        }
        let known = required.iter().any(|r| r.key_id == k.key_id)
            || (k.key_id == REPORTER_KEY_ID && reporter != ReporterKey::Forbidden);
        if !known {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                Code::UnknownRecipientKey,
                format!(
                    "{} is not a recipient key of this mailbox or report",
                    k.key_id
                ),
            )
            .with_field("envelope.keys"));
        }
    }
    let mut missing: Vec<&str> = required
        .iter()
        .filter(|r| !present.contains(r.key_id.as_str()))
        .map(|r| r.key_id.as_str())
        .collect();
    if reporter == ReporterKey::Required && !present.contains(REPORTER_KEY_ID) {
        missing.push(REPORTER_KEY_ID);
    }
    if !missing.is_empty() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Code::MissingRecipientKey,
            format!(
                "the content key must be sealed to every current recipient key; missing: {}",
                missing.join(", ")
            ),
        )
        .with_field("envelope.keys"));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReporterKey {
    Forbidden,
    Allowed,
    Required,
}

/// Whether the caller designated as recipient of their school's mailbox.
fn is_school_recipient(conn: &mut AnyConnection, caller: &Caller) -> AppResult<bool> {
    let Some(school) = caller.school_id.as_deref() else {
        return Ok(false);
    };
    Ok(mr::table
        .filter(mr::school_id.eq(school))
        .filter(mr::user_id.eq(&caller.user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// A report the caller may read, or 404. A report still held in its window
/// is no one's yet.
pub fn visible_report(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<ReportRow> {
    let not_found = || ApiError::not_found("report");
    let report = tr::table
        .find(id)
        .filter(tr::held.eq(false))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    if report.district_id != caller.district_id {
        return Err(not_found());
    }
    if readers(conn, &report)?.contains(&caller.user_id) {
        Ok(report)
    } else {
        Err(not_found())
    }
}

/// Whether the caller receives any mailbox at all (404 for everyone else).
pub fn is_any_recipient(conn: &mut AnyConnection, caller: &Caller) -> AppResult<bool> {
    if caller.role == Role::BureauOfficer {
        return Ok(true);
    }
    if is_school_recipient(conn, caller)? {
        return Ok(true);
    }
    Ok(ra::table
        .filter(ra::user_id.eq(&caller.user_id))
        .filter(ra::kind.eq(SHARED))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The reports the caller may list, newest first.
pub fn list_visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    status: Option<Status>,
    overdue_before: Option<(NaiveDateTime, NaiveDateTime, NaiveDateTime)>,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Vec<ReportRow>> {
    let mut q = tr::table
        .filter(tr::district_id.eq(caller.district_id.clone()))
        .filter(tr::held.eq(false))
        .filter(
            tr::id.ne_all(
                ra::table
                    .filter(ra::user_id.eq(caller.user_id.clone()))
                    .filter(ra::kind.eq_any([RECUSED, CONCERNED]))
                    .select(ra::report_id),
            ),
        )
        .into_boxed();
    if caller.role != Role::BureauOfficer {
        let shared = tr::id.eq_any(
            ra::table
                .filter(ra::user_id.eq(caller.user_id.clone()))
                .filter(ra::kind.eq(SHARED))
                .select(ra::report_id),
        );
        if is_school_recipient(conn, caller)? {
            let school = caller.school_id.clone().unwrap_or_default();
            q = q.filter(
                tr::school_id
                    .eq(school)
                    .and(tr::concerns_staff.eq(false))
                    .or(shared),
            );
        } else {
            q = q.filter(shared);
        }
    }
    if let Some(s) = status {
        q = q.filter(tr::status.eq(s.as_str()));
    }
    if let Some((now, urgent_before, normal_before)) = overdue_before {
        q = only_overdue(q, now, normal_before, urgent_before);
    }
    if let Some(c) = cursor {
        q = q.filter(tr::id.lt(c));
    }
    Ok(q.order(tr::id.desc())
        .limit(limit + 1)
        .select(ReportRow::as_select())
        .load(conn)?)
}

pub fn summaries(
    conn: &mut AnyConnection,
    caller: &Caller,
    rows: &[ReportRow],
) -> AppResult<Vec<ReportSummary>> {
    let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let reads: HashMap<String, NaiveDateTime> = rr::table
        .filter(rr::user_id.eq(&caller.user_id))
        .filter(rr::report_id.eq_any(&ids))
        .select((rr::report_id, rr::read_at))
        .load::<(String, NaiveDateTime)>(conn)?
        .into_iter()
        .collect();
    let school_ids: Vec<&String> = rows.iter().map(|r| &r.school_id).collect();
    let names: HashMap<String, String> = schools::table
        .filter(schools::id.eq_any(&school_ids))
        .select((schools::id, schools::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .iter()
        .map(|r| ReportSummary {
            id: r.id.clone(),
            school_id: r.school_id.clone(),
            school_name: names.get(&r.school_id).cloned().unwrap_or_default(),
            category: r.category(),
            urgency: r.urgency(),
            status: r.status(),
            concerns_staff: r.concerns_staff,
            created_hour: to_hour(r.created_at),
            last_activity_at: to_hour(r.last_activity_at),
            unread: reads
                .get(&r.id)
                .is_none_or(|read| *read < r.last_activity_at),
            close_pending: r.close_requested_by.is_some(),
        })
        .collect())
}

/// A report's thread in order; with `held`, also the reporter's messages
/// still waiting for their window (last: they have no place yet).
pub fn messages(
    conn: &mut AnyConnection,
    report_id: &str,
    held: bool,
) -> AppResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = tm::table
        .filter(tm::report_id.eq(report_id))
        .filter(tm::held.eq(false))
        .order(tm::seq)
        .select(MessageRow::as_select())
        .load(conn)?;
    if held {
        // Held messages count down from -1 in the order they were sent.
        rows.extend(
            tm::table
                .filter(tm::report_id.eq(report_id))
                .filter(tm::held.eq(true))
                .order(tm::seq.desc())
                .select(MessageRow::as_select())
                .load::<MessageRow>(conn)?,
        );
    }
    Ok(rows)
}

pub fn mark_read(
    conn: &mut AnyConnection,
    report_id: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::delete(
        rr::table
            .filter(rr::report_id.eq(report_id))
            .filter(rr::user_id.eq(user_id)),
    )
    .execute(conn)?;
    diesel::insert_into(rr::table)
        .values((
            rr::id.eq(new_id(now)),
            rr::report_id.eq(report_id),
            rr::user_id.eq(user_id),
            rr::read_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_message(
    conn: &mut AnyConnection,
    report_id: &str,
    sender: Sender,
    author_id: Option<&str>,
    is_attachment: bool,
    envelope: &str,
    now: NaiveDateTime,
) -> AppResult<String> {
    let id = match sender {
        Sender::Reporter => anonymous_id(now),
        _ => new_id(now),
    };
    // The report's row hands out the thread's next number: the update takes
    // the row's lock on PostgreSQL (SQLite has one writer), so concurrent
    // writers to one report queue here and each gets its own number.
    diesel::update(tr::table.find(report_id))
        .set((
            tr::last_activity_at.eq(now),
            tr::message_seq.eq(tr::message_seq + 1),
        ))
        .execute(conn)?;
    let seq: i32 = tr::table
        .find(report_id)
        .select(tr::message_seq)
        .first(conn)?;
    diesel::insert_into(tm::table)
        .values((
            tm::id.eq(&id),
            tm::report_id.eq(report_id),
            tm::sender.eq(sender.as_str()),
            tm::author_id.eq(author_id),
            tm::is_attachment.eq(is_attachment),
            tm::envelope.eq(envelope),
            tm::created_at.eq(now),
            tm::seq.eq(seq),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A report's school, for a case that names it as its source.
pub fn report_school(conn: &mut AnyConnection, id: &str) -> AppResult<Option<String>> {
    Ok(tr::table
        .filter(tr::id.eq(id))
        .filter(tr::held.eq(false))
        .select(tr::school_id)
        .first(conn)
        .optional()?)
}
