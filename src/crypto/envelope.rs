//! The tip-line envelope, the same for reports, messages and attachments:
//! a fresh 32-byte content key CK encrypts the plaintext with
//! ChaCha20-Poly1305 (random 12-byte nonce, empty aad), and CK is sealed to
//! each recipient key with HPKE base mode (info "safecampus/v1/content-key",
//! empty aad). Binary fields are base64url without padding.
//!
//! Protocol v2 binds and commits: the envelope states its `aad` (canonical
//! JSON of what it belongs to), which the content cipher authenticates, and
//! carries `commit` = HMAC-SHA256(CK, "safecampus/v2/commit"), so a content
//! key other than the sealer's (a second wrap holding another key) is refused
//! before it can open the ciphertext to another text.

use super::hpke::{self, PrivateKey, PublicKey};
use super::{b64u, b64u_decode, random_bytes};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const CONTENT_KEY_INFO: &[u8] = b"safecampus/v1/content-key";
pub const REPORTER_KEY_SALT: &[u8] = b"safecampus/v1/reporter-key";
pub const REPORTER_KEY_ID: &str = "reporter";
pub const COMMIT_LABEL: &[u8] = b"safecampus/v2/commit";
pub const NONCE_LEN: usize = 12;
pub const PAD_BUCKET: usize = 512;
/// A wrap's `ct`: the 32-byte content key plus the AEAD tag.
pub const WRAPPED_KEY_LEN: usize = 32 + hpke::TAG_LEN;

/// An encrypted object and the content key sealed to each recipient.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// base64url (no padding) of the 12-byte ChaCha20-Poly1305 nonce.
    pub nonce: String,
    /// base64url of ChaCha20-Poly1305(CK, nonce, aad, plaintext); aad is the
    /// UTF-8 of `aad` (v2), or empty (v1).
    pub ciphertext: String,
    pub keys: Vec<KeyWrap>,
    /// v2: the canonical JSON the ciphertext is bound to (keys sorted, no
    /// spaces), as text; it must be exactly what the server computes for the
    /// report, message or attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// v2: base64url of HMAC-SHA256(key = CK, "safecampus/v2/commit").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The content key sealed to one recipient key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyWrap {
    pub key_id: String,
    /// base64url of the 32-byte HPKE encapsulated key.
    pub enc: String,
    /// base64url of SealBase(pkR, info = "safecampus/v1/content-key", aad = "", pt = CK).
    pub ct: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("{0} is not valid base64url of the right length")]
    Malformed(&'static str),
    #[error("no key in the envelope opens with this private key")]
    NoMatchingKey,
    #[error("the ciphertext does not authenticate")]
    Tampered,
    #[error("a recipient public key is not valid")]
    BadRecipient,
    #[error("the content key does not match the envelope's commitment")]
    CommitMismatch,
    #[error("the envelope is not bound to what it is said to be")]
    AadMismatch,
}

/// HMAC-SHA256(CK, "safecampus/v2/commit"): the content key's commitment.
pub fn commitment(ck: &[u8]) -> [u8; 32] {
    super::hmac_sha256(ck, COMMIT_LABEL)
}

fn content_cipher(ck: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, ck).expect("a 32-byte key"))
}

/// Seals `plaintext` to every (key_id, public key): a v1 envelope.
pub fn seal(
    recipients: &[(String, PublicKey)],
    plaintext: &[u8],
) -> Result<Envelope, EnvelopeError> {
    seal_with(recipients, plaintext, None)
}

/// Seals a v2 envelope: bound to `aad` and committed to its content key.
pub fn seal_v2(
    recipients: &[(String, PublicKey)],
    plaintext: &[u8],
    aad: &str,
) -> Result<Envelope, EnvelopeError> {
    seal_with(recipients, plaintext, Some(aad))
}

fn seal_with(
    recipients: &[(String, PublicKey)],
    plaintext: &[u8],
    aad: Option<&str>,
) -> Result<Envelope, EnvelopeError> {
    let ck = random_bytes(32);
    let nonce = random_bytes(NONCE_LEN);
    let mut ciphertext = plaintext.to_vec();
    content_cipher(&ck)
        .seal_in_place_append_tag(
            Nonce::try_assume_unique_for_key(&nonce).expect("a 12-byte nonce"),
            Aad::from(aad.unwrap_or("").as_bytes()),
            &mut ciphertext,
        )
        .map_err(|_| EnvelopeError::Tampered)?;
    let mut keys = Vec::with_capacity(recipients.len());
    for (key_id, pk) in recipients {
        let (enc, ct) = hpke::seal_base(pk, CONTENT_KEY_INFO, b"", &ck)
            .map_err(|_| EnvelopeError::BadRecipient)?;
        keys.push(KeyWrap {
            key_id: key_id.clone(),
            enc: b64u(&enc),
            ct: b64u(&ct),
        });
    }
    Ok(Envelope {
        nonce: b64u(&nonce),
        ciphertext: b64u(&ciphertext),
        keys,
        aad: aad.map(str::to_string),
        commit: aad.map(|_| b64u(&commitment(&ck))),
    })
}

impl KeyWrap {
    pub fn check_shape(&self) -> Result<(), EnvelopeError> {
        if self.key_id.is_empty() || self.key_id.len() > 64 {
            return Err(EnvelopeError::Malformed("keys.key_id"));
        }
        match b64u_decode(&self.enc) {
            Some(e) if e.len() == hpke::ENC_LEN => {}
            _ => return Err(EnvelopeError::Malformed("keys.enc")),
        }
        match b64u_decode(&self.ct) {
            Some(c) if c.len() == WRAPPED_KEY_LEN => Ok(()),
            _ => Err(EnvelopeError::Malformed("keys.ct")),
        }
    }
}

impl Envelope {
    /// The decoded ciphertext length, after checking every field's shape.
    pub fn check_shape(&self) -> Result<usize, EnvelopeError> {
        match b64u_decode(&self.nonce) {
            Some(n) if n.len() == NONCE_LEN => {}
            _ => return Err(EnvelopeError::Malformed("nonce")),
        }
        let ct_len = match b64u_decode(&self.ciphertext) {
            Some(c) if c.len() >= hpke::TAG_LEN => c.len(),
            _ => return Err(EnvelopeError::Malformed("ciphertext")),
        };
        for k in &self.keys {
            k.check_shape()?;
        }
        match (&self.aad, &self.commit) {
            (None, None) => {}
            (Some(a), Some(c)) => {
                if a.is_empty() || a.len() > 1024 {
                    return Err(EnvelopeError::Malformed("aad"));
                }
                if b64u_decode(c).is_none_or(|c| c.len() != 32) {
                    return Err(EnvelopeError::Malformed("commit"));
                }
            }
            (None, Some(_)) => return Err(EnvelopeError::Malformed("aad")),
            (Some(_), None) => return Err(EnvelopeError::Malformed("commit")),
        }
        Ok(ct_len)
    }

    /// A v2 envelope: bound to its `aad` and committed.
    pub fn is_v2(&self) -> bool {
        self.commit.is_some()
    }

    /// Opens the envelope only if it is bound to one of `expected` (the AAD
    /// the opener computes from what it was shown; a v1 envelope never is).
    pub fn open_bound(
        &self,
        sk: &PrivateKey,
        expected: &[String],
    ) -> Result<Vec<u8>, EnvelopeError> {
        match &self.aad {
            Some(aad) if self.is_v2() && expected.iter().any(|e| e == aad) => self.open(sk),
            _ => Err(EnvelopeError::AadMismatch),
        }
    }

    /// Opens the envelope with a private key, trying each wrap (a key file
    /// need not know its key id). A v2 envelope's content key must match its
    /// commitment, and its ciphertext is authenticated with its `aad`.
    /// Tries every wrap the key opens until one yields the content: a wrap
    /// someone else added may hold a wrong content key.
    pub fn open(&self, sk: &PrivateKey) -> Result<Vec<u8>, EnvelopeError> {
        let mut last = EnvelopeError::NoMatchingKey;
        for ck in self.unwrapped(sk) {
            match self.open_with_content_key(&ck) {
                Ok(plain) => return Ok(plain),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The content keys of the wraps this private key opens.
    fn unwrapped<'a>(&'a self, sk: &'a PrivateKey) -> impl Iterator<Item = Vec<u8>> + 'a {
        self.keys.iter().filter_map(move |k| {
            let enc = b64u_decode(&k.enc)?;
            let ct = b64u_decode(&k.ct)?;
            hpke::open_base(sk, &enc, CONTENT_KEY_INFO, b"", &ct).ok()
        })
    }

    pub fn open_with_content_key(&self, ck: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if ck.len() != 32 {
            return Err(EnvelopeError::Tampered);
        }
        if let Some(commit) = &self.commit {
            let stated = b64u_decode(commit).ok_or(EnvelopeError::Malformed("commit"))?;
            if !super::constant_time_eq(&stated, &commitment(ck)) {
                return Err(EnvelopeError::CommitMismatch);
            }
        }
        let nonce = b64u_decode(&self.nonce)
            .filter(|n| n.len() == NONCE_LEN)
            .ok_or(EnvelopeError::Malformed("nonce"))?;
        let mut buf =
            b64u_decode(&self.ciphertext).ok_or(EnvelopeError::Malformed("ciphertext"))?;
        let plain = content_cipher(ck)
            .open_in_place(
                Nonce::try_assume_unique_for_key(&nonce).expect("a 12-byte nonce"),
                Aad::from(self.aad.as_deref().unwrap_or("").as_bytes()),
                &mut buf,
            )
            .map_err(|_| EnvelopeError::Tampered)?;
        Ok(plain.to_vec())
    }

    /// The content key, unwrapped with a private key (to re-wrap it for a
    /// recipient added later).
    pub fn content_key(&self, sk: &PrivateKey) -> Result<Vec<u8>, EnvelopeError> {
        self.unwrapped(sk)
            .find(|ck| self.open_with_content_key(ck).is_ok())
            .ok_or(EnvelopeError::NoMatchingKey)
    }
}

/// Wraps a known content key for one more recipient.
pub fn wrap_content_key(key_id: &str, pk: &PublicKey, ck: &[u8]) -> Result<KeyWrap, EnvelopeError> {
    let (enc, ct) =
        hpke::seal_base(pk, CONTENT_KEY_INFO, b"", ck).map_err(|_| EnvelopeError::BadRecipient)?;
    Ok(KeyWrap {
        key_id: key_id.to_string(),
        enc: b64u(&enc),
        ct: b64u(&ct),
    })
}

/// True when a ciphertext length is a whole number of padding buckets plus
/// the tag: what length hiding requires of reports and messages.
pub fn is_padded_length(ciphertext_len: usize) -> bool {
    ciphertext_len > hpke::TAG_LEN && (ciphertext_len - hpke::TAG_LEN).is_multiple_of(PAD_BUCKET)
}

/// Serialises a JSON plaintext and pads it with trailing spaces to the next
/// multiple of 512 bytes (JSON allows trailing white space).
pub fn padded_json(value: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("a JSON value serialises");
    let target = bytes.len().div_ceil(PAD_BUCKET).max(1) * PAD_BUCKET;
    bytes.resize(target, b' ');
    bytes
}

/// The reporter's X25519 private key: HKDF-SHA256(ikm = the normalised
/// receipt as ASCII, salt = "safecampus/v1/reporter-key", info = "", L = 32).
pub fn reporter_private_key(normalised_receipt: &str) -> PrivateKey {
    let out = hkdf_sha256_32(REPORTER_KEY_SALT, normalised_receipt.as_bytes());
    hpke::private_key_from_bytes(&out).expect("any 32 bytes is an X25519 private key")
}

/// v2, on the phone: the reporter's X25519 private key, HKDF-SHA256(ikm =
/// the normalised code, salt = "safecampus/v2/reporter-key", info = "", 32).
pub fn reporter_private_key_v2(normalised_code: &str) -> PrivateKey {
    let out = hkdf_sha256_32(REPORTER_KEY_SALT_V2, normalised_code.as_bytes());
    hpke::private_key_from_bytes(&out).expect("any 32 bytes is an X25519 private key")
}

/// v2, on the phone: the lookup token the server knows the report by,
/// HKDF-SHA256(ikm = the normalised code, salt = "safecampus/v2/lookup", info = "", 32).
pub fn lookup_v2(normalised_code: &str) -> [u8; 32] {
    hkdf_sha256_32(LOOKUP_SALT_V2, normalised_code.as_bytes())
}

pub const REPORTER_KEY_SALT_V2: &[u8] = b"safecampus/v2/reporter-key";
pub const LOOKUP_SALT_V2: &[u8] = b"safecampus/v2/lookup";

/// HKDF-SHA256 with an empty info and 32 bytes of output.
fn hkdf_sha256_32(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
    struct Len32;
    impl ring::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(ikm);
    let mut out = [0u8; 32];
    prk.expand(&[], Len32)
        .and_then(|okm| okm.fill(&mut out))
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (PrivateKey, PublicKey) {
        hpke::generate()
    }

    #[test]
    fn sealed_envelope_opens_for_each_recipient_and_not_for_others() {
        let (sk1, pk1) = pair();
        let (sk2, pk2) = pair();
        let (sk3, _) = pair();
        let pt = padded_json(&serde_json::json!({"text": "hello"}));
        let env = seal(&[("a".into(), pk1), ("b".into(), pk2)], &pt).unwrap();
        assert_eq!(env.check_shape().unwrap(), 512 + 16);
        assert_eq!(env.open(&sk1).unwrap(), pt);
        assert_eq!(env.open(&sk2).unwrap(), pt);
        assert_eq!(env.open(&sk3), Err(EnvelopeError::NoMatchingKey));
    }

    #[test]
    fn tampered_ciphertext_or_wrap_fails_to_open() {
        let (sk, pk) = pair();
        let env = seal(&[("a".into(), pk)], b"secret words").unwrap();
        let mut bad = env.clone();
        let mut ct = b64u_decode(&bad.ciphertext).unwrap();
        ct[0] ^= 1;
        bad.ciphertext = b64u(&ct);
        assert_eq!(bad.open(&sk), Err(EnvelopeError::Tampered));
        let mut bad_wrap = env.clone();
        let mut w = b64u_decode(&bad_wrap.keys[0].ct).unwrap();
        w[3] ^= 0x80;
        bad_wrap.keys[0].ct = b64u(&w);
        assert_eq!(bad_wrap.open(&sk), Err(EnvelopeError::NoMatchingKey));
        let mut bad_nonce = env;
        bad_nonce.nonce = b64u(&[7u8; 12]);
        assert_eq!(bad_nonce.open(&sk), Err(EnvelopeError::Tampered));
    }

    #[test]
    fn a_v2_envelope_opens_only_under_its_aad_and_committed_key() {
        let (sk1, pk1) = pair();
        let (sk2, pk2) = pair();
        let aad = r#"{"from":"staff","kind":"message","report":"r1","v":2}"#;
        let env = seal_v2(
            &[("a".into(), pk1), ("b".into(), pk2.clone())],
            b"the words",
            aad,
        )
        .unwrap();
        env.check_shape().unwrap();
        assert!(env.is_v2());
        assert_eq!(env.open(&sk1).unwrap(), b"the words");
        assert_eq!(
            env.open_bound(&sk2, &[aad.to_string()]).unwrap(),
            b"the words"
        );
        assert_eq!(
            env.open_bound(&sk2, &["{}".to_string()]),
            Err(EnvelopeError::AadMismatch)
        );
        // The stated aad cannot be changed: the ciphertext authenticates it.
        let mut moved = env.clone();
        moved.aad = Some(aad.replace("r1", "r2"));
        assert_eq!(moved.open(&sk1), Err(EnvelopeError::Tampered));
        // A second wrap for b holding another content key (one ciphertext,
        // two texts) is refused by the commitment, before any decryption.
        let other_ck = random_bytes(32);
        let mut forged = env.clone();
        forged.keys[1] = wrap_content_key("b", &pk2, &other_ck).unwrap();
        assert_eq!(forged.open(&sk2), Err(EnvelopeError::CommitMismatch));
        assert_eq!(
            forged.open_with_content_key(&other_ck),
            Err(EnvelopeError::CommitMismatch)
        );
        // A commitment without an aad (or the reverse) is malformed.
        let mut half = env;
        half.aad = None;
        assert_eq!(half.check_shape(), Err(EnvelopeError::Malformed("aad")));
    }

    #[test]
    fn padding_fills_whole_buckets_and_stays_valid_json() {
        for n in [0usize, 1, 400, 499, 500, 1000, 5000] {
            let v = serde_json::json!({"text": "x".repeat(n)});
            let p = padded_json(&v);
            assert_eq!(p.len() % PAD_BUCKET, 0);
            assert!(p.len() >= serde_json::to_vec(&v).unwrap().len());
            let back: serde_json::Value = serde_json::from_slice(&p).unwrap();
            assert_eq!(back, v);
            assert!(is_padded_length(p.len() + 16));
        }
        assert!(!is_padded_length(100 + 16));
        assert!(!is_padded_length(16));
    }

    #[test]
    fn reporter_key_is_deterministic_and_differs_per_receipt() {
        let a = hpke::public_of(&reporter_private_key("0123456789ABCDEFGHJK"));
        let b = hpke::public_of(&reporter_private_key("0123456789ABCDEFGHJK"));
        let c = hpke::public_of(&reporter_private_key("0123456789ABCDEFGHJM"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // HKDF-SHA256 computed independently (Python's hmac module), then
        // clamped as X25519 private keys are kept.
        let mut expected: Vec<u8> = (0..32)
            .map(|i| {
                let hex = "85867880f07d5cc369f05d2f8a121a70f66ab54de27d4c4622c509f38b325167";
                u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()
            })
            .collect();
        expected[0] &= 248;
        expected[31] &= 127;
        expected[31] |= 64;
        let derived = reporter_private_key("0123456789ABCDEFGHJK");
        assert_eq!(hpke::private_key_bytes(&derived), expected);
    }
}
