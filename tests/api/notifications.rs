use crate::support::TestApp;
use serde_json::json;

async fn the_feed_pages_newest_first_and_counts_unread(app: TestApp) {
    let w = app.world().await;
    // Link the parent to four more children: five notifications in all.
    for i in 0..4 {
        let s = app
            .create_student(
                &w.x.admin,
                &w.x.id,
                &w.x.class_id,
                &format!("sibling{i}"),
                1,
            )
            .await;
        app.add_guardian(&w.x.admin, &s, &w.x.parent.user_id, "mother")
            .await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let token = &w.x.parent.token;
    let first = app
        .get("/api/v1/me/notifications?limit=2", token)
        .await
        .expect(200);
    assert_eq!(first["unread_count"], 5);
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["body"].as_str().unwrap().contains("sibling3"),
        "newest first: {first}"
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/me/notifications?limit=2&cursor={cursor}"),
            token,
        )
        .await
        .expect(200);
    assert!(second["items"][0]["body"]
        .as_str()
        .unwrap()
        .contains("sibling1"));
    let third = app
        .get(
            &format!(
                "/api/v1/me/notifications?limit=2&cursor={}",
                second["next_cursor"].as_str().unwrap()
            ),
            token,
        )
        .await
        .expect(200);
    assert_eq!(third["items"].as_array().unwrap().len(), 1);
    assert!(third["next_cursor"].is_null());
    // Reading one lowers the count; another user cannot touch it.
    let id = items[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/me/notifications/{id}/read"),
        &w.y.parent.token,
        json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/me/notifications/{id}/read"),
        token,
        json!({}),
    )
    .await
    .expect(204);
    let after = app
        .get("/api/v1/me/notifications?limit=1", token)
        .await
        .expect(200);
    assert_eq!(after["unread_count"], 4);
    assert!(after["items"][0]["read_at"].is_string());
}

async fn texts_follow_the_readers_language(app: TestApp) {
    let admin = app.district_admin().await;
    let school = app.create_school(&admin, "LANG", "primary").await;
    let class = app.create_class(&admin, &school, 1, None).await;
    let student = app.create_student(&admin, &school, &class, "Mei", 1).await;
    let created = app
        .create_activated(
            &admin,
            json!({"role": "parent", "username": "parent.en", "display_name": "P", "language": "en"}),
        )
        .await;
    app.add_guardian(&admin, &student, created["id"].as_str().unwrap(), "father")
        .await;
    let zh = app.create_user(&admin, "parent", "parent.zh", None).await;
    app.add_guardian(&admin, &student, &zh, "mother").await;
    let en_feed = app
        .get(
            "/api/v1/me/notifications",
            &app.login("parent.en", crate::support::PASSWORD).await.token,
        )
        .await
        .expect(200);
    assert_eq!(en_feed["items"][0]["title"], "Linked to a student");
    let zh_feed = app
        .get(
            "/api/v1/me/notifications",
            &app.login("parent.zh", crate::support::PASSWORD).await.token,
        )
        .await
        .expect(200);
    assert_eq!(zh_feed["items"][0]["title"], "已关联学生");
}

on_both_databases!(
    the_feed_pages_newest_first_and_counts_unread,
    texts_follow_the_readers_language
);
