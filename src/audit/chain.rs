//! The chain's hash: what links each event to the one before.

use crate::crypto::{hex, sha256};
use chrono::NaiveDateTime;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length-prefixed fields, so that no two different events encode alike.
pub fn chain_hash(
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    fields: [Option<&str>; 6],
) -> String {
    let mut buf = Vec::with_capacity(256);
    let mut put = |v: Option<&str>| match v {
        Some(s) => {
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
    };
    put(Some("safecampus/audit/v1"));
    put(Some(prev_hash));
    put(Some(&seq.to_string()));
    put(Some(id));
    put(Some(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
    for f in fields {
        put(f);
    }
    hex(&sha256(&buf))
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
}
