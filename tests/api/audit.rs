use crate::support::TestApp;
use serde_json::json;

async fn the_chain_verifies_and_shows_a_tampered_row(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let ok = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(ok["ok"], true);
    let events = ok["events"].as_i64().unwrap();
    assert!(events > 10, "logins and creations were audited: {events}");
    // Someone with database access rewrites history.
    app.execute("UPDATE audit_events SET action = 'school.read' WHERE seq = 5".into())
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["events"], 4);
    let tampered_id = bad["first_bad_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.query_i64(format!(
            "SELECT seq AS n FROM audit_events WHERE id = '{tampered_id}'"
        ))
        .await,
        5
    );
}

async fn a_removed_row_breaks_the_chain(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    app.execute("DELETE FROM audit_events WHERE seq = 3".into())
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
    assert!(bad["first_bad_id"].is_string());
}

async fn the_tail_cannot_be_cut_quietly(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let max = app
        .query_i64("SELECT MAX(seq) AS n FROM audit_events".into())
        .await;
    app.execute(format!("DELETE FROM audit_events WHERE seq > {}", max - 2))
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
}

async fn concurrent_writers_keep_one_chain(app: TestApp) {
    let admin = app.district_admin().await;
    let creates = (0..10).map(|i| {
        app.post(
            "/api/v1/schools",
            &admin.token,
            json!({"name": format!("S{i}"), "code": format!("PAR-{i}"), "kind": "primary"}),
        )
    });
    for r in futures_util::future::join_all(creates).await {
        r.expect(201);
    }
    let ok = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'school.create'".into()
        )
        .await,
        10
    );
}

async fn audit_rows_hold_no_passwords_or_tokens(app: TestApp) {
    let w = app.world().await;
    let marker = crate::support::PASSWORD;
    let token_piece = &w.x.parent.refresh[..16];
    for column in [
        "id",
        "actor_id",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "school_id",
    ] {
        let n = app
            .query_i64(format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE {column} LIKE '%{marker}%' OR {column} LIKE '%{token_piece}%'"
            ))
            .await;
        assert_eq!(n, 0, "{column}");
    }
    assert!(app.count("audit_events").await > 0);
}

on_both_databases!(
    the_chain_verifies_and_shows_a_tampered_row,
    a_removed_row_breaks_the_chain,
    the_tail_cannot_be_cut_quietly,
    concurrent_writers_keep_one_chain,
    audit_rows_hold_no_passwords_or_tokens,
);
