use crate::support::{ClockExt, TestApp, JWT_SECRET, PASSWORD};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

const SECRET: &[u8] = JWT_SECRET.as_bytes();

fn forge(claims: serde_json::Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(crate::support::library::sha256_hex(secret)[..16].to_string());
    encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn claims_for(user_id: &str, session_id: &str, now: i64) -> serde_json::Value {
    json!({"iss": "safecampus", "aud": "safecampus-api", "sub": user_id, "sid": session_id,
           "iat": now, "nbf": now, "exp": now + 600})
}

fn session_id_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["sid"].as_str().unwrap().to_string()
}

async fn login_returns_tokens_and_user(app: TestApp) {
    let admin = app.district_admin().await;
    let me = app.get("/api/v1/me", &admin.token).await.expect(200);
    assert_eq!(me["role"], "district_admin");
    assert!(me.get("password_hash").is_none());
    let body = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "ADMIN", "password": crate::support::ADMIN_PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() <= 900);
    assert_eq!(body["user"]["role"], "district_admin");
    assert!(body["user"]["district_id"].is_string());
}

async fn unknown_user_and_wrong_password_look_the_same(app: TestApp) {
    app.district_admin().await;
    let wrong = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "admin", "password": "not-the-password"}),
        )
        .await;
    let unknown = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "nobody", "password": "not-the-password"}),
        )
        .await;
    wrong.expect_problem(401, "invalid_credentials");
    unknown.expect_problem(401, "invalid_credentials");
    assert_eq!(wrong.json()["detail"], unknown.json()["detail"]);
    assert_eq!(app.count("login_failures").await, 2);
}

async fn five_failures_lock_only_that_username(app: TestApp) {
    let w = app.world().await;
    for _ in 0..5 {
        app.post_anon(
            "/api/v1/auth/login",
            json!({"username": "sch-x.teacher", "password": "wrong-password-1"}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    }
    let locked = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"username": "sch-x.teacher", "password": PASSWORD}),
        )
        .await;
    locked.expect_problem(429, "too_many_attempts");
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60);
    // Another account is not affected.
    app.login("sch-x.guard", PASSWORD).await;
    // After the window the right password works again.
    app.clock.advance(chrono::Duration::minutes(16));
    app.login("sch-x.teacher", PASSWORD).await;
    drop(w);
}

async fn forged_and_stale_tokens_are_refused(app: TestApp) {
    let admin = app.district_admin().await;
    let sid = session_id_of(&admin.token);
    let now = app.clock.now_ts();
    // The forging itself is right: a well-formed token is accepted.
    let good = forge(
        claims_for(&admin.user_id, &sid, now),
        SECRET,
        jsonwebtoken::Algorithm::HS256,
    );
    app.get("/api/v1/me", &good).await.expect(200);

    let mut wrong_aud = claims_for(&admin.user_id, &sid, now);
    wrong_aud["aud"] = json!("another-service");
    let mut wrong_iss = claims_for(&admin.user_id, &sid, now);
    wrong_iss["iss"] = json!("someone-else");
    let mut string_exp = claims_for(&admin.user_id, &sid, now);
    string_exp["exp"] = json!("9999999999");
    let mut no_nbf = claims_for(&admin.user_id, &sid, now);
    no_nbf.as_object_mut().unwrap().remove("nbf");
    let expired = claims_for(&admin.user_id, &sid, now - 3600);
    let bad_signature = forge(
        claims_for(&admin.user_id, &sid, now),
        b"another-secret-another-secret-another-0",
        jsonwebtoken::Algorithm::HS256,
    );
    let other_alg = forge(
        claims_for(&admin.user_id, &sid, now),
        SECRET,
        jsonwebtoken::Algorithm::HS512,
    );
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims_for(&admin.user_id, &sid, now))
    );
    let tokens = [
        forge(wrong_aud, SECRET, jsonwebtoken::Algorithm::HS256),
        forge(wrong_iss, SECRET, jsonwebtoken::Algorithm::HS256),
        forge(string_exp, SECRET, jsonwebtoken::Algorithm::HS256),
        forge(no_nbf, SECRET, jsonwebtoken::Algorithm::HS256),
        forge(expired, SECRET, jsonwebtoken::Algorithm::HS256),
        bad_signature,
        other_alg,
        alg_none,
        "not-a-token".to_string(),
    ];
    for t in tokens {
        app.get("/api/v1/me", &t)
            .await
            .expect_problem(401, "unauthorized");
    }
    // A genuine token expires on the service clock.
    app.clock.advance(chrono::Duration::minutes(16));
    app.get("/api/v1/me", &admin.token)
        .await
        .expect_problem(401, "unauthorized");
}

async fn disabling_a_user_ends_their_sessions_at_once(app: TestApp) {
    let w = app.world().await;
    app.get("/api/v1/me", &w.x.teacher.token).await.expect(200);
    app.post(
        &format!("/api/v1/users/{}/disable", w.x.teacher.user_id),
        &w.x.admin.token,
        json!({}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", &w.x.teacher.token)
        .await
        .expect_problem(401, "unauthorized");
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": w.x.teacher.refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"username": "sch-x.teacher", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid_credentials");
}

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    let admin = app.district_admin().await;
    let first = app
        .post_anon(
            "/api/v1/auth/refresh",
            json!({"refresh_token": admin.refresh}),
        )
        .await
        .expect(200);
    let second_refresh = first["refresh_token"].as_str().unwrap();
    let new_access = first["access_token"].as_str().unwrap();
    app.get("/api/v1/me", new_access).await.expect(200);
    // The old refresh token comes back (stolen and replayed): the family ends.
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": admin.refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": second_refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", new_access)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/api/v1/me", &admin.token)
        .await
        .expect_problem(401, "unauthorized");
    // Another login is unaffected.
    let again = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    app.get("/api/v1/me", &again.token).await.expect(200);
}

async fn logout_ends_that_session_only(app: TestApp) {
    app.district_admin().await;
    let phone = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    let tablet = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    app.post_anon(
        "/api/v1/auth/logout",
        json!({"refresh_token": phone.refresh}),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", &phone.token)
        .await
        .expect_problem(401, "unauthorized");
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": phone.refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", &tablet.token).await.expect(200);
    app.post("/api/v1/auth/logout-all", &tablet.token, json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", &tablet.token)
        .await
        .expect_problem(401, "unauthorized");
}

async fn password_change_ends_every_session_and_checks_the_policy(app: TestApp) {
    let w = app.world().await;
    let other_device = app.login("sch-x.parent", PASSWORD).await;
    let path = "/api/v1/me/password";
    let token = &w.x.parent.token;
    app.post(
        path,
        token,
        json!({"current_password": "wrong-password-9", "new_password": "a-new-long-passphrase"}),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    app.post(
        path,
        token,
        json!({"current_password": PASSWORD, "new_password": "short"}),
    )
    .await
    .expect_problem(422, "weak_password");
    app.post(
        path,
        token,
        json!({"current_password": PASSWORD, "new_password": "password1234"}),
    )
    .await
    .expect_problem(422, "weak_password");
    app.post(
        path,
        token,
        json!({"current_password": PASSWORD, "new_password": "a-new-long-passphrase"}),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", token)
        .await
        .expect_problem(401, "unauthorized");
    app.get("/api/v1/me", &other_device.token)
        .await
        .expect_problem(401, "unauthorized");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"username": "sch-x.parent", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid_credentials");
    let fresh = app.login("sch-x.parent", "a-new-long-passphrase").await;
    let feed = app
        .get("/api/v1/me/notifications", &fresh.token)
        .await
        .expect(200);
    assert!(feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["template"] == "account.password_changed"));
}

async fn responses_carry_security_headers(app: TestApp) {
    let admin = app.district_admin().await;
    let res = app.get("/api/v1/me", &admin.token).await;
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert!(res.header("server").is_none());
    assert!(res.header("x-request-id").is_some());
    let missing = app
        .send("GET", "/api/v1/nothing-here", None, None, &[])
        .await;
    missing.expect_problem(404, "not_found");
    assert_eq!(missing.header("cache-control"), Some("no-store"));
}

async fn parallel_guesses_and_parallel_refreshes_get_no_extra_chances(app: TestApp) {
    let w = app.world().await;
    let guesses = (0..10).map(|i| {
        app.post_anon(
            "/api/v1/auth/login",
            json!({"username": "sch-x.teacher", "password": format!("wrong-password-{i}")}),
        )
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|r| r.status == 401).count();
    let locked = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!(checked + locked, 10);
    assert!(checked <= 6, "{checked} guesses were checked at once");
    // One refresh token used twice at once: at most one new pair.
    let refreshes = (0..4).map(|_| {
        app.post_anon(
            "/api/v1/auth/refresh",
            json!({"refresh_token": w.x.parent.refresh}),
        )
    });
    let answers = futures_util::future::join_all(refreshes).await;
    assert!(answers.iter().filter(|r| r.status == 200).count() <= 1);
}

/// A login waiting for its turn to hash (a busy morning) is not yet a
/// failure: it is counted only once its hash runs, so a queue of honest
/// logins never trips the failure throttle.
async fn a_login_queued_behind_a_busy_hasher_is_not_counted_as_a_failure(app: TestApp) {
    app.district_admin().await;
    let passwords = app.state.passwords.clone();
    let mut busy = Vec::new();
    for _ in 0..app.state.settings.password_hash_concurrency {
        busy.push(passwords.turn().await.unwrap());
    }
    let login = app.post_anon(
        "/api/v1/auth/login",
        json!({"username": "ADMIN", "password": crate::support::ADMIN_PASSWORD}),
    );
    let counted_while_queued = async {
        // Let the login reach its wait for a turn, then free the hasher.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        let counted = app.count("login_failures").await;
        drop(busy);
        counted
    };
    let (answer, counted) = futures_util::future::join(login, counted_while_queued).await;
    assert_eq!(counted, 0, "a queued login was counted as a failure");
    answer.expect(200);
    assert_eq!(app.count("login_failures").await, 0);
}

on_both_databases!(
    a_login_queued_behind_a_busy_hasher_is_not_counted_as_a_failure,
    parallel_guesses_and_parallel_refreshes_get_no_extra_chances,
    login_returns_tokens_and_user,
    unknown_user_and_wrong_password_look_the_same,
    five_failures_lock_only_that_username,
    forged_and_stale_tokens_are_refused,
    disabling_a_user_ends_their_sessions_at_once,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_ends_that_session_only,
    password_change_ends_every_session_and_checks_the_policy,
    responses_carry_security_headers,
);
