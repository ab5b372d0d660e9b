//! Concerns (issue 15): any adult at the school writes down what they saw,
//! the principal and the counsellors they name hear of it at once and triage it, a
//! case grows from it with the link kept both ways, and a pupil's
//! chronology puts every concern, case line and unexcused absence in one
//! ordered line.

use crate::support::{Session, TestApp, World, PASSWORD};
use chrono::Duration;
use serde_json::{json, Value};

const REASON: &[(&str, &str)] = &[("X-Access-Reason", "safeguarding review")];

fn concern(w: &World, what: &str) -> Value {
    json!({"student_ids": [w.x.student_id], "what_happened": what,
           "where": "the east gate", "when": "2026-11-29T23:50:00Z",
           "child_words": "he said not to tell my mum"})
}

/// Notifications of a user with this template.
async fn alerts(app: &TestApp, user_id: &str, template: &str) -> i64 {
    app.query_i64(format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{user_id}' AND template = '{template}'"
    ))
    .await
}

/// A counsellor the principal named a safeguarding handler.
async fn counsellor(app: &TestApp, w: &World, username: &str) -> Session {
    let id = app
        .create_user(&w.x.admin, "counselor", username, None)
        .await;
    app.name_lead(&w.x.admin, &w.x.id, &id).await;
    app.login(username, PASSWORD).await
}

async fn triage(app: &TestApp, by: &Session, id: &str, body: Value) -> crate::support::Resp {
    app.post(&format!("/api/v1/concerns/{id}/triage"), &by.token, body)
        .await
}

async fn a_guards_concern_reaches_the_principal_at_once_and_its_case_links_both_ways(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let counselor = counsellor(&app, &w, "x.counselor").await;
    let c = app
        .post(
            "/api/v1/concerns",
            &w.x.guard.token,
            concern(&w, "A man waited by the gate and called the pupil over"),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["kind"], "observation");
    assert_eq!(c["status"], "open");
    assert_eq!(c["author_id"], w.x.guard.user_id.as_str());
    assert_eq!(c["students"][0]["id"], w.x.student_id.as_str());

    // The principal and the counsellor are told at once, with no pupil.
    assert_eq!(alerts(&app, &w.x.admin.user_id, "concerns.logged").await, 1);
    assert_eq!(alerts(&app, &counselor.user_id, "concerns.logged").await, 1);
    for nobody in [&w.x.guard, &w.x.teacher, &w.x.parent, &w.y.admin] {
        assert_eq!(alerts(&app, &nobody.user_id, "concerns.logged").await, 0);
    }
    let feed = app
        .get("/api/v1/me/notifications", &w.x.admin.token)
        .await
        .expect(200)
        .to_string();
    assert!(feed.contains("concerns.logged"), "{feed}");
    assert!(!feed.contains("pupil-sch-x"), "{feed}");

    // The author sees their own; the head teacher does not see a guard's
    // observation, another school nothing, a family never.
    let mine = app
        .get("/api/v1/concerns", &w.x.guard.token)
        .await
        .expect(200);
    assert_eq!(mine["items"][0]["id"], id.as_str());
    let theirs = app
        .get("/api/v1/concerns", &w.x.teacher.token)
        .await
        .expect(200);
    assert!(theirs["items"].as_array().unwrap().is_empty(), "{theirs}");
    for outsider in [&w.x.teacher, &w.y.admin] {
        app.get(&format!("/api/v1/concerns/{id}"), &outsider.token)
            .await
            .expect_problem(404, "not_found");
    }
    app.get("/api/v1/concerns", &w.x.parent.token)
        .await
        .expect_problem(403, "forbidden_role");
    let queue = app
        .get("/api/v1/concerns?status=open", &counselor.token)
        .await
        .expect(200);
    assert_eq!(
        queue["items"][0]["child_words"],
        "he said not to tell my mum"
    );

    // Only the principal and the counsellors triage; a sexual-abuse concern
    // is never dismissed; a case needs its category.
    triage(
        &app,
        &w.x.guard,
        &id,
        json!({"decision": "monitor", "note": "x"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    triage(
        &app,
        &w.y.admin,
        &id,
        json!({"decision": "monitor", "note": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    triage(
        &app,
        &counselor,
        &id,
        json!({"decision": "no_action", "note": "nothing", "category": "sexual_abuse"}),
    )
    .await
    .expect_problem(422, "concern_mandatory");
    triage(
        &app,
        &w.x.admin,
        &id,
        json!({"decision": "open_case", "note": "x"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    assert_eq!(
        app.count("cases").await,
        0,
        "a refused triage changes nothing"
    );
    let after = app
        .get(&format!("/api/v1/concerns/{id}"), &counselor.token)
        .await
        .expect(200);
    assert_eq!(after["status"], "open");
    assert!(after["triage"].is_null());

    let triaged = triage(
        &app,
        &w.x.admin,
        &id,
        json!({"decision": "open_case", "note": "Police called; the guard saw grooming",
               "category": "grooming_online"}),
    )
    .await
    .expect(200);
    assert_eq!(triaged["status"], "case_opened");
    assert_eq!(triaged["triage"]["decision"], "open_case");
    let case_id = triaged["case_id"].as_str().unwrap().to_string();

    // The case names the concern; the bureau has it at once.
    let case = app
        .send(
            "GET",
            &format!("/api/v1/cases/{case_id}"),
            Some(&officer.token),
            None,
            REASON,
        )
        .await
        .expect(200);
    assert_eq!(case["source"]["kind"], "concern");
    assert_eq!(case["source"]["ref_id"], id.as_str());
    assert_eq!(case["category"], "grooming_online");
    assert_eq!(alerts(&app, &officer.user_id, "cases.opened").await, 1);
    // And the concern shows the case to its author.
    let seen = app
        .get(&format!("/api/v1/concerns/{id}"), &w.x.guard.token)
        .await
        .expect(200);
    assert_eq!(seen["case_id"], case_id.as_str());
    // Triaged once.
    triage(
        &app,
        &counselor,
        &id,
        json!({"decision": "monitor", "note": "again"}),
    )
    .await
    .expect_problem(409, "concern_settled");
    // A case names only a source of its school.
    let mut body = json!({"school_id": w.x.id, "student_ids": [w.x.student_id],
        "category": "other_violence", "source": {"kind": "concern", "ref_id": "nope"},
        "summary": "s", "suspect": {"kind": "unknown"}});
    app.post("/api/v1/cases", &w.x.admin.token, body.clone())
        .await
        .expect_problem(404, "not_found");
    body["source"] = json!({"kind": "handover", "ref_id": id});
    app.post("/api/v1/cases", &w.x.admin.token, body)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(app.count("cases").await, 1);
}

async fn the_chronology_shows_the_concern_the_case_and_an_unexcused_absence_in_order(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let counselor = counsellor(&app, &w, "x.counselor").await;
    let s = w.x.student_id.as_str();
    app.post(
        &format!("/api/v1/classes/{}/roll-calls", w.x.class_id),
        &w.x.teacher.token,
        json!({"date": "2026-11-30", "period": 1, "absent": [s]}),
    )
    .await
    .expect(201);
    app.clock.advance(Duration::minutes(5));
    let c = app
        .post(
            "/api/v1/concerns",
            &w.x.teacher.token,
            concern(&w, "Bruises on both arms; the pupil would not say how"),
        )
        .await
        .expect(201);
    app.clock.advance(Duration::minutes(5));
    let triaged = triage(
        &app,
        &counselor,
        c["id"].as_str().unwrap(),
        json!({"decision": "open_case", "note": "Opening a case", "category": "unexplained_injury"}),
    )
    .await
    .expect(200);
    let case_id = triaged["case_id"].as_str().unwrap();

    let counselor = app.relog(&counselor).await;
    let officer = app.relog(&officer).await;
    let teacher = app.relog(&w.x.teacher).await;
    let y_admin = app.relog(&w.y.admin).await;
    let path = format!("/api/v1/students/{s}/chronology");
    app.get(&path, &counselor.token)
        .await
        .expect_problem(428, "access_reason_required");
    let chron = app
        .send("GET", &path, Some(&counselor.token), None, REASON)
        .await
        .expect(200);
    let kinds: Vec<&str> = chron["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["unexcused_absence", "concern", "case_opened"],
        "{chron}"
    );
    assert_eq!(chron["items"][1]["ref_id"], c["id"]);
    assert_eq!(chron["items"][2]["ref_id"], case_id);
    let at: Vec<&str> = chron["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["at"].as_str().unwrap())
        .collect();
    assert!(at.windows(2).all(|p| p[0] <= p[1]), "{at:?}");
    // The bureau reads it too; each read is audited with its reason.
    app.send("GET", &path, Some(&officer.token), None, REASON)
        .await
        .expect(200);
    let reads = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{s}' AND action = 'chronology.read reason=safeguarding review'"
        ))
        .await;
    assert_eq!(reads, 2);
    // Nobody else: a teacher's role is refused, another school is a 404.
    app.send("GET", &path, Some(&teacher.token), None, REASON)
        .await
        .expect_problem(403, "forbidden_role");
    app.send("GET", &path, Some(&y_admin.token), None, REASON)
        .await
        .expect_problem(404, "not_found");
    // A counsellor suspected in a case about the pupil sees no chronology.
    let suspect = counsellor(&app, &w, "x.counselor2").await;
    app.post(
        "/api/v1/cases",
        &app.relog(&w.x.admin).await.token,
        json!({"school_id": w.x.id, "student_ids": [s], "category": "sexual_harassment",
               "source": {"kind": "observation"}, "summary": "about a counsellor",
               "suspect": {"kind": "staff", "user_id": suspect.user_id}}),
    )
    .await
    .expect(201);
    app.send("GET", &path, Some(&suspect.token), None, REASON)
        .await
        .expect_problem(404, "not_found");
}

/// Only the counsellors the principal names are handlers: an unnamed one is
/// not alerted, sees only their own concerns, cannot triage and does not
/// see the school's cases; naming makes them a handler at once, and
/// withdrawing the designation undoes it at once.
async fn only_the_counsellors_the_principal_names_handle_concerns_and_cases(app: TestApp) {
    let w = app.world().await;
    app.vetting_officer().await;
    let id = app
        .create_user(&w.x.admin, "counselor", "x.counselor", None)
        .await;
    let c = app.login("x.counselor", PASSWORD).await;
    let leads = format!("/api/v1/schools/{}/safeguarding-leads", w.x.id);
    let lead = format!("{leads}/{id}");

    // Not named: no alert, no queue, no triage, no case.
    let first = app
        .post(
            "/api/v1/concerns",
            &w.x.teacher.token,
            concern(&w, "A bruise"),
        )
        .await
        .expect(201);
    let first = first["id"].as_str().unwrap().to_string();
    assert_eq!(alerts(&app, &c.user_id, "concerns.logged").await, 0);
    let queue = app.get("/api/v1/concerns", &c.token).await.expect(200);
    assert_eq!(queue["items"], json!([]));
    app.get(&format!("/api/v1/concerns/{first}"), &c.token)
        .await
        .expect_problem(404, "not_found");
    triage(
        &app,
        &c,
        &first,
        json!({"decision": "monitor", "note": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let case = app
        .post(
            "/api/v1/cases",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "student_ids": [w.x.student_id],
                   "category": "other_violence", "source": {"kind": "observation"},
                   "summary": "a fight", "suspect": {"kind": "unknown"}}),
        )
        .await
        .expect(201);
    let case_path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    assert!(!case["handler_ids"].as_array().unwrap().contains(&json!(id)));
    app.send("GET", &case_path, Some(&c.token), None, REASON)
        .await
        .expect_problem(404, "not_found");

    // Only the principal names, only a counsellor of the school, and any
    // staff sees who the handlers are.
    for (who, status, code) in [
        (&w.x.teacher, 403, "forbidden_role"),
        (&w.district_admin, 403, "forbidden_role"),
        (&w.y.admin, 404, "not_found"),
    ] {
        app.send("PUT", &lead, Some(&who.token), None, &[])
            .await
            .expect_problem(status, code);
    }
    let teacher = format!("{leads}/{}", w.x.teacher.user_id);
    app.send("PUT", &teacher, Some(&w.x.admin.token), None, &[])
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(
        app.count("safeguarding_leads").await,
        0,
        "refusals change nothing"
    );
    let named = app
        .send("PUT", &lead, Some(&w.x.admin.token), None, &[])
        .await
        .expect(200);
    let roles: Vec<&str> = named
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles.len(), 2, "{named}");
    assert!(roles.contains(&"counselor") && roles.contains(&"school_admin"));
    let seen = app.get(&leads, &w.x.guard.token).await.expect(200);
    assert_eq!(seen, named);
    app.get(&leads, &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");

    // Named: the queue, the triage, the next alert and the case, at once.
    let queue = app.get("/api/v1/concerns", &c.token).await.expect(200);
    assert_eq!(queue["items"][0]["id"], first.as_str());
    app.send("GET", &case_path, Some(&c.token), None, REASON)
        .await
        .expect(200);
    app.post(
        "/api/v1/concerns",
        &w.x.guard.token,
        concern(&w, "A stranger"),
    )
    .await
    .expect(201);
    assert_eq!(alerts(&app, &c.user_id, "concerns.logged").await, 1);
    triage(
        &app,
        &c,
        &first,
        json!({"decision": "monitor", "note": "watching"}),
    )
    .await
    .expect(200);

    // Withdrawn: back to staff like any other.
    app.send("DELETE", &lead, Some(&w.x.admin.token), None, &[])
        .await
        .expect(204);
    app.send("DELETE", &lead, Some(&w.x.admin.token), None, &[])
        .await
        .expect_problem(404, "not_found");
    app.send("GET", &case_path, Some(&c.token), None, REASON)
        .await
        .expect_problem(404, "not_found");
    let queue = app.get("/api/v1/concerns", &c.token).await.expect(200);
    assert_eq!(queue["items"], json!([]));
    let trail = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'safeguarding_lead.%' AND target_id = '{id}'"
        ))
        .await;
    assert_eq!(trail, 2, "naming and withdrawing are audited");
}

on_both_databases!(
    a_guards_concern_reaches_the_principal_at_once_and_its_case_links_both_ways,
    the_chronology_shows_the_concern_the_case_and_an_unexcused_absence_in_order,
    only_the_counsellors_the_principal_names_handle_concerns_and_cases,
);
