//! Access tokens: HS256 JWTs with a `kid` naming the key in a keyring, so a
//! new secret can take over while tokens signed with a retired one still
//! verify until they expire.

use crate::crypto::sha256_hex;
use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "safecampus";
pub const AUDIENCE: &str = "safecampus-api";
/// Tolerated clock difference between instances, in seconds.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The login session (refresh-token family) this token belongs to.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct JwtKeys {
    /// The signing key first; the rest only verify.
    keys: Vec<Key>,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secrets: &[Vec<u8>], ttl_secs: i64) -> Self {
        let keys = secrets
            .iter()
            .map(|s| Key {
                kid: sha256_hex(s)[..16].to_string(),
                encoding: EncodingKey::from_secret(s),
                decoding: DecodingKey::from_secret(s),
            })
            .collect();
        JwtKeys { keys, ttl_secs }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, user_id: &str, session_id: &str, now: DateTime<Utc>) -> String {
        let key = &self.keys[0];
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let iat = now.timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            sid: session_id.into(),
            iat,
            nbf: iat,
            exp: iat + self.ttl_secs,
        };
        encode(&header, &claims, &key.encoding).expect("HS256 signing cannot fail")
    }

    /// Verifies signature, algorithm, issuer and audience with the library,
    /// and `exp`/`nbf` against the service clock (which tests can set). All
    /// of `exp`, `nbf`, `iss`, `aud` and `sub` must be present and typed right.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let header = decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let kid = header.kid?;
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = decode::<Claims>(token, &key.decoding, &validation)
            .ok()?
            .claims;
        let t = now.timestamp();
        if claims.exp + LEEWAY_SECS <= t || claims.nbf - LEEWAY_SECS > t {
            return None;
        }
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2035, 6, 1, 8, 0, 0).unwrap()
    }

    fn keys() -> JwtKeys {
        JwtKeys::new(&[b"0123456789abcdef0123456789abcdef".to_vec()], 900)
    }

    #[test]
    fn a_signed_token_verifies_with_the_crypto_backend_wired() {
        let now = now();
        let token = keys().issue("u1", "s1", now);
        let claims = keys().verify(&token, now).expect("verifies");
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.sid, "s1");
        assert!(claims.exp - claims.iat <= 900);
    }

    #[test]
    fn expired_future_and_foreign_tokens_are_refused() {
        let now = now();
        let token = keys().issue("u1", "s1", now);
        assert!(keys()
            .verify(&token, now + chrono::Duration::minutes(16))
            .is_none());
        assert!(keys()
            .verify(&token, now - chrono::Duration::minutes(5))
            .is_none());
        let other = JwtKeys::new(&[b"another-secret-another-secret-xx".to_vec()], 900);
        assert!(other.verify(&token, now).is_none());
    }

    #[test]
    fn a_retired_key_still_verifies_after_rotation() {
        let old = b"0123456789abcdef0123456789abcdef".to_vec();
        let new = b"fedcba9876543210fedcba9876543210".to_vec();
        let now = now();
        let token = JwtKeys::new(std::slice::from_ref(&old), 900).issue("u1", "s1", now);
        let rotated = JwtKeys::new(&[new, old], 900);
        assert!(rotated.verify(&token, now).is_some());
    }
}
