//! The reporter's receipt: 100 random bits as 20 Crockford base32
//! characters, shown as XXXXX-XXXXX-XXXXX-XXXXX. The server keeps only an
//! HMAC of it and the public half of the key derived from it.

use crate::crypto::{envelope, hex, hmac_sha256, hpke, random_bytes};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const LEN: usize = 20;

/// A well-formed receipt, normalised: uppercase, no dashes.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt(String);

// Never print a receipt by accident.
impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt(…)")
    }
}

impl Receipt {
    pub fn generate() -> Receipt {
        // 256 is a multiple of 32: each byte's low five bits are uniform.
        let s = random_bytes(LEN)
            .iter()
            .map(|b| ALPHABET[(b & 31) as usize] as char)
            .collect();
        Receipt(s)
    }

    /// Accepts any case, with or without dashes or spaces; Crockford's
    /// look-alikes (O → 0, I and L → 1) are read as their digits.
    pub fn parse(input: &str) -> Option<Receipt> {
        if input.len() > 64 {
            return None;
        }
        let mut s = String::with_capacity(LEN);
        for c in input.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return None;
            }
            s.push(c);
        }
        (s.len() == LEN).then_some(Receipt(s))
    }

    pub fn normalised(&self) -> &str {
        &self.0
    }

    /// XXXXX-XXXXX-XXXXX-XXXXX
    pub fn display(&self) -> String {
        let b = self.0.as_bytes();
        b.chunks(5)
            .map(|c| std::str::from_utf8(c).expect("ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// What the database keeps: HMAC-SHA256(pepper, normalised receipt).
    pub fn mac(&self, pepper: &[u8]) -> String {
        hex(&hmac_sha256(pepper, self.0.as_bytes()))
    }

    pub fn reporter_private_key(&self) -> hpke::PrivateKey {
        envelope::reporter_private_key(&self.0)
    }

    pub fn reporter_public_key(&self) -> hpke::PublicKey {
        hpke::public_of(&self.reporter_private_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_in_any_case_with_or_without_dashes() {
        let r = Receipt::generate();
        let shown = r.display();
        assert_eq!(shown.len(), 23);
        assert_eq!(shown.matches('-').count(), 3);
        assert_eq!(Receipt::parse(&shown), Some(r.clone()));
        assert_eq!(Receipt::parse(&shown.to_lowercase()), Some(r.clone()));
        assert_eq!(Receipt::parse(&shown.replace('-', "")), Some(r.clone()));
        assert_eq!(
            Receipt::parse("ABCDE-FGHJK-MNPQR-STVWX")
                .unwrap()
                .normalised(),
            "ABCDEFGHJKMNPQRSTVWX"
        );
        assert_eq!(
            Receipt::parse("o1234-i6789-l0000-00000")
                .unwrap()
                .normalised(),
            "01234167891000000000"
        );
        assert!(Receipt::parse("ABCDE-FGHJK-MNPQR-STVW").is_none());
        assert!(Receipt::parse("ABCDE-FGHJK-MNPQR-STVWU").is_none());
        assert_ne!(Receipt::generate(), Receipt::generate());
        assert!(!format!("{r:?}").contains(r.normalised()));
    }
}
