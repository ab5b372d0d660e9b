//! Cases and mandatory reporting (issue 15), from the viewpoint of the
//! child: every suspicion reaches the bureau at once and the police in
//! time, only the case's handlers see it, the suspect never does, and
//! nothing is deleted.

use crate::support::{Session, TestApp, World, PASSWORD};
use serde_json::{json, Value};

const REASON: &[(&str, &str)] = &[("X-Access-Reason", "handling the case")];

fn new_case(w: &World, category: &str, suspect: Value) -> Value {
    json!({"school_id": w.x.id, "student_ids": [w.x.student_id], "category": category,
           "source": {"kind": "observation"},
           "summary": "Saw an adult touch the pupil inappropriately at the gate",
           "suspect": suspect})
}

async fn open(app: &TestApp, by: &Session, body: Value) -> Value {
    app.post("/api/v1/cases", &by.token, body).await.expect(201)
}

async fn read(app: &TestApp, s: &Session, path: &str) -> crate::support::Resp {
    app.send("GET", path, Some(&s.token), None, REASON).await
}

/// Notifications of a user with this template.
async fn alerts(app: &TestApp, user_id: &str, template: &str) -> i64 {
    app.query_i64(format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{user_id}' AND template = '{template}'"
    ))
    .await
}

async fn a_teachers_observation_goes_to_the_bureau_at_once(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let case = open(
        &app,
        &w.x.teacher,
        new_case(&w, "sexual_harassment", json!({"kind": "outsider"})),
    )
    .await;
    let id = case["id"].as_str().unwrap();
    let number = case["number"].as_str().unwrap();
    assert!(
        number.starts_with("C-") && number.ends_with("-0001"),
        "{number}"
    );
    assert_eq!(case["mandatory"], true);
    assert_eq!(case["status"], "open");
    // The bureau sees it at once, in its list, without pupil names.
    let list = app.get("/api/v1/cases", &officer.token).await.expect(200);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["number"], number);
    assert!(!list.to_string().contains("pupil-sch-x"), "{list}");
    // And is told, with the case number and school only.
    let feed = app
        .get("/api/v1/me/notifications", &officer.token)
        .await
        .expect(200);
    let alert = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["template"] == "cases.opened")
        .unwrap_or_else(|| panic!("no case alert in {feed}"))
        .to_string();
    assert!(alert.contains(number), "{alert}");
    assert!(!alert.contains("pupil-sch-x"), "{alert}");
    assert_eq!(alerts(&app, &w.x.admin.user_id, "cases.opened").await, 1);
    // The whole case needs a reason, and each read is audited with it.
    app.get(&format!("/api/v1/cases/{id}"), &officer.token)
        .await
        .expect_problem(428, "access_reason_required");
    let detail = read(&app, &officer, &format!("/api/v1/cases/{id}"))
        .await
        .expect(200);
    assert_eq!(detail["students"][0]["name"], "pupil-sch-x");
    let reads = app
        .query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{id}' AND action = 'case.read reason=handling the case'"
        ))
        .await;
    assert_eq!(reads, 1);
}

async fn police_alerts_fire_at_one_hour_and_at_a_day(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let case = open(
        &app,
        &w.x.admin,
        new_case(&w, "sexual_abuse", json!({"kind": "unknown"})),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_string();
    let principal = w.x.admin.user_id.clone();
    assert_eq!(app.run_case_timers().await, 0);
    app.clock.advance(chrono::Duration::minutes(59));
    assert_eq!(app.run_case_timers().await, 0, "not yet an hour");
    app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(app.run_case_timers().await, 1, "the 1-hour alert");
    assert_eq!(app.run_case_timers().await, 0, "sent once");
    assert_eq!(alerts(&app, &principal, "cases.police_overdue").await, 1);
    assert_eq!(
        alerts(&app, &officer.user_id, "cases.police_overdue").await,
        1
    );
    let officer = app.relog(&officer).await;
    let overdue = app
        .get("/api/v1/cases?overdue=true", &officer.token)
        .await
        .expect(200);
    assert_eq!(overdue["items"][0]["id"], id.as_str());
    assert_eq!(overdue["items"][0]["overdue"], true);
    app.clock.advance(chrono::Duration::hours(23));
    // The 24-hour alert, and the bureau's acknowledgement is past due.
    assert_eq!(app.run_case_timers().await, 2);
    assert_eq!(alerts(&app, &principal, "cases.police_overdue").await, 2);
    assert_eq!(alerts(&app, &officer.user_id, "cases.ack_overdue").await, 1);
    assert_eq!(alerts(&app, &principal, "cases.ack_overdue").await, 0);
    // Once the police report and the acknowledgement are on record, the
    // case is no longer overdue.
    let officer = app.relog(&officer).await;
    let admin = app.relog(&w.x.admin).await;
    app.post(
        &format!("/api/v1/cases/{id}/police-report"),
        &admin.token,
        json!({"reported_at": app.now().to_rfc3339(), "station": "Xicheng PSB",
               "reference": "110-2026-77", "channel": "phone"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/cases/{id}/bureau-acknowledgement"),
        &officer.token,
        json!({}),
    )
    .await
    .expect(200);
    let overdue = app
        .get("/api/v1/cases?overdue=true", &officer.token)
        .await
        .expect(200);
    assert_eq!(overdue["items"], json!([]));
    app.clock.advance(chrono::Duration::hours(48));
    assert_eq!(app.run_case_timers().await, 0);
}

async fn a_teacher_who_does_not_handle_the_case_gets_404(app: TestApp) {
    let w = app.world().await;
    app.create_user(&w.x.admin, "teacher", "sch-x.other-teacher", None)
        .await;
    let other = app.login("sch-x.other-teacher", PASSWORD).await;
    let case = open(
        &app,
        &w.x.admin,
        new_case(&w, "indecent_exposure", json!({"kind": "outsider"})),
    )
    .await;
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    read(&app, &other, &path)
        .await
        .expect_problem(404, "not_found");
    read(&app, &other, &format!("{path}/timeline"))
        .await
        .expect_problem(404, "not_found");
    app.post(
        &format!("{path}/entries"),
        &other.token,
        json!({"text": "I heard about it"}),
    )
    .await
    .expect_problem(404, "not_found");
    let list = app.get("/api/v1/cases", &other.token).await.expect(200);
    assert_eq!(list["items"], json!([]));
    // Another school's principal neither.
    read(&app, &w.y.admin, &path)
        .await
        .expect_problem(404, "not_found");
    // The pupil's head teacher handles it; a teacher cannot open a case
    // for a pupil of another class.
    read(&app, &w.x.teacher, &path).await.expect(200);
    app.post(
        "/api/v1/cases",
        &other.token,
        new_case(&w, "indecent_exposure", json!({"kind": "outsider"})),
    )
    .await
    .expect_problem(403, "not_head_teacher");
}

async fn the_suspect_cannot_see_the_case_even_as_a_counsellor(app: TestApp) {
    let w = app.world().await;
    let suspect = app
        .create_user(&w.x.admin, "counselor", "sch-x.counselor", None)
        .await;
    let handler = app
        .create_user(&w.x.admin, "counselor", "sch-x.counselor2", None)
        .await;
    app.name_lead(&w.x.admin, &w.x.id, &suspect).await;
    app.name_lead(&w.x.admin, &w.x.id, &handler).await;
    let s = app.login("sch-x.counselor", PASSWORD).await;
    let colleague = app.login("sch-x.counselor2", PASSWORD).await;
    let case = open(
        &app,
        &w.x.admin,
        new_case(
            &w,
            "sexual_abuse",
            json!({"kind": "staff", "user_id": suspect}),
        ),
    )
    .await;
    let id = case["id"].as_str().unwrap();
    assert!(!case["handler_ids"]
        .as_array()
        .unwrap()
        .contains(&json!(suspect)));
    read(&app, &s, &format!("/api/v1/cases/{id}"))
        .await
        .expect_problem(404, "not_found");
    let list = app.get("/api/v1/cases", &s.token).await.expect(200);
    assert_eq!(list["items"], json!([]));
    assert_eq!(alerts(&app, &suspect, "cases.opened").await, 0);
    // The other named counsellor handles it; the suspect, though named too,
    // does not.
    read(&app, &colleague, &format!("/api/v1/cases/{id}"))
        .await
        .expect(200);
}

async fn the_summary_hides_a_cell_of_three(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    for _ in 0..3 {
        open(
            &app,
            &w.x.admin,
            new_case(&w, "grooming_online", json!({"kind": "unknown"})),
        )
        .await;
    }
    for _ in 0..5 {
        open(
            &app,
            &w.y.admin,
            json!({"school_id": w.y.id, "student_ids": [w.y.student_id],
                   "category": "other_violence", "source": {"kind": "observation"},
                   "summary": "a fight", "suspect": {"kind": "student"}}),
        )
        .await;
    }
    let s = app
        .get("/api/v1/cases/summary", &officer.token)
        .await
        .expect(200);
    let cells = s["cells"].as_array().unwrap();
    let cell = |school: &str| {
        cells
            .iter()
            .find(|c| c["school_id"] == school)
            .unwrap_or_else(|| panic!("no cell for {school} in {s}"))
            .clone()
    };
    let x = cell(&w.x.id);
    assert_eq!(x["count"], Value::Null, "{x}");
    assert_eq!(x["suppressed"], true);
    let y = cell(&w.y.id);
    assert_eq!(y["count"], 5);
    assert_eq!(y["suppressed"], false);
    assert!(cells.iter().all(|c| c["count"] != 3), "{s}");
    // Case numbers count up within the district.
    let list = app.get("/api/v1/cases", &officer.token).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 8);
    assert!(list["items"][0]["number"]
        .as_str()
        .unwrap()
        .ends_with("-0008"));
    // Schools do not read the district's statistics.
    app.get("/api/v1/cases/summary", &w.x.admin.token)
        .await
        .expect_problem(403, "forbidden_role");
}

async fn closing_without_a_police_report_is_refused(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let case = open(
        &app,
        &w.x.teacher,
        new_case(&w, "unexplained_injury", json!({"kind": "family"})),
    )
    .await;
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let proposal = json!({"outcome": "unsubstantiated", "note": "the bruise was from sport"});
    app.post(
        &format!("{path}/close"),
        &w.x.teacher.token,
        proposal.clone(),
    )
    .await
    .expect_problem(409, "police_report_required");
    app.post(
        &format!("{path}/close-confirmation"),
        &officer.token,
        json!({}),
    )
    .await
    .expect_problem(409, "no_close_request");
    app.post(
        &format!("{path}/police-report"),
        &w.x.teacher.token,
        json!({"reported_at": app.now().to_rfc3339(), "station": "Xicheng PSB",
               "reference": "110-2026-78", "channel": "in_person"}),
    )
    .await
    .expect(201);
    let closing = app
        .post(&format!("{path}/close"), &w.x.teacher.token, proposal)
        .await
        .expect(200);
    assert_eq!(closing["status"], "closing");
    assert_eq!(closing["outcome"], "unsubstantiated");
    // Only the bureau confirms.
    app.post(
        &format!("{path}/close-confirmation"),
        &w.x.admin.token,
        json!({}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    let closed = app
        .post(
            &format!("{path}/close-confirmation"),
            &officer.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    // A case that need not go to the police closes without a report.
    let other = open(
        &app,
        &w.x.admin,
        new_case(&w, "other_violence", json!({"kind": "student"})),
    )
    .await;
    app.post(
        &format!("/api/v1/cases/{}/close", other["id"].as_str().unwrap()),
        &w.x.admin.token,
        json!({"outcome": "referred", "note": "to the police school liaison"}),
    )
    .await
    .expect(200);
}

async fn the_timeline_holds_every_entry_in_order(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let case = open(
        &app,
        &w.x.admin,
        new_case(&w, "sexual_abuse", json!({"kind": "outsider"})),
    )
    .await;
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let note = app
        .post(
            &format!("{path}/entries"),
            &w.x.teacher.token,
            json!({"text": "The pupil said it happened on Monday"}),
        )
        .await
        .expect(201);
    let note_id = note["id"].as_str().unwrap();
    let correction = app
        .post(
            &format!("{path}/entries"),
            &w.x.teacher.token,
            json!({"text": "Correction: on Tuesday", "corrects": note_id}),
        )
        .await
        .expect(201);
    assert_eq!(correction["corrects"], note_id);
    app.post(
        &format!("{path}/entries"),
        &w.x.teacher.token,
        json!({"text": "?", "corrects": "0190f000-0000-7000-8000-000000000099"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post(
        &format!("{path}/police-report"),
        &w.x.admin.token,
        json!({"reported_at": app.now().to_rfc3339(), "station": "Xicheng PSB",
               "reference": "110-2026-79", "channel": "phone"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("{path}/support"),
        &w.x.admin.token,
        json!({"kind": "counselling", "partner": "District centre", "on": "2026-11-30",
               "note": "weekly sessions"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("{path}/bureau-acknowledgement"),
        &officer.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("{path}/close"),
        &w.x.admin.token,
        json!({"outcome": "substantiated", "note": "the police took it over"}),
    )
    .await
    .expect(200);
    let t = read(&app, &officer, &format!("{path}/timeline"))
        .await
        .expect(200);
    let entries = t["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "note",
            "note",
            "police_report",
            "support",
            "acknowledged",
            "close_proposed"
        ]
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
    // The corrected note stays as it was.
    assert_eq!(entries[1]["text"], "The pupil said it happened on Monday");
    assert_eq!(entries[2]["corrects"], note_id);
    // Nothing is deleted or edited.
    for method in ["DELETE", "PUT", "PATCH"] {
        let r = app
            .send(method, &path, Some(&w.x.admin.token), None, &[])
            .await;
        assert!(r.status == 405 || r.status == 404, "{method}: {}", r.text);
    }
    app.get(&format!("{path}/timeline"), &w.x.admin.token)
        .await
        .expect_problem(428, "access_reason_required");
}

async fn suspend_staff_blocks_the_suspects_next_request(app: TestApp) {
    let w = app.world().await;
    let suspect = app
        .create_user(&w.x.admin, "teacher", "sch-x.suspect", None)
        .await;
    let s = app.login("sch-x.suspect", PASSWORD).await;
    let personnel = app
        .strings(format!(
            "SELECT id AS s FROM personnel WHERE user_id = '{suspect}'"
        ))
        .await
        .remove(0);
    let class_students = format!("/api/v1/classes/{}/students", w.x.class_id);
    app.get(&class_students, &s.token).await.expect(200);
    let case = open(
        &app,
        &w.x.admin,
        new_case(
            &w,
            "sexual_abuse",
            json!({"kind": "staff", "personnel_id": personnel}),
        ),
    )
    .await;
    assert_eq!(case["suspect"]["user_id"], suspect.as_str());
    // A teacher may not take measures.
    let path = format!("/api/v1/cases/{}/measures", case["id"].as_str().unwrap());
    app.post(
        &path,
        &w.x.teacher.token,
        json!({"kind": "suspend_staff", "note": "n"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.post(
        &path,
        &w.x.admin.token,
        json!({"kind": "suspend_staff", "note": "suspended pending the police"}),
    )
    .await
    .expect(201);
    // The next request finds the session ended; signing in again reaches
    // no pupil.
    let r = app.get(&class_students, &s.token).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let again = app.login("sch-x.suspect", PASSWORD).await;
    app.get(&class_students, &again.token)
        .await
        .expect_problem(403, "vetting_required");
    // Until the bureau lifts the suspension (once).
    let officer = app.vetting_officer().await;
    let lift = format!("/api/v1/personnel/{personnel}/suspension-lift");
    app.post(&lift, &w.x.admin.token, json!({}))
        .await
        .expect_problem(403, "forbidden_role");
    app.post(&lift, &officer.token, json!({})).await.expect(200);
    app.post(&lift, &officer.token, json!({}))
        .await
        .expect_problem(409, "already_lifted");
    app.get(&class_students, &again.token).await.expect(200);
}

async fn never_release_blocks_the_named_person_for_the_cases_pupils(app: TestApp) {
    let w = app.world().await;
    let case = open(
        &app,
        &w.x.admin,
        new_case(&w, "sexual_abuse", json!({"kind": "family"})),
    )
    .await;
    let path = format!("/api/v1/cases/{}/measures", case["id"].as_str().unwrap());
    app.post(
        &path,
        &w.x.admin.token,
        json!({"kind": "never_release", "note": "n"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let d = app
        .post(
            &path,
            &w.x.admin.token,
            json!({"kind": "never_release", "target": "Uncle Zhang", "note": "until the court decides"}),
        )
        .await
        .expect(201);
    assert_eq!(d["measures"][0]["kind"], "never_release");
    let blocks = app
        .get(
            &format!("/api/v1/students/{}/pickup-blocks", w.x.student_id),
            &w.x.admin.token,
        )
        .await
        .expect(200);
    assert!(blocks.to_string().contains("Uncle Zhang"), "{blocks}");
}

async fn a_tip_report_about_staff_opens_a_case_only_from_the_bureau(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let mut body = new_case(&w, "sexual_abuse", json!({"kind": "staff"}));
    body["source"] = json!({"kind": "tip_report"});
    app.post("/api/v1/cases", &w.x.admin.token, body.clone())
        .await
        .expect_problem(403, "case_bureau_only");
    let case = open(&app, &officer, body).await;
    // The principal handles it with the bureau.
    read(
        &app,
        &w.x.admin,
        &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
    )
    .await
    .expect(200);
}

/// Sources link both ways: the tip-line report and the handover a case grew
/// from show the case to those who may see them and handle cases; a family
/// and other staff do not learn that a case exists.
async fn the_report_and_the_handover_show_the_case_they_opened(app: TestApp) {
    let t = crate::support::tipline::tip_world(&app).await;
    let w = &t.w;
    let code = app
        .strings(format!(
            "SELECT code AS s FROM schools WHERE id = '{}'",
            w.x.id
        ))
        .await
        .remove(0);
    crate::support::tipline::submit_sealed(&app, &code, "he touches me", "danger_now", false).await;
    let report = app
        .strings("SELECT id AS s FROM tip_reports".to_string())
        .await
        .remove(0);
    let handover = app
        .post(
            "/api/v1/handovers",
            &w.x.guard.token,
            json!({"student_id": w.x.student_id, "guardian_user_id": w.x.parent.user_id}),
        )
        .await
        .expect(201);
    let handover_id = handover["handover_id"].as_str().unwrap().to_string();
    let mut body = new_case(w, "sexual_abuse", json!({"kind": "unknown"}));
    body["source"] = json!({"kind": "tip_report", "ref_id": report});
    let from_report = open(&app, &t.x_admin.s, body.clone()).await;
    body["source"] = json!({"kind": "handover", "ref_id": handover_id});
    let from_handover = open(&app, &t.x_admin.s, body).await;

    let detail = app
        .get(&format!("/api/v1/reports/{report}"), &t.x_counselor.s.token)
        .await
        .expect(200);
    assert_eq!(detail["cases"][0]["number"], from_report["number"]);
    assert_eq!(detail["cases"].as_array().unwrap().len(), 1);

    let history = format!("/api/v1/students/{}/handovers", w.x.student_id);
    let seen = app.get(&history, &w.x.admin.token).await.expect(200);
    assert_eq!(seen[0]["cases"][0]["case_id"], from_handover["id"]);
    for not_told in [&w.x.parent, &w.x.teacher] {
        let seen = app.get(&history, &not_told.token).await.expect(200);
        assert_eq!(seen[0]["handover_id"], handover_id.as_str());
        assert!(seen[0].get("cases").is_none(), "{seen}");
    }
}

on_both_databases!(
    a_teachers_observation_goes_to_the_bureau_at_once,
    police_alerts_fire_at_one_hour_and_at_a_day,
    a_teacher_who_does_not_handle_the_case_gets_404,
    the_suspect_cannot_see_the_case_even_as_a_counsellor,
    the_summary_hides_a_cell_of_three,
    closing_without_a_police_report_is_refused,
    the_timeline_holds_every_entry_in_order,
    suspend_staff_blocks_the_suspects_next_request,
    never_release_blocks_the_named_person_for_the_cases_pupils,
    a_tip_report_about_staff_opens_a_case_only_from_the_bureau,
    the_report_and_the_handover_show_the_case_they_opened,
);
