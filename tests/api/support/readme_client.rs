//! A reporter's app written from the README's "Protocol v2" alone: the hpke
//! crate for the wraps, ring for ChaCha20-Poly1305 and HMAC (HKDF written
//! out with HMAC), base64url by the base64 crate. None of safecampus's code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hpke::{Deserializable, Kem as _, Serializable};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{json, Value};

type Kem = hpke::kem::X25519HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;
type Kdf = hpke::kdf::HkdfSha256;
const INFO: &[u8] = b"safecampus/v1/content-key";

struct Rng;
impl hpke::rand_core::TryRng for Rng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        SystemRandom::new().fill(dst).unwrap();
        Ok(())
    }
}
impl hpke::rand_core::TryCryptoRng for Rng {}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

/// HKDF-SHA256 with an empty info and 32 bytes: one block.
fn hkdf(salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    mac(&mac(salt, ikm), &[1u8])
}

pub fn report_aad(category: &str, staff: bool, school: &str, urgency: &str) -> String {
    serde_json::to_string(&json!({"category": category, "concerns_staff": staff,
        "kind": "report", "school": school, "urgency": urgency, "v": 2}))
    .unwrap()
}

pub fn message_aad(from: &str, kind: &str, report: &str) -> String {
    serde_json::to_string(&json!({"from": from, "kind": kind, "report": report, "v": 2})).unwrap()
}

/// The phone's side: the code it made, what it sends, its private key.
pub struct Phone {
    pub code: String,
    pub lookup: String,
    pub public_key: String,
    sk: <Kem as hpke::Kem>::PrivateKey,
}

impl Phone {
    pub fn new() -> Phone {
        let alphabet = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut bytes = [0u8; 20];
        SystemRandom::new().fill(&mut bytes).unwrap();
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| alphabet[(b & 31) as usize] as char)
            .collect();
        let code = chars
            .chunks(5)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        let ikm = code.replace('-', "").to_uppercase();
        let lookup = B64.encode(hkdf(b"safecampus/v2/lookup", ikm.as_bytes()));
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&hkdf(
            b"safecampus/v2/reporter-key",
            ikm.as_bytes(),
        ))
        .unwrap();
        let public_key = B64.encode(Kem::sk_to_pk(&sk).to_bytes());
        Phone {
            code,
            lookup,
            public_key,
            sk,
        }
    }

    /// `{"text": text}`, padded to 512 bytes, sealed to every key, bound
    /// to `aad` and committed.
    pub fn seal(&self, keys: &Value, text: &str, aad: &str) -> Value {
        let mut pt = serde_json::to_vec(&json!({ "text": text })).unwrap();
        pt.resize(pt.len().div_ceil(512) * 512, b' ');
        let mut ck = [0u8; 32];
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut ck).unwrap();
        SystemRandom::new().fill(&mut nonce).unwrap();
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &ck).unwrap());
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut pt,
        )
        .unwrap();
        let wraps: Vec<Value> = keys
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let pk_bytes = B64.decode(k["public_key"].as_str().unwrap()).unwrap();
                let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&pk_bytes).unwrap();
                let (enc, ct) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
                    &hpke::OpModeS::Base,
                    &pk,
                    INFO,
                    &ck,
                    b"",
                    &mut Rng,
                )
                .unwrap();
                json!({"key_id": k["key_id"], "enc": B64.encode(enc.to_bytes()),
                       "ct": B64.encode(ct)})
            })
            .collect();
        json!({"nonce": B64.encode(nonce), "ciphertext": B64.encode(pt), "keys": wraps,
               "aad": aad, "commit": B64.encode(mac(&ck, b"safecampus/v2/commit"))})
    }

    /// Opens a staff reply with the key derived from the code: the
    /// `reporter` wrap, the commitment, then the ciphertext under the AAD
    /// the phone expects.
    pub fn open(&self, env: &Value, expected_aad: &str) -> Result<String, &'static str> {
        if env["aad"] != expected_aad {
            return Err("not bound to this report's staff messages");
        }
        let wrap = env["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_id"] == "reporter")
            .ok_or("no reporter wrap")?;
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(
            &B64.decode(wrap["enc"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let ck = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &hpke::OpModeR::Base,
            &self.sk,
            &enc,
            INFO,
            &B64.decode(wrap["ct"].as_str().unwrap()).unwrap(),
            b"",
        )
        .map_err(|_| "the wrap does not open")?;
        let commit = B64
            .decode(env["commit"].as_str().ok_or("no commit")?)
            .unwrap();
        if commit != mac(&ck, b"safecampus/v2/commit") {
            return Err("the content key fails the commitment");
        }
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &ck).unwrap());
        let nonce: [u8; 12] = B64
            .decode(env["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let mut buf = B64.decode(env["ciphertext"].as_str().unwrap()).unwrap();
        let pt = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(expected_aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| "the ciphertext does not authenticate")?;
        let v: Value = serde_json::from_slice(pt).unwrap();
        Ok(v["text"].as_str().unwrap().to_string())
    }
}
