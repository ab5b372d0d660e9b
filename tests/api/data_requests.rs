//! Families' data requests and the retention schedule (issue 18 §2).

use crate::support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn ask(app: &TestApp, who: &Session, body: Value) -> Resp {
    app.post("/api/v1/me/data-requests", &who.token, body).await
}

async fn answer(app: &TestApp, who: &Session, id: &str, body: Value) -> Resp {
    app.post(
        &format!("/api/v1/data-requests/{id}/answer"),
        &who.token,
        body,
    )
    .await
}

async fn a_family_asks_for_a_copy_and_gets_everything_but_what_protects_others(app: TestApp) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    // Something the copy must leave out: a concern a teacher raised.
    app.post(
        "/api/v1/concerns",
        &w.x.teacher.token,
        json!({"student_ids": [s], "what_happened": "CONCERN-NOT-FOR-THE-FAMILY",
               "where": "gate", "when": "2026-11-29T23:00:00Z"}),
    )
    .await
    .expect(201);
    // Another family's pupil is refused, nothing written.
    ask(
        &app,
        &w.y.parent,
        json!({"kind": "copy", "student_id": s, "detail": "all of it"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    ask(&app, &w.x.teacher, json!({"kind": "copy", "detail": "x"}))
        .await
        .expect_problem(403, "forbidden_role");
    assert_eq!(app.count("data_requests").await, 0);

    // The mother asks on Monday 30 November: due 15 school days later, the
    // school admin told at once.
    let r = ask(
        &app,
        &w.x.parent,
        json!({"kind": "copy", "student_id": s, "detail": "everything you hold on my son"}),
    )
    .await
    .expect(201);
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["status"], "open");
    assert_eq!(r["due_on"], "2026-12-21");
    assert_eq!(
        app.notes(&w.x.admin.user_id, "privacy.data_request_received")
            .await,
        1
    );
    let mine = app
        .get("/api/v1/me/data-requests", &w.x.parent.token)
        .await
        .expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let school = app
        .get(
            &format!("/api/v1/schools/{}/data-requests?status=open", w.x.id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    assert_eq!(school[0]["id"], id.as_str());
    app.get(
        &format!("/api/v1/schools/{}/data-requests", w.x.id),
        &w.y.admin.token,
    )
    .await
    .expect_problem(404, "not_found");

    // Nine school days on, no alert; at ten, the school admin is alerted once.
    app.advance(&mut w, Duration::days(13)).await;
    assert_eq!(app.run_data_requests_due().await, 0);
    app.advance(&mut w, Duration::days(1)).await;
    assert_eq!(app.run_data_requests_due().await, 1);
    assert_eq!(app.run_data_requests_due().await, 0);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "privacy.data_request_due")
            .await,
        1
    );

    // Only the pupil's school admin answers; a refusal needs a reason.
    answer(&app, &w.y.admin, &id, json!({"outcome": "completed"}))
        .await
        .expect_problem(404, "not_found");
    let r = answer(&app, &w.x.admin, &id, json!({"outcome": "refused"})).await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "reply");
    let done = answer(
        &app,
        &w.x.admin,
        &id,
        json!({"outcome": "completed", "reply": "Attached."}),
    )
    .await
    .expect(200);
    assert_eq!(done["status"], "completed");
    let url = done["export_url"].as_str().unwrap().to_string();
    answer(&app, &w.x.admin, &id, json!({"outcome": "completed"}))
        .await
        .expect_problem(409, "already_closed");
    assert_eq!(
        app.notes(&w.x.parent.user_id, "privacy.data_request_answered")
            .await,
        1
    );

    // The family downloads the copy: the pupil's record, not the concern.
    let export = app.get(&url, &w.x.parent.token).await;
    assert_eq!(export.status, 200);
    let e = export.json();
    assert_eq!(e["student"]["id"], s.as_str());
    assert_eq!(e["student"]["name"], "pupil-sch-x");
    assert_eq!(e["guardians"][0]["user_id"], w.x.parent.user_id.as_str());
    assert!(!export.text.contains("CONCERN-NOT-FOR-THE-FAMILY"));
    assert!(e.get("concerns").is_none() && e.get("cases").is_none());
    app.get(&url, &w.y.parent.token)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.audits("data_request.export_read").await, 1);
    assert_eq!(app.audits("data_request.completed").await, 1);
}

async fn the_daily_purge_removes_what_is_past_its_time_and_keeps_what_a_case_holds(app: TestApp) {
    let mut w = app.world().await;
    // Two pupils with a handover each: one of them is the subject of an open case.
    let held = w.x.student_id.clone();
    let free = app
        .create_student(&w.x.admin, &w.x.id, &w.x.class_id, "pupil-free", 1)
        .await;
    app.add_guardian(&w.x.admin, &free, &w.x.parent.user_id, "mother")
        .await;
    app.post(
        "/api/v1/cases",
        &w.x.teacher.token,
        json!({"school_id": w.x.id, "student_ids": [held], "category": "other_violence",
               "source": {"kind": "observation"}, "summary": "s", "suspect": {"kind": "unknown"}}),
    )
    .await
    .expect(201);
    app.advance(&mut w, Duration::minutes(8 * 60 + 30)).await;
    for s in [&held, &free] {
        app.post(
            "/api/v1/handovers",
            &w.x.guard.token,
            json!({"student_id": s, "guardian_user_id": w.x.parent.user_id}),
        )
        .await
        .expect(201);
    }
    let cases_before = app.count("cases").await;
    let audit_before = app.count("audit_events").await;
    let reports = app.count("tip_reports").await;

    // A day on, nothing is old enough.
    app.advance(&mut w, Duration::days(1)).await;
    app.run_retention().await;
    assert_eq!(app.count("handovers").await, 2);

    // A year and more on (the handovers' default is 365 days): the free
    // pupil's handover is gone, the held pupil's stays; so do cases and the chain.
    app.advance(&mut w, Duration::days(366)).await;
    let done = app.run_retention().await;
    assert!(done.contains(&("handovers", 1)), "{done:?}");
    let left = app
        .strings("SELECT student_id AS s FROM handovers".to_string())
        .await;
    assert_eq!(left, vec![held.clone()]);
    assert_eq!(app.count("cases").await, cases_before);
    assert_eq!(app.count("tip_reports").await, reports);
    assert!(app.count("audit_events").await > audit_before);
    // Old notifications about the free pupil's handover are gone too, and
    // the expired sessions of a year ago.
    assert!(
        done.iter().any(|(k, n)| *k == "notifications" && *n > 0),
        "{done:?}"
    );
    assert!(
        done.iter().any(|(k, n)| *k == "sessions" && *n > 0),
        "{done:?}"
    );
    assert_eq!(app.audits_like("retention.purge%").await, 2);
    // The chain still verifies after the purge.
    let v = app
        .get("/api/v1/audit/verify", &w.district_admin.token)
        .await
        .expect(200);
    assert_eq!(v["ok"], true);
}

/// Notifications kept one day, their deliveries thirty (the outbox's
/// default): a notification outlives its own time while a delivery still
/// points to it, and goes with it. The outbox keeps no foreign keys, so
/// this order is what keeps it whole.
async fn the_purge_keeps_a_notification_while_a_delivery_points_to_it(which: Which) {
    let setup = Setup {
        vars: vec![("SAFECAMPUS_RETENTION_NOTIFICATIONS_DAYS", "1".into())],
        ..Setup::default()
    };
    let app = TestApp::try_spawn_with(which, setup).await.unwrap();
    let mut w = app.world().await;
    app.advance(&mut w, Duration::minutes(8 * 60 + 30)).await;
    app.post(
        "/api/v1/handovers",
        &w.x.guard.token,
        json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(201);
    let pointed_to = app
        .strings("SELECT DISTINCT notification_id AS s FROM outbox".to_string())
        .await;
    assert!(!pointed_to.is_empty(), "the handover told the family");
    let kept = |ids: &[String]| {
        let list = ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>();
        format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE id IN ({})",
            list.join(", ")
        )
    };

    app.advance(&mut w, Duration::days(2)).await;
    app.run_retention().await;
    let still = app.query_i64(kept(&pointed_to)).await;
    assert_eq!(still, pointed_to.len() as i64, "a delivery points to them");

    app.advance(&mut w, Duration::days(30)).await;
    let done = app.run_retention().await;
    assert!(
        done.iter().any(|(k, n)| *k == "outbox" && *n > 0),
        "{done:?}"
    );
    assert_eq!(app.query_i64(kept(&pointed_to)).await, 0, "{done:?}");
}

on_both!(the_purge_keeps_a_notification_while_a_delivery_points_to_it);

on_both_databases!(
    a_family_asks_for_a_copy_and_gets_everything_but_what_protects_others,
    the_daily_purge_removes_what_is_past_its_time_and_keeps_what_a_case_holds,
);
