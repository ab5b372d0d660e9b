//! HPKE (RFC 9180) in base mode with the one suite the tip line uses:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
//! Randomness comes from ring's system source.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use std::convert::Infallible;

pub type Kem = X25519HkdfSha256;
pub type PublicKey = <Kem as hpke::Kem>::PublicKey;
pub type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
pub type SenderContext = hpke::aead::AeadCtxS<ChaCha20Poly1305, HkdfSha256, Kem>;
pub type ReceiverContext = hpke::aead::AeadCtxR<ChaCha20Poly1305, HkdfSha256, Kem>;

/// The suite's identifiers, as published in the mailbox description.
pub const SUITE: &str = "HPKE-Base-DHKEM(X25519,HKDF-SHA256)-HKDF-SHA256-ChaCha20Poly1305";
pub const KEY_LEN: usize = 32;
pub const ENC_LEN: usize = 32;
pub const TAG_LEN: usize = 16;

/// ring's system random source, in the shape the hpke crate asks for.
pub struct RingRng;

impl TryRng for RingRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.copy_from_slice(&super::random_bytes(dst.len()));
        Ok(())
    }
}

impl TryCryptoRng for RingRng {}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HpkeFailure {
    #[error("not a valid X25519 key")]
    BadKey,
    #[error("the encapsulated key or ciphertext does not open with this key")]
    OpenFailed,
}

pub fn public_key_from_bytes(bytes: &[u8]) -> Result<PublicKey, HpkeFailure> {
    if bytes.len() != KEY_LEN || bytes.iter().all(|b| *b == 0) {
        return Err(HpkeFailure::BadKey);
    }
    PublicKey::from_bytes(bytes).map_err(|_| HpkeFailure::BadKey)
}

/// A public key that senders can actually seal to. X25519 low-order points
/// parse, but every DH with them gives the all-zero secret that RFC 9180
/// senders must refuse: registered as a recipient, such a key would make the
/// mailbox refuse every report.
pub fn usable_public_key(bytes: &[u8]) -> Result<PublicKey, HpkeFailure> {
    let pk = public_key_from_bytes(bytes)?;
    seal_base(&pk, b"safecampus/v1/key-check", b"", &[0u8; 32]).map_err(|_| HpkeFailure::BadKey)?;
    Ok(pk)
}

pub fn private_key_from_bytes(bytes: &[u8]) -> Result<PrivateKey, HpkeFailure> {
    if bytes.len() != KEY_LEN {
        return Err(HpkeFailure::BadKey);
    }
    PrivateKey::from_bytes(bytes).map_err(|_| HpkeFailure::BadKey)
}

pub fn public_key_bytes(pk: &PublicKey) -> Vec<u8> {
    pk.to_bytes().to_vec()
}

pub fn private_key_bytes(sk: &PrivateKey) -> Vec<u8> {
    sk.to_bytes().to_vec()
}

/// The public key of a private key (X25519 with the usual clamping).
pub fn public_of(sk: &PrivateKey) -> PublicKey {
    Kem::sk_to_pk(sk)
}

/// A fresh random key pair.
pub fn generate() -> (PrivateKey, PublicKey) {
    Kem::gen_keypair_with_rng(&mut RingRng)
}

/// SealBase(pkR, info, aad, pt) → (enc, ct).
pub fn seal_base(
    pk: &PublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), HpkeFailure> {
    seal_base_with_rng(pk, info, aad, pt, &mut RingRng)
}

/// SealBase with a caller-chosen source of the ephemeral key material (the
/// RFC test vectors fix it; everything else uses `seal_base`).
pub fn seal_base_with_rng(
    pk: &PublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<(Vec<u8>, Vec<u8>), HpkeFailure> {
    let (enc, ct) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        pk,
        info,
        pt,
        aad,
        rng,
    )
    .map_err(|_| HpkeFailure::BadKey)?;
    Ok((enc.to_bytes().to_vec(), ct))
}

/// OpenBase(enc, skR, info, aad, ct) → pt.
pub fn open_base(
    sk: &PrivateKey,
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>, HpkeFailure> {
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| HpkeFailure::OpenFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        sk,
        &enc,
        info,
        ct,
        aad,
    )
    .map_err(|_| HpkeFailure::OpenFailed)
}

/// A receiver context, for checking a sequence of messages (the RFC test
/// vectors seal several under one setup).
pub fn receiver(sk: &PrivateKey, enc: &[u8], info: &[u8]) -> Result<ReceiverContext, HpkeFailure> {
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| HpkeFailure::OpenFailed)?;
    hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, Kem>(&OpModeR::Base, sk, &enc, info)
        .map_err(|_| HpkeFailure::OpenFailed)
}

/// A sender context with the ephemeral key material from `rng`.
pub fn sender_with_rng(
    pk: &PublicKey,
    info: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<(Vec<u8>, SenderContext), HpkeFailure> {
    let (enc, ctx) = hpke::setup_sender_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        pk,
        info,
        rng,
    )
    .map_err(|_| HpkeFailure::BadKey)?;
    Ok((enc.to_bytes().to_vec(), ctx))
}

/// The key pair DeriveKeyPair(ikm) of the suite (RFC 9180 §7.1.3).
pub fn derive_keypair(ikm: &[u8]) -> (PrivateKey, PublicKey) {
    Kem::derive_keypair(ikm)
}

#[cfg(test)]
mod rfc9180_vectors {
    //! RFC 9180 appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    //! ChaCha20Poly1305, base mode (mode 0, kem 0x0020, kdf 0x0001, aead 0x0003).
    use super::*;
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

    const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
    const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
    const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
    const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
    const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const SHARED_SECRET: &str = "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7";
    const KEY: &str = "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91";
    const BASE_NONCE: &str = "5c4d98150661b848853b547f";
    const EXPORTER_SECRET: &str =
        "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    /// (sequence number, aad, nonce, ct)
    const ENCRYPTIONS: [(u64, &str, &str, &str); 3] = [
        (
            0,
            "436f756e742d30",
            "5c4d98150661b848853b547f",
            "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
        ),
        (
            1,
            "436f756e742d31",
            "5c4d98150661b848853b547e",
            "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c",
        ),
        (
            2,
            "436f756e742d32",
            "5c4d98150661b848853b547d",
            "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b",
        ),
    ];

    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Hands out fixed bytes: the vector's ikmE becomes the ephemeral key.
    struct Fixed(Vec<u8>);
    impl TryRng for Fixed {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            unreachable!("only fill_bytes is used")
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            unreachable!("only fill_bytes is used")
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            let n = dst.len();
            dst.copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(())
        }
    }
    impl TryCryptoRng for Fixed {}

    fn clamp(mut k: Vec<u8>) -> Vec<u8> {
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        k
    }

    #[test]
    fn derive_keypair_matches_the_vectors() {
        let (sk_r, pk_r) = derive_keypair(&h(IKM_R));
        // The crate keeps private keys clamped (RFC 7748 §5); the vector's are not.
        assert_eq!(private_key_bytes(&sk_r), clamp(h(SK_RM)));
        assert_eq!(public_key_bytes(&pk_r), h(PK_RM));
        let (sk_e, pk_e) = derive_keypair(&h(IKM_E));
        assert_eq!(private_key_bytes(&sk_e), clamp(h(SK_EM)));
        assert_eq!(public_key_bytes(&pk_e), h(PK_EM));
        let sk = private_key_from_bytes(&h(SK_RM)).unwrap();
        assert_eq!(public_key_bytes(&public_of(&sk)), h(PK_RM));
    }

    #[test]
    fn sender_produces_the_vector_enc_and_ciphertexts() {
        let pk_r = public_key_from_bytes(&h(PK_RM)).unwrap();
        let (enc, mut ctx) = sender_with_rng(&pk_r, &h(INFO), &mut Fixed(h(IKM_E))).unwrap();
        assert_eq!(enc, h(ENC));
        for (_, aad, _, ct) in ENCRYPTIONS {
            assert_eq!(ctx.seal(&h(PT), &h(aad)).unwrap(), h(ct));
        }
        let mut exported = [0u8; 32];
        ctx.export(b"", &mut exported).unwrap();
        assert_eq!(
            crate::crypto::hex(&exported),
            "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"
        );
    }

    #[test]
    fn receiver_opens_the_vector_ciphertexts() {
        let sk_r = private_key_from_bytes(&h(SK_RM)).unwrap();
        let mut ctx = receiver(&sk_r, &h(ENC), &h(INFO)).unwrap();
        for (_, aad, _, ct) in ENCRYPTIONS {
            assert_eq!(ctx.open(&h(ct), &h(aad)).unwrap(), h(PT));
        }
        // Single-shot open is sequence number 0.
        let (_, aad, _, ct) = ENCRYPTIONS[0];
        assert_eq!(
            open_base(&sk_r, &h(ENC), &h(INFO), &h(aad), &h(ct)).unwrap(),
            h(PT)
        );
        // A wrong key, a changed ciphertext or wrong info does not open.
        let (other, _) = generate();
        assert!(open_base(&other, &h(ENC), &h(INFO), &h(aad), &h(ct)).is_err());
        let mut bad = h(ct);
        bad[5] ^= 1;
        assert!(open_base(&sk_r, &h(ENC), &h(INFO), &h(aad), &bad).is_err());
        assert!(open_base(&sk_r, &h(ENC), b"other", &h(aad), &h(ct)).is_err());
    }

    #[test]
    fn key_and_base_nonce_reproduce_the_ciphertexts_independently() {
        // The vector's key and nonces, used by ring's ChaCha20-Poly1305 on
        // their own, give the same ciphertexts: the key schedule is RFC 9180's.
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &h(KEY)).unwrap());
        let base = h(BASE_NONCE);
        for (seq, aad, nonce, ct) in ENCRYPTIONS {
            let mut n = base.clone();
            for (i, b) in seq.to_be_bytes().iter().enumerate() {
                n[4 + i] ^= b;
            }
            assert_eq!(n, h(nonce));
            let mut buf = h(PT);
            key.seal_in_place_append_tag(
                Nonce::try_assume_unique_for_key(&n).unwrap(),
                Aad::from(h(aad)),
                &mut buf,
            )
            .unwrap();
            assert_eq!(buf, h(ct));
        }
    }

    /// LabeledExtract / LabeledExpand (RFC 9180 §4) over HMAC-SHA256 alone,
    /// with L ≤ 32 so that Expand is a single HMAC block.
    fn labeled_extract(salt: &[u8], label: &str, ikm: &[u8]) -> [u8; 32] {
        let mut m = b"HPKE-v1".to_vec();
        m.extend_from_slice(&suite_id());
        m.extend_from_slice(label.as_bytes());
        m.extend_from_slice(ikm);
        crate::crypto::hmac_sha256(salt, &m)
    }

    fn labeled_expand(prk: &[u8], label: &str, info: &[u8], len: usize) -> Vec<u8> {
        let mut m = (len as u16).to_be_bytes().to_vec();
        m.extend_from_slice(b"HPKE-v1");
        m.extend_from_slice(&suite_id());
        m.extend_from_slice(label.as_bytes());
        m.extend_from_slice(info);
        m.push(1);
        crate::crypto::hmac_sha256(prk, &m)[..len].to_vec()
    }

    fn suite_id() -> Vec<u8> {
        let mut s = b"HPKE".to_vec();
        s.extend_from_slice(&[0x00, 0x20, 0x00, 0x01, 0x00, 0x03]);
        s
    }

    #[test]
    fn key_schedule_from_the_shared_secret_gives_the_vector_key_and_nonce() {
        // HMAC-based salts: an empty salt is HashLen zero bytes.
        let psk_id_hash = labeled_extract(&[0u8; 32], "psk_id_hash", b"");
        let info_hash = labeled_extract(&[0u8; 32], "info_hash", &h(INFO));
        let mut context = vec![0u8];
        context.extend_from_slice(&psk_id_hash);
        context.extend_from_slice(&info_hash);
        let secret = labeled_extract(&h(SHARED_SECRET), "secret", b"");
        assert_eq!(labeled_expand(&secret, "key", &context, 32), h(KEY));
        assert_eq!(
            labeled_expand(&secret, "base_nonce", &context, 12),
            h(BASE_NONCE)
        );
        assert_eq!(
            labeled_expand(&secret, "exp", &context, 32),
            h(EXPORTER_SECRET)
        );
    }
}

#[cfg(test)]
mod key_checks {
    use super::*;

    #[test]
    fn low_order_points_are_not_usable_recipient_keys() {
        let mut one = [0u8; 32];
        one[0] = 1;
        let mut p_minus_one = [0xffu8; 32];
        p_minus_one[0] = 0xec;
        p_minus_one[31] = 0x7f;
        for bad in [one, p_minus_one] {
            assert!(public_key_from_bytes(&bad).is_ok(), "it parses");
            assert!(usable_public_key(&bad).is_err(), "but cannot be sealed to");
        }
        let (_, pk) = generate();
        assert!(usable_public_key(&public_key_bytes(&pk)).is_ok());
    }
}
