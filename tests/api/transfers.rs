//! Transfers (issue 17): a pupil moves to another school of the district.
//! The guardians stay, the old school's pickup persons and passes end, the
//! old school keeps the history and the new one does not see it, and the
//! number at the new school is new.

use crate::support::TestApp;
use serde_json::json;

async fn a_transfer_keeps_guardians_ends_old_passes_and_keeps_history_at_the_old_school(
    app: TestApp,
) {
    let w = app.world().await;
    let old = w.x.student_id.clone();
    let person = app
        .post(
            &format!("/api/v1/students/{old}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": "Grandma Li", "relation": "grandmother", "phone": "13800000001",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
        )
        .await
        .expect(201);
    assert!(person["id"].is_string());
    app.post(
        &format!("/api/v1/students/{old}/pickup-passes"),
        &w.x.parent.token,
        json!({"date": "2026-11-30"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/handovers",
        &w.x.guard.token,
        json!({"student_id": old, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(201);

    // The sending school asks; the receiving school decides.
    let path = format!("/api/v1/students/{old}/transfer");
    let body = json!({"school_id": w.y.id, "class_id": w.y.class_id});
    app.post(&path, &w.y.admin.token, body.clone())
        .await
        .expect_problem(404, "not_found");
    app.post(
        &path,
        &w.x.admin.token,
        json!({"school_id": w.y.id, "class_id": w.x.class_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post(
        &path,
        &w.x.admin.token,
        json!({"school_id": w.x.id, "class_id": w.x.class_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    assert_eq!(
        app.count("student_transfers").await,
        0,
        "refusals change nothing"
    );
    let t = app
        .post(&path, &w.x.admin.token, body.clone())
        .await
        .expect(202);
    assert_eq!(t["status"], "pending");
    let id = t["id"].as_str().unwrap().to_string();
    app.post(&path, &w.x.admin.token, body.clone())
        .await
        .expect_problem(409, "transfer_pending");
    let incoming = app
        .get("/api/v1/transfers", &w.y.admin.token)
        .await
        .expect(200);
    assert_eq!(incoming[0]["id"], id.as_str());
    let accept = format!("/api/v1/transfers/{id}/accept");
    app.post(
        &accept,
        &w.x.admin.token,
        json!({"student_number": "Y-0001"}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &accept,
        &w.y.teacher.token,
        json!({"student_number": "Y-0001"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    let done = app
        .post(
            &accept,
            &w.y.admin.token,
            json!({"student_number": "Y-0001"}),
        )
        .await
        .expect(200);
    assert_eq!(done["status"], "done");
    let new = done["new_student_id"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    app.post(
        &accept,
        &w.y.admin.token,
        json!({"student_number": "Y-0002"}),
    )
    .await
    .expect_problem(409, "transfer_decided");
    // The sending school does not learn the new record.
    let sent = app
        .get("/api/v1/transfers", &w.x.admin.token)
        .await
        .expect(200);
    assert_eq!(sent[0]["status"], "done");
    assert!(sent[0]["new_student_id"].is_null(), "{sent}");

    // The guardians stay: the family sees the child at the new school only.
    let children = app
        .get("/api/v1/me/children", &w.x.parent.token)
        .await
        .expect(200);
    let ids: Vec<&str> = children
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str().or(c["student_id"].as_str()))
        .collect();
    assert!(
        ids.contains(&new.as_str()) && !ids.contains(&old.as_str()),
        "{children}"
    );
    app.get(&format!("/api/v1/students/{old}"), &w.x.parent.token)
        .await
        .expect_problem(404, "not_found");

    // The new school: a new number, no history; the old record is not theirs.
    let fresh = app
        .get(&format!("/api/v1/students/{new}"), &w.y.admin.token)
        .await
        .expect(200);
    assert_eq!(fresh["student_no"], "Y-0001");
    assert_eq!(fresh["school_id"], w.y.id.as_str());
    let none = app
        .get(
            &format!("/api/v1/students/{new}/handovers"),
            &w.y.admin.token,
        )
        .await
        .expect(200);
    assert_eq!(none, json!([]));
    app.get(&format!("/api/v1/students/{old}"), &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");

    // The old school keeps the record and its history, not the place.
    let kept = app
        .get(&format!("/api/v1/students/{old}"), &w.x.admin.token)
        .await
        .expect(200);
    assert!(kept["left_at"].is_string(), "{kept}");
    let history = app
        .get(
            &format!("/api/v1/students/{old}/handovers"),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 1);
    let class = app
        .get(
            &format!("/api/v1/classes/{}/students", w.x.class_id),
            &w.x.admin.token,
        )
        .await
        .expect(200)
        .to_string();
    assert!(!class.contains(&old), "{class}");
    let live = |table: &str, open: &str| {
        format!("SELECT COUNT(*) AS n FROM {table} WHERE student_id = '{old}' AND {open} IS NULL")
    };
    assert_eq!(app.query_i64(live("pickup_persons", "revoked_at")).await, 0);
    assert_eq!(
        app.query_i64(live("pickup_passes", "cancelled_at")).await,
        0
    );
    app.post(&path, &w.x.admin.token, body)
        .await
        .expect_problem(409, "student_left");

    // The bureau moves a pupil at once, with the new number.
    let officer = app.vetting_officer().await;
    let back = format!("/api/v1/students/{new}/transfer");
    app.post(
        &back,
        &officer.token,
        json!({"school_id": w.x.id, "class_id": w.x.class_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let moved = app
        .post(
            &back,
            &officer.token,
            json!({"school_id": w.x.id, "class_id": w.x.class_id, "student_number": "X-0099"}),
        )
        .await
        .expect(200);
    assert_eq!(moved["status"], "done");
    assert!(moved["new_student_id"].is_string());
    let trail = app
        .query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'student.transferred'".into(),
        )
        .await;
    assert_eq!(trail, 4, "each transfer is audited at both schools");
}

on_both_databases!(a_transfer_keeps_guardians_ends_old_passes_and_keeps_history_at_the_old_school,);
