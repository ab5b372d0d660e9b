//! The gate, from the viewpoint of the pupils behind it: nobody comes in
//! unregistered or unapproved, and nobody on the watch list comes in at all.

use crate::support::{Session, TestApp, World, NOON, PASSWORD, TEN};
use serde_json::{json, Value};

/// Notifications of a user with this template.
async fn alerts(app: &TestApp, user_id: &str, template: &str) -> i64 {
    app.query_i64(format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{user_id}' AND template = '{template}'"
    ))
    .await
}

fn visit(w: &World, name: &str, phone: &str, from: &str, until: &str) -> Value {
    json!({"school_id": w.x.id, "visitor": {"name": name, "phone": phone},
           "purpose": "meeting the head teacher", "window": {"from": from, "until": until}})
}

fn walk_in(school: &str, host: &str, name: &str, phone: &str) -> Value {
    json!({"school_id": school, "visitor": {"name": name, "phone": phone},
           "purpose": "delivery", "host_user_id": host})
}

async fn check_in_code(app: &TestApp, guard: &Session, code: &str) -> crate::support::Resp {
    app.post("/api/v1/gate/check-in", &guard.token, json!({"code": code}))
        .await
}

async fn a_pre_registered_visitor_comes_in_once_inside_the_window_and_never_outside(app: TestApp) {
    let mut w = app.world().await;
    let mut body = visit(&w, "Zhao Min", "13900000001", TEN, NOON);
    body["visitor"]["id_number"] = json!("110105194912310021");
    body["vehicle_plate"] = json!("京A·12345");
    let reg = app
        .post("/api/v1/visits", &w.x.teacher.token, body)
        .await
        .expect(201);
    let code = reg["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert!(reg["qr"].as_str().unwrap().contains(&code));
    assert_eq!(reg["visit"]["status"], "expected");
    assert_eq!(reg["visit"]["visitor"]["id_last4"], "0021");
    // Neither the code nor the ID number is stored as given.
    let kept = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM visits WHERE code_hash = '{code}' OR id_hmac = '110105194912310021' OR id_last4 <> '0021'"
        ))
        .await;
    assert_eq!(kept, 0);
    // 08:00: before the window.
    check_in_code(&app, &w.x.guard, &code)
        .await
        .expect_problem(409, "visit_outside_window");
    // Another school's guard does not know the code.
    check_in_code(&app, &w.y.guard, &code)
        .await
        .expect_problem(404, "not_found");
    // 10:30: inside, once.
    app.advance(&mut w, chrono::Duration::minutes(150)).await;
    let inside = check_in_code(&app, &w.x.guard, &code).await.expect(200);
    assert_eq!(inside["status"], "on_site");
    check_in_code(&app, &w.x.guard, &code)
        .await
        .expect_problem(409, "visit_code_used");
    let log = format!("/api/v1/schools/{}/visits?on_site=true", w.x.id);
    let on_site = app.get(&log, &w.x.guard.token).await.expect(200);
    assert_eq!(on_site["items"].as_array().unwrap().len(), 1);
    app.get(&log, &w.y.guard.token)
        .await
        .expect_problem(404, "not_found");
    app.get(&log, &w.x.teacher.token)
        .await
        .expect_problem(403, "forbidden_role");
    // A second visit for 10:00–12:00, tried at 12:30: refused.
    let late = app
        .post(
            "/api/v1/visits",
            &w.x.teacher.token,
            visit(&w, "Qian Lu", "13900000002", TEN, NOON),
        )
        .await
        .expect(201);
    app.advance(&mut w, chrono::Duration::minutes(120)).await;
    check_in_code(&app, &w.x.guard, late["code"].as_str().unwrap())
        .await
        .expect_problem(409, "visit_outside_window");
    // The first visitor leaves; the day's log keeps both visits.
    let id = inside["id"].as_str().unwrap();
    let out = app
        .post(
            &format!("/api/v1/visits/{id}/check-out"),
            &w.x.guard.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(out["status"], "left");
    let on_site = app.get(&log, &w.x.guard.token).await.expect(200);
    assert!(on_site["items"].as_array().unwrap().is_empty());
    let day = app
        .get(
            &format!("/api/v1/schools/{}/visits?on=2026-11-30", w.x.id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    assert_eq!(day["items"].as_array().unwrap().len(), 2);
}

async fn a_walk_in_waits_for_the_host(app: TestApp) {
    let w = app.world().await;
    let waiting = app
        .post(
            "/api/v1/gate/check-in",
            &w.x.guard.token,
            walk_in(&w.x.id, &w.x.teacher.user_id, "Sun Hao", "13900000003"),
        )
        .await
        .expect(200);
    assert_eq!(waiting["status"], "pending_host");
    assert_eq!(
        alerts(&app, &w.x.teacher.user_id, "gate.visitor_waiting").await,
        1
    );
    let id = waiting["id"].as_str().unwrap();
    let on_site = format!("/api/v1/schools/{}/visits?on_site=true", w.x.id);
    let inside = app.get(&on_site, &w.x.guard.token).await.expect(200);
    assert!(inside["items"].as_array().unwrap().is_empty());
    // Nobody but the host or the school admin decides; others do not see it.
    for who in [&w.x.guard, &w.y.admin] {
        app.post(
            &format!("/api/v1/visits/{id}/approve"),
            &who.token,
            json!({}),
        )
        .await
        .expect_problem(404, "not_found");
    }
    let approved = app
        .post(
            &format!("/api/v1/visits/{id}/approve"),
            &w.x.teacher.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved["status"], "on_site");
    assert_eq!(
        alerts(&app, &w.x.guard.user_id, "gate.visit_decided").await,
        1
    );
    app.post(
        &format!("/api/v1/visits/{id}/approve"),
        &w.x.teacher.token,
        json!({}),
    )
    .await
    .expect_problem(409, "visit_not_pending");
    let inside = app.get(&on_site, &w.x.guard.token).await.expect(200);
    assert_eq!(inside["items"].as_array().unwrap().len(), 1);
    // The school admin refuses another walk-in: it never comes in.
    let other = app
        .post(
            "/api/v1/gate/check-in",
            &w.x.guard.token,
            walk_in(&w.x.id, &w.x.teacher.user_id, "Li Si", "13900000004"),
        )
        .await
        .expect(200);
    let other = other["id"].as_str().unwrap();
    let refused = app
        .post(
            &format!("/api/v1/visits/{other}/refuse"),
            &w.x.admin.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(refused["status"], "refused");
    app.post(
        &format!("/api/v1/visits/{other}/check-out"),
        &w.x.guard.token,
        json!({}),
    )
    .await
    .expect_problem(409, "visit_not_on_site");
    // A walk-in's host must work at the school.
    app.post(
        "/api/v1/gate/check-in",
        &w.x.guard.token,
        walk_in(&w.x.id, &w.y.teacher.user_id, "Zhou Wu", "13900000005"),
    )
    .await
    .expect_problem(422, "invalid_field");
}

async fn a_never_release_person_trying_to_visit_is_refused_and_the_principal_alerted(app: TestApp) {
    let w = app.world().await;
    app.post(
        &format!("/api/v1/students/{}/pickup-blocks", w.x.student_id),
        &w.x.admin.token,
        json!({"name": "Wang Jun", "phone": "13900000009", "note": "protective order"}),
    )
    .await
    .expect(201);
    // The same name in full-width letters (NFKC) is the same person.
    let r = app
        .post(
            "/api/v1/gate/check-in",
            &w.x.guard.token,
            walk_in(
                &w.x.id,
                &w.x.teacher.user_id,
                "Ｗａｎｇ Ｊｕｎ",
                "13800000000",
            ),
        )
        .await;
    r.expect_problem(403, "visitor_on_watch_list");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("never-release"));
    assert_eq!(
        alerts(&app, &w.x.admin.user_id, "gate.watch_list_hit").await,
        1
    );
    assert_eq!(
        alerts(&app, &w.x.teacher.user_id, "gate.watch_list_hit").await,
        1
    );
    // The refusal is kept in the log.
    let barred = app
        .query_i64("SELECT COUNT(*) AS n FROM visits WHERE status = 'barred'".into())
        .await;
    assert_eq!(barred, 1);
    // A pre-registered visit under another name, with the barred phone.
    let reg = app
        .post(
            "/api/v1/visits",
            &w.x.teacher.token,
            visit(
                &w,
                "Someone Else",
                "+86 139 0000 0009",
                "2026-11-30T00:00:00Z",
                NOON,
            ),
        )
        .await
        .expect(201);
    check_in_code(&app, &w.x.guard, reg["code"].as_str().unwrap())
        .await
        .expect_problem(403, "visitor_on_watch_list");
    assert_eq!(
        alerts(&app, &w.x.admin.user_id, "gate.watch_list_hit").await,
        2
    );
    // School Y's pupils have no such order: the same person may visit Y.
    app.post(
        "/api/v1/gate/check-in",
        &w.y.guard.token,
        walk_in(&w.y.id, &w.y.teacher.user_id, "Wang Jun", "13800000000"),
    )
    .await
    .expect(200);
    // The school admin bans a car; a walk-in in it is refused, until lifted.
    let ban = app
        .post(
            &format!("/api/v1/schools/{}/watch-list", w.x.id),
            &w.x.admin.token,
            json!({"name": "Unknown driver", "vehicle_plate": "沪B 99999", "note": "loitering"}),
        )
        .await
        .expect(201);
    let mut by_car = walk_in(&w.x.id, &w.x.teacher.user_id, "Ma Liu", "13700000000");
    by_car["vehicle_plate"] = json!("沪b99999");
    app.post("/api/v1/gate/check-in", &w.x.guard.token, by_car.clone())
        .await
        .expect_problem(403, "visitor_on_watch_list");
    let list = app
        .get(
            &format!("/api/v1/schools/{}/watch-list", w.x.id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    let sources: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"ban") && sources.contains(&"never_release"));
    // Another school's admin neither sees nor lifts it.
    app.get(
        &format!("/api/v1/schools/{}/watch-list", w.x.id),
        &w.y.admin.token,
    )
    .await
    .expect_problem(404, "not_found");
    let lift = format!("/api/v1/watch-list/{}/lift", ban["id"].as_str().unwrap());
    app.post(&lift, &w.y.admin.token, json!({"note": "x"}))
        .await
        .expect_problem(404, "not_found");
    app.post(
        &lift,
        &w.x.admin.token,
        json!({"note": "a neighbour's car"}),
    )
    .await
    .expect(200);
    app.post(&lift, &w.x.admin.token, json!({"note": "again"}))
        .await
        .expect_problem(409, "already_lifted");
    let later = app
        .post("/api/v1/gate/check-in", &w.x.guard.token, by_car)
        .await
        .expect(200);
    assert_eq!(later["status"], "pending_host");
}

async fn a_vetting_barred_former_guard_is_refused(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    app.create_user(&w.x.admin, "guard", "sch-x.guard2", None)
        .await;
    let guard2 = app.login("sch-x.guard2", PASSWORD).await;
    let former = app
        .get(
            &format!("/api/v1/users/{}", w.x.guard.user_id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    let personnel = former["personnel_id"].as_str().unwrap();
    let on = (app.now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    app.post(
        &format!("/api/v1/personnel/{personnel}/checks"),
        &officer.token,
        json!({"kind": "sexual_offence_record", "checked_on": on, "authority": "District PSB",
               "reference": "Q-1", "result": "hit", "consent_ref": "C-1"}),
    )
    .await
    .expect(201);
    // The former guard comes back as a visitor, to their school and to another.
    let r = app
        .post(
            "/api/v1/gate/check-in",
            &guard2.token,
            walk_in(&w.x.id, &w.x.teacher.user_id, "sch-x.guard", "13600000000"),
        )
        .await;
    r.expect_problem(403, "visitor_on_watch_list");
    assert!(r.json()["detail"].as_str().unwrap().contains("vetting"));
    assert_eq!(
        alerts(&app, &w.x.admin.user_id, "gate.watch_list_hit").await,
        1
    );
    app.post(
        "/api/v1/gate/check-in",
        &w.y.guard.token,
        walk_in(&w.y.id, &w.y.teacher.user_id, "SCH-X.GUARD", "13600000000"),
    )
    .await
    .expect_problem(403, "visitor_on_watch_list");
    // Nor may a walk-in name the barred guard as host.
    app.post(
        "/api/v1/gate/check-in",
        &guard2.token,
        walk_in(&w.x.id, &w.x.guard.user_id, "Chen Yi", "13500000000"),
    )
    .await
    .expect_problem(422, "invalid_field");
    // The school sees the bar, but only the bureau lifts it.
    let list = app
        .get(
            &format!("/api/v1/schools/{}/watch-list", w.x.id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    let bar = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "vetting_hit")
        .expect("the vetting bar is listed")
        .clone();
    app.post(
        &format!("/api/v1/watch-list/{}/lift", bar["id"].as_str().unwrap()),
        &w.x.admin.token,
        json!({"note": "please"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
}

async fn overstay_and_closing_alerts_fire_on_the_clock(app: TestApp) {
    let mut w = app.world().await;
    let reg = app
        .post(
            "/api/v1/visits",
            &w.x.teacher.token,
            visit(&w, "Zhao Min", "13900000001", TEN, "2026-11-30T03:00:00Z"),
        )
        .await
        .expect(201);
    // 10:00 in, window until 11:00.
    app.advance(&mut w, chrono::Duration::hours(2)).await;
    check_in_code(&app, &w.x.guard, reg["code"].as_str().unwrap())
        .await
        .expect(200);
    // 11:20: inside the grace.
    app.advance(&mut w, chrono::Duration::minutes(80)).await;
    app.run_gate_timers().await;
    assert_eq!(alerts(&app, &w.x.teacher.user_id, "gate.overstay").await, 0);
    // 11:31: the host and the guard are told, once.
    app.advance(&mut w, chrono::Duration::minutes(11)).await;
    app.run_gate_timers().await;
    app.run_gate_timers().await;
    for who in [&w.x.teacher, &w.x.guard] {
        assert_eq!(alerts(&app, &who.user_id, "gate.overstay").await, 1);
    }
    assert_eq!(alerts(&app, &w.x.guard.user_id, "gate.closing").await, 0);
    // 18:00, closing: the guard and the principal get who is still inside, once.
    app.advance(&mut w, chrono::Duration::minutes(389)).await;
    app.run_gate_timers().await;
    app.run_gate_timers().await;
    for who in [&w.x.guard, &w.x.admin] {
        assert_eq!(alerts(&app, &who.user_id, "gate.closing").await, 1);
    }
    // School Y has nobody inside: no list.
    assert_eq!(alerts(&app, &w.y.guard.user_id, "gate.closing").await, 0);
}

async fn the_retention_purge_keeps_case_linked_visits(app: TestApp) {
    let w = app.world().await;
    let mut ids = Vec::new();
    for name in ["Kept With Case", "Purged Later"] {
        let reg = app
            .post(
                "/api/v1/visits",
                &w.x.teacher.token,
                visit(&w, name, "13900000001", TEN, NOON),
            )
            .await
            .expect(201);
        ids.push(reg["visit"]["id"].as_str().unwrap().to_string());
    }
    let case = app
        .post(
            "/api/v1/cases",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "student_ids": [w.x.student_id], "category": "other_violence",
                   "source": {"kind": "observation"}, "summary": "a stranger at the gate",
                   "suspect": {"kind": "outsider"}}),
        )
        .await
        .expect(201);
    let link = json!({"case_id": case["id"]});
    // Another school's admin cannot reach the visit.
    app.post(
        &format!("/api/v1/visits/{}/case", ids[0]),
        &w.y.admin.token,
        link.clone(),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/visits/{}/case", ids[0]),
        &w.x.admin.token,
        link,
    )
    .await
    .expect(200);
    let kept = "SELECT visitor_name AS s FROM visits ORDER BY visitor_name";
    // 179 days after the window: both kept.
    app.clock.advance(chrono::Duration::days(179));
    app.run_gate_timers().await;
    assert_eq!(
        app.strings(kept.into()).await,
        ["Kept With Case", "Purged Later"]
    );
    // 181 days after: only the visit the case refers to.
    app.clock.advance(chrono::Duration::days(2));
    app.run_gate_timers().await;
    assert_eq!(app.strings(kept.into()).await, ["Kept With Case"]);
}

on_both_databases!(
    a_pre_registered_visitor_comes_in_once_inside_the_window_and_never_outside,
    a_walk_in_waits_for_the_host,
    a_never_release_person_trying_to_visit_is_refused_and_the_principal_alerted,
    a_vetting_barred_former_guard_is_refused,
    overstay_and_closing_alerts_fire_on_the_clock,
    the_retention_purge_keeps_case_linked_visits,
);
