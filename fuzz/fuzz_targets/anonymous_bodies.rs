//! The JSON bodies anonymous callers may send, through the same parser the
//! server's `JsonBody` uses (`http::parse_json`), then the checks that need
//! no database: receipts, envelopes, proofs of work, and the problem+json a
//! rejection turns into. The first byte picks the endpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safecampus::auth::dto::{LoginRequest, PasswordChange, RefreshRequest};
use safecampus::error::ApiError;
use safecampus::http::parse_json;
use safecampus::tipline::dto::{FollowupRequest, NewReport, ReporterAttachment, ReporterMessage};
use safecampus::tipline::receipt::Receipt;

/// A rejected body must be a 4xx problem that serialises.
fn rejected(e: ApiError) {
    assert!(e.status.is_client_error(), "{e}");
    let p = e.problem();
    assert_eq!(p.status, e.status.as_u16());
    serde_json::to_string(&p).expect("a problem serialises");
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 6 {
        // POST /api/v1/reports
        0 => match parse_json::<NewReport>(body) {
            Ok(r) => {
                if let Some(env) = &r.envelope {
                    let _ = env.check_shape();
                }
                if let Some(pow) = &r.pow {
                    for difficulty in [0, 1, 8] {
                        let _ =
                            safecampus::tipline::pow::meets(&pow.challenge, &pow.nonce, difficulty);
                    }
                }
                assert!(r.school_code.as_str().chars().count() <= 32);
            }
            Err(e) => rejected(e),
        },
        // POST /api/v1/reports/followup
        1 => match parse_json::<FollowupRequest>(body) {
            Ok(f) => {
                let _ = Receipt::parse(&f.receipt);
            }
            Err(e) => rejected(e),
        },
        // POST /api/v1/reports/followup/messages
        2 => match parse_json::<ReporterMessage>(body) {
            Ok(m) => {
                let _ = Receipt::parse(&m.receipt);
                if let Some(env) = &m.envelope {
                    let _ = env.check_shape();
                }
            }
            Err(e) => rejected(e),
        },
        // POST /api/v1/reports/followup/attachments
        3 => match parse_json::<ReporterAttachment>(body) {
            Ok(a) => {
                let _ = Receipt::parse(&a.receipt);
                let _ = a.envelope.check_shape();
            }
            Err(e) => rejected(e),
        },
        // POST /api/v1/auth/login
        4 => match parse_json::<LoginRequest>(body) {
            Ok(l) => {
                assert!(l.username.as_str().chars().count() <= 64);
                assert!(l.password.as_str().chars().count() <= 128);
            }
            Err(e) => rejected(e),
        },
        // POST /api/v1/auth/refresh and /logout; PUT /me/password's body
        _ => {
            if let Err(e) = parse_json::<RefreshRequest>(body) {
                rejected(e);
            }
            if let Err(e) = parse_json::<PasswordChange>(body) {
                rejected(e);
            }
        }
    }
});
