//! Regressions from the hostile-input runs (schemathesis, cargo-fuzz): each
//! scenario on SQLite and PostgreSQL.

use crate::support::TestApp;

/// A documented path called with a method it does not have is 405 with
/// `Allow` (RFC 9110), not 404; an unknown path stays 404.
async fn a_known_path_with_another_method_is_405_with_allow(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    for (method, path, allow) in [
        ("PATCH", "/api/v1/me".to_string(), "GET"),
        ("DELETE", "/api/v1/reports/challenge".to_string(), "POST"),
        ("GET", "/api/v1/reports/followup".to_string(), "POST"),
        ("PUT", format!("/api/v1/schools/{}", w.x.id), "GET, PATCH"),
        ("DELETE", "/api/v1/auth/login".to_string(), "POST"),
    ] {
        let res = app.send(method, &path, Some(admin), None, &[]).await;
        if method == "GET" {
            // GET /reports/followup is GET /reports/{id} with id "followup":
            // a report the caller cannot see.
            res.expect_problem(404, "not_found");
            continue;
        }
        res.expect_problem(405, "method_not_allowed");
        assert_eq!(res.header("allow"), Some(allow), "{method} {path}");
    }
    let unknown = app
        .send("GET", "/api/v1/nowhere", Some(admin), None, &[])
        .await;
    unknown.expect_problem(404, "not_found");
    assert_eq!(unknown.header("allow"), None);
    // Two methods on one path are both named.
    let both = app
        .send(
            "DELETE",
            "/api/v1/me/encryption-key",
            Some(admin),
            None,
            &[],
        )
        .await;
    both.expect_problem(405, "method_not_allowed");
    assert_eq!(both.header("allow"), Some("GET, PUT"));
}

on_both_databases!(a_known_path_with_another_method_is_405_with_allow);
