//! Notices, receipts and coverage, the feed, preferences, and delivery by
//! email and webhook through the outbox, with a set clock.

use crate::support::library::{self, AppState};
use crate::support::receivers::{SmtpSink, WebhookReceiver};
use crate::support::workers::{run_escalation, run_outbox};
use crate::support::*;
use actix_web::web;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

async fn person(
    app: &TestApp,
    admin: &Session,
    role: &str,
    username: &str,
    email: Option<&str>,
    language: &str,
) -> String {
    let mut body = json!({"role": role, "username": username, "display_name": username,
                          "language": language});
    if let Some(e) = email {
        body["email"] = json!(e);
    }
    app.create_activated(admin, body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn smtp_state(app: &TestApp, url: String) -> web::Data<AppState> {
    app.state_with(|s| s.smtp_url = Some(url))
}

fn webhook_state(app: &TestApp, hook: &WebhookReceiver, max_attempts: i32) -> web::Data<AppState> {
    let (url, secret) = (hook.url.clone(), hook.secret.clone());
    app.state_with(move |s| {
        s.push_webhook_url = Some(url);
        s.push_webhook_secret = secret.into_bytes();
        s.outbox_max_attempts = max_attempts;
    })
}

fn lesson(class_id: &str) -> Value {
    json!({
        "audience": {"class_ids": [class_id]},
        "to": "guardians",
        "category": "safety_education",
        "title": "Body safety lesson: my body belongs to me",
        "body": "Today we learned the underwear rule. Please talk about it at home.",
        "requires_ack": true
    })
}

async fn notify_item(app: &TestApp, s: &Session, notice_id: &str) -> Value {
    let feed = app
        .get("/api/v1/me/notifications", &s.token)
        .await
        .expect(200);
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["notice_id"] == json!(notice_id))
        .cloned()
        .unwrap_or(Value::Null)
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

async fn teacher_sends_the_safety_lesson_parents_ack_and_the_teacher_sees_who_is_missing(
    app: TestApp,
) {
    let w = app.world().await;
    let x = &w.x;
    let father = person(&app, &x.admin, "parent", "x.father", None, "en").await;
    app.add_guardian(&x.admin, &x.student_id, &father, "father")
        .await;
    let second = app
        .create_student(&x.admin, &x.id, &x.class_id, "pupil-x2", 1)
        .await;
    let p2 = person(&app, &x.admin, "parent", "x2.parent", None, "zh-CN").await;
    app.add_guardian(&x.admin, &second, &p2, "mother").await;

    let mut body = lesson(&x.class_id);
    body["ack_due_at"] = json!((app.state.now() + Duration::days(3)).to_rfc3339());
    let notice = app
        .post("/api/v1/notices", &x.teacher.token, body)
        .await
        .expect(201);
    let id = notice["id"].as_str().unwrap();
    assert_eq!(notice["recipients"], 3);
    assert_eq!(notice["category"], "safety_education");

    let item = notify_item(&app, &x.parent, id).await;
    assert_eq!(item["title"], "Body safety lesson: my body belongs to me");
    assert_eq!(item["requires_ack"], true);
    assert!(item["acked_at"].is_null());

    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(
        (
            r["recipients"].clone(),
            r["read"].clone(),
            r["acknowledged"].clone()
        ),
        (json!(3), json!(0), json!(0))
    );
    assert_eq!(r["pending"].as_array().unwrap().len(), 3);
    assert_eq!(r["by_class"][0]["students"], 2);

    let item_id = item["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/me/notifications/{item_id}/read"),
        &x.parent.token,
        json!({}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/me/notifications/{item_id}/ack"),
        &x.parent.token,
        json!({}),
    )
    .await
    .expect(204);
    // Twice is harmless; another family's item is not found.
    app.post(
        &format!("/api/v1/me/notifications/{item_id}/ack"),
        &x.parent.token,
        json!({}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/me/notifications/{item_id}/ack"),
        &w.y.parent.token,
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");

    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(r["read"], 1);
    assert_eq!(r["acknowledged"], 1);
    assert_eq!(r["by_class"][0]["acknowledged"], 1);
    assert_eq!(
        names(&r["pending"], "user_name"),
        vec!["x.father".to_string(), "x2.parent".to_string()]
    );
    assert_eq!(
        names(&r["pending"], "student_name"),
        vec!["pupil-sch-x".to_string(), "pupil-x2".to_string()]
    );

    // The school's admin sees them too; another school and families do not.
    app.get(&format!("/api/v1/notices/{id}/receipts"), &x.admin.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/notices/{id}/receipts"), &w.y.admin.token)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/notices/{id}/receipts"), &x.parent.token)
        .await
        .expect_problem(403, "forbidden_role");
    let list = app
        .get("/api/v1/notices", &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(list["items"][0]["id"], json!(id));
    let got = app
        .get(&format!("/api/v1/notices/{id}"), &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(got["recipients"], 3);

    // A system alert asks for no acknowledgement.
    let feed = app
        .get("/api/v1/me/notifications", &x.parent.token)
        .await
        .expect(200);
    let alert = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["notice_id"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/me/notifications/{alert}/ack"),
        &x.parent.token,
        json!({}),
    )
    .await
    .expect_problem(409, "ack_not_required");
}

async fn audiences_follow_the_senders_scope(app: TestApp) {
    let w = app.world().await;
    let (x, y) = (&w.x, &w.y);
    let other_class = app.create_class(&x.admin, &x.id, 2, None).await;
    let other_pupil = app
        .create_student(&x.admin, &x.id, &other_class, "pupil-x-g2", 2)
        .await;
    let other_parent = person(&app, &x.admin, "parent", "x.g2.parent", None, "en").await;
    app.add_guardian(&x.admin, &other_pupil, &other_parent, "father")
        .await;
    let bureau_id = person(
        &app,
        &w.district_admin,
        "bureau_officer",
        "bureau",
        None,
        "zh-CN",
    )
    .await;
    assert!(!bureau_id.is_empty());
    let bureau = app.login("bureau", PASSWORD).await;
    let send = |audience: Value| {
        json!({"audience": audience, "to": "guardians", "category": "general",
               "title": "Sports day", "body": "Wear trainers."})
    };

    // Teacher: their class and its pupils only.
    let r = app
        .post(
            "/api/v1/notices",
            &x.teacher.token,
            send(json!({"class_ids": [x.class_id]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 1);
    let r = app
        .post(
            "/api/v1/notices",
            &x.teacher.token,
            send(json!({"student_ids": [x.student_id]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 1);
    app.post(
        "/api/v1/notices",
        &x.teacher.token,
        send(json!({"class_ids": [other_class]})),
    )
    .await
    .expect_problem(403, "audience_not_allowed");
    app.post(
        "/api/v1/notices",
        &x.teacher.token,
        send(json!({"student_ids": [other_pupil]})),
    )
    .await
    .expect_problem(403, "audience_not_allowed");
    app.post(
        "/api/v1/notices",
        &x.teacher.token,
        send(json!({"class_ids": [y.class_id]})),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/notices",
        &x.teacher.token,
        send(json!({"school_ids": [x.id]})),
    )
    .await
    .expect_problem(403, "audience_not_allowed");
    app.post(
        "/api/v1/notices",
        &x.teacher.token,
        send(json!({"grades": [1]})),
    )
    .await
    .expect_problem(403, "audience_not_allowed");

    // School admin: the whole school, a grade, any class or pupil of it.
    let r = app
        .post(
            "/api/v1/notices",
            &x.admin.token,
            send(json!({"school_ids": [x.id]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 2);
    let r = app
        .post(
            "/api/v1/notices",
            &x.admin.token,
            send(json!({"grades": [2]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 1);
    let r = app
        .post(
            "/api/v1/notices",
            &x.admin.token,
            send(json!({"class_ids": [other_class]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 1);
    app.post(
        "/api/v1/notices",
        &x.admin.token,
        send(json!({"school_ids": [y.id]})),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/notices",
        &x.admin.token,
        send(json!({"student_ids": [y.student_id]})),
    )
    .await
    .expect_problem(404, "not_found");

    // Bureau officer: the district.
    let r = app
        .post(
            "/api/v1/notices",
            &bureau.token,
            send(json!({"school_ids": [x.id, y.id]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 3);
    assert!(r["school_id"].is_null());
    let r = app
        .post(
            "/api/v1/notices",
            &bureau.token,
            send(json!({"grades": [1]})),
        )
        .await
        .expect(201);
    assert_eq!(r["recipients"], 2);
    let item = notify_item(&app, &y.parent, r["id"].as_str().unwrap()).await;
    assert_eq!(item["title"], "Sports day");

    // Families, guards and the district admin send no notices.
    for s in [&x.parent, &x.guard, &w.district_admin] {
        app.post(
            "/api/v1/notices",
            &s.token,
            send(json!({"school_ids": [x.id]})),
        )
        .await
        .expect_problem(403, "forbidden_role");
    }
    // Students with an account receive notices sent to students.
    let r = app
        .post(
            "/api/v1/notices",
            &x.teacher.token,
            json!({"audience": {"class_ids": [x.class_id]}, "to": "students", "category": "general",
                   "title": "t", "body": "b"}),
        )
        .await;
    r.expect_problem(422, "audience_empty");
}

async fn a_parent_of_two_children_gets_one_feed_item_and_both_children_in_receipts(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let class2 = app.create_class(&x.admin, &x.id, 3, None).await;
    let sibling = app
        .create_student(&x.admin, &x.id, &class2, "sibling", 3)
        .await;
    app.add_guardian(&x.admin, &sibling, &x.parent.user_id, "mother")
        .await;
    let notice = app
        .post(
            "/api/v1/notices",
            &x.admin.token,
            json!({"audience": {"school_ids": [x.id]}, "to": "guardians", "category": "meeting",
                   "title": "Parents' evening", "body": "Thursday 18:00.", "requires_ack": true}),
        )
        .await
        .expect(201);
    assert_eq!(notice["recipients"], 1);
    let id = notice["id"].as_str().unwrap();
    let feed = app
        .get("/api/v1/me/notifications", &x.parent.token)
        .await
        .expect(200);
    let of_notice: Vec<&Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["notice_id"] == json!(id))
        .collect();
    assert_eq!(of_notice.len(), 1);
    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.admin.token)
        .await
        .expect(200);
    assert_eq!(r["by_class"].as_array().unwrap().len(), 2);
    assert_eq!(r["pending"].as_array().unwrap().len(), 2);
    let item = of_notice[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/me/notifications/{item}/ack"),
        &x.parent.token,
        json!({}),
    )
    .await
    .expect(204);
    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.admin.token)
        .await
        .expect(200);
    assert_eq!(r["pending"].as_array().unwrap().len(), 0);
    assert_eq!(r["acknowledged"], 1);
}

async fn receipts_and_coverage_give_the_known_answers(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let a2 = app
        .create_student(&x.admin, &x.id, &x.class_id, "a2", 1)
        .await;
    let pa2 = person(&app, &x.admin, "parent", "pa2", None, "en").await;
    app.add_guardian(&x.admin, &a2, &pa2, "mother").await;
    let class_b = app.create_class(&x.admin, &x.id, 2, None).await;
    let b1 = app.create_student(&x.admin, &x.id, &class_b, "b1", 2).await;
    let pb1 = person(&app, &x.admin, "parent", "pb1", None, "en").await;
    app.add_guardian(&x.admin, &b1, &pb1, "father").await;
    app.create_student(&x.admin, &x.id, &class_b, "b2", 2).await;
    let b3 = app.create_student(&x.admin, &x.id, &class_b, "b3", 2).await;
    let b3_user = person(&app, &x.admin, "student", "b3.user", None, "zh-CN").await;
    app.execute(format!(
        "UPDATE students SET user_id = '{b3_user}' WHERE id = '{b3}'"
    ))
    .await;
    let pa2s = app.login("pa2", PASSWORD).await;
    let pb1s = app.login("pb1", PASSWORD).await;
    let b3s = app.login("b3.user", PASSWORD).await;

    let safety = |title: &str| {
        json!({"audience": {"school_ids": [x.id]}, "to": "both", "category": "safety_education",
               "title": title, "body": "Lesson.", "requires_ack": true})
    };
    // Before the period: acknowledged by pa2, and so not counted.
    let early = app
        .post("/api/v1/notices", &x.admin.token, safety("early"))
        .await
        .expect(201);
    let early_item = notify_item(&app, &pa2s, early["id"].as_str().unwrap()).await;
    app.post(
        &format!(
            "/api/v1/me/notifications/{}/ack",
            early_item["id"].as_str().unwrap()
        ),
        &pa2s.token,
        json!({}),
    )
    .await
    .expect(204);
    app.clock.advance(Duration::days(1));
    let admin = app.relog(&x.admin).await;
    let (parent, pa2s, pb1s, b3s) = (
        app.relog(&x.parent).await,
        app.relog(&pa2s).await,
        app.relog(&pb1s).await,
        app.relog(&b3s).await,
    );
    let from = app.state.now() - Duration::hours(1);
    let notice = app
        .post("/api/v1/notices", &admin.token, safety("lesson"))
        .await
        .expect(201);
    assert_eq!(notice["recipients"], 4);
    let id = notice["id"].as_str().unwrap();
    // Another category, acknowledged by pa2: not counted either.
    let meeting = app
        .post(
            "/api/v1/notices",
            &admin.token,
            json!({"audience": {"school_ids": [x.id]}, "to": "guardians", "category": "meeting",
                   "title": "m", "body": "m", "requires_ack": true}),
        )
        .await
        .expect(201);
    let m_item = notify_item(&app, &pa2s, meeting["id"].as_str().unwrap()).await;
    app.post(
        &format!(
            "/api/v1/me/notifications/{}/ack",
            m_item["id"].as_str().unwrap()
        ),
        &pa2s.token,
        json!({}),
    )
    .await
    .expect(204);
    for s in [&parent, &pb1s, &b3s] {
        let item = notify_item(&app, s, id).await;
        app.post(
            &format!(
                "/api/v1/me/notifications/{}/ack",
                item["id"].as_str().unwrap()
            ),
            &s.token,
            json!({}),
        )
        .await
        .expect(204);
    }

    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &admin.token)
        .await
        .expect(200);
    assert_eq!(
        (r["recipients"].clone(), r["acknowledged"].clone()),
        (json!(4), json!(3))
    );
    let by: Vec<(i64, i64)> = r["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["students"].as_i64().unwrap(),
                c["acknowledged"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by, vec![(2, 1), (2, 2)]);
    assert_eq!(names(&r["pending"], "user_name"), vec!["pa2".to_string()]);

    let to = app.state.now() + Duration::hours(1);
    let q = format!(
        "/api/v1/coverage?category=safety_education&from={}&to={}",
        from.format("%Y-%m-%dT%H:%M:%SZ"),
        to.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let c = app.get(&q, &admin.token).await.expect(200);
    let schools = c["schools"].as_array().unwrap();
    assert_eq!(schools.len(), 1, "a school admin sees their school only");
    let s = &schools[0];
    assert_eq!(
        (
            s["students"].clone(),
            s["students_acknowledged"].clone(),
            s["families"].clone(),
            s["families_acknowledged"].clone()
        ),
        (json!(5), json!(1), json!(3), json!(2))
    );
    assert_eq!(s["family_share"], json!(0.6667));
    let a = &s["classes"][0];
    assert_eq!(
        (
            a["students"].clone(),
            a["students_acknowledged"].clone(),
            a["families"].clone(),
            a["families_acknowledged"].clone(),
            a["family_share"].clone()
        ),
        (json!(2), json!(0), json!(2), json!(1), json!(0.5))
    );
    let b = &s["classes"][1];
    assert_eq!(
        (
            b["students"].clone(),
            b["students_acknowledged"].clone(),
            b["student_share"].clone(),
            b["families"].clone(),
            b["families_acknowledged"].clone(),
            b["family_share"].clone()
        ),
        (
            json!(3),
            json!(1),
            json!(0.3333),
            json!(1),
            json!(1),
            json!(1.0)
        )
    );
    let district_admin = app.login("admin", ADMIN_PASSWORD).await;
    let d = app.get(&q, &district_admin.token).await.expect(200);
    assert_eq!(d["schools"].as_array().unwrap().len(), 2);
    app.get(&q, &parent.token)
        .await
        .expect_problem(403, "forbidden_role");
    let backwards = format!(
        "/api/v1/coverage?from={}&to={}",
        to.format("%Y-%m-%dT%H:%M:%SZ"),
        from.format("%Y-%m-%dT%H:%M:%SZ")
    );
    app.get(&backwards, &admin.token)
        .await
        .expect_problem(422, "invalid_field");
}

async fn email_arrives_through_a_real_smtp_server_in_the_users_language(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let sink = SmtpSink::start();
    let state = smtp_state(&app, sink.url());
    let en = person(
        &app,
        &x.admin,
        "parent",
        "en.parent",
        Some("en.parent@example.test"),
        "en",
    )
    .await;
    let zh = person(
        &app,
        &x.admin,
        "parent",
        "zh.parent",
        Some("zh.parent@example.test"),
        "zh-CN",
    )
    .await;
    app.add_guardian(&x.admin, &x.student_id, &en, "father")
        .await;
    app.add_guardian(&x.admin, &x.student_id, &zh, "grandmother")
        .await;
    run_outbox(&state).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 2);
    let to = |addr: &str| {
        mails
            .iter()
            .find(|m| m.to.iter().any(|t| t.contains(addr)))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        to("en.parent@example.test").subject(),
        "Linked to a student"
    );
    assert_eq!(to("zh.parent@example.test").subject(), "已关联学生");

    let notice = app
        .post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    run_outbox(&state).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 4);
    let en_mail = mails
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t.contains("en.parent@")))
        .unwrap();
    assert_eq!(
        en_mail.subject(),
        "Body safety lesson: my body belongs to me"
    );
    assert!(en_mail
        .header("Message-ID")
        .unwrap()
        .contains("@safecampus>"));
    let id = notice["id"].as_str().unwrap();
    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(r["delivered"], 2, "the two parents with email");
    // Exactly once: a later round sends nothing again.
    app.clock.advance(Duration::days(1));
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 4);
}

async fn smtp_down_is_retried_and_delivered_exactly_once_when_it_returns(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let port = SmtpSink::free_port();
    let state = smtp_state(&app, format!("smtp://127.0.0.1:{port}"));
    let en = person(
        &app,
        &x.admin,
        "parent",
        "en.parent",
        Some("en.parent@example.test"),
        "en",
    )
    .await;
    app.add_guardian(&x.admin, &x.student_id, &en, "father")
        .await;
    run_outbox(&state).await;
    let email_rows = "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'email'";
    assert_eq!(app.query_i64(email_rows.into()).await, 1);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'email' AND state = 'pending' AND attempts = 1 AND last_error = 'smtp: connection failed'".into()).await,
        1
    );
    let sink = SmtpSink::start_on(port);
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 0, "not due before its backoff");
    app.clock.advance(Duration::minutes(10));
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 1);
    app.clock.advance(Duration::days(1));
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'email' AND state = 'sent'".into()
        )
        .await,
        1
    );
}

fn hooks_for(
    hook: &WebhookReceiver,
    user_id: &str,
    category: &str,
) -> Vec<crate::support::receivers::Hook> {
    hook.hooks()
        .into_iter()
        .filter(|h| h.body["user_id"] == json!(user_id) && h.body["category"] == json!(category))
        .collect()
}

async fn webhook_is_signed_and_a_500_is_retried_until_delivered(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let hook = WebhookReceiver::start();
    hook.respond_with(500);
    let state = webhook_state(&app, &hook, 8);
    app.post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    run_outbox(&state).await;
    let seen = hooks_for(&hook, &x.parent.user_id, "safety_education");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signature_ok);
    assert_eq!(seen[0].body["channel"], "push");
    assert_eq!(
        seen[0].body["title"],
        "Body safety lesson: my body belongs to me"
    );
    hook.respond_with(200);
    app.clock.advance(Duration::minutes(10));
    run_outbox(&state).await;
    let seen = hooks_for(&hook, &x.parent.user_id, "safety_education");
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|h| h.signature_ok));
    assert_eq!(seen[0].idempotency_key, seen[1].idempotency_key);
    let key = &seen[0].idempotency_key;
    assert_eq!(
        app.query_i64(format!("SELECT COUNT(*) AS n FROM outbox WHERE id = '{key}' AND state = 'sent' AND attempts = 2 AND provider_id = 'gw-1'")).await,
        1
    );
    app.clock.advance(Duration::days(1));
    run_outbox(&state).await;
    assert_eq!(
        hooks_for(&hook, &x.parent.user_id, "safety_education").len(),
        2
    );
    // A wrong secret is refused by the receiver and retried, never "delivered".
    let bad = app.state_with(|s| {
        s.push_webhook_url = Some(hook.url.clone());
        s.push_webhook_secret = b"another-secret-another-secret-00001".to_vec();
    });
    let teacher = app.relog(&x.teacher).await;
    app.post("/api/v1/notices", &teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    run_outbox(&bad).await;
    let last = hook.hooks().pop().unwrap();
    assert!(!last.signature_ok);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM outbox WHERE id = '{}' AND state = 'pending'",
            last.idempotency_key
        ))
        .await,
        1
    );
}

async fn webhook_400_goes_dead_after_the_limit_and_an_admin_retries_it(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let hook = WebhookReceiver::start();
    hook.respond_with(400);
    let state = webhook_state(&app, &hook, 3);
    app.post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    for _ in 0..3 {
        run_outbox(&state).await;
        app.clock.advance(Duration::minutes(30));
    }
    run_outbox(&state).await;
    let seen = hooks_for(&hook, &x.parent.user_id, "safety_education");
    assert_eq!(seen.len(), 3, "three attempts, then no more");
    let key = seen[0].idempotency_key.clone();
    let (admin, y_admin, teacher) = (
        app.relog(&x.admin).await,
        app.relog(&w.y.admin).await,
        app.relog(&x.teacher).await,
    );
    let dead = app
        .get("/api/v1/admin/outbox?state=dead", &admin.token)
        .await
        .expect(200);
    let row = dead["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(key))
        .cloned()
        .unwrap();
    assert_eq!(row["attempts"], 3);
    assert_eq!(row["last_error"], "webhook: http 400");
    let other = app
        .get("/api/v1/admin/outbox?state=dead", &y_admin.token)
        .await
        .expect(200);
    assert!(other["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["id"] != json!(key)));
    app.post(
        &format!("/api/v1/admin/outbox/{key}/retry"),
        &y_admin.token,
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    app.get("/api/v1/admin/outbox?state=dead", &teacher.token)
        .await
        .expect_problem(403, "forbidden_role");
    app.get("/api/v1/admin/outbox?state=lost", &admin.token)
        .await
        .expect_problem(422, "invalid_field");

    let retried = app
        .post(
            &format!("/api/v1/admin/outbox/{key}/retry"),
            &admin.token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried["state"], "pending");
    hook.respond_with(200);
    run_outbox(&state).await;
    assert_eq!(
        hooks_for(&hook, &x.parent.user_id, "safety_education").len(),
        4
    );
    let sent = app
        .get("/api/v1/admin/outbox?state=sent", &admin.token)
        .await
        .expect(200);
    assert!(sent["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == json!(key)));
    app.post(
        &format!("/api/v1/admin/outbox/{key}/retry"),
        &admin.token,
        json!({}),
    )
    .await
    .expect_problem(409, "delivery_not_dead");
}

async fn a_worker_crash_between_send_and_mark_resends_once_with_the_same_idempotency_key(
    app: TestApp,
) {
    let w = app.world().await;
    let x = &w.x;
    let hook = WebhookReceiver::start();
    let state = webhook_state(&app, &hook, 8);
    // Earlier alerts out of the way.
    run_outbox(&state).await;
    let before = hook.hooks().len();
    app.post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    // The worker claims and sends, then dies before it marks anything.
    let s = state.clone();
    let claimed = web::block(move || {
        let batch = library::claim_outbox(&s, 100).unwrap();
        for c in &batch {
            library::deliver_outbox(&s, c);
        }
        batch.len()
    })
    .await
    .unwrap();
    assert_eq!(claimed, 1);
    assert_eq!(hook.hooks().len(), before + 1);
    // Its lease holds: another worker does not send it meanwhile.
    run_outbox(&state).await;
    assert_eq!(hook.hooks().len(), before + 1);
    app.clock.advance(Duration::minutes(6));
    run_outbox(&state).await;
    let after: Vec<_> = hook.hooks().split_off(before);
    assert_eq!(after.len(), 2, "at most one extra copy per crash");
    assert_eq!(after[0].idempotency_key, after[1].idempotency_key);
    assert_eq!(after[0].body, after[1].body);
    app.clock.advance(Duration::days(1));
    run_outbox(&state).await;
    assert_eq!(hook.hooks().len(), before + 2);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM outbox WHERE id = '{}' AND state = 'sent'",
            after[0].idempotency_key
        ))
        .await,
        1
    );
}

async fn an_unread_notice_is_escalated_before_it_is_due(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let sink = SmtpSink::start();
    let state = smtp_state(&app, sink.url());
    let reader = person(
        &app,
        &x.admin,
        "parent",
        "reader",
        Some("reader@example.test"),
        "en",
    )
    .await;
    let idle = person(
        &app,
        &x.admin,
        "parent",
        "idle",
        Some("idle@example.test"),
        "en",
    )
    .await;
    app.add_guardian(&x.admin, &x.student_id, &reader, "father")
        .await;
    app.add_guardian(&x.admin, &x.student_id, &idle, "aunt")
        .await;
    let mut body = lesson(&x.class_id);
    body["ack_due_at"] = json!((app.state.now() + Duration::hours(48)).to_rfc3339());
    let notice = app
        .post("/api/v1/notices", &x.teacher.token, body)
        .await
        .expect(201);
    let id = notice["id"].as_str().unwrap();
    run_outbox(&state).await;
    let first = sink.mails().len();
    let readers = app.login("reader", PASSWORD).await;
    let item = notify_item(&app, &readers, id).await;
    app.post(
        &format!(
            "/api/v1/me/notifications/{}/read",
            item["id"].as_str().unwrap()
        ),
        &readers.token,
        json!({}),
    )
    .await
    .expect(204);
    assert_eq!(run_escalation(&state).await, 0);
    app.clock.advance(Duration::hours(23));
    assert_eq!(
        run_escalation(&state).await,
        0,
        "25 hours before due: not yet"
    );
    app.clock.advance(Duration::hours(2));
    assert_eq!(run_escalation(&state).await, 1);
    assert_eq!(run_escalation(&state).await, 0, "once per notice");
    run_outbox(&state).await;
    let mails = sink.mails();
    let reminders: Vec<_> = mails[first..].iter().collect();
    assert_eq!(
        reminders.len(),
        1,
        "only the one who has not read it (with email)"
    );
    assert!(reminders[0].to[0].contains("idle@example.test"));
    assert_eq!(
        reminders[0].subject(),
        "[Reminder] Body safety lesson: my body belongs to me"
    );
    // A notice sent inside the window is not chased at once.
    let mut soon = lesson(&x.class_id);
    soon["ack_due_at"] = json!((app.state.now() + Duration::hours(5)).to_rfc3339());
    let teacher = app.relog(&x.teacher).await;
    app.post("/api/v1/notices", &teacher.token, soon)
        .await
        .expect(201);
    assert_eq!(run_escalation(&state).await, 0);
}

async fn quiet_hours_delay_ordinary_messages_but_not_urgent_ones(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let sink = SmtpSink::start();
    let state = smtp_state(&app, sink.url());
    let en = person(
        &app,
        &x.admin,
        "parent",
        "en.parent",
        Some("en.parent@example.test"),
        "en",
    )
    .await;
    app.add_guardian(&x.admin, &x.student_id, &en, "father")
        .await;
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 1);
    // 23:00 in Shanghai.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap());
    let teacher = app.relog(&x.teacher).await;
    let general = json!({"audience": {"class_ids": [x.class_id]}, "to": "guardians", "category": "general",
                         "title": "Library books", "body": "Return them by Friday."});
    app.post("/api/v1/notices", &teacher.token, general)
        .await
        .expect(201);
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 1, "held for quiet hours");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM outbox WHERE channel = 'email' AND state = 'pending' AND attempts = 0".into()).await,
        1
    );
    let urgent = json!({"audience": {"class_ids": [x.class_id]}, "to": "guardians", "category": "urgent",
                        "title": "School closed tomorrow", "body": "Storm warning."});
    app.post("/api/v1/notices", &teacher.token, urgent)
        .await
        .expect(201);
    run_outbox(&state).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject(), "[Urgent] School closed tomorrow");
    // 06:59 local: still quiet; 07:00: delivered.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 22, 59, 0).unwrap());
    run_outbox(&state).await;
    assert_eq!(sink.mails().len(), 2);
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap());
    run_outbox(&state).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 3);
    assert_eq!(mails[2].subject(), "Library books");
}

async fn preferences_switch_channels_but_never_safety_alerts_in_the_app(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let en = person(
        &app,
        &x.admin,
        "parent",
        "en.parent",
        Some("en.parent@example.test"),
        "en",
    )
    .await;
    app.add_guardian(&x.admin, &x.student_id, &en, "father")
        .await;
    let s = app.login("en.parent", PASSWORD).await;
    let p = app
        .get("/api/v1/me/notification-preferences", &s.token)
        .await
        .expect(200);
    assert_eq!(p["quiet_hours"], json!({"start": "22:00", "end": "07:00"}));
    let general = p["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "general")
        .unwrap()
        .clone();
    assert_eq!(
        general,
        json!({"category": "general", "in_app": true, "email": true, "push": true, "sms": false})
    );

    let token = s.token.clone();
    let put = |body: Value| {
        let token = token.clone();
        let app = &app;
        async move {
            app.send(
                "PUT",
                "/api/v1/me/notification-preferences",
                Some(&token),
                Some(&body),
                &[],
            )
            .await
        }
    };
    put(json!({"categories": [{"category": "pickup", "in_app": false, "email": true, "push": true, "sms": false}]}))
        .await
        .expect_problem(422, "cannot_disable");
    put(json!({"quiet_hours": {"start": "25:00", "end": "07:00"}}))
        .await
        .expect_problem(422, "invalid_field");
    put(json!({"volume": 11}))
        .await
        .expect_problem(422, "unknown_field");
    let p = put(json!({"categories": [{"category": "general", "in_app": false, "email": false, "push": true, "sms": false}],
                       "quiet_hours": {"start": "21:30", "end": "06:45"}}))
        .await
        .expect(200);
    assert_eq!(p["quiet_hours"]["start"], "21:30");

    let general = json!({"audience": {"class_ids": [x.class_id]}, "to": "guardians", "category": "general",
                         "title": "Library books", "body": "Return them."});
    let g = app
        .post("/api/v1/notices", &x.teacher.token, general)
        .await
        .expect(201);
    let l = app
        .post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    assert!(
        notify_item(&app, &s, g["id"].as_str().unwrap())
            .await
            .is_null(),
        "switched off in the app"
    );
    assert!(!notify_item(&app, &s, l["id"].as_str().unwrap())
        .await
        .is_null());
    assert!(
        !notify_item(&app, &x.parent, g["id"].as_str().unwrap())
            .await
            .is_null(),
        "others unaffected"
    );
    let email_rows = |nid: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM outbox o JOIN notifications n ON n.id = o.notification_id \
                 WHERE n.notice_id = '{nid}' AND o.user_id = '{en}' AND o.channel = 'email'"
        )
    };
    assert_eq!(
        app.query_i64(email_rows(g["id"].as_str().unwrap())).await,
        0
    );
    assert_eq!(
        app.query_i64(email_rows(l["id"].as_str().unwrap())).await,
        1
    );
}

async fn a_notice_to_three_thousand_families_reaches_every_one_once(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let now = "2026-11-30 00:00:00";
    let district: String = {
        let d = app
            .get(&format!("/api/v1/schools/{}", x.id), &x.admin.token)
            .await
            .expect(200);
        d["district_id"].as_str().unwrap().to_string()
    };
    let n = 3000;
    for start in (0..n).step_by(500) {
        let mut users = Vec::new();
        let mut pupils = Vec::new();
        let mut links = Vec::new();
        for i in start..(start + 500).min(n) {
            let (u, s, g) = (
                format!("00000000-0000-7000-8000-{i:012}"),
                format!("00000000-0000-7000-9000-{i:012}"),
                format!("00000000-0000-7000-a000-{i:012}"),
            );
            users.push(format!("('{u}', '{district}', NULL, 'parent', 'bulk{i}', 'Bulk {i}', NULL, NULL, 'zh-CN', 'x', FALSE, '{now}', '{now}')"));
            pupils.push(format!(
                "('{s}', '{}', '{}', 'Pupil {i}', 'B{i}', 1, TRUE, NULL, '{now}')",
                x.id, x.class_id
            ));
            links.push(format!("('{g}', '{s}', '{u}', 'mother', TRUE, '{now}')"));
        }
        app.execute(format!(
            "INSERT INTO users (id, district_id, school_id, role, username, display_name, phone, email, language, password_hash, disabled, tokens_valid_after, created_at) VALUES {};\
             INSERT INTO students (id, school_id, class_id, name, student_no, grade, handover_required, user_id, created_at) VALUES {};\
             INSERT INTO guardianships (id, student_id, user_id, relation, is_primary, created_at) VALUES {};",
            users.join(","), pupils.join(","), links.join(",")
        ))
        .await;
    }
    let notice = app
        .post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    assert_eq!(notice["recipients"], n + 1);
    let id = notice["id"].as_str().unwrap();
    let count = |sql: String| app.query_i64(sql);
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE notice_id = '{id}'"
        ))
        .await,
        n + 1
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(DISTINCT user_id) AS n FROM notifications WHERE notice_id = '{id}'"
        ))
        .await,
        n + 1
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) AS n FROM notice_recipients WHERE notice_id = '{id}'"
        ))
        .await,
        n + 1
    );
    assert_eq!(
        count(format!("SELECT COUNT(*) AS n FROM outbox o JOIN notifications f ON f.id = o.notification_id WHERE f.notice_id = '{id}' AND o.channel = 'push'")).await,
        n + 1
    );
    let r = app
        .get(&format!("/api/v1/notices/{id}/receipts"), &x.teacher.token)
        .await
        .expect(200);
    assert_eq!(r["recipients"], n + 1);
    assert_eq!(r["by_class"][0]["students"], n + 1);
    assert_eq!(r["pending"].as_array().unwrap().len(), 1000);
    assert_eq!(r["pending_truncated"], true);
}

async fn the_stream_sends_the_unread_count_and_new_items_and_bounds_connections(app: TestApp) {
    use futures_util::StreamExt;
    let w = app.world().await;
    let x = &w.x;
    let open = || {
        app.client
            .get(app.url("/api/v1/me/notifications/stream"))
            .insert_header(("Authorization", format!("Bearer {}", x.parent.token)))
            .send()
    };
    let mut first = open().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(
        first.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let chunk = first.next().await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&chunk).to_string();
    assert!(
        text.contains("event: unread") && text.contains("\"unread_count\":1"),
        "{text}"
    );
    let notice = app
        .post("/api/v1/notices", &x.teacher.token, lesson(&x.class_id))
        .await
        .expect(201);
    let mut seen = String::new();
    while !seen.contains("event: notification") {
        let chunk = first.next().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(notice["id"].as_str().unwrap()));
    let second = open().await.unwrap();
    let third = open().await.unwrap();
    assert_eq!(
        (second.status().as_u16(), third.status().as_u16()),
        (200, 200)
    );
    let fourth = open().await.unwrap();
    assert_eq!(fourth.status().as_u16(), 429);
    drop((first, second, third, fourth));
}

async fn bad_notices_are_refused_and_nothing_is_written(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let before = app.count("notifications").await;
    let mut base = lesson(&x.class_id);
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut b = base.clone();
                b["colour"] = json!("red");
                b
            },
            "unknown_field",
        ),
        (
            {
                let mut b = base.clone();
                b["audience"] = json!({"class_ids": [x.class_id], "grades": [1]});
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["audience"] = json!({"class_ids": []});
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["audience"] = json!({"class_ids": ["not-an-id"]});
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["title"] = json!("x".repeat(201));
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["category"] = json!("gossip");
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["requires_ack"] = json!(false);
                b["ack_due_at"] = json!("2027-01-01T00:00:00Z");
                b
            },
            "invalid_field",
        ),
        (
            {
                let mut b = base.clone();
                b["ack_due_at"] = json!("2020-01-01T00:00:00Z");
                b
            },
            "invalid_field",
        ),
    ];
    for (body, code) in cases {
        app.post("/api/v1/notices", &x.teacher.token, body)
            .await
            .expect_problem(422, code);
    }
    assert_eq!(app.count("notices").await, 0);
    assert_eq!(app.count("notifications").await, before);
    // A retried create is answered once.
    base["title"] = json!("Once");
    let h = [("Idempotency-Key", "notice-1")];
    let a = app
        .send(
            "POST",
            "/api/v1/notices",
            Some(&x.teacher.token),
            Some(&base),
            &h,
        )
        .await
        .expect(201);
    let b = app
        .send(
            "POST",
            "/api/v1/notices",
            Some(&x.teacher.token),
            Some(&base),
            &h,
        )
        .await
        .expect(201);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(app.count("notices").await, 1);
}

on_both_databases!(
    teacher_sends_the_safety_lesson_parents_ack_and_the_teacher_sees_who_is_missing,
    audiences_follow_the_senders_scope,
    a_parent_of_two_children_gets_one_feed_item_and_both_children_in_receipts,
    receipts_and_coverage_give_the_known_answers,
    email_arrives_through_a_real_smtp_server_in_the_users_language,
    smtp_down_is_retried_and_delivered_exactly_once_when_it_returns,
    webhook_is_signed_and_a_500_is_retried_until_delivered,
    webhook_400_goes_dead_after_the_limit_and_an_admin_retries_it,
    a_worker_crash_between_send_and_mark_resends_once_with_the_same_idempotency_key,
    an_unread_notice_is_escalated_before_it_is_due,
    quiet_hours_delay_ordinary_messages_but_not_urgent_ones,
    preferences_switch_channels_but_never_safety_alerts_in_the_app,
    a_notice_to_three_thousand_families_reaches_every_one_once,
    the_stream_sends_the_unread_count_and_new_items_and_bounds_connections,
    bad_notices_are_refused_and_nothing_is_written,
);
