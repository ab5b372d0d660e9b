//! Receipt normalisation: whatever a reporter types (any case, dashes,
//! spaces, Crockford look-alikes) parses to at most one canonical receipt,
//! and the canonical form and its display form both parse back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecampus::tipline::receipt::{Receipt, LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let Some(r) = Receipt::parse(input) else {
        return;
    };
    let n = r.normalised();
    assert_eq!(n.len(), LEN);
    assert!(n
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
    assert!(!n.contains(['I', 'L', 'O', 'U']));
    assert!(Receipt::parse(n).as_ref() == Some(&r));
    let shown = r.display();
    assert_eq!(shown.len(), LEN + 3);
    assert!(Receipt::parse(&shown).as_ref() == Some(&r));
    assert!(Receipt::parse(&input.to_lowercase()).as_ref() == Some(&r));
    // The stored MAC and the derived key are functions of the normalised form.
    assert_eq!(
        r.mac(b"pepper"),
        Receipt::parse(&shown).unwrap().mac(b"pepper")
    );
});
