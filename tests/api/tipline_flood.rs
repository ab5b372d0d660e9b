//! Anonymous floods do not starve the school day (issue 13, section 6):
//! challenges are signed and written nowhere, wrong lookups only read,
//! attachments are named by a header checked before their body is read,
//! read a few at a time, stored as files outside the database under a
//! district's daily quota, and the surge difficulty is counted per school.

use crate::support::library::{b64u, envelope, sweep_orphan_blobs, Backend, Clock, Envelope};
use crate::support::tipline::{
    mailbox, release_windows, solve_pow, solve_pow_for, submit_sealed, tip_world, TipWorld,
};
use crate::support::tipline_client::recipients;
use crate::support::{Setup, TestApp, Which};
use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub(crate) const ATTACHMENTS: &str = "/api/v1/reports/followup/attachments";

/// Holds SQLite's write lock from another connection, as a long write
/// would: a request that opened a write transaction would wait for it.
fn hold_write_lock(app: &TestApp) -> Option<diesel::SqliteConnection> {
    if app.backend != Backend::Sqlite {
        return None;
    }
    let path = app.database_url.trim_start_matches("sqlite://");
    let mut c = diesel::SqliteConnection::establish(path).unwrap();
    c.batch_execute("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE;")
        .unwrap();
    Some(c)
}

fn release_write_lock(held: Option<diesel::SqliteConnection>) {
    if let Some(mut c) = held {
        c.batch_execute("ROLLBACK;").unwrap();
    }
}

/// Sends an attachment request's headers and only the first 4 KiB of a body
/// said to be `declared` bytes long, and keeps the connection open: a
/// server that waited for the body would wait for ever.
pub(crate) async fn start_attachment(
    app: &TestApp,
    headers: &[(&str, &str)],
    declared: usize,
) -> std::net::TcpStream {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut head = format!(
        "POST {ATTACHMENTS} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n{\"envelope\": {\"nonce\": \"");
    web::block(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&[b'A'; 4096]).unwrap();
        s
    })
    .await
    .unwrap()
}

/// The status and problem of the answer on a raw connection; it must come
/// within `secs`.
pub(crate) async fn answer_within(s: std::net::TcpStream, secs: u64) -> (u16, Value) {
    web::block(move || {
        let mut s = s;
        s.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).expect("an answer before the deadline");
            assert!(n > 0, "the connection closed without an answer");
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let status = head[9..12].parse().unwrap();
                let body =
                    serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
                return (status, body);
            }
        }
    })
    .await
    .unwrap()
}

/// A sealed "photo" of `size` bytes to a school's current recipients.
async fn photo(app: &TestApp, code: &str, size: usize) -> (Vec<u8>, Envelope) {
    let mb = mailbox(app, code).await;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let env = envelope::seal(&recipients(&mb["recipient_keys"]), &bytes).unwrap();
    (bytes, env)
}

async fn attach(app: &TestApp, receipt: &str, env: &Envelope) -> crate::support::Resp {
    app.send(
        "POST",
        ATTACHMENTS,
        None,
        Some(&json!({ "envelope": env })),
        &[("X-Tipline-Receipt", receipt)],
    )
    .await
}

fn blob_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(&app.state.settings.blob_dir) {
        Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// The first attachment's envelope as a reader of the report sees it.
async fn staff_envelope(app: &TestApp, id: &str, token: &str) -> Envelope {
    let d = app
        .get(&format!("/api/v1/reports/{id}"), token)
        .await
        .expect(200);
    serde_json::from_value(d["attachments"][0]["envelope"].clone()).unwrap()
}

async fn difficulty(app: &TestApp, query: &str) -> u64 {
    let path = format!("/api/v1/reports/challenge{query}");
    app.post_anon(&path, json!({})).await.expect(201)["difficulty"]
        .as_u64()
        .unwrap()
}

async fn a_challenge_writes_nothing_and_a_spent_forged_or_expired_one_is_refused(app: TestApp) {
    tip_world(&app).await;
    let before = app.dump().await;
    let held = hold_write_lock(&app);
    let started = Instant::now();
    for path in [
        "/api/v1/reports/challenge",
        "/api/v1/reports/challenge?school_code=SCH-X",
    ] {
        let c = app.post_anon(path, json!({})).await.expect(201);
        assert!(c["challenge"].as_str().unwrap().len() <= 256);
        assert_eq!(c["difficulty"], 4);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a challenge waited for the write lock"
    );
    release_write_lock(held);
    assert_eq!(app.dump().await, before, "a challenge wrote something");

    let report = |code: &str, pow: &Value| {
        json!({"school_code": code, "category": "bullying", "urgency": "normal",
               "plaintext": {"text": "help"}, "pow": pow})
    };
    let good = solve_pow_for(&app, "SCH-X").await;
    let challenge = good["challenge"].as_str().unwrap().to_string();
    // A changed signature, or an easier difficulty under the old signature.
    let mut forged = good.clone();
    let last = if challenge.ends_with('A') { "B" } else { "A" };
    forged["challenge"] = json!(format!("{}{last}", &challenge[..challenge.len() - 1]));
    app.post_anon("/api/v1/reports", report("SCH-X", &forged))
        .await
        .expect_problem(400, "pow_invalid");
    let mut easier = good.clone();
    easier["challenge"] = json!(challenge.replacen(".4.", ".0.", 1));
    assert_ne!(easier["challenge"], good["challenge"]);
    app.post_anon("/api/v1/reports", report("SCH-X", &easier))
        .await
        .expect_problem(400, "pow_invalid");
    // Made for school X: not valid at school Y.
    app.post_anon("/api/v1/reports", report("SCH-Y", &good))
        .await
        .expect_problem(400, "pow_invalid");
    assert_eq!(app.count("tip_pow_spent").await, 0);
    // Spent once, then refused; only the spent one is recorded.
    app.post_anon("/api/v1/reports", report("SCH-X", &good))
        .await
        .expect(201);
    assert_eq!(app.count("tip_pow_spent").await, 1);
    app.post_anon("/api/v1/reports", report("SCH-X", &good))
        .await
        .expect_problem(400, "pow_invalid");
    // Expired (the test settings' challenges live 5 minutes).
    let late = solve_pow(&app).await;
    app.clock.advance(chrono::Duration::minutes(6));
    app.post_anon("/api/v1/reports", report("SCH-X", &late))
        .await
        .expect_problem(400, "pow_expired");
    assert_eq!(app.count("tip_reports").await, 1);
    // The spent set keeps a challenge to the end of the hour it expires in
    // (no finer time is stored), then forgets it.
    let kept: Vec<String> = app
        .strings("SELECT CAST(expires_at AS TEXT) AS s FROM tip_pow_spent".into())
        .await;
    assert!(kept[0].contains(":00:00"), "{kept:?}");
    app.clock.advance(chrono::Duration::hours(1));
    app.run_tipline_deadlines().await;
    assert_eq!(app.count("tip_pow_spent").await, 0);
}

async fn a_wrong_lookup_writes_nothing_and_a_right_one_still_gets_through(app: TestApp) {
    tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let mb = mailbox(&app, "SCH-X").await;
    let before = app.dump().await;
    let held = hold_write_lock(&app);
    let started = Instant::now();
    let wrong_lookup = b64u(&[7u8; 32]);
    let tries = [
        (
            "/api/v1/reports/followup",
            json!({"receipt": "AAAAA-BBBBB-CCCCC-DDDDD"}),
        ),
        ("/api/v1/reports/followup", json!({"lookup": wrong_lookup})),
        (
            "/api/v1/reports/followup/messages",
            json!({"lookup": wrong_lookup,
                   "envelope": crate::support::tipline_client::seal_text(&mb["recipient_keys"], "x")}),
        ),
    ];
    for (path, body) in &tries {
        app.post_anon(path, body.clone())
            .await
            .expect_problem(404, "not_found");
    }
    app.post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a follow-up read waited for the write lock"
    );
    // Past the limit (8 a minute in the test settings), in memory.
    let mut throttled = false;
    for _ in 0..8 {
        let r = app
            .post_anon(
                "/api/v1/reports/followup",
                json!({"receipt": "AAAAA-BBBBB-CCCCC-DDDDD"}),
            )
            .await;
        if r.status == 429 {
            r.expect_problem(429, "receipt_throttled");
            throttled = true;
            break;
        }
        r.expect_problem(404, "not_found");
    }
    assert!(throttled);
    app.post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    release_write_lock(held);
    assert_eq!(app.dump().await, before, "a follow-up read wrote something");
}

async fn an_attachment_with_a_wrong_lookup_is_refused_before_its_body_is_read(app: TestApp) {
    tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let wrong = b64u(&[9u8; 32]);
    // A body that never completes, within the limit and over it.
    for declared in [14 * 1024 * 1024, 20 * 1024 * 1024] {
        let s = start_attachment(&app, &[("X-Tipline-Lookup", &wrong)], declared).await;
        let (status, problem) = answer_within(s, 5).await;
        assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    }
    let s = start_attachment(
        &app,
        &[("X-Tipline-Receipt", "AAAAA-BBBBB-CCCCC-DDDDD")],
        1 << 20,
    )
    .await;
    assert_eq!(answer_within(s, 5).await.0, 404);
    // Without a header the report is not named: refused unread too.
    let s = start_attachment(&app, &[], 1 << 20).await;
    let (status, problem) = answer_within(s, 5).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_field"))
    );
    assert_eq!(problem["field"], "X-Tipline-Lookup");
    assert_eq!(app.count("tip_attachment_blobs").await, 0);
    assert!(blob_files(&app).is_empty());
}

async fn attachments_past_the_concurrency_bound_are_turned_away_with_retry_after(which: Which) {
    let setup = Setup {
        vars: vec![("SAFECAMPUS_TIPLINE_ATTACHMENT_CONCURRENCY", "1".into())],
        ..Setup::default()
    };
    let app = TestApp::try_spawn_with(which, setup).await.unwrap();
    tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let (_, env) = photo(&app, "SCH-X", 3000).await;
    // One body arriving slowly holds the only place.
    let slow = start_attachment(&app, &[("X-Tipline-Receipt", &receipt)], 1 << 20).await;
    let gate = &app.state.anonymous.attachments;
    let started = Instant::now();
    while !gate.is_full() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never admitted"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let busy = attach(&app, &receipt, &env).await;
    busy.expect_problem(503, "attachments_busy");
    assert_eq!(busy.header("retry-after"), Some("10"));
    // The slow sender gives up: the place is free again.
    slow.shutdown(std::net::Shutdown::Both).unwrap();
    drop(slow);
    while gate.is_full() {
        assert!(started.elapsed() < Duration::from_secs(20), "never let go");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    attach(&app, &receipt, &env).await.expect(201);
    assert_eq!(app.count("tip_attachment_blobs").await, 1);
}

async fn an_attachment_is_a_file_in_the_blob_dir_and_staff_read_it_byte_for_byte(app: TestApp) {
    let t: TipWorld = tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let (bytes, env) = photo(&app, "SCH-X", 3000).await;
    attach(&app, &receipt, &env).await.expect(201);
    // One file, holding the ciphertext; the database holds none of it.
    let files = blob_files(&app);
    assert_eq!(files.len(), 1);
    // The file keeps only the hour it was written in, by the service's clock.
    let hour = app.clock.now().timestamp() / 3600 * 3600;
    let modified = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
    assert_eq!(
        modified,
        std::time::UNIX_EPOCH + Duration::from_secs(hour as u64)
    );
    let ciphertext = crate::support::library::b64u_decode(&env.ciphertext).unwrap();
    assert_eq!(std::fs::read(&files[0]).unwrap(), ciphertext);
    assert!(app
        .tables_containing(&env.ciphertext[..64])
        .await
        .is_empty());
    let row = app
        .strings(
            "SELECT id || ' ' || CAST(size AS TEXT) || ' ' || sha256 || ' ' || CAST(created_at AS TEXT) AS s \
             FROM tip_attachment_blobs"
                .into(),
        )
        .await;
    let fields: Vec<&str> = row[0].split(' ').collect();
    assert_eq!(files[0].file_name().unwrap().to_str(), Some(fields[0]));
    assert_eq!(fields[1], ciphertext.len().to_string());
    assert_eq!(fields[2], crate::support::library::sha256_hex(&ciphertext));
    // Its time is the window's start (the test day starts at 00:00 UTC).
    assert!(row[0].ends_with("2026-11-30 00:00:00"), "{}", row[0]);
    release_windows(&app).await;
    // The staff view and the reporter's follow-up carry the same envelope.
    let id = app
        .get("/api/v1/reports", &t.x_admin.s.token)
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = staff_envelope(&app, &id, &t.x_admin.s.token).await;
    assert_eq!(got, env);
    assert_eq!(got.open(&t.x_admin.sk).unwrap(), bytes);
    let fu = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    let mine: Envelope = serde_json::from_value(fu["attachments"][0]["envelope"].clone()).unwrap();
    assert_eq!(mine, env);
    // A crash's leftovers (a file without a row, a temporary file) are swept
    // once an hour old; the stored file stays.
    let dir = app.state.settings.blob_dir.clone();
    let orphan = dir.join("AAAAAAAAAAAAAAAAAAAAAA");
    let temp = dir.join("tmp-BBBBBBBBBBBBBBBBBBBBBB");
    for p in [&orphan, &temp] {
        std::fs::write(p, b"left by a crash").unwrap();
        // Two hours before the service's clock, which the sweep goes by.
        let old = std::time::SystemTime::from(app.clock.now()) - Duration::from_secs(2 * 3600);
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let s = app.state.clone();
    let removed = web::block(move || sweep_orphan_blobs(&s))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(blob_files(&app), files);
    // An attachment stored before blobs (its envelope in the row) still reads.
    let text = serde_json::to_string(&env).unwrap();
    app.execute(format!(
        "UPDATE tip_messages SET envelope = '{text}' WHERE is_attachment = TRUE; \
         DELETE FROM tip_attachment_blobs;"
    ))
    .await;
    std::fs::remove_file(&files[0]).unwrap();
    assert_eq!(staff_envelope(&app, &id, &t.x_admin.s.token).await, env);
}

async fn a_district_over_its_daily_attachment_quota_gets_507_and_nothing_is_stored(which: Which) {
    let setup = Setup {
        vars: vec![("SAFECAMPUS_TIPLINE_ATTACHMENT_QUOTA_BYTES", "5000".into())],
        ..Setup::default()
    };
    let app = TestApp::try_spawn_with(which, setup).await.unwrap();
    tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let (_, env) = photo(&app, "SCH-X", 3000).await;
    attach(&app, &receipt, &env).await.expect(201);
    let full = attach(&app, &receipt, &env).await;
    full.expect_problem(507, "attachment_quota_full");
    let wait: i64 = full.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 24 * 3600, "{wait}");
    assert_eq!(app.count("tip_attachment_blobs").await, 1);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM tip_messages WHERE is_attachment = TRUE".into())
            .await,
        1
    );
    assert_eq!(blob_files(&app).len(), 1);
    // The next day the district has its quota again.
    app.clock.advance(chrono::Duration::days(1));
    attach(&app, &receipt, &env).await.expect(201);
    assert_eq!(blob_files(&app).len(), 2);
}

async fn a_flood_of_reports_at_one_school_raises_the_difficulty_there_only(app: TestApp) {
    tip_world(&app).await;
    assert_eq!(difficulty(&app, "?school_code=SCH-X").await, 4);
    assert_eq!(difficulty(&app, "?school_code=SCH-Y").await, 4);
    // The test settings set the surge at 6 reports in 10 minutes.
    for _ in 0..6 {
        let body = json!({"school_code": "SCH-X", "category": "other", "urgency": "normal",
            "plaintext": {"text": "spam"}, "pow": solve_pow_for(&app, "SCH-X").await});
        app.post_anon("/api/v1/reports", body).await.expect(201);
    }
    assert_eq!(difficulty(&app, "?school_code=SCH-X").await, 5);
    assert_eq!(difficulty(&app, "?school_code=SCH-Y").await, 4);
    // A client that names no school gets everyone's count.
    assert_eq!(difficulty(&app, "").await, 5);
    app.post_anon("/api/v1/reports/challenge?school_code=NOPE", json!({}))
        .await
        .expect_problem(404, "not_found");
}

on_both_databases!(
    a_challenge_writes_nothing_and_a_spent_forged_or_expired_one_is_refused,
    a_wrong_lookup_writes_nothing_and_a_right_one_still_gets_through,
    an_attachment_with_a_wrong_lookup_is_refused_before_its_body_is_read,
    an_attachment_is_a_file_in_the_blob_dir_and_staff_read_it_byte_for_byte,
    a_flood_of_reports_at_one_school_raises_the_difficulty_there_only,
);

on_both!(
    attachments_past_the_concurrency_bound_are_turned_away_with_retry_after,
    a_district_over_its_daily_attachment_quota_gets_507_and_nothing_is_stored,
);
