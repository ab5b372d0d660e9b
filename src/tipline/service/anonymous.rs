//! The anonymous edge under a flood: challenges that are signed and written
//! nowhere, and follow-up lookups that only read. A flood of either costs
//! the database no write, so the school day's writes (handovers at
//! dismissal) do not wait behind it.

use super::*;
use crate::clock::to_utc;
use crate::error::{ApiError, AppResult, Code};
use crate::i18n::Language;
use crate::state::AppState;
use crate::tipline::pow;
use crate::tipline::protocol::Lookup;
use crate::tipline::receipt::Receipt;
use crate::tipline::{rules, texts};
use actix_web::http::StatusCode;

/// What an app needs to seal a report to a school's mailbox, and each
/// urgency's window with its trade in the reporter's language.
pub fn mailbox(conn: &mut AnyConnection, code: &str, language: Language) -> AppResult<Mailbox> {
    let (school_id, district_id, name, crisis_line) = school_by_code(conn, code)?;
    let (all, district) = repo::mailbox_keys(conn, &school_id, &district_id)?;
    Ok(Mailbox {
        school_code: code.to_string(),
        school_name: name,
        categories: Category::ALL.to_vec(),
        recipient_keys: repo::keys_dto(&all),
        district_keys: repo::keys_dto(&district),
        crisis_line,
        suite: suite_info(),
        language,
        windows: Urgency::ALL
            .iter()
            .map(|&urgency| UrgencyWindow {
                urgency,
                window_minutes: rules::window_minutes(urgency),
                trade_off: texts::trade_off(urgency, language),
            })
            .collect(),
    })
}

/// A signed challenge for a submission to `school_code` (any school
/// without one), of the difficulty that school's recent reports set.
pub async fn new_challenge(state: &AppState, school_code: Option<String>) -> AppResult<Challenge> {
    let now = state.now_db();
    let settings = state.settings.tipline.clone();
    let code = school_code.clone();
    let _place = state.anonymous.readers.wait().await;
    let difficulty = state
        .db
        .read(move |conn| {
            let school_id = match code.as_deref() {
                Some(c) if c.chars().count() > 32 => return Err(ApiError::not_found("mailbox")),
                Some(c) => Some(school_by_code(conn, c)?.0),
                None => None,
            };
            pow::current_difficulty(conn, &settings, now, school_id.as_deref())
        })
        .await?;
    let (challenge, expires_at) = pow::issue(
        &state.settings.receipt_pepper,
        &state.settings.tipline,
        now,
        difficulty,
        school_code.as_deref(),
    );
    Ok(Challenge {
        challenge,
        difficulty,
        expires_at: to_utc(expires_at),
    })
}

/// The report a receipt (v1) or a lookup token (v2) opens: exactly one of
/// them. One read, no write: a wrong one is a plain 404 and counts, in
/// memory, toward a pause on follow-up for everyone together (no per-sender
/// tracking). A right one always gets through: a flood of wrong ones must
/// not lock reporters out.
pub async fn report_by_receipt(
    state: &AppState,
    receipt: Option<&str>,
    lookup: Option<&str>,
) -> AppResult<ReportRow> {
    let pepper = &state.settings.receipt_pepper;
    let mac = match (receipt, lookup) {
        (Some(r), None) => Receipt::parse(r).map(|r| r.mac(pepper)),
        (None, Some(l)) => Lookup::parse(l).map(|l| l.mac(pepper)),
        _ => {
            return Err(ApiError::invalid(
                "receipt",
                "send exactly one of receipt and lookup",
            ))
        }
    };
    // The lookup is by an HMAC over a fixed-length value, the same work for
    // a right and a wrong receipt.
    let mac = mac.unwrap_or_else(|| "0".repeat(64));
    let place = state.anonymous.readers.wait().await;
    let found = state
        .db
        .query(move |conn| repo::report_by_mac(conn, &mac))
        .await?;
    drop(place);
    if let Some(report) = found {
        return Ok(report);
    }
    if state.anonymous.wrong_lookups.fail(state.now_db()) {
        return Err(ApiError::not_found("report"));
    }
    Err(ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::ReceiptThrottled,
        "too many wrong receipts were tried; wait a minute and try again",
    )
    .with_retry_after(60))
}
