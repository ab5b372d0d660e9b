//! The tip line's client side: a recipient's key pair, sealing a text to a
//! mailbox's keys, opening an envelope, and the proof of work. Used by the
//! API tests and by `benches/loadtest.rs` (through `#[path]`), so both speak
//! to the server exactly as a reporter's client does.
#![allow(dead_code)]

use safecampus::crypto::envelope::{self, Envelope};
use safecampus::crypto::{b64u, b64u_decode, hpke};
use safecampus::tipline::pow;
use serde_json::{json, Value};

pub use safecampus::crypto::hpke::PrivateKey;

/// A fresh key pair: the private half, and the public half as the API
/// takes it (base64url).
pub fn new_key() -> (PrivateKey, String) {
    let (sk, pk) = hpke::generate();
    (sk, b64u(&hpke::public_key_bytes(&pk)))
}

/// The recipients named by a list of `{key_id, public_key}` (a mailbox's
/// `recipient_keys` or `district_keys`, a report's `reply_keys`).
pub fn recipients(keys: &Value) -> Vec<(String, hpke::PublicKey)> {
    keys.as_array()
        .expect("a list of keys")
        .iter()
        .map(|k| {
            let pk = b64u_decode(k["public_key"].as_str().unwrap()).unwrap();
            (
                k["key_id"].as_str().unwrap().to_string(),
                hpke::public_key_from_bytes(&pk).unwrap(),
            )
        })
        .collect()
}

/// `{"text": text}`, padded and sealed to every key in `keys`.
pub fn seal_text(keys: &Value, text: &str) -> Value {
    let pt = envelope::padded_json(&json!({ "text": text }));
    serde_json::to_value(envelope::seal(&recipients(keys), &pt).unwrap()).unwrap()
}

/// The text of an envelope, opened with a recipient's private key; the
/// plaintext must be padded.
#[track_caller]
pub fn open_text(env: &Value, sk: &PrivateKey) -> String {
    let env: Envelope = serde_json::from_value(env.clone()).unwrap();
    let pt = env.open(sk).unwrap();
    assert_eq!(pt.len() % 512, 0, "plaintext is padded");
    let v: Value = serde_json::from_slice(&pt).unwrap();
    v["text"].as_str().unwrap().to_string()
}

/// A nonce that meets the challenge's difficulty.
pub fn solve(challenge: &str, difficulty: u32) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| pow::meets(challenge, n, difficulty))
        .unwrap()
}
