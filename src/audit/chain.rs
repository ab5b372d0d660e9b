//! The chain's links: what ties each event to the one before. A link is an
//! HMAC keyed by `SAFECAMPUS_AUDIT_KEY`, a secret kept outside the database,
//! so that whoever can write to the database still cannot recompute the
//! chain. Version 1 (plain SHA-256) is only read, to seal chains written
//! before the key existed.

use crate::crypto::{hex, hmac_sha256, sha256};
use chrono::NaiveDateTime;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length-prefixed fields, so that no two different events encode alike.
fn encode(
    version: &str,
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    fields: [Option<&str>; 6],
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    let mut put = |v: Option<&str>| match v {
        Some(s) => {
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
    };
    put(Some(version));
    put(Some(prev_hash));
    put(Some(&seq.to_string()));
    put(Some(id));
    put(Some(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
    for f in fields {
        put(f);
    }
    buf
}

/// The version-1 link: plain SHA-256, which anyone can recompute.
pub fn chain_hash(
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    fields: [Option<&str>; 6],
) -> String {
    hex(&sha256(&encode(
        "safecampus/audit/v1",
        prev_hash,
        seq,
        id,
        at,
        fields,
    )))
}

/// The link: an HMAC under the audit key.
pub fn chain_mac(
    key: &[u8],
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    fields: [Option<&str>; 6],
) -> String {
    let buf = encode("safecampus/audit/v2", prev_hash, seq, id, at, fields);
    hex(&hmac_sha256(key, &buf))
}

/// The signature of a head, for the bureau to keep outside the system.
pub fn head_signature(key: &[u8], seq: i64, hash: &str) -> String {
    hex(&hmac_sha256(
        key,
        format!("safecampus/audit-head/v1\n{seq}\n{hash}").as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_empty_fields_hash_apart_and_every_field_counts() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        let base = [Some("u"), Some("teacher"), Some("a"), Some("t"), None, None];
        let h = chain_hash(GENESIS, 1, "id", at, base);
        assert_eq!(h, chain_hash(GENESIS, 1, "id", at, base));
        assert_eq!(h.len(), 64);
        let mut empty = base;
        empty[4] = Some("");
        assert_ne!(h, chain_hash(GENESIS, 1, "id", at, empty));
        assert_ne!(h, chain_hash(GENESIS, 2, "id", at, base));
        assert_ne!(h, chain_hash(&h, 1, "id", at, base));
        // Moving a boundary between fields changes the hash.
        let mut moved = base;
        moved[2] = Some("at");
        moved[3] = Some("");
        assert_ne!(h, chain_hash(GENESIS, 1, "id", at, moved));
    }

    #[test]
    fn a_keyed_link_needs_the_key() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        let f = [Some("u"), Some("teacher"), Some("a"), Some("t"), None, None];
        let a = chain_mac(b"key one", GENESIS, 1, "id", at, f);
        assert_eq!(a, chain_mac(b"key one", GENESIS, 1, "id", at, f));
        assert_ne!(a, chain_mac(b"key two", GENESIS, 1, "id", at, f));
        assert_ne!(a, chain_hash(GENESIS, 1, "id", at, f));
        assert_ne!(head_signature(b"k", 1, &a), head_signature(b"k", 2, &a));
    }
}
