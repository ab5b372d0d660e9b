//! Staff vetting, from the viewpoint of the pupils it protects: no
//! unchecked adult reaches a child, and every clearance is re-checked.

use crate::support::{Session, TestApp, World, PASSWORD};
use serde_json::{json, Value};

/// A new teacher of school X, created but not vetted: (session, personnel id).
async fn new_teacher(app: &TestApp, w: &World, username: &str) -> (Session, String) {
    let created = app
        .create_activated(
            &w.x.admin,
            json!({"role": "teacher", "username": username, "display_name": "New Teacher"}),
        )
        .await;
    assert_eq!(created["vetting"]["status"], "pending");
    assert_eq!(created["vetting"]["access_to_pupils"], false);
    let personnel = created["personnel_id"].as_str().unwrap().to_string();
    (app.login(username, PASSWORD).await, personnel)
}

fn check(result: &str, on: &str) -> Value {
    json!({"kind": "sexual_offence_record", "checked_on": on, "authority": "District PSB",
           "reference": "Q-2026-001", "result": result, "consent_ref": "C-17"})
}

fn today(app: &TestApp) -> chrono::NaiveDate {
    (app.now() + chrono::Duration::hours(8)).date_naive()
}

async fn an_unvetted_teacher_reaches_no_pupil_until_cleared(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let (teacher, personnel) = new_teacher(&app, &w, "new.teacher").await;
    let class_students = format!("/api/v1/classes/{}/students", w.x.class_id);
    app.get(&class_students, &teacher.token)
        .await
        .expect_problem(403, "vetting_required");
    app.get(
        &format!("/api/v1/students/{}", w.x.student_id),
        &teacher.token,
    )
    .await
    .expect_problem(403, "vetting_required");
    // The account itself still works.
    let me = app.get("/api/v1/me", &teacher.token).await.expect(200);
    assert_eq!(me["vetting"]["status"], "pending");
    assert_eq!(me["personnel_id"], personnel.as_str());
    // A clear check alone is not enough where the district asks for a
    // commitment and training.
    let on = today(&app).to_string();
    let d = app
        .post(
            &format!("/api/v1/personnel/{personnel}/checks"),
            &officer.token,
            check("clear", &on),
        )
        .await
        .expect(201);
    assert_eq!(d["vetting"]["status"], "cleared");
    assert_eq!(d["vetting"]["access_to_pupils"], false);
    app.get(&class_students, &teacher.token)
        .await
        .expect_problem(403, "vetting_required");
    app.post(
        &format!("/api/v1/personnel/{personnel}/commitments"),
        &w.x.admin.token,
        json!({"document_version": "2026-1", "signed_on": on}),
    )
    .await
    .expect(201);
    let d = app
        .post(
            &format!("/api/v1/personnel/{personnel}/trainings"),
            &w.x.admin.token,
            json!({"course": "Preventing abuse", "hours": 4, "completed_on": on}),
        )
        .await
        .expect(201);
    assert_eq!(d["vetting"]["access_to_pupils"], true);
    app.get(&class_students, &teacher.token).await.expect(200);
    // The school sees the check's date and result, never who ran it or the reference.
    let school_view = app
        .get(&format!("/api/v1/personnel/{personnel}"), &w.x.admin.token)
        .await
        .expect(200);
    assert_eq!(school_view["checks"][0]["result"], "clear");
    assert!(school_view["checks"][0]["reference"].is_null());
    assert!(school_view["checks"][0]["recorded_by"].is_null());
    let bureau_view = app
        .get(&format!("/api/v1/personnel/{personnel}"), &officer.token)
        .await
        .expect(200);
    assert_eq!(bureau_view["checks"][0]["reference"], "Q-2026-001");
    // Another school's admin does not find the record.
    app.get(&format!("/api/v1/personnel/{personnel}"), &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");
}

async fn a_clearance_lapses_after_a_year_and_reminders_come_first(app: TestApp) {
    let mut w = app.world().await;
    let class_students = format!("/api/v1/classes/{}/students", w.x.class_id);
    app.get(&class_students, &w.x.teacher.token)
        .await
        .expect(200);
    let reminders = |s: &Session| {
        let token = s.token.clone();
        let app = &app;
        async move {
            let feed = app
                .get("/api/v1/me/notifications?limit=100", &token)
                .await
                .expect(200);
            feed["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["template"] == "vetting.expiring")
                .count()
        }
    };
    // 25 days before the end: the 30-day reminder, once.
    app.advance(&mut w, chrono::Duration::days(365 - 1 - 25))
        .await;
    assert!(app.run_vetting_reminders().await >= 1);
    assert_eq!(app.run_vetting_reminders().await, 0, "sent once");
    let admin_before = reminders(&w.x.admin).await;
    assert!(admin_before >= 1, "the principal is reminded");
    let officer = app.vetting_officer().await;
    assert!(reminders(&officer).await >= 1, "the bureau is reminded");
    // Inside the last week: the 7-day reminder.
    app.advance(&mut w, chrono::Duration::days(20)).await;
    assert!(app.run_vetting_reminders().await >= 1);
    assert!(reminders(&w.x.admin).await > admin_before);
    app.get(&class_students, &w.x.teacher.token)
        .await
        .expect(200);
    // 12 months and a day after the check: blocked by itself.
    app.advance(&mut w, chrono::Duration::days(6)).await;
    app.get(&class_students, &w.x.teacher.token)
        .await
        .expect_problem(403, "vetting_required");
    let me = app.get("/api/v1/me", &w.x.teacher.token).await.expect(200);
    assert_eq!(me["vetting"]["status"], "expired");
}

async fn a_hit_on_a_guard_acts_at_once(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let guard = app
        .get(
            &format!("/api/v1/users/{}", w.x.guard.user_id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    let personnel = guard["personnel_id"].as_str().unwrap().to_string();
    let on = today(&app).to_string();
    let d = app
        .post(
            &format!("/api/v1/personnel/{personnel}/checks"),
            &officer.token,
            check("hit", &on),
        )
        .await
        .expect(201);
    assert_eq!(d["vetting"]["status"], "barred");
    // The guard's session has ended.
    app.get("/api/v1/me", &w.x.guard.token)
        .await
        .expect_problem(401, "unauthorized");
    // Signing in again gives no way to release a pupil.
    let again = app.login("sch-x.guard", PASSWORD).await;
    app.post(
        "/api/v1/handovers",
        &again.token,
        json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect_problem(403, "vetting_required");
    // The principal and the bureau were alerted.
    for who in [&w.x.admin, &officer] {
        let feed = app
            .get("/api/v1/me/notifications", &who.token)
            .await
            .expect(200);
        assert!(
            feed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["template"] == "vetting.barred"),
            "{feed}"
        );
    }
    // The person is on the district's watch list, by record.
    let listed = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM watch_list WHERE personnel_id = '{personnel}'"
        ))
        .await;
    assert_eq!(listed, 1);
    // A later clear check does not lift a bar.
    app.post(
        &format!("/api/v1/personnel/{personnel}/checks"),
        &officer.token,
        check("clear", &on),
    )
    .await
    .expect(201);
    app.get(
        &format!("/api/v1/classes/{}/students", w.x.class_id),
        &again.token,
    )
    .await
    .expect_problem(403, "vetting_required");
}

async fn only_the_bureau_records_checks(app: TestApp) {
    let w = app.world().await;
    let (_, personnel) = new_teacher(&app, &w, "new.teacher").await;
    let on = today(&app).to_string();
    for s in [&w.x.admin, &w.district_admin] {
        app.post(
            &format!("/api/v1/personnel/{personnel}/checks"),
            &s.token,
            check("clear", &on),
        )
        .await
        .expect_problem(403, "forbidden_role");
    }
    let checks = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM vetting_checks WHERE personnel_id = '{personnel}'"
        ))
        .await;
    assert_eq!(checks, 0);
    // A check dated in the future is bad input and records nothing.
    let officer = app.vetting_officer().await;
    let tomorrow = (today(&app) + chrono::Duration::days(2)).to_string();
    app.post(
        &format!("/api/v1/personnel/{personnel}/checks"),
        &officer.token,
        check("clear", &tomorrow),
    )
    .await
    .expect_problem(422, "invalid_field");
}

async fn workers_without_accounts_are_vetted_and_the_summary_adds_up(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let cook = app
        .post(
            "/api/v1/personnel",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "name": "Cook Wang", "kind": "outsourced",
                   "employer": "Canteen Co.", "id_number": "11010519491231002X",
                   "starts_on": "2026-09-01"}),
        )
        .await
        .expect(201);
    assert_eq!(cook["id_last4"], "002X");
    assert_eq!(cook["vetting"]["status"], "pending");
    let stored = app
        .strings(format!(
            "SELECT id_hmac AS s FROM personnel WHERE id = '{}'",
            cook["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        !stored[0].contains("1101051949"),
        "the ID number is not kept"
    );
    // A school admin registers workers only at their own school.
    app.post(
        "/api/v1/personnel",
        &w.y.admin.token,
        json!({"school_id": w.x.id, "name": "X", "kind": "driver", "id_number": "123456789",
               "starts_on": "2026-09-01"}),
    )
    .await
    .expect_problem(404, "not_found");
    let pending = app
        .get("/api/v1/personnel?status=pending", &w.x.admin.token)
        .await
        .expect(200);
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    let summary = app
        .get("/api/v1/vetting/summary", &officer.token)
        .await
        .expect(200);
    let schools = summary["schools"].as_array().unwrap();
    assert_eq!(schools.len(), 2);
    for s in schools {
        let parts: i64 = ["cleared", "grace", "pending", "expired", "barred"]
            .iter()
            .map(|k| s[k].as_i64().unwrap())
            .sum();
        assert_eq!(parts, s["total"].as_i64().unwrap(), "{s}");
    }
    let x = schools
        .iter()
        .find(|s| s["school_id"] == w.x.id.as_str())
        .unwrap();
    // The admin, the teacher and the guard are cleared; the cook is pending.
    assert_eq!(
        (
            x["total"].as_i64(),
            x["cleared"].as_i64(),
            x["pending"].as_i64()
        ),
        (Some(4), Some(3), Some(1))
    );
    // A school admin's summary is their own school only.
    let own = app
        .get("/api/v1/vetting/summary", &w.x.admin.token)
        .await
        .expect(200);
    assert_eq!(own["schools"].as_array().unwrap().len(), 1);
}

async fn an_unvetted_account_gets_no_place_with_pupils(app: TestApp) {
    let w = app.world().await;
    let (teacher, personnel) = new_teacher(&app, &w, "new.teacher").await;
    let classes = app
        .query_i64("SELECT COUNT(*) AS n FROM classes".into())
        .await;
    app.post(
        &format!("/api/v1/schools/{}/classes", w.x.id),
        &w.x.admin.token,
        json!({"grade": 2, "name": "Class 2", "head_teacher_id": teacher.user_id}),
    )
    .await
    .expect_problem(422, "vetting_required");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM classes".into())
            .await,
        classes
    );
    let counsellor = app
        .post(
            "/api/v1/users",
            &w.x.admin.token,
            json!({"role": "counselor", "username": "new.counsellor", "display_name": "C",
                   "password": PASSWORD}),
        )
        .await
        .expect(201);
    let recipients = format!("/api/v1/schools/{}/mailbox/recipient-changes", w.x.id);
    app.post(
        &recipients,
        &w.x.admin.token,
        json!({"user_ids": [w.x.admin.user_id, counsellor["id"]]}),
    )
    .await
    .expect_problem(422, "vetting_required");
    // Once cleared, the same teacher can head a class.
    app.clear(&w.x.admin, &personnel).await;
    app.post(
        &format!("/api/v1/schools/{}/classes", w.x.id),
        &w.x.admin.token,
        json!({"grade": 2, "name": "Class 2", "head_teacher_id": teacher.user_id}),
    )
    .await
    .expect(201);
}

async fn accounts_older_than_vetting_get_a_grace_period(app: TestApp) {
    let w = app.world().await;
    let (teacher, personnel) = new_teacher(&app, &w, "old.teacher").await;
    // As the migration leaves an account that existed before vetting.
    app.execute(format!(
        "UPDATE personnel SET grace_pending = TRUE WHERE id = '{personnel}'"
    ))
    .await;
    let s = app.state.clone();
    let started = actix_web::web::block(move || crate::support::library::start_grace(&s))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started, 1);
    let class_students = format!("/api/v1/classes/{}/students", w.x.class_id);
    app.get(&class_students, &teacher.token).await.expect(200);
    let me = app.get("/api/v1/me", &teacher.token).await.expect(200);
    assert_eq!(me["vetting"]["status"], "grace");
    // 30 days later (the default), access stops by itself.
    app.clock
        .advance(chrono::Duration::days(30) + chrono::Duration::minutes(1));
    let teacher = app.relog(&teacher).await;
    app.get(&class_students, &teacher.token)
        .await
        .expect_problem(403, "vetting_required");
}

on_both_databases!(
    accounts_older_than_vetting_get_a_grace_period,
    an_unvetted_account_gets_no_place_with_pupils,
    an_unvetted_teacher_reaches_no_pupil_until_cleared,
    a_clearance_lapses_after_a_year_and_reminders_come_first,
    a_hit_on_a_guard_acts_at_once,
    only_the_bureau_records_checks,
    workers_without_accounts_are_vetted_and_the_summary_adds_up,
);
