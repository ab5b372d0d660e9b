//! Proof of work for anonymous submissions: SHA-256 over the challenge
//! string followed by the nonce string must start with `difficulty` zero
//! bits. A challenge is signed and expiring, and written nowhere: the
//! server signs (id, expiry, difficulty, school) with a key derived from the
//! receipt pepper, and records only a spent challenge, until it expires, so
//! that none is used twice. The difficulty rises with the recent reports of
//! the school the challenge is for, so a flood at one school raises it for
//! that school alone.

use super::dto::ProofOfWork;
use crate::config::TiplineSettings;
use crate::crypto::{b64u, b64u_decode, constant_time_eq, hmac_sha256, random_bytes};
use crate::db::schema::{tip_pow_spent as ps, tip_reports};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use actix_web::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDateTime};
use diesel::prelude::*;

pub const SURGE_WINDOW_MINS: i64 = 10;
const MAX_DIFFICULTY: u32 = 28;
/// The longest challenge or nonce a submission may carry.
const MAX_LEN: usize = 256;

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
/// the recent report count over the surge threshold. With a school, its
/// reports are counted; without one (a client that names none), everyone's,
/// which is never less than any one school's.
pub fn current_difficulty(
    conn: &mut AnyConnection,
    settings: &TiplineSettings,
    now: NaiveDateTime,
    school_id: Option<&str>,
) -> AppResult<u32> {
    // Reports keep only their window's start: count those still held and
    // those whose window ended in the last minutes.
    let mut q = tip_reports::table
        .filter(tip_reports::window_end.gt(now - Duration::minutes(SURGE_WINDOW_MINS)))
        .into_boxed();
    if let Some(school) = school_id {
        q = q.filter(tip_reports::school_id.eq(school.to_string()));
    }
    let recent: i64 = q.count().get_result(conn)?;
    let mut extra = 0u32;
    let mut threshold = settings.pow_surge_reports.max(1);
    while recent >= threshold && extra < 8 {
        extra += 1;
        threshold = threshold.saturating_mul(2);
    }
    Ok((settings.pow_difficulty + extra).min(MAX_DIFFICULTY))
}

/// The key challenges are signed with, derived from the receipt pepper (a
/// secret the tip line already holds) so no new secret is needed.
fn signing_key(pepper: &[u8]) -> [u8; 32] {
    hmac_sha256(pepper, b"safecampus/pow-challenge/v1")
}

/// What a challenge says, once its signature is checked.
struct Signed {
    id: String,
    expires_at: NaiveDateTime,
    difficulty: u32,
    /// The school code it is for; None for any school.
    school: Option<String>,
}

/// `id.expiry.difficulty.school.signature`: the id is 128 random bits, the
/// expiry Unix seconds, the school code base64url (empty for any school),
/// the signature HMAC-SHA256 over the four before it. All base64url or
/// digits, so a client hashes it as it is.
pub fn issue(
    pepper: &[u8],
    settings: &TiplineSettings,
    now: NaiveDateTime,
    difficulty: u32,
    school_code: Option<&str>,
) -> (String, NaiveDateTime) {
    let expires_at = now + Duration::seconds(settings.pow_ttl_secs);
    let payload = format!(
        "{}.{}.{}.{}",
        b64u(&random_bytes(16)),
        expires_at.and_utc().timestamp(),
        difficulty,
        b64u(school_code.unwrap_or_default().as_bytes()),
    );
    let tag = b64u(&hmac_sha256(&signing_key(pepper), payload.as_bytes()));
    (format!("{payload}.{tag}"), expires_at)
}

fn verify(pepper: &[u8], challenge: &str) -> Option<Signed> {
    let (payload, tag) = challenge.rsplit_once('.')?;
    let expected = b64u(&hmac_sha256(&signing_key(pepper), payload.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
        return None;
    }
    let mut parts = payload.split('.');
    let (id, expiry, difficulty, school) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let school = String::from_utf8(b64u_decode(school)?).ok()?;
    Some(Signed {
        id: id.to_string(),
        expires_at: DateTime::from_timestamp(expiry.parse().ok()?, 0)?.naive_utc(),
        difficulty: difficulty.parse().ok()?,
        school: (!school.is_empty()).then_some(school),
    })
}

fn refused(code: Code, detail: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, detail).with_field("pow")
}

/// Spends a challenge for a report to `school_code`. Runs in the
/// submission's transaction: a submission refused for another reason leaves
/// the challenge unspent.
pub fn spend(
    conn: &mut AnyConnection,
    pepper: &[u8],
    now: NaiveDateTime,
    pow: Option<&ProofOfWork>,
    school_code: &str,
) -> AppResult<()> {
    let Some(pow) = pow else {
        return Err(refused(
            Code::PowRequired,
            "a proof of work is required: POST /api/v1/reports/challenge first",
        ));
    };
    let unknown = || refused(Code::PowInvalid, "unknown or already used challenge");
    if pow.challenge.len() > MAX_LEN || pow.nonce.len() > MAX_LEN {
        return Err(unknown());
    }
    let Some(signed) = verify(pepper, &pow.challenge) else {
        return Err(unknown());
    };
    if signed.school.as_deref().is_some_and(|s| s != school_code) {
        return Err(unknown());
    }
    if signed.expires_at <= now {
        return Err(refused(
            Code::PowExpired,
            "the challenge has expired; ask for a new one",
        ));
    }
    if !meets(&pow.challenge, &pow.nonce, signed.difficulty) {
        return Err(refused(
            Code::PowFailed,
            "the nonce does not meet the difficulty",
        ));
    }
    // The spent set is what makes it single-use: a concurrent twin inserts
    // nothing (on PostgreSQL it waits for the first to commit). It keeps the
    // expiry rounded up to the hour: the exact one would tell, to the
    // second, when a reporter asked for it, close to when they sent the
    // report (issue 13 §1); kept longer, it is still refused as expired.
    let keep_until = round_up_to_hour(signed.expires_at);
    let spent = crate::on_backend!(conn, |c| diesel::insert_into(ps::table)
        .values((ps::id.eq(&signed.id), ps::expires_at.eq(keep_until)))
        .on_conflict_do_nothing()
        .execute(c))?;
    if spent != 1 {
        return Err(unknown());
    }
    Ok(())
}

/// The first full hour at or after `t`.
fn round_up_to_hour(t: NaiveDateTime) -> NaiveDateTime {
    let secs = t.and_utc().timestamp();
    let hour = secs.div_euclid(3600) * 3600;
    let up = if hour == secs && t.and_utc().timestamp_subsec_nanos() == 0 {
        hour
    } else {
        hour + 3600
    };
    DateTime::from_timestamp(up, 0).map_or(t, |d| d.naive_utc())
}

/// Forgets spent challenges past their expiry: they are refused as expired.
pub fn purge_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::delete(ps::table.filter(ps::expires_at.le(now))).execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_challenge_keeps_only_the_hour_it_expires_by() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            round_up_to_hour(at("2026-12-01 14:05:31")),
            at("2026-12-01 15:00:00")
        );
        assert_eq!(
            round_up_to_hour(at("2026-12-01 14:59:59")),
            at("2026-12-01 15:00:00")
        );
        assert_eq!(
            round_up_to_hour(at("2026-12-01 15:00:00")),
            at("2026-12-01 15:00:00")
        );
    }

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

    #[test]
    fn a_challenge_verifies_only_unchanged_and_under_its_key() {
        let settings = crate::config::Settings::from_map(&Default::default())
            .unwrap()
            .tipline;
        let now = DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let (c, expires_at) = issue(b"pepper", &settings, now, 7, Some("SCH-X"));
        let s = verify(b"pepper", &c).unwrap();
        assert_eq!((s.difficulty, s.expires_at), (7, expires_at));
        assert_eq!(s.school.as_deref(), Some("SCH-X"));
        assert!(verify(b"other pepper", &c).is_none());
        let easier = c.replacen(".7.", ".1.", 1);
        assert_ne!(easier, c);
        assert!(verify(b"pepper", &easier).is_none());
        let (any, _) = issue(b"pepper", &settings, now, 3, None);
        assert!(verify(b"pepper", &any).unwrap().school.is_none());
        assert!(c.len() <= MAX_LEN);
    }
}
