//! Dormitories, from the viewpoint of the girls who sleep there: no man
//! works there, no man walks in unrecorded, and a pupil missing at night
//! is known to her family at once.

use crate::support::{Session, TestApp, World, PASSWORD};
use serde_json::{json, Value};

async fn user_with_sex(
    app: &TestApp,
    admin: &Session,
    role: &str,
    name: &str,
    sex: Option<&str>,
) -> String {
    let mut body =
        json!({"role": role, "username": name, "display_name": name, "password": PASSWORD});
    if let Some(s) = sex {
        body["sex"] = json!(s);
    }
    let created = app.create_activated(admin, body).await;
    if let Some(p) = created["personnel_id"].as_str() {
        app.clear(admin, p).await;
    }
    created["id"].as_str().unwrap().to_string()
}

async fn pupil(app: &TestApp, w: &World, name: &str, sex: &str) -> String {
    let created = app
        .post(
            "/api/v1/students",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "class_id": w.x.class_id, "name": name,
                   "student_no": format!("NO-{name}"), "grade": 1, "sex": sex}),
        )
        .await
        .expect(201);
    assert_eq!(created["sex"], sex);
    created["id"].as_str().unwrap().to_string()
}

async fn girls_dorm(app: &TestApp, w: &World) -> String {
    let d = app
        .post(
            &format!("/api/v1/schools/{}/dorms", w.x.id),
            &w.x.admin.token,
            json!({"name": "Lotus House", "kind": "girls"}),
        )
        .await
        .expect(201);
    d["id"].as_str().unwrap().to_string()
}

fn staff(user: &str) -> Value {
    json!({"user_id": user})
}

async fn a_male_dorm_manager_cannot_be_assigned_to_a_girls_dormitory(app: TestApp) {
    let w = app.world().await;
    let dorm = girls_dorm(&app, &w).await;
    let male = user_with_sex(&app, &w.x.admin, "dorm_manager", "dorm.male", Some("male")).await;
    let unknown = user_with_sex(&app, &w.x.admin, "dorm_manager", "dorm.unknown", None).await;
    let female = user_with_sex(
        &app,
        &w.x.admin,
        "dorm_manager",
        "dorm.female",
        Some("female"),
    )
    .await;
    let path = format!("/api/v1/dorms/{dorm}/staff");
    for who in [&male, &unknown] {
        app.post(&path, &w.x.admin.token, staff(who))
            .await
            .expect_problem(422, "dorm_staff_sex");
    }
    let d = app
        .post(&path, &w.x.admin.token, staff(&female))
        .await
        .expect(200);
    assert_eq!(d["staff_ids"], json!([female]));
    // Another school's admin does not see the dormitory.
    app.post(&path, &w.y.admin.token, staff(&female))
        .await
        .expect_problem(404, "not_found");
    // Only girls live in it.
    let boy = pupil(&app, &w, "Boy One", "male").await;
    let girl = pupil(&app, &w, "Girl One", "female").await;
    let residents = format!("/api/v1/dorms/{dorm}/residents");
    app.post(&residents, &w.x.admin.token, json!({"student_ids": [boy]}))
        .await
        .expect_problem(422, "dorm_resident_sex");
    app.post(
        &residents,
        &w.x.admin.token,
        json!({"student_ids": [w.x.student_id]}),
    )
    .await
    .expect_problem(422, "dorm_resident_sex");
    let d = app
        .post(&residents, &w.x.admin.token, json!({"student_ids": [girl]}))
        .await
        .expect(200);
    assert_eq!(d["resident_ids"], json!([girl]));
}

async fn a_man_entering_without_approval_is_an_incident_and_the_principal_is_alerted(app: TestApp) {
    let w = app.world().await;
    let dorm = girls_dorm(&app, &w).await;
    let manager = user_with_sex(
        &app,
        &w.x.admin,
        "dorm_manager",
        "dorm.female",
        Some("female"),
    )
    .await;
    app.post(
        &format!("/api/v1/dorms/{dorm}/staff"),
        &w.x.admin.token,
        staff(&manager),
    )
    .await
    .expect(200);
    let manager = app.login("dorm.female", PASSWORD).await;
    let entries = format!("/api/v1/dorms/{dorm}/entries");
    let approved = app
        .post(
            &entries,
            &manager.token,
            json!({"name": "Plumber Liu", "reason": "a burst pipe on floor 2"}),
        )
        .await
        .expect(201);
    assert_eq!(approved["incident"], false);
    assert_eq!(approved["approved_by"], manager.user_id);
    assert!(approved["entered_at"].is_string());
    assert_eq!(
        app.notes(&w.x.admin.user_id, "dorms.entry_incident").await,
        0
    );
    // The guard saw a man go in whom nobody approved.
    let seen = app
        .post(&entries, &w.x.guard.token, json!({"name": "Unknown man"}))
        .await
        .expect(201);
    assert_eq!(seen["incident"], true);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "dorms.entry_incident").await,
        1
    );
    // Even the manager's record without a reason is an incident.
    let no_reason = app
        .post(&entries, &manager.token, json!({"name": "Visitor Zhang"}))
        .await
        .expect(201);
    assert_eq!(no_reason["incident"], true);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "dorms.entry_incident").await,
        2
    );
}

async fn the_nightly_roll_call_alerts_the_families(app: TestApp) {
    let mut w = app.world().await;
    let dorm = girls_dorm(&app, &w).await;
    let manager = user_with_sex(
        &app,
        &w.x.admin,
        "dorm_manager",
        "dorm.female",
        Some("female"),
    )
    .await;
    app.post(
        &format!("/api/v1/dorms/{dorm}/staff"),
        &w.x.admin.token,
        staff(&manager),
    )
    .await
    .expect(200);
    let missing = pupil(&app, &w, "Girl Missing", "female").await;
    let on_leave = pupil(&app, &w, "Girl On Leave", "female").await;
    let second = user_with_sex(&app, &w.x.admin, "parent", "sch-x.parent2", None).await;
    app.add_guardian(&w.x.admin, &missing, &w.x.parent.user_id, "mother")
        .await;
    app.post(
        &format!("/api/v1/students/{missing}/guardians"),
        &w.x.admin.token,
        json!({"user_id": second, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    let third = user_with_sex(&app, &w.x.admin, "parent", "sch-x.parent3", None).await;
    app.add_guardian(&w.x.admin, &on_leave, &third, "mother")
        .await;
    let parent3 = app.login("sch-x.parent3", PASSWORD).await;
    // Tonight 20:00 to tomorrow 08:00: home for a family matter, approved.
    let leave = app
        .post(
            "/api/v1/leave-requests",
            &parent3.token,
            json!({"student_id": on_leave, "kind": "personal", "starts_at": "2026-11-30T12:00:00Z",
                     "ends_at": "2026-12-01T00:00:00Z", "reason": "family", "leaves_campus": true}),
        )
        .await
        .expect(201);
    app.post(
        &format!(
            "/api/v1/leave-requests/{}/decision",
            leave["id"].as_str().unwrap()
        ),
        &w.x.teacher.token,
        json!({"approve": true, "note": "ok"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/dorms/{dorm}/residents"),
        &w.x.admin.token,
        json!({"student_ids": [missing, on_leave]}),
    )
    .await
    .expect(200);
    // 21:30: the nightly roll call.
    app.advance(&mut w, chrono::Duration::minutes(13 * 60 + 30))
        .await;
    let manager = app.login("dorm.female", PASSWORD).await;
    let path = format!("/api/v1/dorms/{dorm}/roll-calls");
    // A teacher who does not work in the dormitory does not take its roll call.
    app.post(
        &path,
        &w.x.teacher.token,
        json!({"date": "2026-11-30", "absent": []}),
    )
    .await
    .expect_problem(404, "not_found");
    let rc = app
        .post(
            &path,
            &manager.token,
            json!({"date": "2026-11-30", "absent": [missing, on_leave]}),
        )
        .await
        .expect(201);
    let excused: Vec<(String, bool)> = rc["absences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["student_id"].as_str().unwrap().to_string(),
                a["excused_by_leave"].is_string(),
            )
        })
        .collect();
    assert!(excused.contains(&(missing.clone(), false)));
    assert!(excused.contains(&(on_leave.clone(), true)));
    // Every guardian of the missing girl, the head teacher and the manager: at once.
    for who in [
        &w.x.parent.user_id,
        &second,
        &w.x.teacher.user_id,
        &manager.user_id,
    ] {
        assert_eq!(app.notes(who, "dorms.absent").await, 1, "{who}");
    }
    // The girl on approved leave alerts nobody.
    assert_eq!(app.notes(&third, "dorms.absent").await, 0);
    app.post(
        &path,
        &manager.token,
        json!({"date": "2026-11-30", "absent": []}),
    )
    .await
    .expect_problem(409, "already_exists");
}

/// A dorm manager who leaves holds no place in the dormitory from the day
/// she is offboarded.
async fn an_offboarded_dorm_manager_leaves_the_dormitory(app: TestApp) {
    let w = app.world().await;
    let dorm = girls_dorm(&app, &w).await;
    let leaving = user_with_sex(
        &app,
        &w.x.admin,
        "dorm_manager",
        "dorm.leaving",
        Some("female"),
    )
    .await;
    let staying = user_with_sex(
        &app,
        &w.x.admin,
        "dorm_manager",
        "dorm.staying",
        Some("female"),
    )
    .await;
    let path = format!("/api/v1/dorms/{dorm}/staff");
    let view = app
        .post(&path, &w.x.admin.token, staff(&leaving))
        .await
        .expect(200);
    assert_eq!(view["staff_ids"], json!([leaving]));
    app.post(
        &format!("/api/v1/users/{leaving}/offboard"),
        &w.x.admin.token,
        json!({"effective_on": "2026-11-30"}),
    )
    .await
    .expect(200);
    let view = app
        .post(&path, &w.x.admin.token, staff(&staying))
        .await
        .expect(200);
    assert_eq!(view["staff_ids"], json!([staying]), "{view}");
}

on_both_databases!(
    an_offboarded_dorm_manager_leaves_the_dormitory,
    a_male_dorm_manager_cannot_be_assigned_to_a_girls_dormitory,
    a_man_entering_without_approval_is_an_incident_and_the_principal_is_alerted,
    the_nightly_roll_call_alerts_the_families,
);
