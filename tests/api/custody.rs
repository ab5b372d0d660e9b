//! One guardian cannot silently cut off the other (issue 18, section 1): only
//! a primary guardian or the school admin records a never-release entry; one
//! naming a current guardian waits for the school admin, and meanwhile holds
//! that guardian's releases without cutting them off.

use crate::support::*;
use chrono::Duration;
use serde_json::{json, Value};

/// 16:30 in Shanghai on Monday 30 November 2026: dismissal.
async fn to_dismissal(app: &TestApp, w: &mut World) {
    app.advance(w, Duration::minutes(8 * 60 + 30)).await;
}

/// A second guardian of school X's pupil, not primary: the father.
async fn father(app: &TestApp, w: &World) -> Session {
    let created = app
        .create_activated(
            &w.x.admin,
            json!({"role": "parent", "username": "zhang.wei", "display_name": "Zhang Wei",
                   "phone": "+86 139 1111 2222"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/students/{}/guardians", w.x.student_id),
        &w.x.admin.token,
        json!({"user_id": id, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    app.login("zhang.wei", PASSWORD).await
}

async fn add_block(app: &TestApp, who: &Session, student: &str, body: Value) -> Resp {
    app.post(
        &format!("/api/v1/students/{student}/pickup-blocks"),
        &who.token,
        body,
    )
    .await
}

async fn release_to(app: &TestApp, w: &World, guardian: &str) -> Resp {
    app.post(
        "/api/v1/handovers",
        &w.x.guard.token,
        json!({"student_id": w.x.student_id, "guardian_user_id": guardian}),
    )
    .await
}

/// The mother adds a pickup person: the family still followed is told.
async fn add_person(app: &TestApp, w: &World, name: &str, phone: &str) {
    app.post(
        &format!("/api/v1/students/{}/pickup-persons", w.x.student_id),
        &w.x.parent.token,
        json!({"name": name, "relation": "aunt", "phone": phone,
               "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
    )
    .await
    .expect(201);
}

/// What the caller gets on the pupil's pickup file (who may take the child),
/// read through the family rule every pickup route uses.
async fn child_status(app: &TestApp, who: &Session, student: &str) -> u16 {
    app.get(
        &format!("/api/v1/students/{student}/pickup-persons"),
        &who.token,
    )
    .await
    .status
}

async fn a_non_primary_guardian_cannot_cut_off_the_other_and_a_guardian_is_barred_only_on_the_admins_word(
    app: TestApp,
) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    let dad = father(&app, &w).await;
    assert_eq!(child_status(&app, &dad, &s).await, 200);

    // The father, not primary, tries to bar the mother: refused, nothing written.
    add_block(
        &app,
        &dad,
        &s,
        json!({"name": "sch-x.parent", "phone": "13900000001", "note": "she is unfit"}),
    )
    .await
    .expect_problem(403, "primary_guardian_required");
    assert_eq!(app.count("pickup_blocks").await, 0);
    assert_eq!(app.audits("pickup_block.create").await, 0);
    assert_eq!(child_status(&app, &w.x.parent, &s).await, 200);

    // The mother, primary, bars the father by name: he is a guardian, so the
    // entry waits for the school admin, who is alerted at once.
    let block = add_block(
        &app,
        &w.x.parent,
        &s,
        json!({"name": "zhang  WEI", "note": "custody hearing on Friday"}),
    )
    .await
    .expect(201);
    assert_eq!(block["status"], "pending");
    assert!(block["confirmed_at"].is_null());
    let bid = block["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.notes(&w.x.admin.user_id, "pickup.block_pending").await,
        1
    );
    assert_eq!(app.notes(&dad.user_id, "pickup.block_added").await, 0);
    assert_eq!(app.audits("pickup_block.create").await, 1);
    assert_eq!(app.audits("pickup_block.pending").await, 1);

    // Pending, it cuts nobody off: he still sees the child and hears the news.
    assert_eq!(child_status(&app, &dad, &s).await, 200);
    add_person(&app, &w, "Aunt Zhao", "13800000003").await;
    assert_eq!(app.notes(&dad.user_id, "pickup.person_added").await, 1);

    // But a release to him is held, and the school admin is called.
    to_dismissal(&app, &mut w).await;
    let held = release_to(&app, &w, &dad.user_id).await;
    held.expect_problem(409, "pickup_hold");
    assert_eq!(held.json()["detail"], "hold: call the principal");
    assert_eq!(app.count("handovers").await, 0);
    assert_eq!(app.notes(&w.x.admin.user_id, "pickup.held").await, 1);
    assert_eq!(app.audits("pickup.held_attempt").await, 1);
    // The mother is not held.
    let dad = app.relog(&dad).await;
    let parent = app.relog(&w.x.parent).await;
    let admin = app.relog(&w.x.admin).await;
    assert_eq!(child_status(&app, &parent, &s).await, 200);

    // Only the school admin decides; the confirmation needs the order's reference.
    for who in [&dad, &parent, &w.x.guard] {
        app.post(
            &format!("/api/v1/pickup-blocks/{bid}/confirm"),
            &who.token,
            json!({"court_order_ref": "(2026) Hu 0105 Min Chu 123"}),
        )
        .await
        .expect_problem(403, "forbidden_role");
    }
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/confirm"),
        &admin.token,
        json!({"court_order_ref": " "}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let other_admin = app.relog(&w.y.admin).await;
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/confirm"),
        &other_admin.token,
        json!({"court_order_ref": "(2026) Hu 0105 Min Chu 123"}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(app.audits("pickup_block.confirm").await, 0);
    let confirmed = app
        .post(
            &format!("/api/v1/pickup-blocks/{bid}/confirm"),
            &admin.token,
            json!({"court_order_ref": "(2026) Hu 0105 Min Chu 123"}),
        )
        .await
        .expect(200);
    assert_eq!(confirmed["status"], "active");
    assert_eq!(confirmed["court_order_ref"], "(2026) Hu 0105 Min Chu 123");
    assert!(confirmed["confirmed_at"].is_string());
    assert_eq!(app.audits("pickup_block.confirm").await, 1);
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/confirm"),
        &admin.token,
        json!({"court_order_ref": "again"}),
    )
    .await
    .expect_problem(409, "pickup_block_not_pending");

    // Now he is cut off: no child, no news, no pickup.
    assert_eq!(child_status(&app, &dad, &s).await, 404);
    assert_eq!(
        app.notes(&parent.user_id, "pickup.block_confirmed").await,
        1
    );
    assert_eq!(app.notes(&dad.user_id, "pickup.block_confirmed").await, 0);
    add_person(&app, &w, "Uncle Wang", "13800000004").await;
    assert_eq!(app.notes(&dad.user_id, "pickup.person_added").await, 1);
    release_to(&app, &w, &dad.user_id)
        .await
        .expect_problem(403, "pickup_blocked");
    assert_eq!(app.audits("pickup.blocked_attempt").await, 1);
    assert_eq!(app.count("handovers").await, 0);

    // A stranger is barred at once, as before.
    let stranger = add_block(
        &app,
        &parent,
        &s,
        json!({"name": "Li Qiang", "phone": "13700000007", "note": "followed her home"}),
    )
    .await
    .expect(201);
    assert_eq!(stranger["status"], "active");
    assert_eq!(app.notes(&parent.user_id, "pickup.block_added").await, 1);
    assert_eq!(app.notes(&admin.user_id, "pickup.block_pending").await, 1);
    assert_eq!(app.audits("pickup_block.create").await, 2);
    assert_eq!(app.audits("pickup_block.pending").await, 1);
    let list = app
        .get(
            &format!("/api/v1/students/{s}/pickup-blocks"),
            &parent.token,
        )
        .await
        .expect(200);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

async fn the_admin_rejecting_a_pending_entry_ends_the_hold(app: TestApp) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    let dad = father(&app, &w).await;
    // Barred by his phone, written differently.
    let block = add_block(
        &app,
        &w.x.parent,
        &s,
        json!({"name": "The father", "phone": "13911112222", "note": "n"}),
    )
    .await
    .expect(201);
    assert_eq!(block["status"], "pending");
    let bid = block["id"].as_str().unwrap().to_string();
    to_dismissal(&app, &mut w).await;
    let admin = app.relog(&w.x.admin).await;
    let parent = app.relog(&w.x.parent).await;
    let dad = app.relog(&dad).await;
    release_to(&app, &w, &dad.user_id)
        .await
        .expect_problem(409, "pickup_hold");

    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/reject"),
        &parent.token,
        json!({"note": "never mind"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/reject"),
        &admin.token,
        json!({}),
    )
    .await
    .expect_problem(422, "invalid_field");
    assert_eq!(app.audits("pickup_block.reject").await, 0);
    let rejected = app
        .post(
            &format!("/api/v1/pickup-blocks/{bid}/reject"),
            &admin.token,
            json!({"note": "no order exists; both parents share custody"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["lifted_at"].is_string());
    assert_eq!(app.audits("pickup_block.reject").await, 1);
    assert_eq!(app.notes(&dad.user_id, "pickup.block_rejected").await, 1);
    assert_eq!(app.notes(&parent.user_id, "pickup.block_rejected").await, 1);
    // Decided once: neither a confirmation nor a second rejection, nor a lift.
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/confirm"),
        &admin.token,
        json!({"court_order_ref": "late"}),
    )
    .await
    .expect_problem(409, "pickup_block_not_pending");
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/lift"),
        &admin.token,
        json!({"note": "late"}),
    )
    .await
    .expect_problem(409, "already_lifted");

    let h = release_to(&app, &w, &dad.user_id).await.expect(201);
    assert_eq!(h["released_to"]["relation"], "father");
    assert_eq!(child_status(&app, &dad, &s).await, 200);
}

async fn the_admin_bars_a_guardian_only_citing_an_order_and_lifting_a_pending_entry_ends_it(
    app: TestApp,
) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    let dad = father(&app, &w).await;
    // The school admin naming a guardian must cite the order: nothing is written without it.
    add_block(
        &app,
        &w.x.admin,
        &s,
        json!({"name": "Zhang Wei", "note": "police called"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    assert_eq!(app.count("pickup_blocks").await, 0);
    let by_admin = add_block(
        &app,
        &w.x.admin,
        &s,
        json!({"name": "Zhang Wei", "note": "protective order",
               "court_order_ref": "PO-2026-77"}),
    )
    .await
    .expect(201);
    assert_eq!(by_admin["status"], "active");
    assert_eq!(by_admin["court_order"], true);
    assert!(by_admin["confirmed_at"].is_string());
    assert_eq!(child_status(&app, &dad, &s).await, 404);
    // The district admin sees the pupil but records nothing on the list.
    add_block(
        &app,
        &w.district_admin,
        &s,
        json!({"name": "Zhang Wei", "note": "n", "court_order_ref": "PO-1"}),
    )
    .await
    .expect_problem(404, "not_found");

    // A pending entry lifted by the admin ends the hold too.
    let bid = by_admin["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/pickup-blocks/{bid}/lift"),
        &w.x.admin.token,
        json!({"note": "order discharged"}),
    )
    .await
    .expect(200);
    assert_eq!(child_status(&app, &dad, &s).await, 200);
    let pending = add_block(
        &app,
        &w.x.parent,
        &s,
        json!({"name": "Zhang Wei", "note": "again"}),
    )
    .await
    .expect(201);
    assert_eq!(pending["status"], "pending");
    to_dismissal(&app, &mut w).await;
    let admin = app.relog(&w.x.admin).await;
    let dad = app.relog(&dad).await;
    release_to(&app, &w, &dad.user_id)
        .await
        .expect_problem(409, "pickup_hold");
    let pid = pending["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/pickup-blocks/{pid}/lift"),
        &admin.token,
        json!({"note": "withdrawn by the mother"}),
    )
    .await
    .expect(200);
    assert_eq!(app.audits("pickup_block.lift").await, 2);
    release_to(&app, &w, &dad.user_id).await.expect(201);
}

on_both_databases!(
    a_non_primary_guardian_cannot_cut_off_the_other_and_a_guardian_is_barred_only_on_the_admins_word,
    the_admin_rejecting_a_pending_entry_ends_the_hold,
    the_admin_bars_a_guardian_only_citing_an_order_and_lifting_a_pending_entry_ends_it,
);
