//! The tip line against an insider (issue 13, sections 2 and 5): a school
//! cannot bury a report with accounts of its own making, the bureau sees
//! every step and can take a report away from the school, the district
//! never loses its last key, and key material needs the password again.

use crate::support::tipline::{
    approve_as_senior_officer, mailbox, register_key, release_windows, submit_sealed, tip_world,
    Holder,
};
use crate::support::tipline_client::{open_text, seal_text};
use crate::support::{Session, TestApp, PASSWORD};
use serde_json::{json, Value};

async fn list_ids(app: &TestApp, s: &Session) -> Vec<String> {
    let r = app.get("/api/v1/reports", &s.token).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn feed_templates(app: &TestApp, s: &Session) -> Vec<String> {
    app.get("/api/v1/me/notifications", &s.token)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["template"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn key_ids(keys: &Value) -> Vec<String> {
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_id"].as_str().unwrap().to_string())
        .collect()
}

async fn status(app: &TestApp, s: &Session, id: &str, body: Value) -> crate::support::Resp {
    app.post(&format!("/api/v1/reports/{id}/status"), &s.token, body)
        .await
}

async fn a_principal_and_his_sock_puppet_counsellor_cannot_bury_a_report(app: TestApp) {
    let mut t = tip_world(&app).await;
    let principal = t.x_admin.s.clone();
    // The principal makes a counsellor account with a password he chose…
    app.create_user(&principal, "counselor", "sch-x.puppet", None)
        .await;
    let mut puppet = register_key(&app, app.login("sch-x.puppet", PASSWORD).await).await;
    // …and names the two of them the school's only recipients. Nothing
    // changes until the bureau approves, and the bureau is told at once.
    let change = app
        .post(
            &format!("/api/v1/schools/{}/mailbox/recipient-changes", t.w.x.id),
            &principal.token,
            json!({"user_ids": [principal.user_id, puppet.s.user_id]}),
        )
        .await
        .expect(201);
    assert_eq!(change["status"], "pending");
    let change_id = change["id"].as_str().unwrap().to_string();
    assert!(feed_templates(&app, &t.bureau.s)
        .await
        .contains(&"tipline.recipient_change".to_string()));
    let keys = key_ids(&mailbox(&app, "SCH-X").await["recipient_keys"]);
    assert!(keys.contains(&t.x_counselor.key_id));
    assert!(!keys.contains(&puppet.key_id));
    app.get("/api/v1/reports", &puppet.s.token)
        .await
        .expect_problem(404, "not_found");
    // He cannot approve it, nor can a bureau officer made this week.
    let approve = format!("/api/v1/recipient-changes/{change_id}/approve");
    app.post(&approve, &principal.token, json!({}))
        .await
        .expect_problem(403, "forbidden_role");
    app.post(&approve, &t.bureau.s.token, json!({}))
        .await
        .expect_problem(403, "account_too_new");
    let pending = app
        .get("/api/v1/recipient-changes", &t.bureau.s.token)
        .await
        .expect(200);
    assert_eq!(pending["items"][0]["id"], change_id.as_str());
    // Say the bureau approves, misled. The real counsellor is out.
    approve_as_senior_officer(&app, &change_id).await;
    app.post(&approve, &t.bureau.s.token, json!({}))
        .await
        .expect_problem(409, "change_not_pending");
    let keys = key_ids(&mailbox(&app, "SCH-X").await["recipient_keys"]);
    assert!(keys.contains(&puppet.key_id));
    assert!(!keys.contains(&t.x_counselor.key_id));

    // A child reports. A report nobody looked into cannot be closed.
    submit_sealed(&app, "SCH-X", "the principal hurt me", "normal", false).await;
    let id = list_ids(&app, &puppet.s).await.remove(0);
    let close = json!({"status": "closed", "note": "nothing found", "outcome": "false"});
    status(&app, &puppet.s, &id, close.clone())
        .await
        .expect_problem(409, "invalid_transition");
    // One "acknowledged" does not stop the clock; the puppet, made this
    // week, cannot even propose the close.
    status(&app, &puppet.s, &id, json!({"status": "acknowledged"}))
        .await
        .expect(200);
    assert!(feed_templates(&app, &t.bureau.s)
        .await
        .contains(&"tipline.status_changed".to_string()));
    status(&app, &puppet.s, &id, close.clone())
        .await
        .expect_problem(403, "account_too_new");
    // A week on, nobody investigated: the report escalates to the bureau.
    app.clock.advance(chrono::Duration::days(8));
    assert_eq!(app.run_tipline_deadlines().await, 1);
    t.relogin(&app).await;
    puppet.s = app.relog(&puppet.s).await;
    let principal = app.relog(&principal).await;
    let overdue = app
        .get("/api/v1/reports/overdue", &t.bureau.s.token)
        .await
        .expect(200);
    assert_eq!(overdue["items"][0]["id"], id.as_str());
    assert!(feed_templates(&app, &t.bureau.s)
        .await
        .contains(&"tipline.stalled".to_string()));
    // The principal proposes the close; neither he nor his puppet closes it.
    let proposed = status(&app, &principal, &id, close.clone())
        .await
        .expect(200);
    assert_eq!(proposed["close_pending"], true);
    let confirm = format!("/api/v1/reports/{id}/close-confirmation");
    for s in [&principal, &puppet.s] {
        app.post(&confirm, &s.token, json!({}))
            .await
            .expect_problem(403, "forbidden_role");
        app.get(&format!("/api/v1/reports/{id}/history"), &s.token)
            .await
            .expect_problem(403, "forbidden_role");
    }
    // The bureau sees every step, and who took it.
    let history = app
        .get(&format!("/api/v1/reports/{id}/history"), &t.bureau.s.token)
        .await
        .expect(200);
    let steps: Vec<(String, Option<String>)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_string(),
                h["actor_id"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("submitted".to_string(), None),
            ("status".to_string(), Some(puppet.s.user_id.clone())),
            ("escalated".to_string(), None),
            (
                "close_requested".to_string(),
                Some(principal.user_id.clone())
            ),
        ]
    );
    // The bureau does not close it: it takes the report from the school.
    let classified = app
        .post(
            &format!("/api/v1/reports/{id}/classification"),
            &t.bureau.s.token,
            json!({"concerns_staff": true}),
        )
        .await
        .expect(200);
    assert_eq!(classified["concerns_staff"], true);
    assert_eq!(
        classified["close_pending"], false,
        "the school's proposal is dropped"
    );
    for s in [&principal, &puppet.s] {
        app.get(&format!("/api/v1/reports/{id}"), &s.token)
            .await
            .expect_problem(404, "not_found");
    }
    assert_eq!(app.count("tip_reports").await, 1);
}

async fn the_bureau_classifies_a_report_late_and_readers_lose_it_at_once(app: TestApp) {
    let t = tip_world(&app).await;
    let receipt = submit_sealed(&app, "SCH-X", "about the counsellor", "normal", false).await;
    let id = list_ids(&app, &t.x_admin.s).await.remove(0);
    let path = format!("/api/v1/reports/{id}/classification");
    app.post(&path, &t.x_admin.s.token, json!({"concerns_staff": true}))
        .await
        .expect_problem(403, "forbidden_role");
    app.post(&path, &t.bureau.s.token, json!({"concerns_staff": false}))
        .await
        .expect_problem(422, "invalid_field");
    app.post(
        &path,
        &t.bureau.s.token,
        json!({"concerns_staff": false, "concerned_user_id": t.w.x.teacher.user_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // One named reader is concerned: they lose it, the others keep it.
    app.post(
        &path,
        &t.bureau.s.token,
        json!({"concerns_staff": false, "concerned_user_id": t.x_counselor.s.user_id}),
    )
    .await
    .expect(200);
    app.get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect_problem(404, "not_found");
    assert!(list_ids(&app, &t.x_counselor.s).await.is_empty());
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect(200);
    assert!(!key_ids(&d["reply_keys"]).contains(&t.x_counselor.key_id));
    // The bureau cannot share it back with them.
    let share = app
        .post(
            &format!("/api/v1/reports/{id}/keys"),
            &t.bureau.s.token,
            json!({"share_with": [t.x_counselor.s.user_id]}),
        )
        .await;
    assert_eq!(share.status, 200, "{}", share.text);
    app.get(&format!("/api/v1/reports/{id}"), &t.x_counselor.s.token)
        .await
        .expect_problem(404, "not_found");
    // Then it concerns staff: every school reader loses it.
    let marked = app
        .post(&path, &t.bureau.s.token, json!({"concerns_staff": true}))
        .await
        .expect(200);
    assert_eq!(marked["concerns_staff"], true);
    app.get(&format!("/api/v1/reports/{id}"), &t.x_admin.s.token)
        .await
        .expect_problem(404, "not_found");
    assert!(list_ids(&app, &t.x_admin.s).await.is_empty());
    // Later messages are sealed to the district only.
    let fu = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": receipt}))
        .await
        .expect(200);
    assert_eq!(
        key_ids(&fu["recipient_keys"]),
        vec![t.bureau.key_id.clone()]
    );
    let school_keys = mailbox(&app, "SCH-X").await["recipient_keys"].clone();
    app.post_anon(
        "/api/v1/reports/followup/messages",
        json!({"receipt": receipt, "envelope": seal_text(&school_keys, "still scared")}),
    )
    .await
    .expect_problem(422, "unknown_recipient_key");
    app.post_anon(
        "/api/v1/reports/followup/messages",
        json!({"receipt": receipt, "envelope": seal_text(&fu["recipient_keys"], "still scared")}),
    )
    .await
    .expect(201);
    release_windows(&app).await;
    let d = app
        .get(&format!("/api/v1/reports/{id}"), &t.bureau.s.token)
        .await
        .expect(200);
    assert_eq!(
        open_text(&d["messages"][0]["envelope"], &t.bureau.sk),
        "still scared"
    );
    assert_eq!(
        key_ids(&d["reply_keys"]),
        vec!["reporter".to_string(), t.bureau.key_id.clone()]
    );
    // A report about staff stays with the district.
    app.post(&path, &t.bureau.s.token, json!({"concerns_staff": false}))
        .await
        .expect_problem(422, "invalid_field");
    assert!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'tipline.report.classify'"
                .into()
        )
        .await
            == 2
    );
}

async fn the_last_bureau_officer_holding_a_key_cannot_be_disabled(app: TestApp) {
    let t = tip_world(&app).await;
    let disable = |user: &str| format!("/api/v1/users/{user}/disable");
    app.post(
        &disable(&t.bureau.s.user_id),
        &t.w.district_admin.token,
        json!({}),
    )
    .await
    .expect_problem(409, "last_district_key");
    // The mailbox still takes reports.
    submit_sealed(&app, "SCH-X", "still open", "normal", false).await;
    // Once another officer holds a key, the first may go.
    let other: Holder = register_key(&app, app.vetting_officer().await).await;
    app.post(
        &disable(&t.bureau.s.user_id),
        &t.w.district_admin.token,
        json!({}),
    )
    .await
    .expect(200);
    let mb = mailbox(&app, "SCH-X").await;
    assert_eq!(key_ids(&mb["district_keys"]), vec![other.key_id.clone()]);
    app.post(
        &disable(&other.s.user_id),
        &t.w.district_admin.token,
        json!({}),
    )
    .await
    .expect_problem(409, "last_district_key");
    submit_sealed(&app, "SCH-X", "and still open", "normal", false).await;
}

async fn a_key_is_replaced_and_its_backup_read_only_with_the_password(app: TestApp) {
    let mut t = tip_world(&app).await;
    let (_, public_key) = crate::support::tipline_client::new_key();
    let put = |password: &str| json!({"public_key": public_key, "key_backup": "backup-2", "password": password});
    let path = "/api/v1/me/encryption-key";
    let send = |token: String, body: Value| {
        let app = &app;
        async move { app.send("PUT", path, Some(&token), Some(&body), &[]).await }
    };
    send(
        t.x_counselor.s.token.clone(),
        json!({"public_key": public_key}),
    )
    .await
    .expect_problem(422, "invalid_field");
    send(t.x_counselor.s.token.clone(), put("not-the-password"))
        .await
        .expect_problem(403, "invalid_credentials");
    let mine = app.get(path, &t.x_counselor.s.token).await.expect(200);
    assert_eq!(mine["key_id"], t.x_counselor.key_id.as_str());
    let changed = |feed: Vec<String>| feed.iter().filter(|t| *t == "tipline.key_changed").count();
    let admin_before = changed(feed_templates(&app, &t.x_admin.s).await);
    let bureau_before = changed(feed_templates(&app, &t.bureau.s).await);
    let created = send(t.x_counselor.s.token.clone(), put(PASSWORD))
        .await
        .expect(200);
    assert_ne!(created["key_id"], t.x_counselor.key_id.as_str());
    // The user and the bureau are told; the school's other readers are not.
    assert_eq!(changed(feed_templates(&app, &t.x_counselor.s).await), 2);
    assert_eq!(
        changed(feed_templates(&app, &t.bureau.s).await),
        bureau_before + 1
    );
    assert_eq!(
        changed(feed_templates(&app, &t.x_admin.s).await),
        admin_before
    );
    // The backup: the password each time, alerts, audit, a limit an hour.
    let backup = "/api/v1/me/encryption-key/backup";
    app.post(
        backup,
        &t.x_counselor.s.token,
        json!({"password": "not-the-password"}),
    )
    .await
    .expect_problem(403, "invalid_credentials");
    for _ in 0..5 {
        let b = app
            .post(
                backup,
                &t.x_counselor.s.token,
                json!({"password": PASSWORD}),
            )
            .await
            .expect(200);
        assert_eq!(b["key_backup"], "backup-2");
        assert_eq!(b["key_id"], created["key_id"]);
    }
    app.post(
        backup,
        &t.x_counselor.s.token,
        json!({"password": PASSWORD}),
    )
    .await
    .expect_problem(429, "too_many_attempts");
    assert!(feed_templates(&app, &t.bureau.s)
        .await
        .contains(&"tipline.key_backup_read".to_string()));
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'tipline.key.backup_read'"
                .into()
        )
        .await,
        5
    );
    app.clock.advance(chrono::Duration::minutes(61));
    t.relogin(&app).await;
    app.post(
        backup,
        &t.x_counselor.s.token,
        json!({"password": PASSWORD}),
    )
    .await
    .expect(200);
    // The backup is never in the plain key read.
    let mine = app.get(path, &t.x_counselor.s.token).await.expect(200);
    assert_eq!(mine["has_backup"], true);
    assert!(mine.get("key_backup").is_none());
}

on_both_databases!(
    a_principal_and_his_sock_puppet_counsellor_cannot_bury_a_report,
    the_bureau_classifies_a_report_late_and_readers_lose_it_at_once,
    the_last_bureau_officer_holding_a_key_cannot_be_disabled,
    a_key_is_replaced_and_its_backup_read_only_with_the_password,
);
