//! Records that change (issue 17): merge patches under If-Match, audited
//! before and after; the end of a guardianship; the staff list.

use crate::support::*;
use chrono::Duration;
use serde_json::{json, Value};

async fn patch(app: &TestApp, path: &str, token: &str, etag: Option<&str>, body: Value) -> Resp {
    let mut headers = vec![("Content-Type", "application/merge-patch+json")];
    if let Some(tag) = etag {
        headers.push(("If-Match", tag));
    }
    app.send_raw(
        "PATCH",
        path,
        Some(token),
        Some(&body.to_string()),
        &headers,
    )
    .await
}

async fn etag(app: &TestApp, path: &str, token: &str) -> String {
    let r = app.get(path, token).await;
    r.expect(200);
    r.header("etag").expect("an ETag").to_string()
}

async fn a_merge_patch_with_a_stale_etag_is_refused_and_every_change_is_audited(app: TestApp) {
    let w = app.world().await;
    let path = format!("/api/v1/students/{}", w.x.student_id);
    let first = etag(&app, &path, &w.x.admin.token).await;
    let second_class = app.create_class(&w.x.admin, &w.x.id, 2, None).await;
    let r = patch(
        &app,
        &path,
        &w.x.admin.token,
        Some(&first),
        json!({"name": "李小红", "grade": 2, "class_id": second_class}),
    )
    .await;
    let moved = r.expect(200);
    assert_eq!(moved["name"], "李小红");
    assert_eq!(moved["class_id"], second_class.as_str());
    let fresh = r.header("etag").unwrap().to_string();
    assert_ne!(fresh, first);
    assert_eq!(etag(&app, &path, &w.x.teacher.token).await, fresh);

    // A second admin still holding the first read is refused and changes nothing.
    patch(
        &app,
        &path,
        &w.x.admin.token,
        Some(&first),
        json!({"name": "someone else"}),
    )
    .await
    .expect_problem(412, "precondition_failed");
    // Without If-Match nothing is edited either.
    patch(
        &app,
        &path,
        &w.x.admin.token,
        None,
        json!({"name": "someone else"}),
    )
    .await
    .expect_problem(428, "precondition_required");
    let now = app.get(&path, &w.x.admin.token).await.expect(200);
    assert_eq!(now["name"], "李小红");
    // A name cannot be removed; a class of another school is not a move.
    patch(
        &app,
        &path,
        &w.x.admin.token,
        Some(&fresh),
        json!({"name": null}),
    )
    .await
    .expect_problem(422, "invalid_field");
    patch(
        &app,
        &path,
        &w.x.admin.token,
        Some(&fresh),
        json!({"class_id": w.y.class_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // Another school's admin does not see the pupil; a teacher may not edit.
    patch(
        &app,
        &path,
        &w.y.admin.token,
        Some(&fresh),
        json!({"grade": 3}),
    )
    .await
    .expect_problem(404, "not_found");
    patch(
        &app,
        &path,
        &w.x.teacher.token,
        Some(&fresh),
        json!({"grade": 3}),
    )
    .await
    .expect_problem(403, "forbidden_role");

    // The audit keeps what changed, before and after, and only that.
    let changes = app
        .strings(format!(
            "SELECT c.before_json || ' -> ' || c.after_json AS s FROM record_changes c \
             JOIN audit_events e ON e.id = c.event_id \
             WHERE e.action = 'student.update' AND e.target_id = '{}'",
            w.x.student_id
        ))
        .await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (before, after) = changes[0].split_once(" -> ").unwrap();
    let (before, after): (Value, Value) = (
        serde_json::from_str(before).unwrap(),
        serde_json::from_str(after).unwrap(),
    );
    assert_eq!(before["name"], "pupil-sch-x");
    assert_eq!(before["grade"], 1);
    assert_eq!(before["class_id"], w.x.class_id.as_str());
    assert_eq!(after["name"], "李小红");
    assert_eq!(after["class_id"], second_class.as_str());
    assert!(
        before.get("student_no").is_none(),
        "unchanged fields are not noted"
    );
    let verified = app
        .get("/api/v1/audit/verify", &w.district_admin.token)
        .await
        .expect(200);
    assert_eq!(verified["ok"], true, "{verified}");
}

async fn schools_classes_and_accounts_are_edited_under_their_etags(app: TestApp) {
    let w = app.world().await;
    // A parent's phone is corrected by the school admin; email removed.
    let user = format!("/api/v1/users/{}", w.x.parent.user_id);
    let tag = etag(&app, &user, &w.x.admin.token).await;
    let u = patch(
        &app,
        &user,
        &w.x.admin.token,
        Some(&tag),
        json!({"phone": "13900001111", "email": null, "language": "en"}),
    )
    .await
    .expect(200);
    assert_eq!(u["phone"], "13900001111");
    assert_eq!(u["language"], "en");
    patch(
        &app,
        &user,
        &w.x.admin.token,
        Some(&tag),
        json!({"phone": "13900002222"}),
    )
    .await
    .expect_problem(412, "precondition_failed");
    patch(
        &app,
        &user,
        &w.x.admin.token,
        Some("*"),
        json!({"phone": "not a phone"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    // The parent edits their own account, and nobody else's.
    let own = etag(&app, &user, &w.x.parent.token).await;
    patch(
        &app,
        &user,
        &w.x.parent.token,
        Some(&own),
        json!({"display_name": "王妈妈"}),
    )
    .await
    .expect(200);
    let other = format!("/api/v1/users/{}", w.y.parent.user_id);
    patch(
        &app,
        &other,
        &w.x.parent.token,
        Some("*"),
        json!({"display_name": "x"}),
    )
    .await
    .expect_problem(404, "not_found");

    // A head teacher is replaced by a vetted teacher of the school only.
    let class = format!("/api/v1/classes/{}", w.x.class_id);
    let tag = etag(&app, &class, &w.x.admin.token).await;
    let new_teacher = app
        .create_user(&w.x.admin, "teacher", "sch-x.teacher2", None)
        .await;
    patch(
        &app,
        &class,
        &w.x.admin.token,
        Some(&tag),
        json!({"head_teacher_id": w.y.teacher.user_id}),
    )
    .await
    .expect_problem(422, "invalid_field");
    let c = patch(
        &app,
        &class,
        &w.x.admin.token,
        Some(&tag),
        json!({"head_teacher_id": new_teacher, "name": "Sunflowers"}),
    )
    .await
    .expect(200);
    assert_eq!(c["head_teacher_id"], new_teacher.as_str());
    assert_eq!(c["name"], "Sunflowers");

    // A school's dismissal time and zone; the school admin edits only their own.
    let school = format!("/api/v1/schools/{}", w.x.id);
    let tag = etag(&app, &school, &w.x.admin.token).await;
    let s = patch(
        &app,
        &school,
        &w.x.admin.token,
        Some(&tag),
        json!({"dismissal_time": "17:05", "timezone": "Asia/Urumqi"}),
    )
    .await
    .expect(200);
    assert_eq!(s["dismissal_time"], "17:05");
    assert_eq!(s["timezone"], "Asia/Urumqi");
    let y_school = format!("/api/v1/schools/{}", w.y.id);
    patch(
        &app,
        &y_school,
        &w.x.admin.token,
        Some("*"),
        json!({"name": "mine now"}),
    )
    .await
    .expect_problem(404, "not_found");
    let actions = app
        .strings(
            "SELECT e.action AS s FROM record_changes c JOIN audit_events e ON e.id = c.event_id \
             ORDER BY e.seq"
                .to_string(),
        )
        .await;
    assert_eq!(
        actions,
        [
            "user.update",
            "user.update",
            "class.update",
            "school.update"
        ]
    );
}

async fn the_last_primary_guardian_cannot_be_removed_and_a_removed_guardian_loses_the_pupil_at_once(
    app: TestApp,
) {
    let mut w = app.world().await;
    let s = w.x.student_id.clone();
    let father = app
        .create_user(&w.x.admin, "parent", "sch-x.father", None)
        .await;
    app.post(
        &format!("/api/v1/students/{s}/guardians"),
        &w.x.admin.token,
        json!({"user_id": father, "relation": "father", "primary": false}),
    )
    .await
    .expect(201);
    // The mother names her brother to collect the child, with a pass.
    let person = app
        .post(
            &format!("/api/v1/students/{s}/pickup-persons"),
            &w.x.parent.token,
            json!({"name": "Uncle Zhao", "relation": "uncle", "phone": "13800000003",
                   "valid_from": "2026-11-30", "valid_until": "2026-12-31"}),
        )
        .await
        .expect(201);
    let pass = app
        .post(
            &format!("/api/v1/students/{s}/pickup-passes"),
            &w.x.parent.token,
            json!({"pickup_person_id": person["id"], "date": "2026-11-30"}),
        )
        .await
        .expect(201);

    let mother = format!("/api/v1/students/{s}/guardians/{}", w.x.parent.user_id);
    app.send("DELETE", &mother, Some(&w.x.admin.token), None, &[])
        .await
        .expect_problem(409, "last_primary_guardian");
    // Only another guardian of the pupil can take the place.
    app.send(
        "DELETE",
        &format!("{mother}?new_primary_id={}", w.y.parent.user_id),
        Some(&w.x.admin.token),
        None,
        &[],
    )
    .await
    .expect_problem(422, "invalid_field");
    // Not another school's admin, not a teacher.
    app.send("DELETE", &mother, Some(&w.y.admin.token), None, &[])
        .await
        .expect_problem(404, "not_found");
    app.send("DELETE", &mother, Some(&w.x.teacher.token), None, &[])
        .await
        .expect_problem(403, "forbidden_role");
    app.get(&format!("/api/v1/students/{s}"), &w.x.parent.token)
        .await
        .expect(200);

    app.send(
        "DELETE",
        &format!("{mother}?new_primary_id={father}"),
        Some(&w.x.admin.token),
        None,
        &[],
    )
    .await
    .expect(204);
    // The mother's access ends at once; the father is now primary.
    app.get(&format!("/api/v1/students/{s}"), &w.x.parent.token)
        .await
        .expect_problem(404, "not_found");
    let children = app
        .get("/api/v1/me/children", &w.x.parent.token)
        .await
        .expect(200);
    assert_eq!(children, json!([]));
    let father_s = app.login("sch-x.father", PASSWORD).await;
    let children = app
        .get("/api/v1/me/children", &father_s.token)
        .await
        .expect(200);
    assert_eq!(children[0]["primary"], true);
    // Her pass and the person she named no longer release the pupil.
    app.advance(&mut w, Duration::minutes(8 * 60 + 30)).await;
    app.post(
        "/api/v1/handovers",
        &w.x.guard.token,
        json!({"student_id": s, "pass_code": pass["code"]}),
    )
    .await
    .expect_problem(403, "pickup_not_authorized");
    // The father is the last primary guardian now.
    app.send(
        "DELETE",
        &format!("/api/v1/students/{s}/guardians/{father}"),
        Some(&w.x.admin.token),
        None,
        &[],
    )
    .await
    .expect_problem(409, "last_primary_guardian");
    assert_eq!(
        app.count("guardianships").await,
        2,
        "one guardian each for x's and y's pupil"
    );
}

async fn the_staff_list_shows_each_overseer_their_own_schools_staff(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let names = |page: &Value| -> Vec<String> {
        let mut v: Vec<String> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let x = app.get("/api/v1/users", &w.x.admin.token).await.expect(200);
    assert_eq!(names(&x), ["sch-x.admin", "sch-x.guard", "sch-x.teacher"]);
    assert!(
        x["items"][0]["vetting"].is_object(),
        "staff come with their vetting"
    );
    let teachers = app
        .get(
            &format!("/api/v1/users?school_id={}&role=teacher", w.y.id),
            &officer.token,
        )
        .await
        .expect(200);
    assert_eq!(names(&teachers), ["sch-y.teacher"]);
    let found = app
        .get("/api/v1/users?q=GUARD", &officer.token)
        .await
        .expect(200);
    assert_eq!(names(&found), ["sch-x.guard", "sch-y.guard"]);
    // A literal %, not a wildcard.
    let none = app
        .get("/api/v1/users?q=%25", &officer.token)
        .await
        .expect(200);
    assert_eq!(names(&none), Vec::<String>::new());
    // Paging walks every staff member once.
    let mut seen = Vec::new();
    let mut url = "/api/v1/users?limit=2".to_string();
    loop {
        let page = app.get(&url, &w.district_admin.token).await.expect(200);
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    // Another school is not the admin's to list; parents are not staff.
    app.get(
        &format!("/api/v1/users?school_id={}", w.y.id),
        &w.x.admin.token,
    )
    .await
    .expect_problem(404, "not_found");
    app.get("/api/v1/users?role=parent", &w.x.admin.token)
        .await
        .expect_problem(422, "invalid_field");
    app.get("/api/v1/users", &w.x.teacher.token)
        .await
        .expect_problem(403, "forbidden_role");
}

async fn activation_works_once_and_an_admin_set_password_is_changed_before_anything_else(
    app: TestApp,
) {
    let mut w = app.world().await;
    let admin = &w.x.admin;
    // No password: a code for the admin to print, shown once.
    let made = app
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"role": "parent", "username": "parent.new", "display_name": "New Parent"}),
        )
        .await
        .expect(201);
    assert_eq!(made["activation"]["sent"], false);
    let code = made["activation"]["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 19);
    let stored = app
        .strings(format!(
            "SELECT code_hash AS s FROM activation_codes WHERE user_id = '{}'",
            made["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&code.replace('-', "")),
        "only a hash is kept"
    );
    // Nothing logs in before activation, not even an empty password.
    for password in ["", "anything-at-all-1"] {
        let r = app
            .post_anon(
                "/api/v1/auth/login",
                json!({"username": "parent.new", "password": password}),
            )
            .await;
        assert!(r.status == 401 || r.status == 422, "{}", r.text);
    }
    let activate = |code: String| {
        app.post_anon(
            "/api/v1/auth/activate",
            json!({"username": "parent.new", "code": code, "new_password": "my own secret 42"}),
        )
    };
    activate("0000-0000-0000-0000".into())
        .await
        .expect_problem(401, "invalid_credentials");
    // As typed from the slip: lower case, no dashes.
    activate(code.to_lowercase().replace('-', ""))
        .await
        .expect(204);
    let pair = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "parent.new", "password": "my own secret 42"}),
        )
        .await
        .expect(200);
    assert_eq!(pair["password_change_required"], false);
    // Once only.
    activate(code.clone())
        .await
        .expect_problem(401, "invalid_credentials");

    // With a phone, the code goes to the phone, not to the admin.
    let sent = app
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"role": "parent", "username": "parent.phone", "display_name": "P",
                   "phone": "13900003333"}),
        )
        .await
        .expect(201);
    assert_eq!(sent["activation"]["sent"], true);
    assert!(sent["activation"]["code"].is_null());
    assert_eq!(
        app.notes(sent["id"].as_str().unwrap(), "account.activation")
            .await,
        1
    );

    // A code not used within 7 days is dead.
    let late = app
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"role": "parent", "username": "parent.late", "display_name": "L"}),
        )
        .await
        .expect(201);
    app.advance(&mut w, Duration::days(7) + Duration::minutes(1))
        .await;
    app.post_anon(
        "/api/v1/auth/activate",
        json!({"username": "parent.late", "code": late["activation"]["code"],
               "new_password": "my own secret 42"}),
    )
    .await
    .expect_problem(401, "invalid_credentials");

    // A password an admin chose must be changed before anything else.
    let admin = &w.x.admin;
    let teacher = app
        .post(
            "/api/v1/users",
            &admin.token,
            json!({"role": "teacher", "username": "teacher.set", "display_name": "T",
                   "password": PASSWORD}),
        )
        .await
        .expect(201);
    assert!(teacher.get("activation").is_none());
    app.clear(admin, teacher["personnel_id"].as_str().unwrap())
        .await;
    let first = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "teacher.set", "password": PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(first["password_change_required"], true);
    let token = first["access_token"].as_str().unwrap();
    app.get(&format!("/api/v1/schools/{}", w.x.id), token)
        .await
        .expect_problem(403, "password_change_required");
    app.get("/api/v1/me", token).await.expect(200);
    app.post(
        "/api/v1/me/password",
        token,
        json!({"current_password": PASSWORD, "new_password": "only the teacher knows"}),
    )
    .await
    .expect(204);
    let s = app.login("teacher.set", "only the teacher knows").await;
    app.get(&format!("/api/v1/schools/{}", w.x.id), &s.token)
        .await
        .expect(200);
}

async fn an_offboarded_teacher_is_signed_out_on_the_day_and_the_principal_learns_what_needs_a_new_owner(
    app: TestApp,
) {
    let mut w = app.world().await;
    let teacher = w.x.teacher.user_id.clone();
    let offboard = format!("/api/v1/users/{teacher}/offboard");
    // Monday 30 November at the school: the teacher leaves on Tuesday.
    app.post(
        &offboard,
        &w.x.admin.token,
        json!({"effective_on": "2026-11-29"}),
    )
    .await
    .expect_problem(422, "invalid_field");
    app.post(
        &offboard,
        &w.y.admin.token,
        json!({"effective_on": "2026-12-01"}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &offboard,
        &w.x.guard.token,
        json!({"effective_on": "2026-12-01"}),
    )
    .await
    .expect_problem(403, "forbidden_role");
    let planned = app
        .post(
            &offboard,
            &w.x.admin.token,
            json!({"effective_on": "2026-12-01"}),
        )
        .await
        .expect(200);
    assert!(planned["done_at"].is_null());
    // Until the day, nothing changes.
    assert_eq!(app.run_departures().await, 0);
    let class = format!("/api/v1/classes/{}", w.x.class_id);
    app.get(&class, &w.x.teacher.token).await.expect(200);
    // Tuesday, five past midnight at the school.
    app.advance(&mut w, Duration::minutes(16 * 60 + 5)).await;
    let token = w.x.teacher.token.clone();
    app.get(&class, &token).await.expect(200);
    assert_eq!(app.run_departures().await, 1);
    app.get(&class, &token)
        .await
        .expect_problem(401, "unauthorized");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"username": "sch-x.teacher", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    let c = app.get(&class, &w.x.admin.token).await.expect(200);
    assert!(c["head_teacher_id"].is_null());
    assert_eq!(app.notes(&w.x.admin.user_id, "org.staff_departed").await, 1);
    let told = app
        .strings(format!(
            "SELECT data AS s FROM notifications WHERE user_id = '{}' AND template = 'org.staff_departed'",
            w.x.admin.user_id
        ))
        .await;
    assert!(told[0].contains("Class 1"), "{told:?}");
    // Once only.
    assert_eq!(app.run_departures().await, 0);
}

const HEAD: &str = "student_no,name,grade,class,sex,guardian1_name,guardian1_phone,guardian1_relation,guardian1_primary,guardian2_name,guardian2_phone,guardian2_relation,guardian2_primary\n";

/// A school's roster: `n` pupils in 12 classes, every second one with two
/// guardians (so 2,000 pupils have 3,000 guardians).
fn roster(n: usize) -> String {
    let mut s = HEAD.to_string();
    for i in 0..n {
        let grade = i % 6 + 1;
        let second = if i % 2 == 0 {
            format!("家长{i}乙,1380{i:07},父亲,N")
        } else {
            ",,,".to_string()
        };
        s.push_str(&format!(
            "T{i:05},学生{i},{grade},{grade}年级{}班,{},家长{i}甲,1390{i:07},母亲,Y,{second}\n",
            i % 4 + 1,
            if i % 3 == 0 { "女" } else { "男" }
        ));
    }
    s
}

async fn upload(app: &TestApp, path: &str, token: &str, ctype: &str, body: Vec<u8>) -> Resp {
    let mut res = app
        .client
        .post(app.url(path))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", ctype))
        .send_body(body)
        .await
        .expect("request sent");
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let bytes = res.body().limit(1 << 24).await.expect("response body");
    Resp {
        status: res.status().as_u16(),
        headers,
        text: String::from_utf8_lossy(&bytes).to_string(),
    }
}

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

async fn a_gb18030_roster_of_2000_pupils_imports_once_and_a_second_import_changes_nothing(
    app: TestApp,
) {
    let w = app.world().await;
    let path = format!("/api/v1/schools/{}/roster-imports", w.x.id);
    let file = gb18030(&roster(2000));
    assert!(
        std::str::from_utf8(&file).is_err(),
        "the file is GB18030, not UTF-8"
    );
    let pupils_before = app.count("students").await;
    let users_before = app.count("users").await;

    let dry = upload(
        &app,
        &format!("{path}?dry_run=true"),
        &w.x.admin.token,
        "text/csv",
        file.clone(),
    )
    .await
    .expect(200);
    assert_eq!(dry["errors"], json!([]));
    assert_eq!(
        (dry["created"].as_u64(), dry["parents_created"].as_u64()),
        (Some(2000), Some(3000))
    );
    assert_eq!(
        app.count("students").await,
        pupils_before,
        "a dry run writes nothing"
    );
    assert_eq!(app.count("users").await, users_before);

    let first = upload(&app, &path, &w.x.admin.token, "text/csv", file.clone())
        .await
        .expect(200);
    assert_eq!(first["rows"], 2000);
    assert_eq!(first["created"], 2000);
    assert_eq!(first["classes_created"], 12);
    assert_eq!(first["parents_created"], 3000);
    assert_eq!(first["guardians_linked"], 3000);
    assert_eq!(app.count("students").await, pupils_before + 2000);
    assert_eq!(app.count("users").await, users_before + 3000);
    // Each parent is sent their own activation code; no admin sees it.
    let sent = app
        .query_i64(
            "SELECT COUNT(*) AS n FROM notifications WHERE template = 'account.activation'".into(),
        )
        .await;
    assert_eq!(sent, 3000);
    assert!(!first.to_string().contains("code"));

    let again = upload(&app, &path, &w.x.admin.token, "text/csv", file)
        .await
        .expect(200);
    for (k, v) in [
        ("created", 0),
        ("updated", 0),
        ("unchanged", 2000),
        ("classes_created", 0),
        ("parents_created", 0),
        ("guardians_linked", 0),
    ] {
        assert_eq!(again[k], v, "{k}: {again}");
    }
    assert_eq!(app.count("students").await, pupils_before + 2000);
    assert_eq!(app.count("guardianships").await, 2 + 3000);

    // The export has the same columns, and imported again it changes nothing
    // (once the world's own parent has a phone, as every guardian in a file has).
    patch(
        &app,
        &format!("/api/v1/users/{}", w.x.parent.user_id),
        &w.x.admin.token,
        Some("*"),
        json!({"phone": "13600000000"}),
    )
    .await
    .expect(200);
    let export = app
        .get(
            &format!("/api/v1/schools/{}/roster.csv", w.x.id),
            &w.x.admin.token,
        )
        .await;
    export.expect(200);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let lines: Vec<&str> = export.text.lines().collect();
    assert_eq!(lines.len(), 1 + 2001);
    assert_eq!(lines[0].trim_start_matches('\u{feff}'), HEAD.trim_end());
    assert!(lines.contains(
        &"T00002,学生2,3,3年级3班,M,家长2甲,13900000002,母亲,Y,家长2乙,13800000002,父亲,N"
    ));
    let back = upload(
        &app,
        &path,
        &w.x.admin.token,
        "text/csv",
        export.text.into_bytes(),
    )
    .await
    .expect(200);
    assert_eq!(back["created"], 0);
    assert_eq!(back["updated"], 0);
    assert_eq!(back["unchanged"], 2001);

    // A pupil who moved class is updated, and only that pupil.
    let moved = roster(2000).replace("T00007,学生7,2,2年级4班", "T00007,学生7,2,2年级1班");
    let r = upload(
        &app,
        &path,
        &w.x.admin.token,
        "text/csv",
        moved.into_bytes(),
    )
    .await
    .expect(200);
    assert_eq!(
        (r["updated"].as_u64(), r["unchanged"].as_u64()),
        (Some(1), Some(1999))
    );
}

async fn a_roster_with_one_bad_row_imports_nothing_and_names_the_row(app: TestApp) {
    let w = app.world().await;
    let path = format!("/api/v1/schools/{}/roster-imports", w.x.id);
    let good = roster(3);
    let pupils_before = app.count("students").await;
    let users_before = app.count("users").await;
    for (bad, line, column) in [
        ("R1,Ragged,1,1年级1班\n", 5, "sex"),
        (
            "T00001,Twice,1,1年级1班,,G,13700000001,mother,Y,,,,\n",
            5,
            "student_no",
        ),
        (
            "R2,Phone,1,1年级1班,,G,call me,mother,Y,,,,\n",
            5,
            "guardian1_phone",
        ),
        (
            "R3,Grade,13,1年级1班,,G,13700000003,mother,Y,,,,\n",
            5,
            "grade",
        ),
    ] {
        let file = format!("{good}{bad}");
        let r = upload(&app, &path, &w.x.admin.token, "text/csv", gb18030(&file)).await;
        r.expect_problem(422, "invalid_field");
        assert_eq!(r.json()["field"], column, "{}", r.text);
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("line {line}, column {column}")),
            "{}",
            r.text
        );
    }
    assert_eq!(
        app.count("students").await,
        pupils_before,
        "nothing was imported"
    );
    assert_eq!(app.count("users").await, users_before);
    // A dry run lists every problem, by line and column.
    let all = format!(
        "{good}R1,Ragged,1\nT00001,Twice,1,1年级1班,,G,13700000001,mother,Y,,,,\nR2,Phone,1,1年级1班,,G,call me,mother,Y,,,,\n"
    );
    let dry = upload(
        &app,
        &format!("{path}?dry_run=true"),
        &w.x.admin.token,
        "text/csv",
        all.into_bytes(),
    )
    .await
    .expect(200);
    let at: Vec<(u64, String)> = dry["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            (5, "class".to_string()),
            (6, "student_no".to_string()),
            (7, "guardian1_phone".to_string())
        ]
    );
    // An unknown column is named.
    let r = upload(
        &app,
        &path,
        &w.x.admin.token,
        "text/csv",
        good.replace("class,sex", "klasse,sex").into_bytes(),
    )
    .await;
    r.expect_problem(422, "invalid_field");
    assert_eq!(r.json()["field"], "klasse");
    // Only the school's admin, only CSV.
    upload(
        &app,
        &path,
        &w.y.admin.token,
        "text/csv",
        roster(1).into_bytes(),
    )
    .await
    .expect_problem(404, "not_found");
    upload(
        &app,
        &path,
        &w.x.teacher.token,
        "text/csv",
        roster(1).into_bytes(),
    )
    .await
    .expect_problem(403, "forbidden_role");
    upload(
        &app,
        &path,
        &w.x.admin.token,
        "application/json",
        b"{}".to_vec(),
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    assert_eq!(app.count("students").await, pupils_before);
}

on_both_databases!(
    a_gb18030_roster_of_2000_pupils_imports_once_and_a_second_import_changes_nothing,
    a_roster_with_one_bad_row_imports_nothing_and_names_the_row,
    an_offboarded_teacher_is_signed_out_on_the_day_and_the_principal_learns_what_needs_a_new_owner,
    activation_works_once_and_an_admin_set_password_is_changed_before_anything_else,
    a_merge_patch_with_a_stale_etag_is_refused_and_every_change_is_audited,
    schools_classes_and_accounts_are_edited_under_their_etags,
    the_last_primary_guardian_cannot_be_removed_and_a_removed_guardian_loses_the_pupil_at_once,
    the_staff_list_shows_each_overseer_their_own_schools_staff,
);
