//! Proof of work for anonymous submissions: SHA-256 over the challenge
//! string followed by the nonce string must start with `difficulty` zero
//! bits. Challenges are single-use and expire; the difficulty rises with
//! the number of reports of the last minutes, counted for everyone together.

use super::dto::ProofOfWork;
use crate::config::TiplineSettings;
use crate::db::schema::{tip_pow_challenges as pc, tip_reports};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

pub const SURGE_WINDOW_MINS: i64 = 10;
const MAX_DIFFICULTY: u32 = 28;

pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut n = 0;
    for b in hash {
        if *b == 0 {
            n += 8;
        } else {
            n += b.leading_zeros();
            break;
        }
    }
    n
}

pub fn meets(challenge: &str, nonce: &str, difficulty: u32) -> bool {
    let mut buf = Vec::with_capacity(challenge.len() + nonce.len());
    buf.extend_from_slice(challenge.as_bytes());
    buf.extend_from_slice(nonce.as_bytes());
    leading_zero_bits(&crate::crypto::sha256(&buf)) >= difficulty
}

/// The difficulty now: the configured base, plus one bit per doubling of
/// the recent report count over the surge threshold.
pub fn current_difficulty(
    conn: &mut AnyConnection,
    settings: &TiplineSettings,
    now: NaiveDateTime,
) -> AppResult<u32> {
    // Reports keep only their window's start: count those still held and
    // those whose window ended in the last minutes.
    let recent: i64 = tip_reports::table
        .filter(tip_reports::window_end.gt(now - Duration::minutes(SURGE_WINDOW_MINS)))
        .count()
        .get_result(conn)?;
    let mut extra = 0u32;
    let mut threshold = settings.pow_surge_reports.max(1);
    while recent >= threshold && extra < 8 {
        extra += 1;
        threshold = threshold.saturating_mul(2);
    }
    Ok((settings.pow_difficulty + extra).min(MAX_DIFFICULTY))
}

/// Stores a new challenge of the given difficulty (from `current_difficulty`,
/// read before: counting is kept out of the write).
pub fn issue(
    conn: &mut AnyConnection,
    settings: &TiplineSettings,
    now: NaiveDateTime,
    difficulty: u32,
) -> AppResult<(String, u32, NaiveDateTime)> {
    let challenge = crate::crypto::random_token();
    let expires_at = now + Duration::seconds(settings.pow_ttl_secs);
    diesel::insert_into(pc::table)
        .values((
            pc::id.eq(&challenge),
            pc::difficulty.eq(difficulty as i32),
            pc::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok((challenge, difficulty, expires_at))
}

fn refused(code: Code, detail: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, detail).with_field("pow")
}

/// Spends a challenge. Runs in the submission's transaction: a submission
/// refused for another reason leaves the challenge unspent.
pub fn spend(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    pow: Option<&ProofOfWork>,
) -> AppResult<()> {
    let Some(pow) = pow else {
        return Err(refused(
            Code::PowRequired,
            "a proof of work is required: POST /api/v1/reports/challenge first",
        ));
    };
    if pow.challenge.len() > 128 || pow.nonce.len() > 128 {
        return Err(refused(
            Code::PowInvalid,
            "unknown or already used challenge",
        ));
    }
    let row = pc::table
        .find(&pow.challenge)
        .select((pc::difficulty, pc::expires_at))
        .first::<(i32, NaiveDateTime)>(conn)
        .optional()?;
    let Some((difficulty, expires_at)) = row else {
        return Err(refused(
            Code::PowInvalid,
            "unknown or already used challenge",
        ));
    };
    if expires_at <= now {
        return Err(refused(
            Code::PowExpired,
            "the challenge has expired; ask for a new one",
        ));
    }
    if !meets(&pow.challenge, &pow.nonce, difficulty.max(0) as u32) {
        return Err(refused(
            Code::PowFailed,
            "the nonce does not meet the difficulty",
        ));
    }
    // Deleting is what makes it single-use: a concurrent twin deletes nothing.
    let spent = diesel::delete(pc::table.find(&pow.challenge)).execute(conn)?;
    if spent != 1 {
        return Err(refused(
            Code::PowInvalid,
            "unknown or already used challenge",
        ));
    }
    Ok(())
}

pub fn purge_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::delete(pc::table.filter(pc::expires_at.le(now))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff]), 0);
        assert_eq!(leading_zero_bits(&[0x00, 0x10]), 11);
        assert_eq!(leading_zero_bits(&[0x00, 0x00, 0x01]), 23);
        assert_eq!(leading_zero_bits(&[0x7f]), 1);
    }

    #[test]
    fn a_found_nonce_meets_its_difficulty() {
        let nonce = (0u64..)
            .map(|n| n.to_string())
            .find(|n| meets("abc", n, 8))
            .unwrap();
        assert!(meets("abc", &nonce, 8));
        let hash = crate::crypto::sha256(format!("abc{nonce}").as_bytes());
        assert!(hash[0] == 0 && leading_zero_bits(&hash) >= 8);
    }
}
