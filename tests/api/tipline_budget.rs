//! The anonymous budget (issue 13, section 6): every anonymous tip-line
//! request is paid for before any work, 1 unit plus 1 per declared MiB; a
//! reserve is kept for submissions and follow-ups; a refusal is 503
//! `tipline_busy` with Retry-After and changes nothing. The budget's time
//! source is the test's (`app.ticks`): it refills only when the test says.

use crate::support::tipline::{mailbox, solve_pow, tip_world};
use crate::support::tipline_client::seal_text;
use crate::support::{Resp, Setup, TestApp};
use crate::tipline_flood::{answer_within, start_attachment};
use serde_json::{json, Value};
use std::time::Duration;

/// 8 units a second, 2 of them kept for submissions and follow-ups.
fn small_budget() -> Setup {
    budget(8)
}

/// 20 units a second, 5 of them kept for submissions and follow-ups.
fn larger_budget() -> Setup {
    budget(20)
}

fn budget(units: u32) -> Setup {
    Setup {
        vars: vec![
            ("SAFECAMPUS_TIPLINE_ANONYMOUS_BUDGET", units.to_string()),
            ("SAFECAMPUS_TIPLINE_ANONYMOUS_RESERVE_PERCENT", "25".into()),
        ],
        ..Setup::default()
    }
}

/// A challenge with no body: 1 unit.
async fn challenge(app: &TestApp, headers: &[(&str, &str)]) -> Resp {
    app.send("POST", "/api/v1/reports/challenge", None, None, headers)
        .await
}

/// Challenges until one is refused; how many were admitted.
async fn challenges_admitted(app: &TestApp) -> usize {
    for admitted in 0..100 {
        let r = challenge(app, &[]).await;
        if r.status != 201 {
            assert_busy(&r);
            return admitted;
        }
    }
    panic!("the budget never ran out");
}

#[track_caller]
fn assert_busy(r: &Resp) {
    r.expect_problem(503, "tipline_busy");
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("try again in a moment"), "{detail}");
    assert!(detail.contains("crisis line"), "{detail}");
}

fn report(mb: &Value, pow: Value) -> Value {
    json!({"school_code": "SCH-X", "category": "bullying", "urgency": "normal",
           "envelope": seal_text(&mb["recipient_keys"], "help"), "pow": pow})
}

async fn a_burst_past_the_budget_is_turned_away_before_any_work_and_writes_nothing(app: TestApp) {
    tip_world(&app).await;
    // The mailbox (no body) costs 1 unit, a challenge with a small body 2:
    // 5 of the 8 are left, 2 of them the reserve.
    let mb = mailbox(&app, "SCH-X").await;
    let good = report(&mb, solve_pow(&app).await);
    let before = app.dump().await;
    assert_eq!(challenges_admitted(&app).await, 3);
    // Refused before anything else is looked at: the Authorization header
    // (400 `anonymous_only`), the school code (404), the body.
    let r = challenge(&app, &[("Authorization", "Bearer x")]).await;
    assert_busy(&r);
    let r = app
        .send_raw(
            "POST",
            "/api/v1/reports/challenge?school_code=NOPE",
            None,
            None,
            &[],
        )
        .await;
    assert_busy(&r);
    // The reserve pays for one submission (1 unit and 1 for its body):
    // this one is read, and refused for what it holds.
    let r = app
        .send_raw("POST", "/api/v1/reports", None, Some("{"), &[])
        .await;
    r.expect_problem(400, "malformed_json");
    // Now not even a submission is read, and a good one stores nothing.
    let r = app
        .send_raw("POST", "/api/v1/reports", None, Some("{"), &[])
        .await;
    assert_busy(&r);
    assert_busy(&app.post_anon("/api/v1/reports", good.clone()).await);
    assert_eq!(
        app.dump().await,
        before,
        "a refused request wrote something"
    );
    assert_eq!(app.count("tip_reports").await, 0);
    // A quarter of a second later the same submission gets through.
    app.ticks.advance(Duration::from_millis(250));
    app.post_anon("/api/v1/reports", good).await.expect(201);
    assert_eq!(app.count("tip_reports").await, 1);
}

async fn a_child_submits_and_follows_up_from_the_reserve_while_challenges_are_refused(
    app: TestApp,
) {
    tip_world(&app).await;
    let mb = mailbox(&app, "SCH-X").await;
    let good = report(&mb, solve_pow(&app).await);
    // 20 - 1 (mailbox) - 2 (challenge) = 17; challenges stop at the
    // reserve, 5.
    assert_eq!(challenges_admitted(&app).await, 12);
    let receipt = app.post_anon("/api/v1/reports", good).await.expect(201)["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_busy(&challenge(&app, &[]).await);
    assert_busy(
        &app.send("GET", "/api/v1/mailboxes/SCH-X", None, None, &[])
            .await,
    );
    let followup = json!({ "receipt": receipt });
    app.post_anon("/api/v1/reports/followup", followup.clone())
        .await
        .expect(200);
    // 1 unit is left: not enough for another follow-up (2).
    assert_busy(
        &app.post_anon("/api/v1/reports/followup", followup.clone())
            .await,
    );
    app.ticks.advance(Duration::from_millis(100));
    app.post_anon("/api/v1/reports/followup", followup)
        .await
        .expect(200);
}

async fn a_large_declared_attachment_costs_more_than_a_small_one(app: TestApp) {
    tip_world(&app).await;
    let wrong = [("X-Tipline-Receipt", "AAAAA-BBBBB-CCCCC-DDDDD")];
    // 3 MiB declared: 4 units, leaving 4 (2 above the reserve). Its wrong
    // receipt is found out without its body.
    let big = start_attachment(&app, &wrong, 3 << 20).await;
    let (status, problem) = answer_within(big, 10).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
    assert_eq!(challenges_admitted(&app).await, 2);
    // A second refills the bucket to one second's budget, no more: 8.
    app.ticks.advance(Duration::from_secs(1));
    // 8 KiB declared: 2 units, leaving 6 (4 above the reserve).
    let small = start_attachment(&app, &wrong, 8 << 10).await;
    let (status, _) = answer_within(small, 10).await;
    assert_eq!(status, 404);
    assert_eq!(challenges_admitted(&app).await, 4);
}

on_both_databases!(
    setup = small_budget;
    a_burst_past_the_budget_is_turned_away_before_any_work_and_writes_nothing,
    a_large_declared_attachment_costs_more_than_a_small_one,
);

on_both_databases!(
    setup = larger_budget;
    a_child_submits_and_follows_up_from_the_reserve_while_challenges_are_refused,
);
