//! Activation codes: an account made without a password sets its own with
//! a one-time code (valid 7 days), so no admin ever knows it. Only a hash
//! of the code is kept, and a used code is deleted.

use super::dto::Activation;
use crate::clock::to_utc;
use crate::crypto::{constant_time_eq, random_bytes, sha256_hex};
use crate::db::schema::activation_codes;
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

/// How long a code stands.
pub const VALID_DAYS: i64 = 7;

/// Crockford's base32: no I, L, O or U to misread on a printed slip.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 80 random bits as 16 characters, in groups of four.
fn new_code() -> String {
    let bytes = random_bytes(10);
    let mut bits: u128 = 0;
    for b in &bytes {
        bits = (bits << 8) | u128::from(*b);
    }
    let chars: Vec<char> = (0..16)
        .rev()
        .map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed, compared as printed: case, spaces and dashes ignored.
fn normalised(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn hash(code: &str) -> String {
    sha256_hex(normalised(code).as_bytes())
}

/// Gives the account a new code (any earlier one stops working) and
/// answers it: the only time it is seen.
pub fn issue(conn: &mut AnyConnection, now: NaiveDateTime, user_id: &str) -> AppResult<Activation> {
    let code = new_code();
    let expires_at = now + Duration::days(VALID_DAYS);
    diesel::delete(activation_codes::table.find(user_id)).execute(conn)?;
    diesel::insert_into(activation_codes::table)
        .values((
            activation_codes::user_id.eq(user_id),
            activation_codes::code_hash.eq(hash(&code)),
            activation_codes::expires_at.eq(expires_at),
            activation_codes::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Activation {
        code: Some(code),
        expires_at: to_utc(expires_at),
        sent: false,
    })
}

/// Spends the account's code if `code` is it and it still stands: true
/// once, false ever after.
pub fn spend(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    user_id: &str,
    code: &str,
) -> AppResult<bool> {
    let stored: Option<(String, NaiveDateTime)> = activation_codes::table
        .find(user_id)
        .select((activation_codes::code_hash, activation_codes::expires_at))
        .first(conn)
        .optional()?;
    let Some((stored, expires_at)) = stored else {
        return Ok(false);
    };
    if expires_at <= now || !constant_time_eq(stored.as_bytes(), hash(code).as_bytes()) {
        return Ok(false);
    }
    // Deleting is the spending: of two requests at once, one deletes it.
    let n = diesel::delete(
        activation_codes::table
            .find(user_id)
            .filter(activation_codes::code_hash.eq(stored)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_printable_and_compared_as_printed() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert!(code
            .chars()
            .all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_ne!(code, new_code());
        assert_eq!(hash(&code), hash(&code.to_lowercase().replace('-', " ")));
        assert_ne!(hash(&code), hash(&new_code()));
    }
}
