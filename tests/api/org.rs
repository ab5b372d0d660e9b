use crate::support::{TestApp, PASSWORD};
use serde_json::json;

async fn district_admin_builds_a_school_and_a_parent_sees_the_child(app: TestApp) {
    let admin = app.district_admin().await;
    let school = app
        .post(
            "/api/v1/schools",
            &admin.token,
            json!({"name": "阳光小学", "code": "sun-pri", "kind": "primary", "dismissal_time": "16:00"}),
        )
        .await
        .expect(201);
    assert_eq!(school["code"], "SUN-PRI");
    assert_eq!(school["timezone"], "Asia/Shanghai");
    let school_id = school["id"].as_str().unwrap();
    let teacher = app
        .create_user(&admin, "teacher", "teacher.wang", Some(school_id))
        .await;
    let class_id = app.create_class(&admin, school_id, 1, Some(&teacher)).await;
    let student = app
        .post(
            "/api/v1/students",
            &admin.token,
            json!({"school_id": school_id, "class_id": class_id, "name": "李小明", "student_no": "S001", "grade": 1}),
        )
        .await
        .expect(201);
    assert_eq!(
        student["handover_required"], true,
        "grade 1 of a primary school needs handover"
    );
    let parent = app.create_user(&admin, "parent", "parent.li", None).await;
    app.add_guardian(&admin, student["id"].as_str().unwrap(), &parent, "mother")
        .await;

    let li = app.login("parent.li", PASSWORD).await;
    let children = app.get("/api/v1/me/children", &li.token).await.expect(200);
    assert_eq!(children.as_array().unwrap().len(), 1);
    assert_eq!(children[0]["name"], "李小明");
    assert_eq!(children[0]["relation"], "mother");
    app.get(
        &format!("/api/v1/students/{}", student["id"].as_str().unwrap()),
        &li.token,
    )
    .await
    .expect(200);
    let feed = app
        .get("/api/v1/me/notifications", &li.token)
        .await
        .expect(200);
    assert_eq!(feed["unread_count"], 1);
    assert_eq!(feed["items"][0]["template"], "org.guardian_linked");
    assert!(feed["items"][0]["body"]
        .as_str()
        .unwrap()
        .contains("李小明"));
}

async fn handover_defaults_follow_the_school_kind_and_grade(app: TestApp) {
    let admin = app.district_admin().await;
    let primary = app.create_school(&admin, "PRI", "primary").await;
    let middle = app.create_school(&admin, "MID", "middle").await;
    let kinder = app.create_school(&admin, "KIN", "kindergarten").await;
    for (school, grade, expected) in [
        (&primary, 3, true),
        (&primary, 4, false),
        (&middle, 7, false),
        (&kinder, 2, true),
    ] {
        let class = app.create_class(&admin, school, grade, None).await;
        let s = app
            .post(
                "/api/v1/students",
                &admin.token,
                json!({"school_id": school, "class_id": class, "name": format!("kid {grade}"),
                       "student_no": format!("N{grade}"), "grade": grade}),
            )
            .await
            .expect(201);
        assert_eq!(s["handover_required"], expected, "grade {grade}");
    }
}

async fn scope_matrix_refuses_other_families_schools_and_roles(app: TestApp) {
    let w = app.world().await;
    let before = app.count("students").await;
    // Parent A reading parent B's child.
    app.get(
        &format!("/api/v1/students/{}", w.y.student_id),
        &w.x.parent.token,
    )
    .await
    .expect_problem(404, "not_found");
    // A teacher of school X listing school Y's class and reading its pupil.
    app.get(
        &format!("/api/v1/classes/{}/students", w.y.class_id),
        &w.x.teacher.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/students/{}", w.y.student_id),
        &w.x.teacher.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/schools/{}", w.y.id), &w.x.teacher.token)
        .await
        .expect_problem(404, "not_found");
    // A school admin of X acting on school Y.
    app.post(
        &format!("/api/v1/schools/{}/classes", w.y.id),
        &w.x.admin.token,
        json!({"grade": 2, "name": "2"}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/students",
        &w.x.admin.token,
        json!({"school_id": w.y.id, "class_id": w.y.class_id, "name": "n", "student_no": "z", "grade": 1}),
    )
    .await
    .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/users/{}", w.y.teacher.user_id),
        &w.x.admin.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/users/{}/disable", w.y.teacher.user_id),
        &w.x.admin.token,
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    // A parent and a teacher calling admin routes: function-level refusal.
    for token in [&w.x.parent.token, &w.x.teacher.token, &w.x.guard.token] {
        app.post(
            "/api/v1/schools",
            token,
            json!({"name": "n", "code": "EVIL", "kind": "primary"}),
        )
        .await
        .expect_problem(403, "forbidden_role");
        app.post(
            "/api/v1/users",
            token,
            json!({"role": "teacher", "username": "sneaky", "display_name": "x", "password": "a-long-enough-pass"}),
        )
        .await
        .expect_problem(403, "forbidden_role");
        app.get("/api/v1/audit/verify", token)
            .await
            .expect_problem(403, "forbidden_role");
    }
    app.get(
        &format!("/api/v1/classes/{}/students", w.x.class_id),
        &w.x.parent.token,
    )
    .await
    .expect_problem(403, "forbidden_role");
    // A school admin creating a district admin or another school admin.
    for role in ["district_admin", "bureau_officer", "school_admin"] {
        app.post(
            "/api/v1/users",
            &w.x.admin.token,
            json!({"role": role, "username": format!("grab.{role}"), "display_name": "x", "password": "a-long-enough-pass"}),
        )
        .await
        .expect_problem(403, "role_not_allowed");
    }
    // A parent cannot see another parent's account, a teacher sees only their own.
    app.get(
        &format!("/api/v1/users/{}", w.y.parent.user_id),
        &w.x.parent.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/users/{}", w.x.parent.user_id),
        &w.x.teacher.token,
    )
    .await
    .expect_problem(404, "not_found");
    // Nothing changed.
    assert_eq!(app.count("students").await, before);
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM users WHERE username LIKE 'grab.%' OR username = 'sneaky'"
                .into()
        )
        .await,
        0
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) AS n FROM users WHERE disabled = TRUE".into())
            .await,
        0
    );
    // What each may see.
    let schools = app
        .get("/api/v1/schools", &w.x.parent.token)
        .await
        .expect(200);
    assert_eq!(schools["items"].as_array().unwrap().len(), 1);
    assert_eq!(schools["items"][0]["id"], w.x.id.as_str());
    let all = app
        .get("/api/v1/schools", &w.district_admin.token)
        .await
        .expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let roster = app
        .get(
            &format!("/api/v1/classes/{}/students", w.x.class_id),
            &w.x.teacher.token,
        )
        .await
        .expect(200);
    assert_eq!(roster["items"].as_array().unwrap().len(), 1);
    app.get(
        &format!("/api/v1/users/{}", w.x.parent.user_id),
        &w.x.admin.token,
    )
    .await
    .expect(200);
}

async fn bad_input_is_refused_clearly_and_writes_nothing(app: TestApp) {
    let admin = app.district_admin().await;
    let before = app.count("schools").await;
    let audit_before = app.count("audit_events").await;
    let t = Some(admin.token.as_str());
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        ("{\"name\": \"x\", ".into(), 400, "malformed_json", None),
        (
            "{\"name\":\"A\",\"code\":\"AAA\",\"kind\":\"primary\",\"role\":\"x\"}".into(),
            422,
            "unknown_field",
            Some("role"),
        ),
        (
            "{\"name\":\"A\",\"code\":\"AAA\",\"kind\":42}".into(),
            422,
            "invalid_field",
            Some("kind"),
        ),
        (
            "{\"name\":\"A\",\"code\":\"AAA\",\"kind\":\"castle\"}".into(),
            422,
            "invalid_field",
            Some("kind"),
        ),
        (
            "{\"name\":\"A\",\"kind\":\"primary\"}".into(),
            422,
            "invalid_field",
            Some("code"),
        ),
        (
            format!(
                "{{\"name\":\"{}\",\"code\":\"AAA\",\"kind\":\"primary\"}}",
                "长".repeat(101)
            ),
            422,
            "invalid_field",
            Some("name"),
        ),
        (
            "{\"name\":\"A\",\"code\":\"AAA\",\"kind\":\"primary\",\"timezone\":\"Mars/Olympus\"}"
                .into(),
            422,
            "invalid_field",
            Some("timezone"),
        ),
        (
            "{\"name\":\"A\",\"code\":\"AAA\",\"kind\":\"primary\",\"dismissal_time\":\"25:00\"}"
                .into(),
            422,
            "invalid_field",
            Some("dismissal_time"),
        ),
        (
            "{\"name\":\"   \",\"code\":\"AAA\",\"kind\":\"primary\"}".into(),
            422,
            "invalid_field",
            Some("name"),
        ),
        (
            format!(
                "{{\"name\":\"{}\",\"code\":\"AAA\",\"kind\":\"primary\"}}",
                "x".repeat(70 * 1024)
            ),
            413,
            "body_too_large",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        let res = app
            .send_raw("POST", "/api/v1/schools", t, Some(&body), &[])
            .await;
        assert_eq!(res.status, status, "{body:.60}: {}", res.text);
        res.expect_problem(status, code);
        if let Some(f) = field {
            assert_eq!(res.json()["field"], f, "{}", res.text);
        }
    }
    // Not JSON at all.
    app.send_raw(
        "POST",
        "/api/v1/schools",
        t,
        Some("name=x"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    // A malformed id in a path is simply not found; a bad query is named.
    app.get("/api/v1/schools/not-an-id", &admin.token)
        .await
        .expect_problem(404, "not_found");
    let q = app.get("/api/v1/schools?limit=5000", &admin.token).await;
    q.expect_problem(422, "invalid_field");
    assert_eq!(q.json()["field"], "limit");
    app.get("/api/v1/schools?limit=abc", &admin.token)
        .await
        .expect_problem(422, "invalid_query");
    // Weak passwords and duplicate usernames.
    let school = app.create_school(&admin, "AAA", "primary").await;
    app.post(
        "/api/v1/users",
        &admin.token,
        json!({"role": "teacher", "username": "tea1", "display_name": "T", "password": "1234567890", "school_id": school}),
    )
    .await
    .expect_problem(422, "weak_password");
    app.post(
        "/api/v1/users",
        &admin.token,
        json!({"role": "teacher", "username": "tea1", "display_name": "T", "password": PASSWORD}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // Created but not vetted: vetting's own audit events stay out of the count.
    app.post(
        "/api/v1/users",
        &admin.token,
        json!({"role": "teacher", "username": "tea1", "display_name": "T", "password": PASSWORD, "school_id": school}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/users",
        &admin.token,
        json!({"role": "guard", "username": "TEA1", "display_name": "T", "password": PASSWORD, "school_id": school}),
    )
    .await
    .expect_problem(409, "username_taken");
    app.post(
        "/api/v1/schools",
        &admin.token,
        json!({"name": "again", "code": "aaa", "kind": "primary"}),
    )
    .await
    .expect_problem(409, "school_code_taken");
    assert_eq!(app.count("schools").await, before + 1);
    // Only the successful creates were audited.
    assert_eq!(app.count("audit_events").await, audit_before + 2);
}

async fn idempotent_create_replays_and_refuses_a_changed_body(app: TestApp) {
    let admin = app.district_admin().await;
    let body = json!({"name": "One", "code": "ONE", "kind": "middle"});
    let key = [("Idempotency-Key", "k-1")];
    let first = app
        .send(
            "POST",
            "/api/v1/schools",
            Some(&admin.token),
            Some(&body),
            &key,
        )
        .await;
    first.expect(201);
    let again = app
        .send(
            "POST",
            "/api/v1/schools",
            Some(&admin.token),
            Some(&body),
            &key,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(app.count("schools").await, 1);
    let changed = json!({"name": "Two", "code": "TWO", "kind": "middle"});
    app.send(
        "POST",
        "/api/v1/schools",
        Some(&admin.token),
        Some(&changed),
        &key,
    )
    .await
    .expect_problem(422, "idempotency_key_reused");
    // Another caller's identical key is theirs alone.
    let other = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    let _ = other;
    // After 24 hours the key is forgotten.
    app.clock.advance(chrono::Duration::hours(25));
    let fresh = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    app.send(
        "POST",
        "/api/v1/schools",
        Some(&fresh.token),
        Some(&changed),
        &key,
    )
    .await
    .expect(201);
    assert_eq!(app.count("schools").await, 2);
}

async fn concurrent_duplicates_create_one_row(app: TestApp) {
    let admin = app.district_admin().await;
    let school = app.create_school(&admin, "CON", "primary").await;
    let class = app.create_class(&admin, &school, 2, None).await;
    let body = json!({"school_id": school, "class_id": class, "name": "同时", "student_no": "C1", "grade": 2});
    let key = [("Idempotency-Key", "same-key")];
    let sends = (0..8).map(|_| {
        app.send(
            "POST",
            "/api/v1/students",
            Some(&admin.token),
            Some(&body),
            &key,
        )
    });
    let results = futures_util::future::join_all(sends).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.json()["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the same student");
    assert_eq!(app.count("students").await, 1);
    assert_eq!(app.count("idempotency_keys").await, 1);
}

async fn guardians_are_parents_of_the_district_only(app: TestApp) {
    let w = app.world().await;
    // A teacher cannot be made a guardian.
    app.post(
        &format!("/api/v1/students/{}/guardians", w.x.student_id),
        &w.x.admin.token,
        json!({"user_id": w.x.teacher.user_id, "relation": "uncle", "primary": false}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // The same parent twice.
    app.post(
        &format!("/api/v1/students/{}/guardians", w.x.student_id),
        &w.x.admin.token,
        json!({"user_id": w.x.parent.user_id, "relation": "mother", "primary": true}),
    )
    .await
    .expect_problem(409, "already_guardian");
}

/// Lists ordered by id list in the order things were made, whatever the
/// machine's date says against the service's clock: everything here is made
/// at one instant of the service's clock, so only the ids can order it.
async fn lists_keep_the_order_of_creation_with_the_clock_at(
    app: TestApp,
    at: chrono::DateTime<chrono::Utc>,
) {
    app.clock.set(at);
    let admin = app.district_admin().await;
    let mut schools = Vec::new();
    for code in ["SCH-C", "SCH-A", "SCH-B"] {
        schools.push(app.create_school(&admin, code, "primary").await);
    }
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/schools?limit=2&cursor={c}"),
            None => "/api/v1/schools?limit=2".to_string(),
        };
        let page = app.get(&path, &admin.token).await.expect(200);
        for s in page["items"].as_array().unwrap() {
            listed.push(s["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(listed, schools);

    let mut classes = Vec::new();
    for grade in [3, 1, 2] {
        classes.push(app.create_class(&admin, &schools[0], grade, None).await);
    }
    let page = app
        .get(
            &format!("/api/v1/schools/{}/classes", schools[0]),
            &admin.token,
        )
        .await
        .expect(200);
    let listed: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, classes);
}

async fn lists_keep_their_order_with_the_clock_years_before_the_machine_date(app: TestApp) {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2020, 3, 2, 1, 30, 0).unwrap();
    lists_keep_the_order_of_creation_with_the_clock_at(app, at).await
}

async fn lists_keep_their_order_with_the_clock_years_after_the_machine_date(app: TestApp) {
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2035, 9, 3, 1, 30, 0).unwrap();
    lists_keep_the_order_of_creation_with_the_clock_at(app, at).await
}

async fn guards_see_pupils_only_through_the_gate(app: TestApp) {
    let w = app.world().await;
    app.get(
        &format!("/api/v1/classes/{}/students", w.x.class_id),
        &w.x.guard.token,
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.get(
        &format!("/api/v1/schools/{}/classes", w.x.id),
        &w.x.guard.token,
    )
    .await
    .expect_problem(403, "forbidden_role");
    app.get(
        &format!("/api/v1/students/{}", w.x.student_id),
        &w.x.guard.token,
    )
    .await
    .expect_problem(403, "forbidden_role");
    // The teacher and the family still read the record.
    app.get(
        &format!("/api/v1/students/{}", w.x.student_id),
        &w.x.teacher.token,
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/students/{}", w.x.student_id),
        &w.x.parent.token,
    )
    .await
    .expect(200);
}

on_both_databases!(
    guards_see_pupils_only_through_the_gate,
    district_admin_builds_a_school_and_a_parent_sees_the_child,
    handover_defaults_follow_the_school_kind_and_grade,
    scope_matrix_refuses_other_families_schools_and_roles,
    bad_input_is_refused_clearly_and_writes_nothing,
    idempotent_create_replays_and_refuses_a_changed_body,
    concurrent_duplicates_create_one_row,
    guardians_are_parents_of_the_district_only,
    lists_keep_their_order_with_the_clock_years_before_the_machine_date,
    lists_keep_their_order_with_the_clock_years_after_the_machine_date,
);
