//! Envelope parsing and opening: the JSON a reporter's app sends (through
//! the server's own body parser), its shape check, the server's checks
//! against a mailbox's keys, and opening with a recipient key, a reporter
//! key and a raw content key. Nothing may panic; a wrong key never opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecampus::crypto::envelope::{Envelope, REPORTER_KEY_ID};
use safecampus::crypto::{b64u, b64u_decode, hpke};
use safecampus::tipline::repo::{check_envelope, KeyHolder, ReporterKey};
use std::sync::OnceLock;

struct Keys {
    sk: hpke::PrivateKey,
    holders: Vec<KeyHolder>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // A fixed key (made with `safecampus tipline keygen`): the seeds in
        // fuzz/seeds/envelope are sealed to its public key, so the fuzzer
        // starts from envelopes that open.
        let sk = b64u_decode(include_str!("recipient.key").trim())
            .and_then(|b| hpke::private_key_from_bytes(&b).ok())
            .expect("a private key");
        let pk = hpke::public_of(&sk);
        let holders = vec![KeyHolder {
            key_id: "k1".into(),
            user_id: "u1".into(),
            public_key: b64u(&hpke::public_key_bytes(&pk)),
        }];
        Keys { sk, holders }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    // As the tip-line CLI reads it: an envelope, or anything holding one.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = safecampus::tipline::cli::open(&k.sk, text);
    }
    let Ok(env) = safecampus::http::parse_json::<Envelope>(data) else {
        return;
    };
    let shape = env.check_shape();
    for reporter in [
        ReporterKey::Forbidden,
        ReporterKey::Allowed,
        ReporterKey::Required,
    ] {
        for padded in [false, true] {
            let checked = check_envelope(&env, &k.holders, reporter, padded, 64 * 1024);
            if checked.is_ok() {
                assert!(
                    shape.is_ok(),
                    "a malformed envelope passed the server's check"
                );
            }
            if let Err(e) = checked {
                assert!(e.status.is_client_error(), "{e}");
            }
        }
    }
    let opened = env.open(&k.sk);
    let _ = env.content_key(&k.sk);
    let reporter = safecampus::crypto::envelope::reporter_private_key("FUZZFUZZFUZZFUZZFUZZ");
    let _ = env.open(&reporter);
    if let Ok(plain) = &opened {
        // Opening twice gives the same plaintext.
        assert_eq!(env.open(&k.sk).as_ref(), Ok(plain));
    }
    // A raw content key taken from the ciphertext's own bytes.
    if let Some(ct) = b64u_decode(&env.ciphertext) {
        let _ = env.open_with_content_key(&ct[..ct.len().min(40)]);
    }
    for w in &env.keys {
        let _ = w.check_shape();
        if w.key_id == REPORTER_KEY_ID {
            let _ = b64u_decode(&w.enc).map(|e| hpke::public_key_from_bytes(&e));
        }
    }
    // Serialising back and parsing again is lossless.
    let again: Envelope = serde_json::from_str(&serde_json::to_string(&env).unwrap()).unwrap();
    assert_eq!(again, env);
});
