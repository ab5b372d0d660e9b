//! Children's personal data (issue 18 §2): staff reads of a pupil's record
//! are audited, guards see pupils only through the gate, a guardian barred
//! by a court order loses the child's record.

use crate::support::*;
use serde_json::json;

/// The audit events of one action about one pupil, as (actor, target).
async fn pupil_reads(app: &TestApp, action: &str, student: &str) -> Vec<String> {
    app.strings(format!(
        "SELECT actor_id AS s FROM audit_events WHERE action = '{action}' \
         AND target_type = 'student' AND target_id = '{student}' ORDER BY seq"
    ))
    .await
}

async fn a_teachers_reads_of_a_pupils_record_are_audited_and_the_familys_are_not(app: TestApp) {
    let w = app.world().await;
    let s = w.x.student_id.clone();
    app.post(
        "/api/v1/leave-requests",
        &w.x.parent.token,
        json!({"student_id": s, "kind": "sick", "starts_at": "2026-12-02T00:00:00Z",
               "ends_at": "2026-12-02T08:00:00Z", "reason": "fever", "leaves_campus": true}),
    )
    .await
    .expect(201);

    // The family reads its own child: nothing is recorded.
    for path in [
        format!("/api/v1/students/{s}"),
        format!("/api/v1/students/{s}/attendance"),
        "/api/v1/leave-requests".to_string(),
        format!("/api/v1/students/{s}/handovers"),
    ] {
        app.get(&path, &w.x.parent.token).await.expect(200);
    }
    assert_eq!(
        app.count("audit_events WHERE action LIKE 'pupil.%'").await,
        0
    );

    // The head teacher reads the detail, attendance, leave and handovers,
    // and the mother's contact: each read is in the chain, naming the pupil.
    let t = &w.x.teacher;
    app.get(&format!("/api/v1/students/{s}"), &t.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/students/{s}/attendance"), &t.token)
        .await
        .expect(200);
    let leaves = app
        .get("/api/v1/leave-requests", &t.token)
        .await
        .expect(200);
    assert_eq!(leaves["items"][0]["reason"], "fever");
    let leave_id = leaves["items"][0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/leave-requests/{leave_id}"), &t.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/students/{s}/handovers"), &t.token)
        .await
        .expect(200);
    let me = vec![t.user_id.clone()];
    assert_eq!(pupil_reads(&app, "pupil.detail_read", &s).await, me);
    assert_eq!(pupil_reads(&app, "pupil.attendance_read", &s).await, me);
    assert_eq!(
        pupil_reads(&app, "pupil.leave_read", &s).await,
        vec![t.user_id.clone(), t.user_id.clone()]
    );
    assert_eq!(pupil_reads(&app, "pupil.handovers_read", &s).await, me);
    // The school admin reads the mother's account, phone and all.
    app.get(
        &format!("/api/v1/users/{}", w.x.parent.user_id),
        &w.x.admin.token,
    )
    .await
    .expect(200);
    assert_eq!(
        pupil_reads(&app, "pupil.guardian_contact_read", &s).await,
        vec![w.x.admin.user_id.clone()]
    );
    // Who, in which school, and when: the chain's own columns.
    let school = app
        .strings(format!(
            "SELECT school_id AS s FROM audit_events WHERE action = 'pupil.detail_read' \
             AND actor_role = 'teacher' AND target_id = '{s}'"
        ))
        .await;
    assert_eq!(school, vec![w.x.id.clone()]);

    // A refused read records nothing: another school's teacher.
    app.get(&format!("/api/v1/students/{s}"), &w.y.teacher.token)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(pupil_reads(&app, "pupil.detail_read", &s).await.len(), 1);
}

async fn guards_reach_pupils_only_through_the_gate(app: TestApp) {
    let w = app.world().await;
    let s = &w.x.student_id;
    let g = &w.x.guard.token;
    for path in [
        format!("/api/v1/students/{s}"),
        format!("/api/v1/students/{s}/attendance"),
        format!("/api/v1/classes/{}/students", w.x.class_id),
        format!("/api/v1/schools/{}/classes", w.x.id),
    ] {
        app.get(&path, g)
            .await
            .expect_problem(403, "forbidden_role");
    }
    // The gate's own routes still work for the guard.
    app.get(&format!("/api/v1/classes/{}/dismissal", w.x.class_id), g)
        .await
        .expect(200);
    app.get(&format!("/api/v1/students/{s}/handovers"), g)
        .await
        .expect(200);
    assert_eq!(
        app.count("audit_events WHERE action LIKE 'pupil.%'").await,
        1
    );
}

async fn a_guardian_barred_by_a_confirmed_court_order_no_longer_sees_the_child(app: TestApp) {
    let w = app.world().await;
    let s = w.x.student_id.clone();
    let dad = app
        .create_activated(
            &w.x.admin,
            json!({"role": "parent", "username": "zhang.wei", "display_name": "Zhang Wei"}),
        )
        .await;
    let dad_id = dad["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/students/{s}/guardians"),
        &w.x.admin.token,
        json!({"user_id": dad_id, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    let dad = app.login("zhang.wei", PASSWORD).await;
    let children = app.get("/api/v1/me/children", &dad.token).await.expect(200);
    assert_eq!(children.as_array().unwrap().len(), 1);

    // The mother asks to bar him: pending, he still sees the child.
    let block = app
        .post(
            &format!("/api/v1/students/{s}/pickup-blocks"),
            &w.x.parent.token,
            json!({"name": "Zhang Wei", "note": "custody hearing on Friday"}),
        )
        .await
        .expect(201);
    assert_eq!(block["status"], "pending");
    app.get(&format!("/api/v1/students/{s}"), &dad.token)
        .await
        .expect(200);

    // The school admin confirms it with the court order: he loses the child.
    app.post(
        &format!(
            "/api/v1/pickup-blocks/{}/confirm",
            block["id"].as_str().unwrap()
        ),
        &w.x.admin.token,
        json!({"court_order_ref": "(2026) Hu 0105 Min Chu 123"}),
    )
    .await
    .expect(200);
    app.get(&format!("/api/v1/students/{s}"), &dad.token)
        .await
        .expect_problem(404, "not_found");
    let children = app.get("/api/v1/me/children", &dad.token).await.expect(200);
    assert!(children.as_array().unwrap().is_empty());
    // The mother still does.
    app.get(&format!("/api/v1/students/{s}"), &w.x.parent.token)
        .await
        .expect(200);
    let children = app
        .get("/api/v1/me/children", &w.x.parent.token)
        .await
        .expect(200);
    assert_eq!(children.as_array().unwrap().len(), 1);
}

async fn consent(app: &TestApp, who: &Session, student: &str, purpose: &str, given: bool) -> Resp {
    app.post(
        &format!("/api/v1/students/{student}/consents"),
        &who.token,
        json!({"purpose": purpose, "given": given, "policy_version": "2026-09", "channel": "app"}),
    )
    .await
}

fn state_of(consents: &serde_json::Value, purpose: &str) -> serde_json::Value {
    consents["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == purpose)
        .unwrap()
        .clone()
}

async fn a_guardian_gives_and_withdraws_consent_and_the_use_stops_with_it(app: TestApp) {
    let w = app.world().await;
    let s = w.x.student_id.clone();
    let path = format!("/api/v1/students/{s}/consents");
    // Grade 1: under 14, nothing decided, nothing allowed.
    let c = app.get(&path, &w.x.parent.token).await.expect(200);
    assert_eq!(c["guardian_consent_needed"], true);
    assert_eq!(state_of(&c, "pickup_photos")["allowed"], false);
    assert!(state_of(&c, "pickup_photos")["given"].is_null());

    // Who may: the pupil's guardians decide, the school admin reads; the
    // teacher, the guard and another family are refused; nothing written.
    consent(&app, &w.x.teacher, &s, "pickup_photos", true)
        .await
        .expect_problem(403, "forbidden_role");
    consent(&app, &w.y.parent, &s, "pickup_photos", true)
        .await
        .expect_problem(404, "not_found");
    app.get(&path, &w.x.guard.token)
        .await
        .expect_problem(403, "forbidden_role");
    app.get(&path, &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");
    consent(&app, &w.x.parent, &s, "selling_data", true)
        .await
        .expect_problem(422, "invalid_field");
    assert_eq!(app.count("consents").await, 0);

    // The mother adds Grandma with a photo: stored, but not served without consent.
    let png = tiny_png();
    let gm = app
        .post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": "Grandma Li", "relation": "grandmother", "phone": "13800000009",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31",
                   "photo": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &png)}),
        )
        .await
        .expect(201);
    let photo = gm["photo_url"].as_str().unwrap().to_string();
    let refused = app.get(&photo, &w.x.guard.token).await;
    refused.expect_problem(403, "consent_required");
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("pickup_photos"));
    // Nor offered: the family's list and the gate's dismissal board show no
    // photo link while the photo may not be served.
    let persons = format!("/api/v1/students/{s}/pickup-persons");
    let board = format!("/api/v1/classes/{}/dismissal", w.x.class_id);
    let offered = |list: &serde_json::Value| -> Vec<String> {
        let mut urls = Vec::new();
        let mut stack = vec![list.clone()];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(u) = m.get("photo_url").and_then(|u| u.as_str()) {
                        urls.push(u.to_string());
                    }
                    stack.extend(m.into_iter().map(|(_, v)| v));
                }
                serde_json::Value::Array(a) => stack.extend(a),
                _ => {}
            }
        }
        urls
    };
    let listed = app.get(&persons, &w.x.parent.token).await.expect(200);
    assert!(offered(&listed).is_empty(), "{listed}");
    let shown = app.get(&board, &w.x.guard.token).await.expect(200);
    assert!(!offered(&shown).contains(&photo), "{shown}");

    // She consents: the gate sees the photo; the decision is audited.
    let c = consent(&app, &w.x.parent, &s, "pickup_photos", true)
        .await
        .expect(201);
    let st = state_of(&c, "pickup_photos");
    assert_eq!(st["allowed"], true);
    assert_eq!(st["given"], true);
    assert_eq!(st["policy_version"], "2026-09");
    assert_eq!(st["channel"], "app");
    assert_eq!(st["decided_by"], w.x.parent.user_id.as_str());
    assert!(st["decided_at"].is_string());
    app.get(&photo, &w.x.guard.token).await.expect(200);
    let listed = app.get(&persons, &w.x.parent.token).await.expect(200);
    assert_eq!(offered(&listed), vec![photo.clone()]);
    let shown = app.get(&board, &w.x.guard.token).await.expect(200);
    assert!(offered(&shown).contains(&photo), "{shown}");
    assert_eq!(
        app.audits("consent.given purpose=pickup_photos policy=2026-09 channel=app")
            .await,
        1
    );

    // The school admin reads the consents: audited as a read of the pupil.
    let c = app.get(&path, &w.x.admin.token).await.expect(200);
    assert_eq!(state_of(&c, "pickup_photos")["given"], true);
    assert_eq!(
        pupil_reads(&app, "pupil.consents_read", &s).await,
        vec![w.x.admin.user_id.clone()]
    );

    // She withdraws it: the photo stops at once.
    consent(&app, &w.x.parent, &s, "pickup_photos", false)
        .await
        .expect(201);
    app.get(&photo, &w.x.guard.token)
        .await
        .expect_problem(403, "consent_required");
    let listed = app.get(&persons, &w.x.parent.token).await.expect(200);
    assert!(offered(&listed).is_empty(), "{listed}");
    assert_eq!(app.count("consents").await, 1);

    // Push about a pupil under 14: never decided or withdrawn, the news
    // reaches the feed but not the phone's push; given, push resumes.
    let pushes = format!(
        "SELECT COUNT(*) AS n FROM outbox o JOIN notifications n ON n.id = o.notification_id \
         WHERE o.channel = 'push' AND o.user_id = '{}' AND n.template = 'pickup.person_added'",
        w.x.parent.user_id
    );
    let steps = [
        (None, "Cousin Li", "13800000009", false),
        (Some(false), "Uncle Wang", "13800000008", false),
        (Some(true), "Aunt Zhao", "13800000007", true),
    ];
    for (decision, name, phone, pushed) in steps {
        if let Some(given) = decision {
            consent(&app, &w.x.parent, &s, "push_notifications", given)
                .await
                .expect(201);
        }
        let push_before = app.query_i64(pushes.clone()).await;
        let feed_before = app.notes(&w.x.parent.user_id, "pickup.person_added").await;
        app.post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.admin.token,
            json!({"name": name, "relation": "relative", "phone": phone,
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
        )
        .await
        .expect(201);
        assert_eq!(
            app.query_i64(pushes.clone()).await,
            push_before + i64::from(pushed),
            "{name}"
        );
        assert_eq!(
            app.notes(&w.x.parent.user_id, "pickup.person_added").await,
            feed_before + 1
        );
    }
}

/// A real 2×2 PNG.
fn tiny_png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(2, 2)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A JPEG from a phone: an EXIF block (APP1) with a GPS position right
/// after the start of the image.
fn jpeg_with_gps() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(1600, 1200)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let plain = out.into_inner();
    // TIFF, big-endian: IFD0 with one entry, the GPS IFD pointer (0x8825),
    // and a GPS IFD whose latitude reference is "N".
    let mut tiff: Vec<u8> = vec![0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8];
    tiff.extend([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    tiff.extend([0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend(b"GPSMARK-31.2304N-121.4737E");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = (app1.len() + 2) as u16;
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend([0xFF, 0xE1]);
    jpeg.extend(len.to_be_bytes());
    jpeg.extend(app1);
    jpeg.extend(&plain[2..]);
    jpeg
}

async fn an_uploaded_photo_is_kept_without_its_exif_and_scaled_down(app: TestApp) {
    let w = app.world().await;
    let s = w.x.student_id.clone();
    let jpeg = jpeg_with_gps();
    assert!(String::from_utf8_lossy(&jpeg).contains("GPSMARK"));
    consent(&app, &w.x.parent, &s, "pickup_photos", true)
        .await
        .expect(201);
    let gm = app
        .post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": "Grandma Li", "relation": "grandmother", "phone": "13800000009",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31",
                   "photo": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &jpeg)}),
        )
        .await
        .expect(201);
    let photo = app
        .get(gm["photo_url"].as_str().unwrap(), &w.x.guard.token)
        .await;
    assert_eq!(photo.status, 200);
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
    assert!(!photo.text.contains("Exif"), "EXIF kept");
    assert!(!photo.text.contains("GPSMARK"), "GPS kept");
    // Nothing of it in the database either.
    assert!(app.tables_containing("GPSMARK").await.is_empty());
    // What is not an image is refused, nothing written.
    let before = app.count("pickup_persons").await;
    let fake = [&[0xFFu8, 0xD8, 0xFF][..], &[7u8; 64][..]].concat();
    let r = app
        .post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": "Uncle Wang", "relation": "uncle", "phone": "13800000008",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31",
                   "photo": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &fake)}),
        )
        .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "photo");
    assert_eq!(app.count("pickup_persons").await, before);
}

on_both_databases!(
    an_uploaded_photo_is_kept_without_its_exif_and_scaled_down,
    a_guardian_gives_and_withdraws_consent_and_the_use_stops_with_it,
    a_teachers_reads_of_a_pupils_record_are_audited_and_the_familys_are_not,
    guards_reach_pupils_only_through_the_gate,
    a_guardian_barred_by_a_confirmed_court_order_no_longer_sees_the_child,
);
