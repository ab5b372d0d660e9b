//! The tip line: anonymous sealed reports, the recipients who read them,
//! the reporter's receipt, and what is never kept or logged.

use crate::support::library::{b64u, envelope, hpke, pow, Envelope, Receipt};
use crate::support::tipline::{
    designate, mailbox, register_key, release_windows, solve_pow, submit_sealed, tip_world,
};
use crate::support::tipline_client::{open_text, recipients, seal_text};
use crate::support::{Session, TestApp, PASSWORD};
use serde_json::{json, Value};

// --- helpers -------------------------------------------------------------------------

async fn list_ids(app: &TestApp, s: &Session) -> Vec<String> {
    app.get("/api/v1/reports", &s.token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn only_report_id(app: &TestApp, s: &Session) -> String {
    let ids = list_ids(app, s).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// The report alerts of a feed (not the account's own, such as its key
/// being registered).
async fn feed_templates(app: &TestApp, s: &Session) -> Vec<String> {
    let feed = app
        .get("/api/v1/me/notifications", &s.token)
        .await
        .expect(200);
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["category"] == "tipline")
        .map(|n| n["template"].as_str().unwrap_or_default().to_string())
        .collect()
}

// --- scenarios ---------------------------------------------------------------------

async fn full_flow_reaches_staff_and_reporter_and_leaves_no_trace_in_tables_or_logs(app: TestApp) {
    let logs = app.capture_logs();
    let t = tip_world(&app).await;
    const IP: &str = "203.0.113.77";
    let secret = "Mr Qian in room 12 touched me after class - marker 7f3a9c";
    let plain_secret = "Plain form report about the dorm - marker 51be0d";
    let xff = [("X-Forwarded-For", IP), ("X-Real-IP", IP)];

    // The app seals on the phone.
    let mb = mailbox(&app, "SCH-X").await;
    assert_eq!(mb["recipient_keys"].as_array().unwrap().len(), 3);
    assert_eq!(mb["district_keys"].as_array().unwrap().len(), 1);
    assert_eq!(mb["district_keys"][0]["key_id"], t.bureau.key_id.as_str());
    assert_eq!(mb["crisis_line"], "12355 / 110");
    assert_eq!(mb["suite"]["kem_id"], 32);
    let body = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "urgent",
        "envelope": seal_text(&mb["recipient_keys"], secret), "pow": solve_pow(&app).await});
    let res = app
        .send("POST", "/api/v1/reports", None, Some(&body), &xff)
        .await;
    let receipt = res.expect(201)["receipt"].as_str().unwrap().to_string();
    assert_eq!(receipt.len(), 23);
    let parsed = Receipt::parse(&receipt).unwrap();
    // Its window ends (see tipline_timing.rs).
    release_windows(&app).await;

    // Recipients are told, without content.
    for s in [&t.x_admin.s, &t.x_counselor.s, &t.bureau.s] {
        assert!(feed_templates(&app, s)
            .await
            .contains(&"tipline.new_report".to_string()));
    }
    assert!(feed_templates(&app, &t.y_admin.s).await.is_empty());

    // Staff list it (metadata only) and open it with their private keys.
    let list = app
        .get("/api/v1/reports", &t.x_counselor.s.token)
        .await
        .expect(200);
    let item = &list["items"][0];
    assert_eq!(item["urgency"], "urgent");
    assert_eq!(item["unread"], true);
    assert!(item.get("envelope").is_none());
    assert!(item["created_hour"].as_str().unwrap().contains("T00:00:00"));
    let id = item["id"].as_str().unwrap().to_string();
    let detail = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(open_text(&detail["envelope"], &t.x_counselor.sk), secret);
    assert_eq!(open_text(&detail["envelope"], &t.bureau.sk), secret);
    assert_eq!(detail["reply_keys"][0]["key_id"], "reporter");
    assert_eq!(detail["reply_keys"].as_array().unwrap().len(), 4);
    let list = app
        .get("/api/v1/reports", &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(list["items"][0]["unread"], false);

    // Staff acknowledge and reply, sealed to the reporter and every recipient.
    app.post(
        &format!("/api/v1/reports/{id}/status"),
        &t.x_counselor.s.token,
        json!({"status": "acknowledged"}),
    )
    .await
    .expect(200);
    let reply = "We hear you. The counsellor is here every day - reply marker-3d9e";
    let r = app
        .post(
            &format!("/api/v1/reports/{id}/messages"),
            &t.x_counselor.s.token,
            json!({"envelope": seal_text(&detail["reply_keys"], reply)}),
        )
        .await;
    r.expect(201);

    // The reporter reads it from any device with the receipt alone.
    let fu = app
        .send(
            "POST",
            "/api/v1/reports/followup",
            None,
            Some(&json!({"receipt": receipt.to_lowercase().replace('-', "")})),
            &xff,
        )
        .await
        .expect(200);
    assert_eq!(fu["status"], "acknowledged");
    assert_eq!(fu["messages"][0]["from"], "school");
    assert!(fu["messages"][0].get("plaintext").is_none());
    assert_eq!(
        open_text(
            &fu["messages"][0]["envelope"],
            &parsed.reporter_private_key()
        ),
        reply
    );
    let opened = app
        .send(
            "POST",
            "/api/v1/reports/followup",
            None,
            Some(&json!({"receipt": receipt, "open": true})),
            &xff,
        )
        .await
        .expect(200);
    assert_eq!(opened["messages"][0]["plaintext"]["text"], reply);

    // The reporter adds a message, sealed to the recipients; staff read it.
    let more = "It happened again on Friday - marker 99ab01";
    app.send(
        "POST",
        "/api/v1/reports/followup/messages",
        None,
        Some(&json!({"receipt": receipt, "envelope": seal_text(&mb["recipient_keys"], more)})),
        &xff,
    )
    .await
    .expect(201);
    release_windows(&app).await;
    let detail = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect(200);
    assert_eq!(detail["messages"].as_array().unwrap().len(), 2);
    assert_eq!(detail["messages"][1]["from"], "reporter");
    assert_eq!(
        open_text(&detail["messages"][1]["envelope"], &t.x_admin.sk),
        more
    );

    // The same with a plain web form: the server seals at once.
    let body = json!({"school_code": "SCH-X", "category": "harassment", "urgency": "normal",
        "plaintext": {"text": plain_secret}, "pow": solve_pow(&app).await});
    let plain_receipt = app
        .send("POST", "/api/v1/reports", None, Some(&body), &xff)
        .await
        .expect(201)["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    release_windows(&app).await;
    let ids = list_ids(&app, &t.bureau.s).await;
    assert_eq!(ids.len(), 2);
    let plain_id = ids.iter().find(|i| **i != id).unwrap();
    let detail = app
        .get(&format!("/api/v1/reports/{plain_id}"), &t.bureau.s.token)
        .await
        .expect(200);
    assert_eq!(open_text(&detail["envelope"], &t.bureau.sk), plain_secret);
    assert_eq!(open_text(&detail["envelope"], &t.x_admin.sk), plain_secret);
    app.post(
        &format!("/api/v1/reports/{plain_id}/messages"),
        &t.bureau.s.token,
        json!({"envelope": seal_text(&detail["reply_keys"], reply)}),
    )
    .await
    .expect(201);
    let opened = app
        .send(
            "POST",
            "/api/v1/reports/followup",
            None,
            Some(&json!({"receipt": plain_receipt, "open": true})),
            &xff,
        )
        .await
        .expect(200);
    assert_eq!(opened["messages"][0]["plaintext"]["text"], reply);
    let plain_more = "Plain follow-up from the form - marker c0ffee";
    app.send(
        "POST",
        "/api/v1/reports/followup/messages",
        None,
        Some(&json!({"receipt": plain_receipt, "plaintext": {"text": plain_more}})),
        &xff,
    )
    .await
    .expect(201);
    release_windows(&app).await;
    let detail = app
        .get(
            &format!("/api/v1/reports/{plain_id}"),
            &t.x_counselor.s.token,
        )
        .await
        .expect(200);
    assert_eq!(
        open_text(&detail["messages"][1]["envelope"], &t.x_counselor.sk),
        plain_more
    );
    let mine = app
        .get("/api/v1/me/encryption-key", &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(mine["key_id"], t.x_counselor.key_id.as_str());
    assert_eq!(mine["has_backup"], true);
    assert!(
        mine.get("key_backup").is_none(),
        "the backup needs the password"
    );

    // Every staff read and change is audited.
    assert!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'tipline.report.read'".into()
        )
        .await
            >= 3
    );
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'tipline.report.reply'".into()
        )
        .await,
        2
    );

    // Nothing of it at rest or in the logs.
    let plain_parsed = Receipt::parse(&plain_receipt).unwrap();
    let markers = [
        secret,
        plain_secret,
        more,
        reply,
        plain_more,
        IP,
        receipt.as_str(),
        parsed.normalised(),
        plain_receipt.as_str(),
        plain_parsed.normalised(),
    ];
    for m in markers {
        assert_eq!(
            app.tables_containing(m).await,
            Vec::<String>::new(),
            "{m} is stored"
        );
    }
    let text = logs.text();
    assert!(
        text.contains("/api/v1/reports/{id}"),
        "the capture sees the server's access log"
    );
    for m in markers {
        assert!(
            !text.to_lowercase().contains(&m.to_lowercase()),
            "{m} is in the logs"
        );
    }
    for marker in [
        "marker 7f3a9c",
        "marker 51be0d",
        "marker 99ab01",
        "marker c0ffee",
        "marker-3d9e",
        IP,
    ] {
        assert!(!text.contains(marker), "{marker} is in the logs");
    }
}

async fn a_report_request_with_authorization_is_refused_and_nothing_is_stored(app: TestApp) {
    let t = tip_world(&app).await;
    let mb = mailbox(&app, "SCH-X").await;
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "envelope": seal_text(&mb["recipient_keys"], "hi"), "pow": solve_pow(&app).await});
    app.send(
        "POST",
        "/api/v1/reports",
        Some(&t.w.x.parent.token),
        Some(&body),
        &[],
    )
    .await
    .expect_problem(400, "anonymous_only");
    app.send(
        "POST",
        "/api/v1/reports/followup",
        Some(&t.w.x.parent.token),
        Some(&json!({"receipt": "ABCDE-FGHJK-MNPQR-STVWX"})),
        &[],
    )
    .await
    .expect_problem(400, "anonymous_only");
    assert_eq!(app.count("tip_reports").await, 0);
}

async fn an_envelope_without_the_district_key_is_refused(app: TestApp) {
    let t = tip_world(&app).await;
    let mb = mailbox(&app, "SCH-X").await;
    let school_only: Vec<Value> = mb["recipient_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["key_id"] != t.bureau.key_id.as_str())
        .cloned()
        .collect();
    let pow = solve_pow(&app).await;
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "envelope": seal_text(&json!(school_only), "hi"), "pow": pow});
    app.post_anon("/api/v1/reports", body)
        .await
        .expect_problem(422, "missing_recipient_key");
    // An extra, unknown key is refused too, and a short (unpadded) ciphertext.
    let (_, stranger) = hpke::generate();
    let mut keys = recipients(&mb["recipient_keys"]);
    keys.push(("stranger".into(), stranger));
    let env = envelope::seal(&keys, &envelope::padded_json(&json!({"text": "hi"}))).unwrap();
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "envelope": env, "pow": pow});
    app.post_anon("/api/v1/reports", body)
        .await
        .expect_problem(422, "unknown_recipient_key");
    let env = envelope::seal(&recipients(&mb["recipient_keys"]), b"{\"text\":\"short\"}").unwrap();
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "envelope": env, "pow": pow});
    app.post_anon("/api/v1/reports", body)
        .await
        .expect_problem(422, "unpadded_ciphertext");
    assert_eq!(app.count("tip_reports").await, 0);
    // The refused attempts did not spend the challenge.
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "envelope": seal_text(&mb["recipient_keys"], "hi"), "pow": pow});
    app.post_anon("/api/v1/reports", body).await.expect(201);
}

async fn a_mailbox_without_a_district_key_is_not_ready(app: TestApp) {
    let w = app.world().await;
    let body = json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "plaintext": {"text": "help"}, "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", body)
        .await
        .expect_problem(503, "mailbox_not_ready");
    assert_eq!(app.count("tip_reports").await, 0);
    // A parent may not register a recipient key.
    let (_, pk) = hpke::generate();
    app.send(
        "PUT",
        "/api/v1/me/encryption-key",
        Some(&w.x.parent.token),
        Some(&json!({"public_key": b64u(&hpke::public_key_bytes(&pk))})),
        &[],
    )
    .await
    .expect_problem(403, "forbidden_role");
}

async fn bad_expired_and_replayed_proofs_of_work_are_refused(app: TestApp) {
    tip_world(&app).await;
    let report = |pow: Value| {
        json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
        "plaintext": {"text": "help"}, "pow": pow})
    };
    let mut no_pow = report(Value::Null);
    no_pow.as_object_mut().unwrap().remove("pow");
    app.post_anon("/api/v1/reports", no_pow)
        .await
        .expect_problem(400, "pow_required");
    app.post_anon(
        "/api/v1/reports",
        report(json!({"challenge": "made-up", "nonce": "1"})),
    )
    .await
    .expect_problem(400, "pow_invalid");
    // A nonce that does not meet the difficulty.
    let good = solve_pow(&app).await;
    let challenge = good["challenge"].as_str().unwrap();
    let bad_nonce = (0u64..)
        .map(|n| n.to_string())
        .find(|n| !pow::meets(challenge, n, 4))
        .unwrap();
    app.post_anon(
        "/api/v1/reports",
        report(json!({"challenge": challenge, "nonce": bad_nonce})),
    )
    .await
    .expect_problem(400, "pow_failed");
    // Good once, then replayed.
    app.post_anon("/api/v1/reports", report(good.clone()))
        .await
        .expect(201);
    app.post_anon("/api/v1/reports", report(good))
        .await
        .expect_problem(400, "pow_invalid");
    // Expired.
    let late = solve_pow(&app).await;
    app.clock.advance(chrono::Duration::minutes(6));
    app.post_anon("/api/v1/reports", report(late))
        .await
        .expect_problem(400, "pow_expired");
    assert_eq!(app.count("tip_reports").await, 1);
}

async fn difficulty_rises_when_submissions_surge(app: TestApp) {
    tip_world(&app).await;
    let difficulty = |c: Value| c["difficulty"].as_u64().unwrap();
    let calm = difficulty(
        app.post_anon("/api/v1/reports/challenge", json!({}))
            .await
            .expect(201),
    );
    assert_eq!(calm, 4);
    // The test settings set the surge at 6 reports in 10 minutes.
    for _ in 0..6 {
        let body = json!({"school_code": "SCH-X", "category": "other", "urgency": "normal",
            "plaintext": {"text": "spam"}, "pow": solve_pow(&app).await});
        app.post_anon("/api/v1/reports", body).await.expect(201);
    }
    let surged = difficulty(
        app.post_anon("/api/v1/reports/challenge", json!({}))
            .await
            .expect(201),
    );
    assert_eq!(surged, 5);
    // They count until 10 minutes after their window (08:00–09:00) ends.
    app.clock.advance(chrono::Duration::minutes(65));
    assert_eq!(
        difficulty(
            app.post_anon("/api/v1/reports/challenge", json!({}))
                .await
                .expect(201),
        ),
        5
    );
    app.clock.advance(chrono::Duration::minutes(6));
    let later = difficulty(
        app.post_anon("/api/v1/reports/challenge", json!({}))
            .await
            .expect(201),
    );
    assert_eq!(later, 4);
}

async fn a_wrong_receipt_is_404_and_repeated_wrong_receipts_are_throttled(app: TestApp) {
    tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let wrong = Receipt::generate().display();
    let r = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": wrong}))
        .await;
    r.expect_problem(404, "not_found");
    let r2 = app
        .post_anon(
            "/api/v1/reports/followup",
            json!({"receipt": "not a receipt"}),
        )
        .await;
    r2.expect_problem(404, "not_found");
    assert_eq!(r.json()["detail"], r2.json()["detail"]);
    app.post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    // The test settings allow 8 wrong receipts a minute, for everyone together.
    for _ in 0..6 {
        app.post_anon(
            "/api/v1/reports/followup",
            json!({"receipt": Receipt::generate().display()}),
        )
        .await
        .expect_problem(404, "not_found");
    }
    let throttled = app
        .post_anon(
            "/api/v1/reports/followup",
            json!({"receipt": Receipt::generate().display()}),
        )
        .await;
    throttled.expect_problem(429, "receipt_throttled");
    assert_eq!(throttled.header("retry-after"), Some("60"));
    // The flood does not lock the reporter out.
    app.post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    app.clock.advance(chrono::Duration::minutes(2));
    app.post_anon(
        "/api/v1/reports/followup",
        json!({"receipt": Receipt::generate().display()}),
    )
    .await
    .expect_problem(404, "not_found");
}

async fn teachers_parents_and_other_schools_get_404(app: TestApp) {
    let t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    for s in [
        &t.w.x.teacher,
        &t.w.x.parent,
        &t.w.x.guard,
        &t.y_admin.s,
        &t.w.y.admin,
    ] {
        app.get(&format!("/api/v1/reports/{id}"), &s.token)
            .await
            .expect_problem(404, "not_found");
        app.post(
            &format!("/api/v1/reports/{id}/status"),
            &s.token,
            json!({"status": "acknowledged"}),
        )
        .await
        .expect_problem(404, "not_found");
    }
    for s in [&t.w.x.teacher, &t.w.x.parent] {
        app.get("/api/v1/reports", &s.token)
            .await
            .expect_problem(404, "not_found");
    }
    assert!(list_ids(&app, &t.y_admin.s).await.is_empty());
    app.get(&format!("/api/v1/reports/{id}"), &t.w.district_admin.token)
        .await
        .expect_problem(404, "not_found");
}

async fn the_bureau_sees_reports_of_every_school_in_the_district(app: TestApp) {
    let t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "x report", "normal", false).await;
    submit_sealed(&app, "SCH-Y", "y report", "normal", false).await;
    let ids = list_ids(&app, &t.bureau.s).await;
    assert_eq!(ids.len(), 2);
    assert_eq!(list_ids(&app, &t.x_admin.s).await.len(), 1);
    assert_eq!(list_ids(&app, &t.y_admin.s).await.len(), 1);
    for id in ids {
        let d = app
            .get(&format!("/api/v1/reports/{id}"), &t.bureau.s.token)
            .await
            .expect(200);
        assert!(open_text(&d["envelope"], &t.bureau.sk).ends_with("report"));
    }
}

async fn a_report_about_staff_goes_to_the_bureau_only(app: TestApp) {
    let mut t = tip_world(&app).await;
    // Sealing it to the school's keys is refused: it may only hold district keys.
    let mb = mailbox(&app, "SCH-X").await;
    let body = json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "urgent",
        "concerns_staff": true, "envelope": seal_text(&mb["recipient_keys"], "about a teacher"),
        "pow": solve_pow(&app).await});
    app.post_anon("/api/v1/reports", body)
        .await
        .expect_problem(422, "unknown_recipient_key");
    submit_sealed(&app, "SCH-X", "about a teacher", "urgent", true).await;
    assert!(list_ids(&app, &t.x_admin.s).await.is_empty());
    assert!(list_ids(&app, &t.x_counselor.s).await.is_empty());
    assert!(feed_templates(&app, &t.x_admin.s).await.is_empty());
    assert!(feed_templates(&app, &t.x_counselor.s).await.is_empty());
    // (Besides the recipient changes of the world's making.)
    let bureau_feed: Vec<String> = feed_templates(&app, &t.bureau.s)
        .await
        .into_iter()
        .filter(|t| t != "tipline.recipient_change")
        .collect();
    assert_eq!(bureau_feed, vec!["tipline.new_report"]);
    let id = only_report_id(&app, &t.bureau.s).await;
    app.get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect_problem(404, "not_found");
    // Escalation, too, reaches the bureau only (an hour after its 15-minute
    // window).
    app.clock.advance(chrono::Duration::minutes(76));
    app.run_tipline_deadlines().await;
    t.relogin(&app).await;
    assert!(feed_templates(&app, &t.x_admin.s).await.is_empty());
    assert!(feed_templates(&app, &t.bureau.s)
        .await
        .contains(&"tipline.overdue".to_string()));
    // The bureau shares it with the counsellor and wraps the content key for them.
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.bureau.s.token)
        .await
        .expect(200);
    let env: Envelope = serde_json::from_value(d["envelope"].clone()).unwrap();
    let ck = env.content_key(&t.bureau.sk).unwrap();
    let pk = hpke::public_of(&t.x_counselor.sk);
    let wrap = envelope::wrap_content_key(&t.x_counselor.key_id, &pk, &ck).unwrap();
    app.post(
        &format!("/api/v1/reports/{id}/keys"),
        &t.x_admin.s.token,
        json!({"share_with": [t.x_counselor.s.user_id]}),
    )
    .await
    .expect_problem(404, "not_found");
    let added = app
        .post(&format!("/api/v1/reports/{id}/keys"), &t.bureau.s.token,
              json!({"share_with": [t.x_counselor.s.user_id],
                     "wraps": [{"object_id": id, "key_id": wrap.key_id, "enc": wrap.enc, "ct": wrap.ct}]}))
        .await
        .expect(200);
    assert_eq!(added["wraps_added"], 1);
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(
        open_text(&d["envelope"], &t.x_counselor.sk),
        "about a teacher"
    );
    assert!(list_ids(&app, &t.x_admin.s).await.is_empty());
}

async fn only_an_established_bureau_officer_closes_and_never_from_new(app: TestApp) {
    let mut t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    let status = |s: &Session, body: Value| {
        let path = format!("/api/v1/reports/{id}/status");
        let token = s.token.clone();
        let app = &app;
        async move { app.post(&path, &token, body).await }
    };
    let close = json!({"status": "closed", "note": "handled with parents", "outcome": "valid"});
    status(&t.x_admin.s, json!({"status": "resolved"}))
        .await
        .expect_problem(409, "invalid_transition");
    // A report nobody looked into is not closed.
    status(&t.x_admin.s, close.clone())
        .await
        .expect_problem(409, "invalid_transition");
    status(&t.x_admin.s, json!({"status": "acknowledged"}))
        .await
        .expect(200);
    status(
        &t.x_admin.s,
        json!({"status": "closed", "outcome": "valid"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    status(
        &t.x_admin.s,
        json!({"status": "closed", "note": "handled with parents"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // Accounts made this morning propose nothing.
    status(&t.x_admin.s, close.clone())
        .await
        .expect_problem(403, "account_too_new");
    app.clock.advance(chrono::Duration::days(8));
    t.relogin(&app).await;
    let pending = status(&t.x_admin.s, close.clone()).await.expect(200);
    assert_eq!(pending["status"], "acknowledged");
    assert_eq!(pending["close_pending"], true);
    // School readers never close: only the bureau confirms.
    let confirm = format!("/api/v1/reports/{id}/close-confirmation");
    for s in [&t.x_admin.s, &t.x_counselor.s] {
        app.post(&confirm, &s.token, json!({}))
            .await
            .expect_problem(403, "forbidden_role");
    }
    // Nor does a bureau officer made today.
    let district_admin = app.relog(&t.w.district_admin).await;
    app.create_user(&district_admin, "bureau_officer", "bureau.new", None)
        .await;
    let newcomer = app.login("bureau.new", PASSWORD).await;
    app.post(&confirm, &newcomer.token, json!({}))
        .await
        .expect_problem(403, "account_too_new");
    let closed = app
        .post(&confirm, &t.bureau.s.token, json!({}))
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.bureau.s.token)
        .await
        .expect(200);
    assert_eq!(d["outcome"], "valid");
    assert!(d["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["action"] == "closed"));
    // Only the bureau reopens.
    status(&t.x_admin.s, json!({"status": "investigating"}))
        .await
        .expect_problem(403, "reopen_bureau_only");
    status(
        &t.bureau.s,
        json!({"status": "investigating", "note": "new information"}),
    )
    .await
    .expect(200);
    // A bureau officer's own proposal needs another officer.
    status(&t.bureau.s, close.clone()).await.expect(200);
    app.post(&confirm, &t.bureau.s.token, json!({}))
        .await
        .expect_problem(409, "second_person_required");
    let senior = app.vetting_officer().await;
    app.post(&confirm, &senior.token, json!({}))
        .await
        .expect(200);
    assert!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'tipline.report.status'".into()
        )
        .await
            >= 3
    );
}

async fn a_recused_recipient_gets_404_and_replies_need_no_key_of_theirs(app: TestApp) {
    let t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    app.post(
        &format!("/api/v1/reports/{id}/recuse"),
        &t.x_admin.s.token,
        json!({}),
    )
    .await
    .expect(204);
    app.get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect_problem(404, "not_found");
    assert!(list_ids(&app, &t.x_admin.s).await.is_empty());
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    let keys: Vec<&str> = d["reply_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_id"].as_str().unwrap())
        .collect();
    assert!(!keys.contains(&t.x_admin.key_id.as_str()));
    // A reply that lacks the reporter key is refused; one sealed to reply_keys is taken.
    let no_reporter: Vec<Value> = d["reply_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["key_id"] != "reporter")
        .cloned()
        .collect();
    app.post(
        &format!("/api/v1/reports/{id}/messages"),
        &t.x_counselor.s.token,
        json!({"envelope": seal_text(&json!(no_reporter), "hi")}),
    )
    .await
    .expect_problem(422, "missing_recipient_key");
    // A retried reply (same Idempotency-Key) is stored once.
    let reply = json!({"envelope": seal_text(&d["reply_keys"], "hi")});
    let path = format!("/api/v1/reports/{id}/messages");
    let key = [("Idempotency-Key", "reply-1")];
    let first = app
        .send(
            "POST",
            &path,
            Some(&t.x_counselor.s.token),
            Some(&reply),
            &key,
        )
        .await
        .expect(201);
    let again = app
        .send(
            "POST",
            &path,
            Some(&t.x_counselor.s.token),
            Some(&reply),
            &key,
        )
        .await;
    assert_eq!(again.expect(201)["id"], first["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("tip_messages").await, 1);
}

async fn reports_cannot_be_deleted(app: TestApp) {
    let t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    for s in [&t.x_admin.s, &t.bureau.s, &t.w.district_admin] {
        let r = app
            .send(
                "DELETE",
                &format!("/api/v1/reports/{id}"),
                Some(&s.token),
                None,
                &[],
            )
            .await;
        assert!(r.status == 404 || r.status == 405, "{}", r.text);
    }
    let doc: Value = serde_json::from_str(&crate::support::library::openapi_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.contains("/reports") {
            assert!(item.get("delete").is_none(), "{path} has DELETE");
        }
    }
    assert_eq!(app.count("tip_reports").await, 1);
}

async fn every_open_state_escalates_after_its_deadline(app: TestApp) {
    let mut t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "urgent help", "danger_now", false).await;
    submit_sealed(&app, "SCH-X", "normal help", "normal", false).await;
    let overdue = |s: &Session| {
        let token = s.token.clone();
        let app = &app;
        async move { app.get("/api/v1/reports/overdue", &token).await }
    };
    assert_eq!(app.run_tipline_deadlines().await, 0);
    assert!(overdue(&t.bureau.s).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    overdue(&t.x_admin.s)
        .await
        .expect_problem(403, "forbidden_role");
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(app.run_tipline_deadlines().await, 1);
    assert_eq!(
        app.run_tipline_deadlines().await,
        0,
        "a report escalates once"
    );
    t.relogin(&app).await;
    let items = overdue(&t.bureau.s).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["urgency"], "danger_now");
    for s in [&t.bureau.s, &t.x_admin.s, &t.x_counselor.s] {
        assert!(feed_templates(&app, s)
            .await
            .contains(&"tipline.overdue".to_string()));
    }
    // Acknowledged: it must reach investigating within 3 school days
    // (Monday 09:01 at the school: by Thursday 09:01).
    let normal = items[0]["id"].as_str().unwrap().to_string();
    let other = list_ids(&app, &t.x_admin.s)
        .await
        .into_iter()
        .find(|i| *i != normal)
        .unwrap();
    let status = |s: &Session, body: Value| {
        let path = format!("/api/v1/reports/{other}/status");
        let token = s.token.clone();
        let app = &app;
        async move { app.post(&path, &token, body).await }
    };
    status(&t.x_admin.s, json!({"status": "acknowledged"}))
        .await
        .expect(200);
    let overdue_count = |s: &Session| {
        let token = s.token.clone();
        let app = &app;
        async move {
            app.get("/api/v1/reports/overdue", &token).await.expect(200)["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    app.clock.advance(chrono::Duration::hours(72));
    assert_eq!(
        app.run_tipline_deadlines().await,
        0,
        "not yet three school days"
    );
    t.relogin(&app).await;
    assert_eq!(overdue_count(&t.bureau.s).await, 1);
    app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(app.run_tipline_deadlines().await, 1);
    assert_eq!(
        app.run_tipline_deadlines().await,
        0,
        "each deadline escalates once"
    );
    t.relogin(&app).await;
    assert_eq!(overdue_count(&t.bureau.s).await, 2);
    for s in [&t.bureau.s, &t.x_admin.s] {
        assert!(feed_templates(&app, s)
            .await
            .contains(&"tipline.stalled".to_string()));
    }
    // Investigating: a progress note at least every 14 days.
    status(&t.x_admin.s, json!({"status": "investigating"}))
        .await
        .expect(200);
    assert_eq!(overdue_count(&t.bureau.s).await, 1);
    app.clock.advance(chrono::Duration::days(13));
    assert_eq!(app.run_tipline_deadlines().await, 0);
    t.relogin(&app).await;
    status(&t.x_admin.s, json!({"status": "investigating"}))
        .await
        .expect_problem(422, "invalid_field");
    status(
        &t.x_admin.s,
        json!({"status": "investigating", "note": "spoke with the class teacher"}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::days(13));
    assert_eq!(
        app.run_tipline_deadlines().await,
        0,
        "the note restarted the count"
    );
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(app.run_tipline_deadlines().await, 1);
    t.relogin(&app).await;
    assert_eq!(overdue_count(&t.bureau.s).await, 2);
}

async fn attachments_are_sealed_and_limited(app: TestApp) {
    let t = tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "help", "normal", false).await;
    let mb = mailbox(&app, "SCH-X").await;
    let photo = vec![0xffu8; 3000];
    let env = envelope::seal(&recipients(&mb["recipient_keys"]), &photo).unwrap();
    app.send(
        "POST",
        "/api/v1/reports/followup/attachments",
        None,
        Some(&json!({"envelope": env})),
        &[("X-Tipline-Receipt", &receipt)],
    )
    .await
    .expect(201);
    release_windows(&app).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect(200);
    let got: Envelope = serde_json::from_value(d["attachments"][0]["envelope"].clone()).unwrap();
    assert_eq!(got.open(&t.x_admin.sk).unwrap(), photo);
    // Over 10 MiB.
    let big = envelope::seal(
        &recipients(&mb["recipient_keys"]),
        &vec![0u8; 10 * 1024 * 1024 + 1],
    )
    .unwrap();
    app.send(
        "POST",
        "/api/v1/reports/followup/attachments",
        None,
        Some(&json!({"envelope": big})),
        &[("X-Tipline-Receipt", &receipt)],
    )
    .await
    .expect_problem(413, "attachment_too_large");
    // Ten at most.
    for _ in 0..9 {
        app.send(
            "POST",
            "/api/v1/reports/followup/attachments",
            None,
            Some(&json!({"envelope": env})),
            &[("X-Tipline-Receipt", &receipt)],
        )
        .await
        .expect(201);
    }
    app.send(
        "POST",
        "/api/v1/reports/followup/attachments",
        None,
        Some(&json!({"envelope": env})),
        &[("X-Tipline-Receipt", &receipt)],
    )
    .await
    .expect_problem(422, "too_many_attachments");
    let fu = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    assert_eq!(fu["attachments"].as_array().unwrap().len(), 10);
}

async fn a_recipient_added_later_gets_wraps_from_a_colleague(app: TestApp) {
    let t = tip_world(&app).await;
    submit_sealed(&app, "SCH-X", "before the new counsellor", "normal", false).await;
    let id = only_report_id(&app, &t.x_admin.s).await;
    // Only a school admin or counsellor of the school may be designated.
    app.post(
        &format!("/api/v1/schools/{}/mailbox/recipient-changes", t.w.x.id),
        &t.w.x.admin.token,
        json!({"user_ids": [t.x_admin.s.user_id, t.w.x.teacher.user_id]}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post(
        &format!("/api/v1/schools/{}/mailbox/recipient-changes", t.w.y.id),
        &t.w.x.admin.token,
        json!({"user_ids": [t.x_admin.s.user_id]}),
    )
    .await
    .expect_problem(404, "not_found");
    app.create_user(&t.w.x.admin, "counselor", "sch-x.counselor2", None)
        .await;
    let newcomer = register_key(&app, app.login("sch-x.counselor2", PASSWORD).await).await;
    designate(
        &app,
        &t.w.x.admin,
        &t.w.x.id,
        &[
            &t.x_admin.s.user_id,
            &t.x_counselor.s.user_id,
            &newcomer.s.user_id,
        ],
    )
    .await;
    // The newcomer sees the report but cannot open it yet.
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &newcomer.s.token)
        .await
        .expect(200);
    let env: Envelope = serde_json::from_value(d["envelope"].clone()).unwrap();
    assert!(env.open(&newcomer.sk).is_err());
    // Replies must now include the newcomer's key.
    let old_keys: Vec<Value> = d["reply_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["key_id"] != newcomer.key_id.as_str())
        .cloned()
        .collect();
    app.post(
        &format!("/api/v1/reports/{id}/messages"),
        &t.x_admin.s.token,
        json!({"envelope": seal_text(&json!(old_keys), "hi")}),
    )
    .await
    .expect_problem(422, "missing_recipient_key");
    // A colleague wraps the content key for them.
    let ck = env.content_key(&t.x_admin.sk).unwrap();
    let wrap =
        envelope::wrap_content_key(&newcomer.key_id, &hpke::public_of(&newcomer.sk), &ck).unwrap();
    let body = json!({"wraps": [{"object_id": id, "key_id": wrap.key_id, "enc": wrap.enc, "ct": wrap.ct}]});
    assert_eq!(
        app.post(
            &format!("/api/v1/reports/{id}/keys"),
            &t.x_admin.s.token,
            body.clone()
        )
        .await
        .expect(200)["wraps_added"],
        1
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/reports/{id}/keys"),
            &t.x_admin.s.token,
            body
        )
        .await
        .expect(200)["wraps_added"],
        0
    );
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &newcomer.s.token)
        .await
        .expect(200);
    assert_eq!(
        open_text(&d["envelope"], &newcomer.sk),
        "before the new counsellor"
    );
    // A wrap for a key that is no recipient of the report is refused.
    let (_, stranger) = hpke::generate();
    let bad = envelope::wrap_content_key("stranger", &stranger, &ck).unwrap();
    app.post(
        &format!("/api/v1/reports/{id}/keys"),
        &t.x_admin.s.token,
        json!({"wraps": [{"object_id": id, "key_id": bad.key_id, "enc": bad.enc, "ct": bad.ct}]}),
    )
    .await
    .expect_problem(422, "unknown_recipient_key");
}

/// A second client, written from the envelope description alone: ring for
/// the content cipher and HMAC, the hpke crate directly, base64url by hand
/// of the `base64` crate. None of safecampus's envelope code.
mod independent {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use hpke::{Deserializable, Serializable};
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
    use ring::rand::{SecureRandom, SystemRandom};
    use serde_json::{json, Value};

    type Kem = hpke::kem::X25519HkdfSha256;
    type Aead = hpke::aead::ChaCha20Poly1305;
    type Kdf = hpke::kdf::HkdfSha256;

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

    pub fn seal(keys: &Value, text: &str) -> Value {
        let mut pt = serde_json::to_vec(&json!({ "text": text })).unwrap();
        pt.resize(pt.len().div_ceil(512) * 512, b' ');
        let mut ck = [0u8; 32];
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut ck).unwrap();
        SystemRandom::new().fill(&mut nonce).unwrap();
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &ck).unwrap());
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut pt)
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
                    b"safecampus/v1/content-key",
                    &ck,
                    b"",
                    &mut Rng,
                )
                .unwrap();
                json!({"key_id": k["key_id"], "enc": B64.encode(enc.to_bytes()), "ct": B64.encode(ct)})
            })
            .collect();
        json!({"nonce": B64.encode(nonce), "ciphertext": B64.encode(pt), "keys": wraps})
    }

    /// Opens the `reporter` wrap with the key derived from the receipt:
    /// HKDF-SHA256 written out with HMAC.
    pub fn open_as_reporter(env: &Value, receipt: &str) -> String {
        let normalised: String = receipt
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_uppercase();
        let salt = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"safecampus/v1/reporter-key");
        let prk = ring::hmac::sign(&salt, normalised.as_bytes());
        let prk = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, prk.as_ref());
        let okm = ring::hmac::sign(&prk, &[1u8]);
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(okm.as_ref()).unwrap();
        let wrap = env["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_id"] == "reporter")
            .unwrap();
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(
            &B64.decode(wrap["enc"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let ck = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &hpke::OpModeR::Base,
            &sk,
            &enc,
            b"safecampus/v1/content-key",
            &B64.decode(wrap["ct"].as_str().unwrap()).unwrap(),
            b"",
        )
        .unwrap();
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &ck).unwrap());
        let nonce: [u8; 12] = B64
            .decode(env["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let mut buf = B64.decode(env["ciphertext"].as_str().unwrap()).unwrap();
        let pt = key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .unwrap();
        let v: Value = serde_json::from_slice(pt).unwrap();
        v["text"].as_str().unwrap().to_string()
    }
}

async fn a_client_written_from_the_envelope_description_interoperates(app: TestApp) {
    let t = tip_world(&app).await;
    let mb = mailbox(&app, "SCH-X").await;
    let body = json!({"school_code": "SCH-X", "category": "safety", "urgency": "normal",
        "envelope": independent::seal(&mb["recipient_keys"], "sealed by another app"),
        "pow": solve_pow(&app).await});
    let receipt = app.post_anon("/api/v1/reports", body).await.expect(201)["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    release_windows(&app).await;
    let id = only_report_id(&app, &t.x_counselor.s).await;
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(
        open_text(&d["envelope"], &t.x_counselor.sk),
        "sealed by another app"
    );
    app.post(
        &format!("/api/v1/reports/{id}/messages"),
        &t.x_counselor.s.token,
        json!({"envelope": seal_text(&d["reply_keys"], "answer for the other app")}),
    )
    .await
    .expect(201);
    let fu = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    assert_eq!(
        independent::open_as_reporter(&fu["messages"][0]["envelope"], &receipt),
        "answer for the other app"
    );
}

async fn a_key_nobody_can_seal_to_is_refused_and_report_ids_tell_only_the_hour(app: TestApp) {
    let mut t = tip_world(&app).await;
    // A low-order X25519 point parses but would jam the mailbox.
    let mut one = [0u8; 32];
    one[0] = 1;
    app.send(
        "PUT",
        "/api/v1/me/encryption-key",
        Some(&t.x_counselor.s.token),
        Some(&json!({"public_key": b64u(&one), "password": PASSWORD})),
        &[],
    )
    .await
    .expect_problem(422, "invalid_field");
    app.clock.advance(chrono::Duration::minutes(37));
    t.relogin(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "someone touched me", "normal", false).await;
    assert!(!receipt.is_empty());
    let id = list_ids(&app, &t.bureau.s).await.remove(0);
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    let (secs, _) = uuid.get_timestamp().unwrap().to_unix();
    assert_eq!(secs % 3600, 0, "the id carries the hour only");
}

/// A report's thread is a conversation with a child: its order is the true
/// order, whatever the machine's date says against the service's clock. The
/// whole conversation happens at one instant of the service's clock, so
/// neither a time nor an id can be what orders it.
async fn thread_order_holds_with_the_clock_at(app: TestApp, at: chrono::DateTime<chrono::Utc>) {
    app.clock.set(at);
    let t = tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "first words - marker 1a", "normal", false).await;
    let parsed = Receipt::parse(&receipt).unwrap();
    let id = only_report_id(&app, &t.bureau.s).await;
    let detail = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    let mb = mailbox(&app, "SCH-X").await;
    let mut said = Vec::new();
    for i in 0..3 {
        let question = format!("question {i} from the counsellor");
        app.post(
            &format!("/api/v1/reports/{id}/messages"),
            &t.x_counselor.s.token,
            json!({"envelope": seal_text(&detail["reply_keys"], &question)}),
        )
        .await
        .expect(201);
        said.push(("school", question));
        let answer = format!("answer {i} from the child");
        app.post_anon(
            "/api/v1/reports/followup/messages",
            json!({"receipt": receipt, "envelope": seal_text(&mb["recipient_keys"], &answer)}),
        )
        .await
        .expect(201);
        // The answer takes its place when its window is released.
        release_windows(&app).await;
        said.push(("reporter", answer));
    }

    let staff = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    let thread = staff["messages"].as_array().unwrap();
    assert_eq!(thread.len(), said.len());
    for (n, (m, (from, text))) in thread.iter().zip(&said).enumerate() {
        assert_eq!(m["seq"], n as i64 + 1, "{m}");
        assert_eq!(m["from"], *from, "message {n}");
        assert_eq!(open_text(&m["envelope"], &t.x_counselor.sk), *text);
    }

    let child = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    let thread = child["messages"].as_array().unwrap();
    assert_eq!(thread.len(), said.len());
    for (n, (m, (from, text))) in thread.iter().zip(&said).enumerate() {
        assert_eq!(m["seq"], n as i64 + 1, "{m}");
        assert_eq!(m["from"], *from, "message {n}");
        if *from == "school" {
            assert_eq!(
                open_text(&m["envelope"], &parsed.reporter_private_key()),
                *text
            );
        }
    }

    // The counsellor's feed (ordered by id) lists the newest alert first.
    let feed = feed_templates(&app, &t.x_counselor.s).await;
    assert_eq!(
        feed.last().map(String::as_str),
        Some("tipline.new_report"),
        "{feed:?}"
    );
    assert!(
        feed[..feed.len() - 1]
            .iter()
            .all(|t| t == "tipline.reporter_message"),
        "{feed:?}"
    );
}

async fn a_thread_keeps_its_order_with_the_clock_years_before_the_machine_date(app: TestApp) {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2020, 3, 2, 1, 30, 0).unwrap();
    thread_order_holds_with_the_clock_at(app, at).await
}

async fn a_thread_keeps_its_order_with_the_clock_years_after_the_machine_date(app: TestApp) {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2035, 9, 3, 1, 30, 0).unwrap();
    thread_order_holds_with_the_clock_at(app, at).await
}

on_both_databases!(
    a_key_nobody_can_seal_to_is_refused_and_report_ids_tell_only_the_hour,
    a_client_written_from_the_envelope_description_interoperates,
    a_recipient_added_later_gets_wraps_from_a_colleague,
    full_flow_reaches_staff_and_reporter_and_leaves_no_trace_in_tables_or_logs,
    a_report_request_with_authorization_is_refused_and_nothing_is_stored,
    an_envelope_without_the_district_key_is_refused,
    a_mailbox_without_a_district_key_is_not_ready,
    bad_expired_and_replayed_proofs_of_work_are_refused,
    difficulty_rises_when_submissions_surge,
    a_wrong_receipt_is_404_and_repeated_wrong_receipts_are_throttled,
    teachers_parents_and_other_schools_get_404,
    the_bureau_sees_reports_of_every_school_in_the_district,
    a_report_about_staff_goes_to_the_bureau_only,
    only_an_established_bureau_officer_closes_and_never_from_new,
    a_recused_recipient_gets_404_and_replies_need_no_key_of_theirs,
    reports_cannot_be_deleted,
    every_open_state_escalates_after_its_deadline,
    attachments_are_sealed_and_limited,
    a_thread_keeps_its_order_with_the_clock_years_before_the_machine_date,
    a_thread_keeps_its_order_with_the_clock_years_after_the_machine_date,
);
