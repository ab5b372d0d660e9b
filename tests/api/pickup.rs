//! Pickup at dismissal: who may take a pupil, who never may, passes, the
//! handover at the gate, both sides confirming, and late-pickup escalation.

use crate::support::*;
use base64::Engine;
use chrono::Duration;
use serde_json::{json, Value};

/// 16:30 in Shanghai on Monday 30 November 2026: dismissal.
async fn to_dismissal(app: &TestApp, w: &mut World) {
    app.advance(w, Duration::minutes(8 * 60 + 30)).await;
}

async fn add_person(app: &TestApp, who: &Session, student: &str, body: Value) -> Value {
    app.post(
        &format!("/api/v1/students/{student}/pickup-persons"),
        &who.token,
        body,
    )
    .await
    .expect(201)
}

fn grandma(from: &str, until: &str) -> Value {
    json!({"name": "Grandma Li", "relation": "grandmother", "phone": "13800000001",
           "id_last4": "123X", "valid_from": from, "valid_until": until})
}

async fn handover(app: &TestApp, gate: &Session, body: Value) -> Resp {
    app.post("/api/v1/handovers", &gate.token, body).await
}

async fn issue_pass(app: &TestApp, parent: &Session, student: &str, body: Value) -> Resp {
    app.post(
        &format!("/api/v1/students/{student}/pickup-passes"),
        &parent.token,
        body,
    )
    .await
}

/// A second pupil in school X's class with a parent of their own.
async fn second_pupil(app: &TestApp, w: &World, name: &str) -> (String, Session) {
    let student = app
        .create_student(&w.x.admin, &w.x.id, &w.x.class_id, name, 1)
        .await;
    let uname = format!("{name}.parent");
    let parent_id = app.create_user(&w.x.admin, "parent", &uname, None).await;
    app.add_guardian(&w.x.admin, &student, &parent_id, "father")
        .await;
    (student, app.login(&uname, PASSWORD).await)
}

async fn guardian_handover_releases_once_and_tells_the_family(app: TestApp) {
    let mut w = app.world().await;
    to_dismissal(&app, &mut w).await;
    let body = json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id});
    let h = handover(&app, &w.x.guard, body.clone()).await.expect(201);
    assert_eq!(h["status"], "released");
    assert_eq!(h["released_to"]["kind"], "guardian");
    assert_eq!(h["released_to"]["relation"], "mother");
    assert_eq!(h["student"]["id"], w.x.student_id.as_str());
    assert_eq!(h["date"], "2026-11-30");
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.released").await, 1);

    handover(&app, &w.x.teacher, body)
        .await
        .expect_problem(409, "already_released");
    assert_eq!(app.count("handovers").await, 1);

    let id = h["handover_id"].as_str().unwrap();
    let c = app
        .post(
            &format!("/api/v1/handovers/{id}/confirm"),
            &w.x.parent.token,
            json!({}),
        )
        .await
        .expect(200);
    assert!(c["confirmed_at"].is_string());
    let history = app
        .get(
            &format!("/api/v1/students/{}/handovers", w.x.student_id),
            &w.x.parent.token,
        )
        .await
        .expect(200);
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert!(history[0]["confirmed_at"].is_string());
}

async fn delegate_is_released_only_inside_validity_window_and_weekdays(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    let tuesdays = add_person(
        &app,
        &w.x.parent,
        s,
        json!({"name": "Uncle Wang", "relation": "uncle", "phone": "13800000002",
               "valid_from": "2026-11-30", "valid_until": "2026-12-31", "weekdays": ["tue"]}),
    )
    .await;
    let from_tomorrow = add_person(
        &app,
        &w.x.parent,
        s,
        json!({"name": "Aunt Zhao", "relation": "aunt", "phone": "13800000003",
               "valid_from": "2026-12-01", "valid_until": "2026-12-31"}),
    )
    .await;
    let gm = add_person(&app, &w.x.parent, s, grandma("2026-11-30", "2026-11-30")).await;
    assert_eq!(gm["weekdays"].as_array().unwrap().len(), 7);
    // Every change is told to the family.
    assert_eq!(
        app.notes(&w.x.parent.user_id, "pickup.person_added").await,
        3
    );
    to_dismissal(&app, &mut w).await;
    for p in [&tuesdays, &from_tomorrow] {
        handover(
            &app,
            &w.x.guard,
            json!({"student_id": s, "pickup_person_id": p["id"]}),
        )
        .await
        .expect_problem(403, "pickup_not_authorized");
    }
    assert_eq!(app.count("handovers").await, 0);
    let h = handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pickup_person_id": gm["id"]}),
    )
    .await
    .expect(201);
    assert_eq!(h["released_to"]["name"], "Grandma Li");
    // The next day grandma's authorisation has ended; the aunt's has begun.
    app.advance(&mut w, Duration::days(1)).await;
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pickup_person_id": gm["id"]}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pickup_person_id": tuesdays["id"]}),
    )
    .await
    .expect(201);
}

async fn revoked_delegate_is_refused_and_the_entry_is_kept(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    let gm = add_person(&app, &w.x.parent, s, grandma("2026-11-30", "2027-06-30")).await;
    let pid = gm["id"].as_str().unwrap();
    let revoked = app
        .send(
            "DELETE",
            &format!("/api/v1/students/{s}/pickup-persons/{pid}"),
            Some(&w.x.parent.token),
            None,
            &[],
        )
        .await
        .expect(200);
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        app.notes(&w.x.parent.user_id, "pickup.person_revoked")
            .await,
        1
    );
    to_dismissal(&app, &mut w).await;
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pickup_person_id": pid}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    let list = app
        .get(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

async fn blocked_person_is_refused_even_with_a_valid_pass_and_everyone_is_alerted(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    let gp = add_person(
        &app,
        &w.x.parent,
        s,
        json!({"name": "Wang Jun", "relation": "grandfather", "phone": "+86 139 0000 0009",
               "valid_from": "2026-11-30", "valid_until": "2027-06-30"}),
    )
    .await;
    let pass = issue_pass(
        &app,
        &w.x.parent,
        s,
        json!({"pickup_person_id": gp["id"], "date": "2026-11-30"}),
    )
    .await
    .expect(201);
    assert_eq!(pass["code"].as_str().unwrap().len(), 8);
    // A custody order arrives: the same man, his name written differently.
    let block = app
        .post(
            &format!("/api/v1/students/{s}/pickup-blocks"),
            &w.x.parent.token,
            json!({"name": "wang  jun", "note": "court order 2026-123", "court_order": true}),
        )
        .await
        .expect(201);
    // No authorisation can be added for a blocked adult.
    app.post(
        &format!("/api/v1/students/{s}/pickup-persons"),
        &w.x.admin.token,
        json!({"name": "Wang Jun", "relation": "grandfather", "phone": "13900000009",
               "valid_from": "2026-11-30", "valid_until": "2027-01-31"}),
    )
    .await
    .expect_problem(409, "pickup_blocked");
    to_dismissal(&app, &mut w).await;
    for body in [
        json!({"student_id": s, "pass_code": pass["code"]}),
        json!({"student_id": s, "qr_token": pass["qr_token"]}),
        json!({"student_id": s, "pickup_person_id": gp["id"]}),
    ] {
        handover(&app, &w.x.guard, body)
            .await
            .expect_problem(403, "pickup_blocked");
    }
    // Someone presenting the barred man's name with an open pass is refused too.
    let open = issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": open["code"], "presented": {"name": "WANG Jun"}}),
    )
    .await
    .expect_problem(403, "pickup_blocked");
    assert_eq!(app.count("handovers").await, 0);
    for user in [
        &w.x.parent.user_id,
        &w.x.teacher.user_id,
        &w.x.admin.user_id,
    ] {
        assert_eq!(app.notes(user, "pickup.blocked_attempt").await, 4, "{user}");
    }
    assert_eq!(app.audits("pickup.blocked_attempt").await, 4);
    // Only the school admin lifts a block; then the pass works.
    let bid = block["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/lift"),
        &w.x.parent.token,
        json!({"note": "mistake"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/lift"),
        &w.x.admin.token,
        json!({"note": "order set aside on appeal"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "pickup.block_lifted").await,
        1
    );
    let h = handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": pass["code"]}),
    )
    .await
    .expect(201);
    assert_eq!(h["released_to"]["kind"], "pass");
    assert_eq!(h["released_to"]["name"], "Wang Jun");
}

async fn one_time_pass_is_refused_the_second_time(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    let pass = issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    to_dismissal(&app, &mut w).await;
    // An open pass needs the name on the holder's ID.
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": pass["code"]}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let body = json!({"student_id": s, "pass_code": pass["code"],
                      "presented": {"name": "Neighbour Chen", "id_last4": "4321"}});
    let h = handover(&app, &w.x.guard, body.clone()).await.expect(201);
    assert_eq!(h["released_to"]["name"], "Neighbour Chen");
    handover(&app, &w.x.guard, body)
        .await
        .expect_problem(403, "pickup_not_authorized");
    assert_eq!(app.count("handovers").await, 1);
}

async fn another_students_pass_is_refused(app: TestApp) {
    let mut w = app.world().await;
    let (other, other_parent) = second_pupil(&app, &w, "pupil-two").await;
    let pass = issue_pass(&app, &other_parent, &other, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    to_dismissal(&app, &mut w).await;
    let other_parent = app.relog(&other_parent).await;
    let s = &w.x.student_id.clone();
    for body in [
        json!({"student_id": s, "pass_code": pass["code"], "presented": {"name": "Mr Zhou"}}),
        json!({"student_id": s, "qr_token": pass["qr_token"], "presented": {"name": "Mr Zhou"}}),
    ] {
        handover(&app, &w.x.guard, body)
            .await
            .expect_problem(403, "pickup_not_authorized");
    }
    // A parent cannot issue a pass for someone else's child.
    issue_pass(&app, &other_parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.count("handovers").await, 0);
}

async fn cancelled_pass_is_refused(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    let pass = issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    let id = pass["pass_id"].as_str().unwrap();
    let c = app
        .post(
            &format!("/api/v1/pickup-passes/{id}/cancel"),
            &w.x.parent.token,
            json!({}),
        )
        .await
        .expect(200);
    assert!(c["cancelled_at"].is_string());
    to_dismissal(&app, &mut w).await;
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": pass["code"], "presented": {"name": "Mr Zhou"}}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
}

async fn pass_for_today_after_the_cutoff_is_refused(app: TestApp) {
    let mut w = app.world().await;
    app.send(
        "PUT",
        &format!("/api/v1/schools/{}/pickup-settings", w.x.id),
        Some(&w.x.admin.token),
        Some(&json!({"pass_cutoff": "12:00", "dismissal_times": []})),
        &[],
    )
    .await
    .expect(200);
    let s = &w.x.student_id.clone();
    issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    app.advance(&mut w, Duration::hours(5)).await; // 13:00 in Shanghai
    issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect_problem(409, "after_cutoff");
    issue_pass(&app, &w.x.parent, s, json!({"date": "2026-12-01"}))
        .await
        .expect(201);
    issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-29"}))
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(app.count("pickup_passes").await, 2);
}

async fn unauthorised_attempt_is_refused_alerted_and_audited(app: TestApp) {
    let mut w = app.world().await;
    to_dismissal(&app, &mut w).await;
    let stranger = "0190f000-0000-7000-8000-000000000001";
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": w.x.student_id, "pickup_person_id": stranger,
               "presented": {"name": "A stranger"}}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    // Another child's parent is no guardian of this one.
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": w.x.student_id, "guardian_user_id": w.y.parent.user_id}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    assert_eq!(app.count("handovers").await, 0);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.refused").await, 2);
    assert_eq!(app.notes(&w.x.teacher.user_id, "pickup.refused").await, 2);
    assert_eq!(app.notes(&w.x.admin.user_id, "pickup.refused").await, 0);
    assert_eq!(app.notes(&w.y.parent.user_id, "pickup.refused").await, 0);
    assert_eq!(app.audits("pickup.refused").await, 2);
    let feed = app
        .get("/api/v1/me/notifications", &w.x.parent.token)
        .await
        .expect(200);
    let body = feed["items"][0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("pupil-sch-x"), "{body}");
}

async fn another_school_cannot_release_or_see_the_pupil(app: TestApp) {
    let mut w = app.world().await;
    to_dismissal(&app, &mut w).await;
    let s = &w.x.student_id.clone();
    handover(
        &app,
        &w.y.guard,
        json!({"student_id": s, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
        &w.y.teacher.token,
    )
    .await
    .expect_problem(404, "not_found");
    for path in [
        format!("/api/v1/students/{s}/pickup-persons"),
        format!("/api/v1/students/{s}/handovers"),
        format!("/api/v1/students/{s}/pickup-blocks"),
    ] {
        app.get(&path, &w.y.teacher.token)
            .await
            .expect_problem(404, "not_found");
    }
    // A guardian of another child cannot authorise anyone for this one.
    app.post(
        &format!("/api/v1/students/{s}/pickup-persons"),
        &w.y.parent.token,
        grandma("2026-11-30", "2027-06-30"),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(app.count("handovers").await, 0);
    assert_eq!(app.count("pickup_persons").await, 0);
}

async fn late_pickup_escalates_at_the_threshold_and_twice_it_without_repeats(app: TestApp) {
    let mut w = app.world().await;
    let (released, _) = second_pupil(&app, &w, "pupil-early").await;
    let (by_bus, bus_parent) = second_pupil(&app, &w, "pupil-bus").await;
    app.send(
        "PUT",
        &format!("/api/v1/students/{by_bus}/dismissal-mode"),
        Some(&bus_parent.token),
        Some(&json!({"mode": "bus"})),
        &[],
    )
    .await
    .expect(200);
    to_dismissal(&app, &mut w).await;
    let g: Value = app
        .get(
            &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    let early = g["students"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["student_id"] == released.as_str())
        .unwrap()
        .clone();
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": released, "guardian_user_id": early["authorised_adults"][0]["id"]}),
    )
    .await
    .expect(201);

    app.advance(&mut w, Duration::minutes(14)).await; // 16:44
    assert_eq!(app.run_late_pickup().await, 0);
    app.advance(&mut w, Duration::minutes(1)).await; // 16:45: the threshold
                                                     // One late pupil in each school.
    assert_eq!(app.run_late_pickup().await, 2);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.late").await, 1);
    assert_eq!(app.notes(&w.x.teacher.user_id, "pickup.late").await, 1);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "pickup.late_escalated").await,
        0
    );
    assert_eq!(app.notes(&bus_parent.user_id, "pickup.late").await, 0);
    assert_eq!(app.run_late_pickup().await, 0);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.late").await, 1);

    app.advance(&mut w, Duration::minutes(15)).await; // 17:00: twice the threshold
    assert_eq!(app.run_late_pickup().await, 2);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "pickup.late_escalated").await,
        1
    );
    assert_eq!(
        app.notes(&w.x.teacher.user_id, "pickup.late_escalated")
            .await,
        1
    );
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.late").await, 2);
    assert_eq!(app.run_late_pickup().await, 0);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "pickup.late_escalated").await,
        1
    );
    assert_eq!(app.count("pickup_late_alerts").await, 4);
    // School Y's pupil is late too, each school by its own clock and staff.
    assert_eq!(
        app.notes(&w.y.admin.user_id, "pickup.late_escalated").await,
        1
    );
    // The late pupil still waits; only an authorised adult takes them.
    let summary = app
        .get(
            &format!("/api/v1/schools/{}/dismissal-summary", w.x.id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    assert_eq!(summary["unresolved"].as_array().unwrap().len(), 1);
    assert_eq!(
        summary["unresolved"][0]["student_id"],
        w.x.student_id.as_str()
    );
    assert_eq!(summary["classes"][0]["released"], 1);
    assert_eq!(summary["classes"][0]["bus"], 1);
    assert_eq!(summary["classes"][0]["waiting"], 1);
}

async fn dispute_alerts_head_teacher_and_school_admin(app: TestApp) {
    let mut w = app.world().await;
    to_dismissal(&app, &mut w).await;
    let h = handover(
        &app,
        &w.x.guard,
        json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(201);
    let id = h["handover_id"].as_str().unwrap();
    // Another family cannot answer it.
    app.post(
        &format!("/api/v1/handovers/{id}/dispute"),
        &w.y.parent.token,
        json!({"note": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let d = app
        .post(
            &format!("/api/v1/handovers/{id}/dispute"),
            &w.x.parent.token,
            json!({"note": "I was not at the school today"}),
        )
        .await
        .expect(200);
    assert!(d["disputed_at"].is_string());
    assert_eq!(app.notes(&w.x.teacher.user_id, "pickup.disputed").await, 1);
    assert_eq!(app.notes(&w.x.admin.user_id, "pickup.disputed").await, 1);
    app.post(
        &format!("/api/v1/handovers/{id}/confirm"),
        &w.x.parent.token,
        json!({}),
    )
    .await
    .expect_problem(409, "handover_disputed");
    assert_eq!(app.audits("handover.dispute").await, 1);
}

async fn dismissal_board_shows_each_state_and_who_may_take_whom(app: TestApp) {
    let mut w = app.world().await;
    let (alone, alone_parent) = second_pupil(&app, &w, "pupil-alone").await;
    let (bus, bus_parent) = second_pupil(&app, &w, "pupil-bus").await;
    let (waiting, waiting_parent) = second_pupil(&app, &w, "pupil-waiting").await;
    issue_pass(
        &app,
        &waiting_parent,
        &waiting,
        json!({"date": "2026-11-30"}),
    )
    .await
    .expect(201);
    let png = {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::new_rgb8(4, 4)
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let mut gm_body = grandma("2026-11-30", "2027-06-30");
    gm_body["photo"] = json!(base64::engine::general_purpose::STANDARD.encode(&png));
    let gm = add_person(&app, &w.x.parent, &w.x.student_id, gm_body).await;
    let photo_url = gm["photo_url"].as_str().unwrap().to_string();
    // A pupil who needs handover goes home alone only with the school's approval.
    let mode = |who: &Session, student: &str, m: &str| {
        let (path, token, body) = (
            format!("/api/v1/students/{student}/dismissal-mode"),
            who.token.clone(),
            json!({"mode": m}),
        );
        let app = &app;
        async move { app.send("PUT", &path, Some(&token), Some(&body), &[]).await }
    };
    mode(&alone_parent, &alone, "alone")
        .await
        .expect_problem(403, "school_approval_required");
    let approved = mode(&w.x.admin, &alone, "alone").await.expect(200);
    assert_eq!(approved["approved_by"], w.x.admin.user_id.as_str());
    mode(&bus_parent, &bus, "bus").await.expect(200);
    to_dismissal(&app, &mut w).await;
    let bus_parent = app.relog(&bus_parent).await;
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": w.x.student_id, "pickup_person_id": gm["id"]}),
    )
    .await
    .expect(201);

    let board = app
        .get(
            &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    assert_eq!(board["dismissal_time"], "16:30");
    let state_of = |id: &str| {
        board["students"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["student_id"] == id)
            .unwrap()
            .clone()
    };
    let first = state_of(&w.x.student_id);
    assert_eq!(first["state"], "released");
    assert_eq!(first["handover"]["released_to"]["name"], "Grandma Li");
    assert_eq!(
        first["handover"]["released_to"]["photo_url"],
        photo_url.as_str()
    );
    let adults = first["authorised_adults"].as_array().unwrap();
    assert_eq!(adults.len(), 2);
    assert!(adults
        .iter()
        .any(|a| a["kind"] == "guardian" && a["relation"] == "mother"));
    // A pupil under 14 without a guardian's consent: no photo is offered.
    assert!(
        adults.iter().all(|a| a["photo_url"].is_null()),
        "{adults:?}"
    );
    assert_eq!(state_of(&alone)["state"], "alone");
    assert_eq!(state_of(&bus)["state"], "bus");
    let w_adults = state_of(&waiting)["authorised_adults"].clone();
    assert_eq!(state_of(&waiting)["state"], "waiting");
    assert!(
        w_adults
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "pass"),
        "{w_adults}"
    );
    // Parents do not see the board.
    app.get(
        &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
        &w.x.parent.token,
    )
    .await
    .expect_problem(403, "forbidden_role");
    // A pupil under 14: the photo is served only with a guardian's consent.
    app.get(&photo_url, &w.x.guard.token)
        .await
        .expect_problem(403, "consent_required");
    app.post(
        &format!("/api/v1/students/{}/consents", w.x.student_id),
        &w.x.parent.token,
        json!({"purpose": "pickup_photos", "given": true, "policy_version": "2026-09",
               "channel": "app"}),
    )
    .await
    .expect(201);
    let board = app
        .get(
            &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    let offered = board["students"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["student_id"] == w.x.student_id.as_str())
        .unwrap()["authorised_adults"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["photo_url"] == photo_url.as_str());
    assert!(offered, "with consent the board offers the photo");
    // The photo reaches the school's staff and the family only.
    let photo = app.get(&photo_url, &w.x.guard.token).await;
    assert_eq!(photo.status, 200);
    assert_eq!(photo.header("content-type"), Some("image/png"));
    assert!(photo.text.contains("PNG"));
    app.get(&photo_url, &w.x.parent.token).await.expect(200);
    for other in [&w.y.teacher, &w.y.parent, &bus_parent, &w.district_admin] {
        app.get(&photo_url, &other.token)
            .await
            .expect_problem(404, "not_found");
    }
}

async fn handover_retried_with_idempotency_key_releases_and_alerts_once(app: TestApp) {
    let mut w = app.world().await;
    to_dismissal(&app, &mut w).await;
    let body = json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id});
    let key = [("Idempotency-Key", "gate-1-attempt-42")];
    let first = app
        .send(
            "POST",
            "/api/v1/handovers",
            Some(&w.x.guard.token),
            Some(&body),
            &key,
        )
        .await;
    let first_body = first.expect(201);
    let again = app
        .send(
            "POST",
            "/api/v1/handovers",
            Some(&w.x.guard.token),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(again.expect(201), first_body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("handovers").await, 1);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.released").await, 1);

    // A refused attempt retried is refused again, and alerts once.
    let (other, other_parent) = second_pupil(&app, &w, "pupil-two").await;
    let stranger = json!({"student_id": other, "guardian_user_id": w.x.parent.user_id});
    let key = [("Idempotency-Key", "gate-1-attempt-43")];
    for _ in 0..2 {
        app.send(
            "POST",
            "/api/v1/handovers",
            Some(&w.x.guard.token),
            Some(&stranger),
            &key,
        )
        .await
        .expect_problem(403, "pickup_not_authorized");
    }
    assert_eq!(app.notes(&other_parent.user_id, "pickup.refused").await, 1);
    assert_eq!(app.audits("pickup.refused").await, 1);
}

async fn pickup_person_input_is_checked_and_only_primary_guardians_add(app: TestApp) {
    let w = app.world().await;
    let s = &w.x.student_id.clone();
    let path = format!("/api/v1/students/{s}/pickup-persons");
    let mut no_until = grandma("2026-11-30", "2027-06-30");
    no_until.as_object_mut().unwrap().remove("valid_until");
    let r = app.post(&path, &w.x.parent.token, no_until).await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "valid_until");
    let r = app
        .post(
            &path,
            &w.x.parent.token,
            grandma("2026-11-30", "2028-01-01"),
        )
        .await;
    assert_eq!(r.json()["field"], "valid_until");
    let mut gif = grandma("2026-11-30", "2027-06-30");
    gif["photo"] = json!(base64::engine::general_purpose::STANDARD.encode(b"GIF89a........"));
    let r = app.post(&path, &w.x.parent.token, gif).await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "photo");
    let mut big = grandma("2026-11-30", "2027-06-30");
    let jpeg = [&[0xFFu8, 0xD8, 0xFF][..], &vec![0u8; 512 * 1024][..]].concat();
    big["photo"] = json!(base64::engine::general_purpose::STANDARD.encode(&jpeg));
    let r = app.post(&path, &w.x.parent.token, big).await;
    assert_eq!(r.json()["field"], "photo");
    let mut full_id = grandma("2026-11-30", "2027-06-30");
    full_id["id_last4"] = json!("110101199003077777");
    app.post(&path, &w.x.parent.token, full_id)
        .await
        .expect_problem(422, "invalid_field");
    // A second, non-primary guardian may not add anyone; teachers neither.
    let dad = app.create_user(&w.x.admin, "parent", "x.dad", None).await;
    app.post(
        &format!("/api/v1/students/{s}/guardians"),
        &w.x.admin.token,
        json!({"user_id": dad, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    let dad = app.login("x.dad", PASSWORD).await;
    app.post(&path, &dad.token, grandma("2026-11-30", "2027-06-30"))
        .await
        .expect_problem(403, "primary_guardian_required");
    app.post(
        &path,
        &w.x.teacher.token,
        grandma("2026-11-30", "2027-06-30"),
    )
    .await
    .expect_problem(403, "primary_guardian_required");
    assert_eq!(app.count("pickup_persons").await, 0);
    // The school admin may, and every guardian hears of it.
    add_person(&app, &w.x.admin, s, grandma("2026-11-30", "2027-06-30")).await;
    assert_eq!(app.notes(&dad.user_id, "pickup.person_added").await, 1);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "pickup.person_added").await,
        1
    );
}

async fn school_sets_dismissal_times_threshold_and_closed_days(app: TestApp) {
    let mut w = app.world().await;
    let path = format!("/api/v1/schools/{}/pickup-settings", w.x.id);
    let put = |token: String, body: Value| {
        let (app, path) = (&app, path.clone());
        async move { app.send("PUT", &path, Some(&token), Some(&body), &[]).await }
    };
    put(w.x.parent.token.clone(), json!({"dismissal_times": []}))
        .await
        .expect_problem(403, "forbidden_role");
    let r = put(
        w.x.admin.token.clone(),
        json!({"late_threshold_minutes": 3, "dismissal_times": []}),
    )
    .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "late_threshold_minutes");
    put(
        w.x.admin.token.clone(),
        json!({"dismissal_times": [{"time": "15:00"}]}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let set = put(
        w.x.admin.token.clone(),
        json!({"late_threshold_minutes": 10,
               "dismissal_times": [{"weekday": "mon", "grade": 1, "time": "15:00"}],
               "closed_dates": ["2026-12-01"]}),
    )
    .await
    .expect(200);
    assert_eq!(set["default_dismissal_time"], "16:30");
    let got = app.get(&path, &w.x.guard.token).await.expect(200);
    assert_eq!(got, set);
    assert_eq!(got["closed_dates"][0], "2026-12-01");
    let board = app
        .get(
            &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    assert_eq!(board["dismissal_time"], "15:00");
    // Grade 1 on Monday leaves at 15:00; ten minutes later the family hears.
    app.advance(&mut w, Duration::minutes(7 * 60 + 9)).await;
    assert_eq!(app.run_late_pickup().await, 0);
    app.advance(&mut w, Duration::minutes(1)).await;
    assert_eq!(app.run_late_pickup().await, 1);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.late").await, 1);
    // Tuesday is a holiday at school X, not at school Y.
    app.advance(&mut w, Duration::hours(26) + Duration::minutes(20))
        .await; // Tue 17:30
    assert_eq!(app.run_late_pickup().await, 1);
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.late").await, 1);
    assert_eq!(app.notes(&w.y.parent.user_id, "pickup.late").await, 1);
}

async fn guardian_records_consent_for_an_older_pupil_to_go_home_alone(app: TestApp) {
    let w = app.world().await;
    let class = app.create_class(&w.x.admin, &w.x.id, 4, None).await;
    let pupil = app
        .create_student(&w.x.admin, &w.x.id, &class, "pupil-older", 4)
        .await;
    let dad = app
        .create_user(&w.x.admin, "parent", "older.dad", None)
        .await;
    app.add_guardian(&w.x.admin, &pupil, &dad, "father").await;
    let dad = app.login("older.dad", PASSWORD).await;
    let path = format!("/api/v1/students/{pupil}/dismissal-mode");
    let set = app
        .send(
            "PUT",
            &path,
            Some(&dad.token),
            Some(&json!({"mode": "alone"})),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(set["mode"], "alone");
    assert!(set["approved_by"].is_null());
    // Only the family or the school admin decides.
    app.send(
        "PUT",
        &path,
        Some(&w.x.teacher.token),
        Some(&json!({"mode": "bus"})),
        &[],
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.send(
        "PUT",
        &path,
        Some(&w.x.parent.token),
        Some(&json!({"mode": "bus"})),
        &[],
    )
    .await
    .expect_problem(404, "not_found");
    app.send(
        "PUT",
        &path,
        Some(&dad.token),
        Some(&json!({"mode": "walk"})),
        &[],
    )
    .await
    .expect_problem(422, "invalid_field");
    let board = app
        .get(
            &format!("/api/v1/classes/{class}/dismissal"),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    assert_eq!(board["students"][0]["state"], "alone");
    assert_eq!(board["students"][0]["handover_required"], false);
    assert_eq!(
        app.notes(&dad.user_id, "pickup.dismissal_mode_changed")
            .await,
        1
    );
    assert_eq!(app.audits("pickup.dismissal_mode").await, 1);
}

async fn a_guardian_on_the_never_release_list_is_refused_and_told_nothing(app: TestApp) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    let dad = app.create_user(&w.x.admin, "parent", "x.dad", None).await;
    app.post(
        &format!("/api/v1/students/{s}/guardians"),
        &w.x.admin.token,
        json!({"user_id": dad, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/students/{s}/pickup-blocks"),
        &w.x.admin.token,
        json!({"name": "x.dad", "note": "custody order", "court_order": true,
               "court_order_ref": "custody order"}),
    )
    .await
    .expect(201);
    to_dismissal(&app, &mut w).await;
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "guardian_user_id": dad}),
    )
    .await
    .expect_problem(403, "pickup_blocked");
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "pickup.blocked_attempt")
            .await,
        1
    );
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.released").await, 1);
    assert_eq!(app.notes(&dad, "pickup.blocked_attempt").await, 0);
    assert_eq!(app.notes(&dad, "pickup.released").await, 0);
    // Nor can they read who takes the child, or issue passes.
    let dad = app.login("x.dad", PASSWORD).await;
    app.get(&format!("/api/v1/students/{s}/handovers"), &dad.token)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/students/{s}/pickup-persons"), &dad.token)
        .await
        .expect_problem(404, "not_found");
    issue_pass(&app, &dad, &s, json!({"date": "2026-11-30"}))
        .await
        .expect_problem(404, "not_found");
}

async fn a_pupil_absent_or_on_leave_is_not_handed_over_and_not_chased(app: TestApp) {
    let w = app.world().await;
    let pupil = &w.x.student_id;
    let mum = json!({"student_id": pupil, "guardian_user_id": w.x.parent.user_id});
    let roll_calls = format!("/api/v1/classes/{}/roll-calls", w.x.class_id);
    let roll_call = |period: i32, absent: Vec<&str>| {
        app.post(
            &roll_calls,
            &w.x.teacher.token,
            json!({"date": "2026-11-30", "period": period, "absent": absent}),
        )
    };
    // 08:00: absent at the first period.
    roll_call(1, vec![pupil.as_str()]).await.expect(201);
    app.post("/api/v1/handovers", &w.x.guard.token, mum.clone())
        .await
        .expect_problem(409, "student_absent");
    let board = app
        .get(
            &format!("/api/v1/classes/{}/dismissal", w.x.class_id),
            &w.x.guard.token,
        )
        .await
        .expect(200);
    assert_eq!(board["students"][0]["state"], "absent", "{board}");
    // Past the late threshold nobody is chased about a pupil who is not here.
    app.clock.advance(chrono::Duration::hours(9));
    let chased = format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE template = 'pickup.late' AND user_id IN ('{}', '{}')",
        w.x.parent.user_id, w.y.parent.user_id
    );
    app.run_late_pickup().await;
    // School Y's pupil is waiting and is chased; school X's absent pupil is not.
    assert_eq!(
        app.query_i64(chased.replace(&w.x.parent.user_id, "-"))
            .await,
        1
    );
    assert_eq!(
        app.query_i64(chased.replace(&w.y.parent.user_id, "-"))
            .await,
        0
    );
    // Came late: present at a later period, so the mother may take her.
    // (The morning's tokens have expired: everyone signs in again.)
    let teacher = app.login("sch-x.teacher", PASSWORD).await;
    let guard = app.login("sch-x.guard", PASSWORD).await;
    app.post(
        &roll_calls,
        &teacher.token,
        json!({"date": "2026-11-30", "period": 6, "absent": []}),
    )
    .await
    .expect(201);
    app.post("/api/v1/handovers", &guard.token, mum.clone())
        .await
        .expect(201);

    // School Y's pupil has an approved leave covering now: the gate uses the leave exit.
    let now = app.clock.now_ts();
    let starts = chrono::DateTime::from_timestamp(now - 600, 0)
        .unwrap()
        .to_rfc3339();
    let ends = chrono::DateTime::from_timestamp(now + 7200, 0)
        .unwrap()
        .to_rfc3339();
    let leave = app
        .post(
            "/api/v1/leave-requests",
            &app.login("sch-y.parent", PASSWORD).await.token,
            json!({"student_id": w.y.student_id, "kind": "family", "starts_at": starts, "ends_at": ends,
                   "reason": "family visit", "leaves_campus": true}),
        )
        .await
        .expect(201);
    app.post(
        &format!(
            "/api/v1/leave-requests/{}/decision",
            leave["id"].as_str().unwrap()
        ),
        &app.login("sch-y.teacher", PASSWORD).await.token,
        json!({"approve": true}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/handovers",
        &app.login("sch-y.guard", PASSWORD).await.token,
        json!({"student_id": w.y.student_id, "guardian_user_id": w.y.parent.user_id}),
    )
    .await
    .expect_problem(409, "student_on_leave");
    assert_eq!(app.count("handovers").await, 1);
}

async fn authority_ends_with_the_guardian_who_gave_it(app: TestApp) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    // A second guardian, not primary.
    let dad_id = app
        .create_user(&w.x.admin, "parent", "sch-x.dad", None)
        .await;
    app.post(
        &format!("/api/v1/students/{s}/guardians"),
        &w.x.admin.token,
        json!({"user_id": dad_id, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    let dad = app.login("sch-x.dad", PASSWORD).await;
    // Only a primary guardian may issue a pass that names nobody.
    issue_pass(&app, &dad, &s, json!({"date": "2026-11-30"}))
        .await
        .expect_problem(403, "primary_guardian_required");
    // The mother issues an open pass; then a court order bars her.
    let open = issue_pass(&app, &w.x.parent, &s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/students/{s}/pickup-blocks"),
        &w.x.admin.token,
        json!({"name": "sch-x.parent", "note": "court order 2026-7", "court_order": true,
               "court_order_ref": "2026-7"}),
    )
    .await
    .expect(201);
    to_dismissal(&app, &mut w).await;
    // Her friend with her pass is refused: the authority died with hers.
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": open["code"], "presented": {"name": "A Friend"}}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    // A disabled guardian takes no one.
    app.post(
        &format!("/api/v1/users/{dad_id}/disable"),
        &w.x.admin.token,
        json!({}),
    )
    .await
    .expect(200);
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "guardian_user_id": dad_id}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    assert_eq!(app.count("handovers").await, 0);
}

async fn history_dates_outside_any_school_year_are_refused(app: TestApp) {
    let w = app.world().await;
    let s = &w.x.student_id;
    for q in ["to=1000-01-01", "from=2999-01-01&to=2026-11-30"] {
        app.get(
            &format!("/api/v1/students/{s}/handovers?{q}"),
            &w.x.parent.token,
        )
        .await
        .expect_problem(422, "invalid_field");
        app.get(
            &format!("/api/v1/students/{s}/attendance?{q}"),
            &w.x.parent.token,
        )
        .await
        .expect_problem(422, "invalid_field");
    }
    app.get(
        &format!("/api/v1/students/{s}/handovers?to=2026-11-30"),
        &w.x.parent.token,
    )
    .await
    .expect(200);
}

async fn a_name_in_full_width_or_with_hidden_characters_does_not_slip_past_a_block(app: TestApp) {
    let mut w = app.world().await;
    let s = &w.x.student_id.clone();
    app.post(
        &format!("/api/v1/students/{s}/pickup-blocks"),
        &w.x.parent.token,
        json!({"name": "Wang Jun", "note": "court order 2026-124", "court_order": true}),
    )
    .await
    .expect(201);
    let open = issue_pass(&app, &w.x.parent, s, json!({"date": "2026-11-30"}))
        .await
        .expect(201);
    to_dismissal(&app, &mut w).await;
    // Full-width letters, as some phone keyboards type them, are the same name.
    handover(
        &app,
        &w.x.guard,
        json!({"student_id": s, "pass_code": open["code"],
               "presented": {"name": "\u{FF37}\u{FF41}\u{FF4E}\u{FF47} \u{FF2A}\u{FF55}\u{FF4E}"}}),
    )
    .await
    .expect_problem(403, "pickup_blocked");
    // Invisible and direction-changing characters are refused outright.
    for name in ["Wang\u{200B}Jun", "\u{202E}nuJ gnaW", "Wang Jun\u{FEFF}"] {
        handover(
            &app,
            &w.x.guard,
            json!({"student_id": s, "pass_code": open["code"], "presented": {"name": name}}),
        )
        .await
        .expect_problem(422, "invalid_field");
        app.post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": name, "relation": "uncle", "phone": "13900000019",
                   "valid_from": "2026-11-30", "valid_until": "2027-01-31"}),
        )
        .await
        .expect_problem(422, "invalid_field");
    }
    assert_eq!(app.count("handovers").await, 0);
}

on_both_databases!(
    a_name_in_full_width_or_with_hidden_characters_does_not_slip_past_a_block,
    history_dates_outside_any_school_year_are_refused,
    authority_ends_with_the_guardian_who_gave_it,
    a_pupil_absent_or_on_leave_is_not_handed_over_and_not_chased,
    guardian_handover_releases_once_and_tells_the_family,
    delegate_is_released_only_inside_validity_window_and_weekdays,
    revoked_delegate_is_refused_and_the_entry_is_kept,
    blocked_person_is_refused_even_with_a_valid_pass_and_everyone_is_alerted,
    one_time_pass_is_refused_the_second_time,
    another_students_pass_is_refused,
    cancelled_pass_is_refused,
    pass_for_today_after_the_cutoff_is_refused,
    unauthorised_attempt_is_refused_alerted_and_audited,
    another_school_cannot_release_or_see_the_pupil,
    late_pickup_escalates_at_the_threshold_and_twice_it_without_repeats,
    dispute_alerts_head_teacher_and_school_admin,
    dismissal_board_shows_each_state_and_who_may_take_whom,
    handover_retried_with_idempotency_key_releases_and_alerts_once,
    pickup_person_input_is_checked_and_only_primary_guardians_add,
    school_sets_dismissal_times_threshold_and_closed_days,
    guardian_records_consent_for_an_older_pupil_to_go_home_alone,
    a_guardian_on_the_never_release_list_is_refused_and_told_nothing,
);
