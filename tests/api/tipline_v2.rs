//! Tip-line protocol v2 (issue 13 §3, §4): the phone makes the code and
//! sends only a lookup token and its public key; a retry gets the first
//! answer; envelopes are bound to their report (AAD) and committed; a reader
//! who cannot open a wrap says so and the bureau is alerted.

use crate::support::library::{b64u, envelope, hpke, Envelope};
use crate::support::readme_client::{message_aad, report_aad, Phone};
use crate::support::tipline::{mailbox, solve_pow, tip_world, TipWorld};
use crate::support::tipline_client::{recipients, seal_text};
use crate::support::TestApp;
use serde_json::{json, Value};

/// The body of a v2 report from this phone to SCH-X, sealed and with a solved proof of work.
async fn v2_body(app: &TestApp, phone: &Phone, text: &str, urgency: &str) -> Value {
    let mb = mailbox(app, "SCH-X").await;
    let aad = report_aad("sexual_abuse", false, "SCH-X", urgency);
    json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": urgency,
        "envelope": phone.seal(&mb["recipient_keys"], text, &aad),
        "lookup": phone.lookup, "reporter_public_key": phone.public_key,
        "pow": solve_pow(app).await})
}

/// The one report the counsellor reads, in full, once its window's batch
/// is out.
async fn counsellor_detail(app: &TestApp, t: &TipWorld) -> Value {
    crate::support::tipline::release_windows(app).await;
    let list = app
        .get("/api/v1/reports", &t.x_counselor.s.token)
        .await
        .expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let id = items[0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200)
}

/// What a staff client does with a report it was shown: open its envelope
/// only if bound to the metadata shown (and committed).
fn open_report(detail: &Value, sk: &hpke::PrivateKey) -> Result<String, envelope::EnvelopeError> {
    let env: Envelope = serde_json::from_value(detail["envelope"].clone()).unwrap();
    let mut expected = vec![report_aad(
        detail["category"].as_str().unwrap(),
        detail["concerns_staff"].as_bool().unwrap(),
        detail["school_code"].as_str().unwrap(),
        detail["urgency"].as_str().unwrap(),
    )];
    if detail["concerns_staff"] == true {
        expected.push(report_aad(
            detail["category"].as_str().unwrap(),
            false,
            detail["school_code"].as_str().unwrap(),
            detail["urgency"].as_str().unwrap(),
        ));
    }
    let pt = env.open_bound(sk, &expected)?;
    let v: Value = serde_json::from_slice(&pt).unwrap();
    Ok(v["text"].as_str().unwrap().to_string())
}

/// A staff reply sealed with the library: v2, bound to the report's staff messages.
fn staff_seal(keys: &Value, text: &str, aad: &str) -> Value {
    let pt = envelope::padded_json(&json!({ "text": text }));
    serde_json::to_value(envelope::seal_v2(&recipients(keys), &pt, aad).unwrap()).unwrap()
}

// --- scenarios ---------------------------------------------------------------------

async fn a_client_written_from_the_readme_does_the_v2_round_trip(app: TestApp) {
    let t = tip_world(&app).await;
    let phone = Phone::new();
    let secret = "Mr K. keeps me after class - marker 7f3a11";
    let body = v2_body(&app, &phone, secret, "urgent").await;
    let first = app.post_anon("/api/v1/reports", body.clone()).await;
    let answer = first.expect(201);
    assert_eq!(
        answer,
        json!({"status": "received"}),
        "no receipt: the phone made the code"
    );

    // The answer was lost on the way: the phone sends the same again (its
    // proof of work already spent) and gets the first answer, not a second report.
    let retry = app.post_anon("/api/v1/reports", body.clone()).await;
    assert_eq!(retry.expect(201), answer);
    assert_eq!(retry.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(app.count("tip_reports").await, 1);

    // Staff open it bound to the metadata they are shown.
    let detail = counsellor_detail(&app, &t).await;
    let id = detail["id"].as_str().unwrap().to_string();
    assert_eq!(detail["protocol"], 2);
    assert_eq!(detail["school_code"], "SCH-X");
    assert_eq!(open_report(&detail, &t.x_counselor.sk).unwrap(), secret);
    let reporter_key = detail["reply_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == "reporter")
        .unwrap()["public_key"]
        .clone();
    assert_eq!(reporter_key, json!(phone.public_key));

    // A reply must be v2 and bound to this report's staff messages.
    let url = format!("/api/v1/reports/{id}/messages");
    let tok = &t.x_counselor.s.token;
    let reply = "We believe you. Come to room 101 - marker 0b5e22";
    app.post(
        &url,
        tok,
        json!({"envelope": seal_text(&detail["reply_keys"], reply)}),
    )
    .await
    .expect_problem(422, "aad_mismatch");
    let elsewhere = message_aad("staff", "message", "another-report");
    app.post(
        &url,
        tok,
        json!({"envelope": staff_seal(&detail["reply_keys"], reply, &elsewhere)}),
    )
    .await
    .expect_problem(422, "aad_mismatch");
    let as_reporter = message_aad("reporter", "message", &id);
    app.post(
        &url,
        tok,
        json!({"envelope": staff_seal(&detail["reply_keys"], reply, &as_reporter)}),
    )
    .await
    .expect_problem(422, "aad_mismatch");
    let staff_aad = message_aad("staff", "message", &id);
    app.post(
        &url,
        tok,
        json!({"envelope": staff_seal(&detail["reply_keys"], reply, &staff_aad)}),
    )
    .await
    .expect(201);

    // The phone reads it with the lookup and its derived key.
    let fu = app
        .post_anon("/api/v1/reports/followup", json!({"lookup": phone.lookup}))
        .await
        .expect(200);
    assert_eq!(fu["messages"][0]["from"], "school");
    assert_eq!(
        phone
            .open(&fu["messages"][0]["envelope"], &staff_aad)
            .unwrap(),
        reply
    );

    // The server cannot: it never had the code, so it cannot open for the
    // reporter, and nothing it stores holds the code, the lookup or the key.
    app.post_anon(
        "/api/v1/reports/followup",
        json!({"lookup": phone.lookup, "open": true}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post_anon(
        "/api/v1/reports/followup",
        json!({"receipt": phone.code, "open": true}),
    )
    .await
    .expect(404);
    let normalised = phone.code.replace('-', "");
    for needle in [
        normalised.as_str(),
        phone.code.as_str(),
        phone.lookup.as_str(),
    ] {
        assert!(
            app.tables_containing(needle).await.is_empty(),
            "{needle} stored"
        );
    }
    let stored: Envelope = serde_json::from_value(fu["messages"][0]["envelope"].clone()).unwrap();
    for (sk, who) in [
        (&t.x_admin.sk, "a school reader"),
        (&t.bureau.sk, "the bureau"),
    ] {
        assert!(stored.open(sk).is_ok(), "{who} reads the reply");
    }
    let v1_key = envelope::reporter_private_key(&normalised);
    assert!(
        stored.open(&v1_key).is_err(),
        "the v1 derivation opens nothing"
    );

    // The phone writes more: bound to its report as the reporter's.
    let more_url = "/api/v1/reports/followup/messages";
    let recipients = &fu["recipient_keys"];
    let more = "It was on Tuesday too - marker 51cafe";
    app.post_anon(
        more_url,
        json!({"lookup": phone.lookup,
            "envelope": seal_text(recipients, more)}),
    )
    .await
    .expect_problem(422, "aad_mismatch");
    app.post_anon(
        more_url,
        json!({"lookup": phone.lookup,
            "envelope": phone.seal(recipients, more, &message_aad("reporter", "message", &id))}),
    )
    .await
    .expect(201);
    app.send(
        "POST",
        "/api/v1/reports/followup/attachments",
        None,
        Some(&json!({"envelope": phone.seal(recipients, "a photo",
            &message_aad("reporter", "attachment", &id))})),
        &[("X-Tipline-Lookup", &phone.lookup)],
    )
    .await
    .expect(201);
    let detail = counsellor_detail(&app, &t).await;
    let env: Envelope = serde_json::from_value(detail["messages"][1]["envelope"].clone()).unwrap();
    let text = env
        .open_bound(
            &t.x_counselor.sk,
            &[message_aad("reporter", "message", &id)],
        )
        .unwrap();
    assert!(String::from_utf8(text).unwrap().contains(more));
    assert_eq!(detail["attachments"].as_array().unwrap().len(), 1);
    // Neither a lookup and a receipt together, nor neither.
    app.post_anon(
        "/api/v1/reports/followup",
        json!({"lookup": phone.lookup, "receipt": phone.code}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post_anon("/api/v1/reports/followup", json!({}))
        .await
        .expect_problem(422, "invalid_field");
}

async fn another_envelope_under_a_used_lookup_is_409_and_unbound_submissions_are_refused(
    app: TestApp,
) {
    tip_world(&app).await;
    let phone = Phone::new();
    let body = v2_body(&app, &phone, "first words", "normal").await;
    app.post_anon("/api/v1/reports", body).await.expect(201);
    // Same lookup, another envelope (a new proof of work): 409, nothing new.
    let other = v2_body(&app, &phone, "other words", "normal").await;
    app.post_anon("/api/v1/reports", other)
        .await
        .expect_problem(409, "lookup_in_use");
    assert_eq!(app.count("tip_reports").await, 1);

    // The envelope's stated metadata must be the report's.
    let mb = mailbox(&app, "SCH-X").await;
    let keys = &mb["recipient_keys"];
    let p2 = Phone::new();
    let lying = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "urgent",
        "envelope": p2.seal(keys, "x", &report_aad("sexual_abuse", false, "SCH-X", "normal")),
        "lookup": p2.lookup, "reporter_public_key": p2.public_key, "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", lying)
        .await
        .expect_problem(422, "aad_mismatch");
    let other_school = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
        "envelope": p2.seal(keys, "x", &report_aad("sexual_abuse", false, "SCH-Y", "normal")),
        "lookup": p2.lookup, "reporter_public_key": p2.public_key, "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", other_school)
        .await
        .expect_problem(422, "aad_mismatch");
    // A v2 report needs a v2 envelope, a public key, and no plaintext.
    let unbound = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
        "envelope": seal_text(keys, "x"), "lookup": p2.lookup,
        "reporter_public_key": p2.public_key, "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", unbound)
        .await
        .expect_problem(422, "aad_mismatch");
    let keyless = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
        "envelope": p2.seal(keys, "x", &report_aad("sexual_abuse", false, "SCH-X", "normal")),
        "lookup": p2.lookup, "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", keyless)
        .await
        .expect_problem(422, "invalid_field");
    let plain = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
        "plaintext": {"text": "x"}, "lookup": p2.lookup, "reporter_public_key": p2.public_key,
        "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", plain)
        .await
        .expect_problem(422, "invalid_field");
    let short = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
        "envelope": p2.seal(keys, "x", &report_aad("sexual_abuse", false, "SCH-X", "normal")),
        "lookup": b64u(&[7u8; 16]), "reporter_public_key": p2.public_key,
        "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", short)
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(app.count("tip_reports").await, 1);
    // A v1 app's report may be bound too, and then must be bound right.
    let v1_lying = json!({"school_code": "SCH-X", "category": "safety", "urgency": "normal",
        "envelope": p2.seal(keys, "x", &report_aad("sexual_abuse", false, "SCH-X", "normal")),
        "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", v1_lying)
        .await
        .expect_problem(422, "aad_mismatch");
    assert_eq!(app.count("tip_reports").await, 1);
}

async fn tampered_metadata_and_forged_wraps_are_refused_and_reported_to_the_bureau(app: TestApp) {
    let t = tip_world(&app).await;
    let phone = Phone::new();
    let secret = "Please help - marker d00d42";
    let body = v2_body(&app, &phone, secret, "urgent").await;
    app.post_anon("/api/v1/reports", body).await.expect(201);
    let detail = counsellor_detail(&app, &t).await;
    let id = detail["id"].as_str().unwrap().to_string();
    assert_eq!(open_report(&detail, &t.x_counselor.sk).unwrap(), secret);

    // Someone with the database makes it look less urgent: readers refuse it.
    app.execute(format!(
        "UPDATE tip_reports SET urgency = 'normal' WHERE id = '{id}'"
    ))
    .await;
    let flipped = counsellor_detail(&app, &t).await;
    assert_eq!(flipped["urgency"], "normal");
    assert_eq!(
        open_report(&flipped, &t.x_counselor.sk),
        Err(envelope::EnvelopeError::AadMismatch)
    );
    app.execute(format!(
        "UPDATE tip_reports SET urgency = 'urgent' WHERE id = '{id}'"
    ))
    .await;

    // Someone swaps the counsellor's wrap for one holding another content key.
    let mut env: Envelope = serde_json::from_value(detail["envelope"].clone()).unwrap();
    let (_, counsellor_pk) = recipients(&mailbox(&app, "SCH-X").await["recipient_keys"])
        .into_iter()
        .find(|(key_id, _)| *key_id == t.x_counselor.key_id)
        .unwrap();
    let slot = env
        .keys
        .iter()
        .position(|k| k.key_id == t.x_counselor.key_id)
        .unwrap();
    env.keys[slot] =
        envelope::wrap_content_key(&t.x_counselor.key_id, &counsellor_pk, &[9u8; 32]).unwrap();
    let text = serde_json::to_string(&env).unwrap().replace('\'', "''");
    app.execute(format!(
        "UPDATE tip_reports SET envelope = '{text}' WHERE id = '{id}'"
    ))
    .await;
    let forged = counsellor_detail(&app, &t).await;
    assert_eq!(
        open_report(&forged, &t.x_counselor.sk),
        Err(envelope::EnvelopeError::CommitMismatch)
    );

    // She says so: the bureau is alerted, the history and the audit keep it.
    let url = format!("/api/v1/reports/{id}/undecryptable");
    let tok = &t.x_counselor.s.token;
    app.post(&url, tok, json!({"object_id": id, "key_id": "no-such-key"}))
        .await
        .expect_problem(422, "invalid_field");
    app.post(
        &url,
        tok,
        json!({"object_id": "elsewhere", "key_id": t.x_counselor.key_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post(
        &url,
        &t.y_admin.s.token,
        json!({"object_id": id, "key_id": t.x_counselor.key_id}),
    )
    .await
    .expect(404);
    assert_eq!(
        app.notes(&t.bureau.s.user_id, "tipline.undecryptable")
            .await,
        0
    );
    app.post(
        &url,
        tok,
        json!({"object_id": id, "key_id": t.x_counselor.key_id}),
    )
    .await
    .expect(204);
    assert_eq!(
        app.notes(&t.bureau.s.user_id, "tipline.undecryptable")
            .await,
        1
    );
    assert_eq!(app.audits("tipline.report.undecryptable").await, 1);
    let history = app
        .get(&format!("/api/v1/reports/{id}/history"), &t.bureau.s.token)
        .await
        .expect(200);
    let step = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["action"] == "undecryptable")
        .expect("the history keeps it");
    assert_eq!(step["actor_id"], t.x_counselor.s.user_id.as_str());
}

async fn the_web_form_stays_v1_and_its_server_side_opener_checks_the_commitment(app: TestApp) {
    let t = tip_world(&app).await;
    let body = json!({"school_code": "SCH-X", "category": "harassment", "urgency": "normal",
        "plaintext": {"text": "from the web form"}, "pow": solve_pow(&app).await});
    let receipt = app.post_anon("/api/v1/reports", body).await.expect(201)["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    let detail = counsellor_detail(&app, &t).await;
    let id = detail["id"].as_str().unwrap().to_string();
    assert_eq!(detail["protocol"], 1);
    // The server sealed it bound to the report and committed.
    assert_eq!(
        open_report(&detail, &t.x_counselor.sk).unwrap(),
        "from the web form"
    );
    let aad = message_aad("staff", "message", &id);
    let reply = "We read your message - marker 4e4e4e";
    app.post(
        &format!("/api/v1/reports/{id}/messages"),
        &t.x_counselor.s.token,
        json!({"envelope": staff_seal(&detail["reply_keys"], reply, &aad)}),
    )
    .await
    .expect(201);
    let open = json!({"receipt": receipt, "open": true});
    let fu = app
        .post_anon("/api/v1/reports/followup", open.clone())
        .await
        .expect(200);
    assert_eq!(fu["messages"][0]["plaintext"]["text"], reply);
    // A reply whose commitment no longer matches is not opened by the server.
    let mut env: Envelope = serde_json::from_value(fu["messages"][0]["envelope"].clone()).unwrap();
    env.commit = Some(b64u(&[1u8; 32]));
    let text = serde_json::to_string(&env).unwrap().replace('\'', "''");
    app.execute(format!(
        "UPDATE tip_messages SET envelope = '{text}' WHERE report_id = '{id}'"
    ))
    .await;
    let fu = app
        .post_anon("/api/v1/reports/followup", open)
        .await
        .expect(200);
    assert!(fu["messages"][0].get("plaintext").is_none());
}

/// A phone that retries before its first answer came. On PostgreSQL the
/// twins are held at their proof of work in two writers, both past their
/// retry check, so the second finds the first's proof of work spent by a
/// report it could not see yet. It still gets the first answer, not a 400
/// `pow_invalid` or a 409, and there is one report.
async fn twins_written_at_once_make_one_report_and_both_get_the_first_answer(app: TestApp) {
    let _t = tip_world(&app).await;
    let body = v2_body(&app, &Phone::new(), "twins", "normal").await;
    let held = app.lock_table("tip_pow_spent").await;
    let pause = || actix_web::rt::time::sleep(std::time::Duration::from_millis(400));
    let first = app.post_anon("/api/v1/reports", body.clone());
    let second = async {
        pause().await;
        app.post_anon("/api/v1/reports", body.clone()).await
    };
    let release = async {
        pause().await;
        pause().await;
        drop(held);
    };
    let (a, b, ()) = futures_util::future::join3(first, second, release).await;
    for answer in [&a, &b] {
        assert_eq!(answer.expect(201), json!({"status": "received"}));
    }
    let replays = [&a, &b]
        .iter()
        .filter(|r| r.header("Idempotent-Replayed") == Some("true"))
        .count();
    assert_eq!(replays, 1);
    assert_eq!(app.count("tip_reports").await, 1);
}

on_both_databases!(
    twins_written_at_once_make_one_report_and_both_get_the_first_answer,
    a_client_written_from_the_readme_does_the_v2_round_trip,
    another_envelope_under_a_used_lookup_is_409_and_unbound_submissions_are_refused,
    tampered_metadata_and_forged_wraps_are_refused_and_reported_to_the_bureau,
    the_web_form_stays_v1_and_its_server_side_opener_checks_the_commitment,
);
