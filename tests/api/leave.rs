//! Leave and return: the approval chain, the gate, overdue returns, roll
//! call and absence alerts, and the confidential concern pattern.

use crate::support::library::Presence;
use crate::support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn notes_of_template(app: &TestApp, template: &str) -> i64 {
    app.query_i64(format!(
        "SELECT COUNT(*) AS n FROM notifications WHERE template = '{template}'"
    ))
    .await
}

/// A pupil of school X's class with their own app account; the world's
/// parent of X is their guardian.
async fn pupil_with_account(app: &TestApp, w: &World, name: &str) -> (String, Session) {
    let uid = app.create_user(&w.x.admin, "student", name, None).await;
    let s = app
        .post(
            "/api/v1/students",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "class_id": w.x.class_id, "name": name,
                   "student_no": format!("NO-{name}"), "grade": 1, "user_id": uid}),
        )
        .await
        .expect(201);
    let id = s["id"].as_str().unwrap().to_string();
    app.add_guardian(&w.x.admin, &id, &w.x.parent.user_id, "mother")
        .await;
    (id, app.login(name, PASSWORD).await)
}

/// An older pupil of school X who may leave the gate alone, with the world's
/// parent of X as guardian.
async fn older_pupil(app: &TestApp, w: &World, name: &str) -> String {
    let s = app
        .post(
            "/api/v1/students",
            &w.x.admin.token,
            json!({"school_id": w.x.id, "class_id": w.x.class_id, "name": name,
                   "student_no": format!("NO-{name}"), "grade": 5, "handover_required": false}),
        )
        .await
        .expect(201);
    let id = s["id"].as_str().unwrap().to_string();
    app.add_guardian(&w.x.admin, &id, &w.x.parent.user_id, "mother")
        .await;
    id
}

/// A leave request body; times are UTC (Shanghai is UTC+8, the test day
/// starts Monday 30 November 2026 08:00 local = 00:00Z).
fn leave(student: &str, starts: &str, ends: &str, campus: bool) -> Value {
    json!({"student_id": student, "kind": "sick", "starts_at": starts, "ends_at": ends,
           "reason": "fever", "leaves_campus": campus})
}

async fn file(app: &TestApp, who: &Session, body: Value) -> Value {
    app.post("/api/v1/leave-requests", &who.token, body)
        .await
        .expect(201)
}

async fn decide(app: &TestApp, who: &Session, id: &str, approve: bool) -> Resp {
    app.post(
        &format!("/api/v1/leave-requests/{id}/decision"),
        &who.token,
        json!({"approve": approve, "note": "ok"}),
    )
    .await
}

async fn cosign(app: &TestApp, who: &Session, id: &str, approve: bool) -> Resp {
    app.post(
        &format!("/api/v1/leave-requests/{id}/guardian-decision"),
        &who.token,
        json!({"approve": approve}),
    )
    .await
}

async fn exit(app: &TestApp, who: &Session, id: &str, body: Value) -> Resp {
    app.post(
        &format!("/api/v1/leave-requests/{id}/exit"),
        &who.token,
        body,
    )
    .await
}

async fn back(app: &TestApp, who: &Session, id: &str) -> Resp {
    app.post(
        &format!("/api/v1/leave-requests/{id}/return"),
        &who.token,
        json!({}),
    )
    .await
}

/// A parent's leave for today 10:00–12:00 local, approved by the head teacher.
async fn approved_leave(app: &TestApp, w: &World, student: &str) -> String {
    let l = file(app, &w.x.parent, leave(student, TEN, NOON, true)).await;
    let id = l["id"].as_str().unwrap().to_string();
    decide(app, &w.x.teacher, &id, true).await.expect(200);
    id
}

async fn roll_call(
    app: &TestApp,
    who: &Session,
    class: &str,
    date: &str,
    period: i32,
    absent: &[&str],
) -> Resp {
    app.post(
        &format!("/api/v1/classes/{class}/roll-calls"),
        &who.token,
        json!({"date": date, "period": period, "absent": absent}),
    )
    .await
}

async fn student_leave_is_cosigned_then_approved_and_each_step_is_told(app: TestApp) {
    let w = app.world().await;
    let (kid, kid_s) = pupil_with_account(&app, &w, "xiaoming").await;
    let l = file(&app, &kid_s, leave(&kid, TEN, NOON, true)).await;
    let id = l["id"].as_str().unwrap();
    assert_eq!(l["status"], "pending_guardian");
    assert_eq!(l["needs_school_approval"], false);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "leave.awaiting_decision")
            .await,
        1
    );

    // The teacher cannot skip the guardian; nobody else may co-sign.
    decide(&app, &w.x.teacher, id, true)
        .await
        .expect_problem(409, "leave_not_pending");
    cosign(&app, &w.x.teacher, id, true)
        .await
        .expect_problem(403, "guardian_required");
    cosign(&app, &w.y.parent, id, true)
        .await
        .expect_problem(404, "not_found");
    cosign(&app, &kid_s, id, true)
        .await
        .expect_problem(403, "guardian_required");

    let c = cosign(&app, &w.x.parent, id, true).await.expect(200);
    assert_eq!(c["status"], "pending_teacher");
    assert_eq!(c["guardian_decision"]["by"], w.x.parent.user_id.as_str());
    assert_eq!(
        app.notes(&w.x.teacher.user_id, "leave.awaiting_decision")
            .await,
        1
    );
    cosign(&app, &w.x.parent, id, true)
        .await
        .expect_problem(409, "leave_not_pending");

    // Wrong people at the teacher's step.
    decide(&app, &w.x.guard, id, true)
        .await
        .expect_problem(403, "not_approver");
    decide(&app, &w.x.admin, id, true)
        .await
        .expect_problem(403, "not_head_teacher");
    decide(&app, &w.y.teacher, id, true)
        .await
        .expect_problem(404, "not_found");
    decide(&app, &w.x.parent, id, true)
        .await
        .expect_problem(403, "not_approver");

    let a = decide(&app, &w.x.teacher, id, true).await.expect(200);
    assert_eq!(a["status"], "approved");
    assert_eq!(a["teacher_decision"]["approve"], true);
    assert_eq!(app.notes(&kid_s.user_id, "leave.approved").await, 1);
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.approved").await, 1);
    decide(&app, &w.x.teacher, id, true)
        .await
        .expect_problem(409, "leave_not_pending");

    // Who sees it: the student, the family, the school; not another school.
    app.get(&format!("/api/v1/leave-requests/{id}"), &kid_s.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/leave-requests/{id}"), &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");
    let mine = app
        .get("/api/v1/leave-requests?status=approved", &w.x.guard.token)
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // Why the child is away stays with the family and the approvers.
    assert!(mine["items"][0]["reason"].is_null());
    let t = app
        .get(&format!("/api/v1/leave-requests/{id}"), &w.x.teacher.token)
        .await
        .expect(200);
    assert_eq!(t["reason"], "fever");
    let other = app
        .get("/api/v1/leave-requests", &w.y.parent.token)
        .await
        .expect(200);
    assert!(other["items"].as_array().unwrap().is_empty());
}

async fn long_leave_needs_the_school_admin_and_queues_show_who_decides(app: TestApp) {
    let w = app.world().await;
    // Monday 08:00 to Friday 17:00 local: five school days, more than three.
    let l = file(
        &app,
        &w.x.parent,
        leave(
            &w.x.student_id,
            "2026-11-30T00:00:00Z",
            "2026-12-04T09:00:00Z",
            false,
        ),
    )
    .await;
    let id = l["id"].as_str().unwrap();
    assert_eq!(l["status"], "pending_teacher");
    assert_eq!(l["needs_school_approval"], true);
    let queue = app
        .get(
            "/api/v1/leave-requests?awaiting_me=true",
            &w.x.teacher.token,
        )
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["id"], id);
    let none = app
        .get("/api/v1/leave-requests?awaiting_me=true", &w.x.admin.token)
        .await
        .expect(200);
    assert!(none["items"].as_array().unwrap().is_empty());

    let t = decide(&app, &w.x.teacher, id, true).await.expect(200);
    assert_eq!(t["status"], "pending_school");
    assert_eq!(
        app.notes(&w.x.admin.user_id, "leave.awaiting_decision")
            .await,
        1
    );
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.approved").await, 0);
    decide(&app, &w.x.teacher, id, true)
        .await
        .expect_problem(403, "school_admin_required");
    decide(&app, &w.y.admin, id, true)
        .await
        .expect_problem(404, "not_found");
    let queue = app
        .get("/api/v1/leave-requests?awaiting_me=true", &w.x.admin.token)
        .await
        .expect(200);
    assert_eq!(queue["items"][0]["id"], id);

    let a = decide(&app, &w.x.admin, id, true).await.expect(200);
    assert_eq!(a["status"], "approved");
    assert_eq!(a["school_decision"]["by"], w.x.admin.user_id.as_str());
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.approved").await, 1);
    assert_eq!(app.count("leave_requests").await, 1);
}

async fn rejection_and_withdrawal_end_the_request_for_the_right_people_only(app: TestApp) {
    let w = app.world().await;
    let (kid, kid_s) = pupil_with_account(&app, &w, "xiaohong").await;
    // The guardian refuses what the child asked.
    let l = file(&app, &kid_s, leave(&kid, TEN, NOON, false)).await;
    let id = l["id"].as_str().unwrap();
    let r = cosign(&app, &w.x.parent, id, false).await.expect(200);
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["guardian_decision"]["approve"], false);
    assert_eq!(app.notes(&kid_s.user_id, "leave.rejected").await, 1);
    assert_eq!(
        app.notes(&w.x.teacher.user_id, "leave.awaiting_decision")
            .await,
        0
    );

    // The head teacher refuses the parent's request.
    let l = file(&app, &w.x.parent, leave(&kid, TEN, NOON, false)).await;
    let id = l["id"].as_str().unwrap();
    let r = decide(&app, &w.x.teacher, id, false).await.expect(200);
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["teacher_decision"]["approve"], false);
    assert_eq!(app.notes(&kid_s.user_id, "leave.rejected").await, 2);

    // Withdrawal: only the requester, only before the start.
    let l = file(
        &app,
        &w.x.parent,
        leave(&kid, "2026-12-01T02:00:00Z", "2026-12-01T04:00:00Z", false),
    )
    .await;
    let id = l["id"].as_str().unwrap();
    let path = format!("/api/v1/leave-requests/{id}/withdraw");
    app.post(&path, &w.x.teacher.token, json!({}))
        .await
        .expect_problem(403, "requester_required");
    app.post(&path, &kid_s.token, json!({}))
        .await
        .expect_problem(403, "requester_required");
    app.post(&path, &w.y.parent.token, json!({}))
        .await
        .expect_problem(404, "not_found");
    let wd = app
        .post(&path, &w.x.parent.token, json!({}))
        .await
        .expect(200);
    assert_eq!(wd["status"], "withdrawn");
    assert_eq!(app.notes(&w.x.teacher.user_id, "leave.withdrawn").await, 1);
    app.post(&path, &w.x.parent.token, json!({}))
        .await
        .expect_problem(409, "leave_not_pending");

    // An approved leave that has started cannot be withdrawn.
    let started = approved_leave(&app, &w, &kid).await;
    let mut w = w;
    app.advance(&mut w, Duration::hours(3)).await; // 11:00 local
    app.post(
        &format!("/api/v1/leave-requests/{started}/withdraw"),
        &w.x.parent.token,
        json!({}),
    )
    .await
    .expect_problem(409, "leave_started");
}

async fn bad_requests_are_refused_with_the_field_and_write_nothing(app: TestApp) {
    let w = app.world().await;
    let s = &w.x.student_id;
    let r = app
        .post(
            "/api/v1/leave-requests",
            &w.x.parent.token,
            leave(s, NOON, TEN, true),
        )
        .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "ends_at");
    let r = app
        .post(
            "/api/v1/leave-requests",
            &w.x.parent.token,
            leave(s, TEN, "2027-01-05T00:00:00Z", false),
        )
        .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "ends_at");
    let mut bad = leave(s, TEN, NOON, true);
    bad["kind"] = json!("holiday");
    let r = app
        .post("/api/v1/leave-requests", &w.x.parent.token, bad)
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["field"], "kind");
    let mut extra = leave(s, TEN, NOON, true);
    extra["status"] = json!("approved");
    app.post("/api/v1/leave-requests", &w.x.parent.token, extra)
        .await
        .expect_problem(422, "unknown_field");
    // Not the family's child; not a role that asks.
    app.post(
        "/api/v1/leave-requests",
        &w.y.parent.token,
        leave(s, TEN, NOON, true),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/leave-requests",
        &w.x.guard.token,
        leave(s, TEN, NOON, true),
    )
    .await
    .expect_problem(403, "forbidden_role");
    assert_eq!(app.count("leave_requests").await, 0);

    // Overlap with an active leave.
    file(&app, &w.x.parent, leave(s, TEN, NOON, true)).await;
    let r = app
        .post(
            "/api/v1/leave-requests",
            &w.x.teacher.token,
            leave(s, "2026-11-30T03:00:00Z", "2026-11-30T05:00:00Z", true),
        )
        .await;
    r.expect_problem(422, "leave_overlaps");
    assert_eq!(r.json()["field"], "starts_at");
    assert_eq!(app.count("leave_requests").await, 1);
}

async fn gate_exit_only_inside_the_window_once_and_after_approval(app: TestApp) {
    let mut w = app.world().await;
    let older = older_pupil(&app, &w, "dawei").await;
    let l = file(&app, &w.x.parent, leave(&older, TEN, NOON, true)).await;
    let id = l["id"].as_str().unwrap().to_string();
    // Before approval.
    exit(&app, &w.x.guard, &id, json!({}))
        .await
        .expect_problem(409, "leave_not_active");
    decide(&app, &w.x.teacher, &id, true).await.expect(200);
    // 08:00 local: two hours early.
    exit(&app, &w.x.guard, &id, json!({}))
        .await
        .expect_problem(409, "leave_not_active");
    // A parent is not gate staff; another school's guard does not see it.
    exit(&app, &w.x.parent, &id, json!({}))
        .await
        .expect_problem(403, "forbidden_role");
    exit(&app, &w.y.guard, &id, json!({}))
        .await
        .expect_problem(404, "not_found");
    app.advance(&mut w, Duration::minutes(91)).await; // 09:31: inside the 30 minutes before
    let e = exit(&app, &w.x.guard, &id, json!({})).await.expect(200);
    assert_eq!(e["status"], "out");
    assert_eq!(e["exit"]["adult_kind"], "none");
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.exited").await, 1);
    exit(&app, &w.x.guard, &id, json!({}))
        .await
        .expect_problem(409, "leave_not_active");
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.exited").await, 1);

    // After the end, and by pass code.
    let l2 = file(
        &app,
        &w.x.parent,
        leave(&older, "2026-11-30T05:00:00Z", "2026-11-30T06:00:00Z", true),
    )
    .await;
    let id2 = l2["id"].as_str().unwrap().to_string();
    decide(&app, &w.x.teacher, &id2, true).await.expect(200);
    let pass = app
        .post(
            &format!("/api/v1/leave-requests/{id2}/pass"),
            &w.x.parent.token,
            json!({}),
        )
        .await
        .expect(201);
    let code = pass["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM leave_requests WHERE code_hash = '{code}'"
        ))
        .await,
        0
    );
    app.post(
        "/api/v1/gate/leave-exit",
        &w.y.guard.token,
        json!({"code": code}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/gate/leave-exit",
        &w.x.guard.token,
        json!({"code": "12ab"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.advance(&mut w, Duration::hours(5)).await; // 14:31: after its end
    app.post(
        "/api/v1/gate/leave-exit",
        &w.x.guard.token,
        json!({"code": code}),
    )
    .await
    .expect_problem(409, "leave_not_active");

    // Inside its window the code lets the student out.
    let l3 = file(
        &app,
        &w.x.parent,
        leave(&older, "2026-11-30T07:00:00Z", "2026-11-30T08:00:00Z", true),
    )
    .await;
    let id3 = l3["id"].as_str().unwrap().to_string();
    decide(&app, &w.x.teacher, &id3, true).await.expect(200);
    let pass = app
        .post(
            &format!("/api/v1/leave-requests/{id3}/pass"),
            &w.x.teacher.token,
            json!({}),
        )
        .await
        .expect(201);
    let g = app
        .post(
            "/api/v1/gate/leave-exit",
            &w.x.guard.token,
            json!({"qr_token": pass["qr_token"]}),
        )
        .await
        .expect(200);
    assert_eq!(g["id"], id3.as_str());
    assert_eq!(g["status"], "out");
    app.post(
        "/api/v1/gate/leave-exit",
        &w.x.guard.token,
        json!({"qr_token": pass["qr_token"]}),
    )
    .await
    .expect_problem(409, "leave_not_active");
}

async fn handover_student_leaves_only_with_an_authorised_adult(app: TestApp) {
    let mut w = app.world().await;
    let id = approved_leave(&app, &w, &w.x.student_id.clone()).await;
    app.advance(&mut w, Duration::hours(2)).await; // 10:00 local
                                                   // Nobody named.
    exit(&app, &w.x.guard, &id, json!({}))
        .await
        .expect_problem(403, "pickup_not_authorized");
    // Someone who is not a guardian of this pupil: refused, recorded, alerted.
    exit(
        &app,
        &w.x.guard,
        &id,
        json!({"guardian_user_id": w.y.parent.user_id}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    assert_eq!(app.notes(&w.x.parent.user_id, "pickup.refused").await, 1);
    assert_eq!(app.notes(&w.x.teacher.user_id, "pickup.refused").await, 1);
    let l = app
        .get(&format!("/api/v1/leave-requests/{id}"), &w.x.guard.token)
        .await
        .expect(200);
    assert_eq!(l["status"], "approved");

    // A barred adult is refused even as a named pickup person.
    let p = app
        .post(
            &format!("/api/v1/students/{}/pickup-persons", w.x.student_id),
            &w.x.parent.token,
            json!({"name": "Uncle Wang", "relation": "uncle", "phone": "13800000009",
                   "valid_from": "2026-11-30", "valid_until": "2027-06-30"}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/api/v1/students/{}/pickup-blocks", w.x.student_id),
        &w.x.parent.token,
        json!({"name": "Uncle Wang", "note": "court order 2026-17"}),
    )
    .await
    .expect(201);
    exit(&app, &w.x.guard, &id, json!({"pickup_person_id": p["id"]}))
        .await
        .expect_problem(403, "pickup_blocked");
    assert_eq!(
        app.notes(&w.x.admin.user_id, "pickup.blocked_attempt")
            .await,
        1
    );

    // The guardian takes the pupil.
    let e = exit(
        &app,
        &w.x.guard,
        &id,
        json!({"guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(200);
    assert_eq!(e["status"], "out");
    assert_eq!(e["exit"]["adult_kind"], "guardian");
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.exited").await, 1);
}

async fn overdue_alerts_once_escalates_once_and_return_clears_it(app: TestApp) {
    let mut w = app.world().await;
    let older = older_pupil(&app, &w, "lilei").await;
    let l = file(&app, &w.x.parent, leave(&older, TEN, NOON, true)).await;
    let id = l["id"].as_str().unwrap().to_string();
    decide(&app, &w.x.teacher, &id, true).await.expect(200);
    // An approved leave that never went out is not overdue.
    let untouched = file(&app, &w.x.parent, leave(&w.x.student_id, TEN, NOON, true)).await;
    decide(&app, &w.x.teacher, untouched["id"].as_str().unwrap(), true)
        .await
        .expect(200);
    app.advance(&mut w, Duration::hours(2)).await; // 10:00
    exit(&app, &w.x.guard, &id, json!({})).await.expect(200);
    app.advance(&mut w, Duration::minutes(119)).await; // 11:59
    assert_eq!(app.run_overdue_leave().await, 0);
    app.advance(&mut w, Duration::minutes(1)).await; // 12:00: the end
    assert_eq!(app.run_overdue_leave().await, 1);
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.overdue").await, 1);
    assert_eq!(app.notes(&w.x.teacher.user_id, "leave.overdue").await, 1);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "leave.overdue_escalated")
            .await,
        0
    );
    let l = app
        .get(&format!("/api/v1/leave-requests/{id}"), &w.x.teacher.token)
        .await
        .expect(200);
    assert_eq!(l["status"], "overdue");
    assert!(l["overdue_since"].is_string());
    assert_eq!(app.run_overdue_leave().await, 0);
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.overdue").await, 1);

    app.advance(&mut w, Duration::minutes(120)).await; // two hours later
    assert_eq!(app.run_overdue_leave().await, 1);
    assert_eq!(
        app.notes(&w.x.admin.user_id, "leave.overdue_escalated")
            .await,
        1
    );
    assert_eq!(
        app.notes(&w.y.admin.user_id, "leave.overdue_escalated")
            .await,
        0
    );
    assert_eq!(app.run_overdue_leave().await, 0);
    assert_eq!(app.count("leave_overdue_alerts").await, 2);

    // Another school's guard cannot record it; a parent is not gate staff.
    back(&app, &w.y.guard, &id)
        .await
        .expect_problem(404, "not_found");
    back(&app, &w.x.parent, &id)
        .await
        .expect_problem(403, "forbidden_role");
    let r = back(&app, &w.x.guard, &id).await.expect(200);
    assert_eq!(r["status"], "returned");
    assert!(r["returned_at"].is_string());
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.returned").await, 1);
    assert_eq!(app.notes(&w.x.teacher.user_id, "leave.returned").await, 1);
    back(&app, &w.x.guard, &id)
        .await
        .expect_problem(409, "leave_not_active");
    app.advance(&mut w, Duration::hours(3)).await;
    assert_eq!(app.run_overdue_leave().await, 0);
    assert_eq!(app.count("leave_overdue_alerts").await, 2);
}

async fn early_return_ends_the_leave_and_only_the_head_teacher_among_teachers_records_it(
    app: TestApp,
) {
    let mut w = app.world().await;
    let older = older_pupil(&app, &w, "hanmei").await;
    let id = approved_leave(&app, &w, &older).await;
    back(&app, &w.x.guard, &id)
        .await
        .expect_problem(409, "leave_not_active");
    app.advance(&mut w, Duration::hours(2)).await;
    exit(&app, &w.x.guard, &id, json!({})).await.expect(200);
    app.advance(&mut w, Duration::minutes(30)).await; // 10:30, back early
    app.create_user(&w.x.admin, "teacher", "x.teacher2", None)
        .await;
    let other_teacher = app.login("x.teacher2", PASSWORD).await;
    back(&app, &other_teacher, &id)
        .await
        .expect_problem(403, "not_head_teacher");
    let r = back(&app, &w.x.teacher, &id).await.expect(200);
    assert_eq!(r["status"], "returned");
    app.advance(&mut w, Duration::hours(3)).await;
    assert_eq!(app.run_overdue_leave().await, 0);
    assert_eq!(app.presence(&older).await, Presence::Present);
}

async fn roll_call_alerts_each_guardian_of_the_unexcused_and_a_correction_withdraws(app: TestApp) {
    let mut w = app.world().await;
    // A second guardian for the world's pupil.
    let dad = app.create_user(&w.x.admin, "parent", "x.dad", None).await;
    app.add_guardian(&w.x.admin, &w.x.student_id, &dad, "father")
        .await;
    let older = older_pupil(&app, &w, "zhangsan").await;
    let leave_id = approved_leave(&app, &w, &older).await;
    app.advance(&mut w, Duration::hours(2)).await; // 10:00
    exit(&app, &w.x.guard, &leave_id, json!({}))
        .await
        .expect(200);
    assert_eq!(app.presence(&older).await, Presence::OnLeave);
    assert_eq!(app.presence(&w.x.student_id).await, Presence::Present);

    // Who may take a roll call.
    roll_call(&app, &w.x.parent, &w.x.class_id, "2026-11-30", 2, &[])
        .await
        .expect_problem(403, "forbidden_role");
    roll_call(&app, &w.y.teacher, &w.x.class_id, "2026-11-30", 2, &[])
        .await
        .expect_problem(404, "not_found");
    let r = roll_call(
        &app,
        &w.x.teacher,
        &w.x.class_id,
        "2026-11-30",
        2,
        &[&w.y.student_id],
    )
    .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "absent[0]");
    roll_call(&app, &w.x.teacher, &w.x.class_id, "2026-12-01", 2, &[])
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(app.count("roll_calls").await, 0);

    let rc = roll_call(
        &app,
        &w.x.teacher,
        &w.x.class_id,
        "2026-11-30",
        2,
        &[&w.x.student_id, &older],
    )
    .await
    .expect(201);
    assert_eq!(rc["corrected"], false);
    let abs = rc["absences"].as_array().unwrap();
    assert_eq!(abs.len(), 2);
    let on_leave = abs
        .iter()
        .find(|a| a["student_id"] == older.as_str())
        .unwrap();
    assert_eq!(on_leave["excused"], true);
    assert_eq!(on_leave["leave_id"], leave_id.as_str());
    // Each guardian of the unexcused pupil, and nobody for the one on leave
    // (the world's parent is guardian of both).
    assert_eq!(
        app.notes(&w.x.parent.user_id, "attendance.absent_unexcused")
            .await,
        1
    );
    assert_eq!(app.notes(&dad, "attendance.absent_unexcused").await, 1);
    assert_eq!(
        notes_of_template(&app, "attendance.absent_unexcused").await,
        2
    );
    assert_eq!(app.presence(&w.x.student_id).await, Presence::Absent);

    // The pupil was there after all: the correction withdraws the alert.
    let fix = roll_call(
        &app,
        &w.x.teacher,
        &w.x.class_id,
        "2026-11-30",
        2,
        &[&older],
    )
    .await
    .expect(201);
    assert_eq!(fix["corrected"], true);
    assert_eq!(fix["id"], rc["id"]);
    assert_eq!(fix["withdrawn_student_ids"][0], w.x.student_id.as_str());
    assert_eq!(fix["absences"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "attendance.absence_withdrawn")
            .await,
        1
    );
    assert_eq!(app.notes(&dad, "attendance.absence_withdrawn").await, 1);
    assert_eq!(
        notes_of_template(&app, "attendance.absent_unexcused").await,
        2
    );
    assert_eq!(app.count("roll_calls").await, 1);
    assert_eq!(app.presence(&w.x.student_id).await, Presence::Present);

    // The history the family and the school read.
    let att = app
        .get(
            &format!("/api/v1/students/{}/attendance", w.x.student_id),
            &w.x.parent.token,
        )
        .await
        .expect(200);
    assert_eq!(att["unexcused_days"], 0);
    assert_eq!(att["absences"][0]["withdrawn"], true);
    app.get(
        &format!("/api/v1/students/{}/attendance", w.x.student_id),
        &w.y.parent.token,
    )
    .await
    .expect_problem(404, "not_found");
    let att = app
        .get(
            &format!("/api/v1/students/{older}/attendance"),
            &w.x.teacher.token,
        )
        .await
        .expect(200);
    assert_eq!(att["leaves"][0]["id"], leave_id.as_str());
}

async fn guardian_explains_an_absence_and_the_head_teacher_is_told(app: TestApp) {
    let w = app.world().await;
    let rc = roll_call(
        &app,
        &w.x.teacher,
        &w.x.class_id,
        "2026-11-30",
        1,
        &[&w.x.student_id],
    )
    .await
    .expect(201);
    let aid = rc["absences"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/absences/{aid}/explain");
    app.post(&path, &w.x.teacher.token, json!({"note": "x"}))
        .await
        .expect_problem(403, "guardian_required");
    app.post(&path, &w.y.parent.token, json!({"note": "x"}))
        .await
        .expect_problem(404, "not_found");
    let e = app
        .post(
            &path,
            &w.x.parent.token,
            json!({"note": "dentist, forgot to file"}),
        )
        .await
        .expect(200);
    assert_eq!(e["explanation"], "dentist, forgot to file");
    assert_eq!(
        app.notes(&w.x.teacher.user_id, "attendance.absence_explained")
            .await,
        1
    );
    // The family's words are for the family, the head teacher and the
    // school's admin; the guard sees pupils only through the gate and reads
    // no attendance at all.
    let attendance = format!("/api/v1/students/{}/attendance", w.x.student_id);
    app.get(&attendance, &w.x.guard.token)
        .await
        .expect_problem(403, "forbidden_role");
    for (who, sees) in [
        (&w.x.parent, true),
        (&w.x.teacher, true),
        (&w.x.admin, true),
    ] {
        let att = app.get(&attendance, &who.token).await.expect(200);
        assert_eq!(att["absences"][0]["id"], aid);
        assert_eq!(
            att["absences"][0]["explanation"].as_str(),
            sees.then_some("dentist, forgot to file"),
            "{}",
            who.user_id
        );
    }

    // Or the family files the leave after the fact: once approved, the
    // absence is excused.
    let l = file(
        &app,
        &w.x.parent,
        leave(
            &w.x.student_id,
            "2026-11-29T23:30:00Z",
            "2026-11-30T09:00:00Z",
            false,
        ),
    )
    .await;
    decide(&app, &w.x.teacher, l["id"].as_str().unwrap(), true)
        .await
        .expect(200);
    let att = app
        .get(
            &format!("/api/v1/students/{}/attendance", w.x.student_id),
            &w.x.parent.token,
        )
        .await
        .expect(200);
    assert_eq!(att["unexcused_days"], 0);
    assert_eq!(att["absences"][0]["excused"], true);
    assert_eq!(att["absences"][0]["leave_id"], l["id"]);
}

async fn three_unexcused_days_in_fourteen_raise_one_confidential_concern(app: TestApp) {
    let w = app.world().await;
    let id = app
        .create_user(&w.x.admin, "counselor", "x.counselor", None)
        .await;
    app.name_lead(&w.x.admin, &w.x.id, &id).await;
    let counselor = app.login("x.counselor", PASSWORD).await;
    let id = app
        .create_user(&w.y.admin, "counselor", "y.counselor", None)
        .await;
    app.name_lead(&w.y.admin, &w.y.id, &id).await;
    let y_counselor = app.login("y.counselor", PASSWORD).await;
    app.create_user(&w.x.admin, "teacher", "x.teacher2", None)
        .await;
    let other_teacher = app.login("x.teacher2", PASSWORD).await;
    let s = w.x.student_id.as_str();
    for (date, period) in [("2026-11-24", 1), ("2026-11-24", 2), ("2026-11-26", 1)] {
        roll_call(&app, &w.x.teacher, &w.x.class_id, date, period, &[s])
            .await
            .expect(201);
    }
    // Two school days so far (two periods on one day count once).
    assert_eq!(app.count("concerns").await, 0);
    roll_call(&app, &other_teacher, &w.x.class_id, "2026-11-30", 1, &[s])
        .await
        .expect(201);
    assert_eq!(app.count("concerns").await, 1);
    roll_call(&app, &w.x.teacher, &w.x.class_id, "2026-11-30", 2, &[s])
        .await
        .expect(201);
    assert_eq!(app.count("concerns").await, 1);

    for who in [&w.x.teacher, &counselor, &w.x.admin] {
        let c = app.get("/api/v1/concerns", &who.token).await.expect(200);
        assert_eq!(c["items"].as_array().unwrap().len(), 1, "{}", who.username);
        assert_eq!(c["items"][0]["student_id"], s);
        assert_eq!(c["items"][0]["absence_days"], 3);
        assert_eq!(c["items"][0]["window_start"], "2026-11-17");
    }
    for who in [&other_teacher, &y_counselor, &w.y.admin, &w.y.teacher] {
        let c = app.get("/api/v1/concerns", &who.token).await.expect(200);
        assert!(
            c["items"].as_array().unwrap().is_empty(),
            "{}",
            who.username
        );
    }
    // The guard raises concerns and sees only their own.
    let c = app
        .get("/api/v1/concerns", &w.x.guard.token)
        .await
        .expect(200);
    assert!(c["items"].as_array().unwrap().is_empty(), "{c}");
    for who in [&w.x.parent, &w.district_admin] {
        app.get("/api/v1/concerns", &who.token)
            .await
            .expect_problem(403, "forbidden_role");
    }
    // It joins the triage queue with what staff raise.
    let c = app
        .get("/api/v1/concerns", &counselor.token)
        .await
        .expect(200);
    assert_eq!(c["items"][0]["kind"], "absence_pattern");
    assert_eq!(c["items"][0]["status"], "open");
    let id = c["items"][0]["id"].as_str().unwrap();
    let t = app
        .post(
            &format!("/api/v1/concerns/{id}/triage"),
            &counselor.token,
            json!({"decision": "monitor", "note": "calling the family"}),
        )
        .await
        .expect(200);
    assert_eq!(t["status"], "monitor");
    // Told to exactly the head teacher, the counsellor and the school admin.
    assert_eq!(
        notes_of_template(&app, "attendance.concern_raised").await,
        3
    );
    assert_eq!(
        app.notes(&w.x.parent.user_id, "attendance.concern_raised")
            .await,
        0
    );
    assert_eq!(
        app.notes(&other_teacher.user_id, "attendance.concern_raised")
            .await,
        0
    );
    assert_eq!(
        app.notes(&counselor.user_id, "attendance.concern_raised")
            .await,
        1
    );
}

async fn retries_with_an_idempotency_key_act_once(app: TestApp) {
    let mut w = app.world().await;
    let older = older_pupil(&app, &w, "wangwu").await;
    let key = [("Idempotency-Key", "leave-create-1")];
    let body = leave(&older, TEN, NOON, true);
    let a = app
        .send(
            "POST",
            "/api/v1/leave-requests",
            Some(&w.x.parent.token),
            Some(&body),
            &key,
        )
        .await
        .expect(201);
    let b = app
        .send(
            "POST",
            "/api/v1/leave-requests",
            Some(&w.x.parent.token),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(b.expect(201)["id"], a["id"]);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.count("leave_requests").await, 1);
    let id = a["id"].as_str().unwrap();

    let dkey = [("Idempotency-Key", "decide-1")];
    let d = json!({"approve": true});
    let path = format!("/api/v1/leave-requests/{id}/decision");
    app.send("POST", &path, Some(&w.x.teacher.token), Some(&d), &dkey)
        .await
        .expect(200);
    let again = app
        .send("POST", &path, Some(&w.x.teacher.token), Some(&d), &dkey)
        .await;
    assert_eq!(again.expect(200)["status"], "approved");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.approved").await, 1);

    app.advance(&mut w, Duration::hours(2)).await;
    let ekey = [("Idempotency-Key", "exit-1")];
    let path = format!("/api/v1/leave-requests/{id}/exit");
    for _ in 0..2 {
        let e = app
            .send(
                "POST",
                &path,
                Some(&w.x.guard.token),
                Some(&json!({})),
                &ekey,
            )
            .await;
        assert_eq!(e.expect(200)["status"], "out");
    }
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.exited").await, 1);

    let rkey = [("Idempotency-Key", "return-1")];
    let path = format!("/api/v1/leave-requests/{id}/return");
    for _ in 0..2 {
        let r = app
            .send("POST", &path, Some(&w.x.guard.token), None, &rkey)
            .await;
        assert_eq!(r.expect(200)["status"], "returned");
    }
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.returned").await, 1);
    // The same key with another body is refused.
    let mut other = body.clone();
    other["reason"] = json!("cough");
    app.send(
        "POST",
        "/api/v1/leave-requests",
        Some(&w.x.parent.token),
        Some(&other),
        &key,
    )
    .await
    .expect_problem(422, "idempotency_key_reused");
}

async fn a_pupil_handed_over_today_cannot_also_leave_on_a_leave_pass(app: TestApp) {
    let mut w = app.world().await;
    let older = older_pupil(&app, &w, "xiaobo").await;
    let l = file(&app, &w.x.parent, leave(&older, TEN, NOON, true)).await;
    let id = l["id"].as_str().unwrap().to_string();
    decide(&app, &w.x.teacher, &id, true).await.expect(200);
    app.advance(&mut w, Duration::minutes(91)).await;
    app.post(
        "/api/v1/handovers",
        &w.x.guard.token,
        json!({"student_id": older, "guardian_user_id": w.x.parent.user_id}),
    )
    .await
    .expect(201);
    exit(&app, &w.x.guard, &id, json!({}))
        .await
        .expect_problem(409, "already_released");
}

async fn a_barred_guardian_hears_nothing_of_leave_or_absence(app: TestApp) {
    let w = app.world().await;
    let pupil = older_pupil(&app, &w, "ming").await;
    let dad = app
        .create_user(&w.x.admin, "parent", "ming.dad", None)
        .await;
    app.add_guardian(&w.x.admin, &pupil, &dad, "father").await;
    // A court order bars the mother; the school learns of it.
    app.post(
        &format!("/api/v1/students/{pupil}/pickup-blocks"),
        &w.x.admin.token,
        json!({"name": "sch-x.parent", "note": "court order 2026-9", "court_order": true,
               "court_order_ref": "2026-9"}),
    )
    .await
    .expect(201);
    let l = file(&app, &w.x.teacher, leave(&pupil, TEN, NOON, true)).await;
    decide(&app, &w.x.teacher, l["id"].as_str().unwrap(), true)
        .await
        .expect(200);
    let rc = roll_call(
        &app,
        &w.x.teacher,
        &w.x.class_id,
        "2026-11-30",
        1,
        &[pupil.as_str()],
    )
    .await
    .expect(201);
    // Nor can she explain the absence: to her it is not there.
    let explain = format!(
        "/api/v1/absences/{}/explain",
        rc["absences"][0]["id"].as_str().unwrap()
    );
    app.post(&explain, &w.x.parent.token, json!({"note": "x"}))
        .await
        .expect_problem(404, "not_found");
    app.post(
        &explain,
        &app.login("ming.dad", PASSWORD).await.token,
        json!({"note": "ill"}),
    )
    .await
    .expect(200);
    assert_eq!(app.notes(&w.x.parent.user_id, "leave.approved").await, 0);
    assert_eq!(
        app.notes(&w.x.parent.user_id, "attendance.absent_unexcused")
            .await,
        0
    );
    // The pupil's other guardian is still told.
    assert_eq!(app.notes(&dad, "leave.approved").await, 1);
    assert_eq!(app.notes(&dad, "attendance.absent_unexcused").await, 1);
}

on_both_databases!(
    a_barred_guardian_hears_nothing_of_leave_or_absence,
    a_pupil_handed_over_today_cannot_also_leave_on_a_leave_pass,
    student_leave_is_cosigned_then_approved_and_each_step_is_told,
    long_leave_needs_the_school_admin_and_queues_show_who_decides,
    rejection_and_withdrawal_end_the_request_for_the_right_people_only,
    bad_requests_are_refused_with_the_field_and_write_nothing,
    gate_exit_only_inside_the_window_once_and_after_approval,
    handover_student_leaves_only_with_an_authorised_adult,
    overdue_alerts_once_escalates_once_and_return_clears_it,
    early_return_ends_the_leave_and_only_the_head_teacher_among_teachers_records_it,
    roll_call_alerts_each_guardian_of_the_unexcused_and_a_correction_withdraws,
    guardian_explains_an_absence_and_the_head_teacher_is_told,
    three_unexcused_days_in_fourteen_raise_one_confidential_concern,
    retries_with_an_idempotency_key_act_once,
);
