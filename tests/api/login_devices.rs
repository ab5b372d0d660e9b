//! Login cannot be used to lock staff out: failures count per username and
//! client, the guard's own phone (its `X-Device-Token`) has a count of its
//! own, and a password spray slows only clients without a known device.

use crate::support::library::device_token_hash;
use crate::support::{Resp, TestApp, PASSWORD};
use chrono::Duration;
use serde_json::json;

const GUARD: &str = "sch-x.guard";
const TEACHER: &str = "sch-x.teacher";
const WRONG: &str = "wrong-password-1";

async fn login(app: &TestApp, username: &str, password: &str, device: Option<&str>) -> Resp {
    let headers: Vec<(&str, &str)> = device.map(|d| ("X-Device-Token", d)).into_iter().collect();
    let body = json!({"username": username, "password": password});
    app.send("POST", "/api/v1/auth/login", None, Some(&body), &headers)
        .await
}

/// Logs in from a new device; returns the device token the server handed out.
async fn new_device(app: &TestApp, username: &str) -> String {
    let r = login(app, username, PASSWORD, None).await;
    r.expect(200);
    let token = r.header("x-device-token").expect("a device token");
    assert!(token.len() >= 40, "{token}");
    token.to_string()
}

#[track_caller]
fn retry_after(r: &Resp) -> i64 {
    r.expect_problem(429, "too_many_attempts");
    r.header("retry-after").unwrap().parse().unwrap()
}

async fn someone_guessing_the_guards_password_never_locks_out_the_guards_phone(app: TestApp) {
    let _w = app.world().await;
    let logs = app.capture_logs();
    let phone = new_device(&app, GUARD).await;
    // Only a hash of the token is kept.
    let stored =
        |v: String| format!("SELECT COUNT(*) AS n FROM login_devices WHERE token_hash = '{v}'");
    assert_eq!(app.query_i64(stored(device_token_hash(&phone))).await, 1);
    assert_eq!(app.query_i64(stored(phone.clone())).await, 0);
    // A pupil without the token guesses, waiting out every delay: after five
    // free failures each one doubles the wait, up to 15 minutes.
    let (mut failures, mut waits) = (0, Vec::new());
    while failures < 15 {
        let r = login(&app, GUARD, WRONG, None).await;
        if r.status == 429 {
            let secs = retry_after(&r);
            waits.push(secs);
            app.clock.advance(Duration::seconds(secs));
        } else {
            r.expect_problem(401, "invalid_credentials");
            failures += 1;
        }
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    let locked = login(&app, GUARD, WRONG, None).await;
    assert_eq!(retry_after(&locked), 15 * 60);
    // The guard's phone, with the right password, gets in at once.
    let r = login(&app, GUARD, PASSWORD, Some(&phone)).await;
    let body = r.expect(200);
    assert!(
        r.header("x-device-token").is_none(),
        "a known device keeps its token"
    );
    app.get("/api/v1/me", body["access_token"].as_str().unwrap())
        .await
        .expect(200);
    // The token is never logged.
    assert!(!logs.text().is_empty());
    assert!(!logs.text().contains(&phone));
}

async fn without_a_device_the_right_password_waits_out_the_delay(app: TestApp) {
    let _w = app.world().await;
    for _ in 0..5 {
        login(&app, GUARD, WRONG, None)
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // The right password is refused too while the unknown clients wait.
    assert_eq!(retry_after(&login(&app, GUARD, PASSWORD, None).await), 1);
    app.clock.advance(Duration::seconds(1));
    login(&app, GUARD, WRONG, None)
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(retry_after(&login(&app, GUARD, PASSWORD, None).await), 2);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(retry_after(&login(&app, GUARD, PASSWORD, None).await), 1);
    app.clock.advance(Duration::seconds(1));
    let r = login(&app, GUARD, PASSWORD, None).await;
    r.expect(200);
    assert!(r.header("x-device-token").is_some());
    // The success cleared the unknown clients' count.
    login(&app, GUARD, WRONG, None)
        .await
        .expect_problem(401, "invalid_credentials");
}

async fn a_wrong_password_on_the_guards_phone_counts_against_that_phone_only(app: TestApp) {
    let _w = app.world().await;
    let phone = new_device(&app, GUARD).await;
    let tablet = new_device(&app, GUARD).await;
    assert_ne!(phone, tablet);
    for _ in 0..5 {
        login(&app, GUARD, WRONG, Some(&phone))
            .await
            .expect_problem(401, "invalid_credentials");
    }
    assert_eq!(
        retry_after(&login(&app, GUARD, PASSWORD, Some(&phone)).await),
        1
    );
    // Neither the guard's tablet nor a client without a token is slowed.
    let r = login(&app, GUARD, PASSWORD, Some(&tablet)).await;
    r.expect(200);
    assert!(r.header("x-device-token").is_none());
    login(&app, GUARD, PASSWORD, None).await.expect(200);
    app.clock.advance(Duration::seconds(1));
    login(&app, GUARD, PASSWORD, Some(&phone)).await.expect(200);
}

async fn a_device_token_of_another_user_is_no_known_device(app: TestApp) {
    let _w = app.world().await;
    let teachers = new_device(&app, TEACHER).await;
    for _ in 0..5 {
        login(&app, GUARD, WRONG, Some(&teachers))
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // Those failures were the unknown clients' of the guard's username.
    assert_eq!(
        retry_after(&login(&app, GUARD, PASSWORD, Some(&teachers)).await),
        1
    );
    assert_eq!(retry_after(&login(&app, GUARD, PASSWORD, None).await), 1);
    // They did not touch the teacher's own device.
    let r = login(&app, TEACHER, PASSWORD, Some(&teachers)).await;
    r.expect(200);
    assert!(r.header("x-device-token").is_none());
    // Once the wait is over, the guard gets in and a device token of his own.
    app.clock.advance(Duration::seconds(1));
    let r = login(&app, GUARD, PASSWORD, Some(&teachers)).await;
    r.expect(200);
    let own = r.header("x-device-token").expect("a new device token");
    assert_ne!(own, teachers);
}

async fn a_password_spray_slows_unknown_clients_but_not_known_devices(app: TestApp) {
    let _w = app.world().await;
    let phone = new_device(&app, GUARD).await;
    assert_eq!(app.count("login_failures").await, 0);
    // One guess for each of 60 usernames: no username's own count is near
    // its limit.
    for i in 0..60 {
        login(&app, &format!("staff-{i}"), "Spring-2026-guess", None)
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // Every client without a known device now waits, even with the right
    // password for an untouched account, and its password is not checked.
    let r = login(&app, TEACHER, PASSWORD, None).await;
    assert_eq!(retry_after(&r), 60);
    assert_eq!(app.count("login_failures").await, 60);
    // The guard's phone is not slowed.
    login(&app, GUARD, PASSWORD, Some(&phone)).await.expect(200);
    app.clock.advance(Duration::seconds(60));
    login(&app, TEACHER, PASSWORD, None).await.expect(200);
}

async fn logging_out_everywhere_forgets_the_devices(app: TestApp) {
    let _w = app.world().await;
    let r = login(&app, GUARD, PASSWORD, None).await;
    let phone = r.header("x-device-token").unwrap().to_string();
    let token = r.expect(200)["access_token"].as_str().unwrap().to_string();
    app.post("/api/v1/auth/logout-all", &token, json!({}))
        .await
        .expect(204);
    for _ in 0..5 {
        login(&app, GUARD, WRONG, None)
            .await
            .expect_problem(401, "invalid_credentials");
    }
    // A lost phone's token is an unknown client now.
    assert_eq!(
        retry_after(&login(&app, GUARD, PASSWORD, Some(&phone)).await),
        1
    );
}

async fn old_failures_and_unused_devices_are_forgotten(app: TestApp) {
    let w = app.world().await;
    let devices_of_guard = format!(
        "SELECT COUNT(*) AS n FROM login_devices WHERE user_id = '{}'",
        w.x.guard.user_id
    );
    // The world's login of the guard, and this phone.
    let phone = new_device(&app, GUARD).await;
    assert_eq!(app.query_i64(devices_of_guard.clone()).await, 2);
    login(&app, GUARD, WRONG, None)
        .await
        .expect_problem(401, "invalid_credentials");
    app.clock.advance(Duration::hours(23));
    app.run_housekeeping().await;
    assert_eq!(app.count("login_failures").await, 1);
    app.clock.advance(Duration::hours(2));
    app.run_housekeeping().await;
    assert_eq!(app.count("login_failures").await, 0);
    // A device in use stays known; one unused for 90 days is forgotten.
    app.clock.advance(Duration::days(88));
    let r = login(&app, GUARD, PASSWORD, Some(&phone)).await;
    r.expect(200);
    assert!(r.header("x-device-token").is_none());
    app.clock.advance(Duration::days(2));
    app.run_housekeeping().await;
    assert_eq!(app.query_i64(devices_of_guard.clone()).await, 1);
    app.clock.advance(Duration::days(91));
    let r = login(&app, GUARD, PASSWORD, Some(&phone)).await;
    r.expect(200);
    assert!(
        r.header("x-device-token").is_some(),
        "an expired device is new"
    );
}

async fn wrong_current_passwords_slow_that_session_but_not_the_owners_logins(app: TestApp) {
    let w = app.world().await;
    let change = |current: &str| json!({"current_password": current, "new_password": "a-new-long-passphrase"});
    let path = "/api/v1/me/password";
    let token = &w.x.guard.token;
    for _ in 0..5 {
        app.post(path, token, change(WRONG))
            .await
            .expect_problem(401, "invalid_credentials");
    }
    assert_eq!(
        retry_after(&app.post(path, token, change(PASSWORD)).await),
        1
    );
    // The guard's logins are not slowed, from no device either.
    login(&app, GUARD, PASSWORD, None).await.expect(200);
    app.clock.advance(Duration::seconds(1));
    app.post(path, token, change(PASSWORD)).await.expect(204);
    // The success cleared the session's count.
    assert_eq!(app.count("login_failures").await, 0);
}

on_both_databases!(
    someone_guessing_the_guards_password_never_locks_out_the_guards_phone,
    without_a_device_the_right_password_waits_out_the_delay,
    a_wrong_password_on_the_guards_phone_counts_against_that_phone_only,
    a_device_token_of_another_user_is_no_known_device,
    a_password_spray_slows_unknown_clients_but_not_known_devices,
    logging_out_everywhere_forgets_the_devices,
    old_failures_and_unused_devices_are_forgotten,
    wrong_current_passwords_slow_that_session_but_not_the_owners_logins,
);
