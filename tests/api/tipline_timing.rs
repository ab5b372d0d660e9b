//! No timing trail (issue 13, section 1): what a reporter sends is kept to
//! the window its urgency sets. Two reports (or two reporter messages) sent
//! in different minutes of one window leave rows and API answers that are
//! the same field by field, apart from random ids and ciphertext.

use crate::support::probes::Row;
use crate::support::tipline::{mailbox, solve_pow, submit_sealed, tip_world, TipWorld};
use crate::support::tipline_client::seal_text;
use crate::support::{Session, TestApp};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;

// --- the database, dumped ------------------------------------------------------------

/// The rows among `rows` that concern the seeds: those that hold one of
/// them, then those that hold the id of such a row (an outbox row names its
/// notification), and so on.
fn concerning(rows: &BTreeSet<Row>, seeds: &[&str]) -> BTreeSet<Row> {
    let mut keys: BTreeSet<String> = seeds.iter().map(|s| s.to_string()).collect();
    let mut found = BTreeSet::new();
    loop {
        let more: Vec<&Row> = rows
            .iter()
            .filter(|r| !found.contains(*r))
            .filter(|r| {
                r.fields
                    .values()
                    .flatten()
                    .any(|v| keys.iter().any(|k| v.contains(k.as_str())))
            })
            .collect();
        if more.is_empty() {
            return found;
        }
        for r in more {
            if let Some(Some(id)) = r.fields.get("id") {
                if id.len() >= 16 {
                    keys.insert(id.clone());
                }
            }
            found.insert(r.clone());
        }
    }
}

/// Random material, not a time: the ciphertext and what is derived from a
/// random receipt, and the audit chain's links (its order is checked apart).
fn is_random(table: &str, column: &str) -> bool {
    matches!(column, "envelope" | "receipt_mac" | "reporter_public_key")
        || (table == "audit_events" && matches!(column, "seq" | "hash" | "prev_hash"))
}

/// A text with every UUID replaced by its time part (the first 48 bits of
/// a UUIDv7, whose rest is random or a counter): two ids made at different
/// moments stay apart.
fn times_of_ids(text: &str) -> String {
    let b = text.as_bytes();
    let is_uuid = |s: &[u8]| {
        s.len() >= 36
            && s[..36].iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if is_uuid(&b[i..]) {
            out.push_str("uuid@");
            out.push_str(&text[i..i + 13]);
            i += 36;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The rows as they may be compared: random columns out, ids reduced to
/// their time, sorted.
fn comparable(rows: &BTreeSet<Row>) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            let fields: Vec<String> = r
                .fields
                .iter()
                .filter(|(c, _)| !is_random(&r.table, c))
                .map(|(c, v)| format!("{c}={}", v.as_deref().map(times_of_ids).unwrap_or_default()))
                .collect();
            format!("{}: {}", r.table, fields.join(", "))
        })
        .collect();
    out.sort();
    out
}

fn tables(rows: &BTreeSet<Row>) -> BTreeSet<&str> {
    rows.iter().map(|r| r.table.as_str()).collect()
}

/// An API answer as it may be compared: envelopes and the reporter's key
/// out, ids reduced to their time.
fn comparable_json(v: &Value) -> String {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| k.as_str() != "envelope")
                    .map(|(k, v)| {
                        let keep = if k == "public_key" {
                            json!("<key>")
                        } else {
                            strip(v)
                        };
                        (k.clone(), keep)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    times_of_ids(&strip(v).to_string())
}

// --- helpers ------------------------------------------------------------------------

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap()
}

/// A sealed report, sent now; its receipt. Nothing is released.
async fn send_report(app: &TestApp, urgency: &str, text: &str) -> String {
    let mb = mailbox(app, "SCH-X").await;
    let body = json!({"school_code": "SCH-X", "category": "harassment", "urgency": urgency,
        "envelope": seal_text(&mb["recipient_keys"], text), "pow": solve_pow(app).await});
    let r = app.post_anon("/api/v1/reports", body).await.expect(201);
    r["receipt"].as_str().unwrap().to_string()
}

async fn report_ids(app: &TestApp, s: &Session) -> Vec<String> {
    app.get("/api/v1/reports", &s.token).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The tip-line notifications of a feed that name a report.
async fn alerts_about(app: &TestApp, s: &Session, report_id: &str) -> Vec<Value> {
    let feed = app
        .get("/api/v1/me/notifications?limit=100", &s.token)
        .await
        .expect(200);
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n.to_string().contains(report_id))
        .cloned()
        .collect()
}

/// Alerts of a report or a reporter's message in a feed.
async fn tipline_alerts(app: &TestApp, s: &Session) -> usize {
    let feed = app
        .get("/api/v1/me/notifications?limit=100", &s.token)
        .await
        .expect(200);
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["template"] == "tipline.new_report" || n["template"] == "tipline.reporter_message"
        })
        .count()
}

fn readers(t: &TipWorld) -> [&Session; 3] {
    [&t.x_admin.s, &t.x_counselor.s, &t.bureau.s]
}

/// Every API answer about one report, as staff see it.
async fn answers_about(app: &TestApp, t: &TipWorld, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in readers(t) {
        let list = app.get("/api/v1/reports", &s.token).await.expect(200);
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .expect("listed")
            .clone();
        out.push(comparable_json(&item));
        let detail = app
            .get(&format!("/api/v1/reports/{id}"), &s.token)
            .await
            .expect(200);
        out.push(comparable_json(&detail));
        out.push(comparable_json(&json!(alerts_about(app, s, id).await)));
    }
    let history = app
        .get(&format!("/api/v1/reports/{id}/history"), &t.bureau.s.token)
        .await
        .expect(200);
    out.push(comparable_json(&history));
    out
}

/// The deliveries of these notifications in the district admin's outbox view.
async fn deliveries(app: &TestApp, admin: &Session, rows: &BTreeSet<Row>) -> Vec<String> {
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| r.table == "notifications")
        .filter_map(|r| r.fields.get("id").cloned().flatten())
        .collect();
    assert!(!ids.is_empty());
    let view = app
        .get("/api/v1/admin/outbox?state=pending&limit=100", &admin.token)
        .await
        .expect(200);
    let mut out: Vec<String> = view["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| ids.iter().any(|id| d.to_string().contains(id.as_str())))
        .map(comparable_json)
        .collect();
    assert!(!out.is_empty(), "no delivery in the outbox view");
    out.sort();
    out
}

/// The two sets of rows are alike but for random ids and ciphertext, hold
/// the expected tables, and share no row.
fn assert_alike(a: &BTreeSet<Row>, b: &BTreeSet<Row>, expected: &[&str]) {
    assert!(a.is_disjoint(b), "a row concerns both");
    for t in expected {
        assert!(tables(a).contains(t), "no {t} row: {:?}", tables(a));
    }
    assert_eq!(comparable(a), comparable(b));
}

// --- scenarios ----------------------------------------------------------------------

async fn two_reports_in_one_window_leave_the_same_trail_but_for_random_ids(app: TestApp) {
    let logs = app.capture_logs();
    let mut t = tip_world(&app).await;
    let before = app.dump().await;

    // 08:07 and 08:48 at the school: one normal window, 08:00–09:00.
    app.clock.set(at(0, 7, 13));
    send_report(&app, "normal", "First report, sent at seven past").await;
    app.clock.set(at(0, 48, 51));
    send_report(&app, "normal", "Second report, sent at twelve to").await;

    // Until the window ends staff see nothing, and nothing is announced.
    t.relogin(&app).await;
    for s in readers(&t) {
        assert!(report_ids(&app, s).await.is_empty());
        assert_eq!(tipline_alerts(&app, s).await, 0);
    }
    assert_eq!(app.count("tip_report_events").await, 0);
    assert_eq!(app.audits("tipline.report.submit").await, 0);
    app.clock.set(at(0, 59, 59));
    assert_eq!(app.run_tipline_windows().await, 0);

    // The window ends: the worker releases both, in one batch.
    app.clock.set(at(1, 0, 20));
    assert_eq!(app.run_tipline_windows().await, 2);
    assert_eq!(app.run_tipline_windows().await, 0, "released once");
    t.relogin(&app).await;
    let ids = report_ids(&app, &t.x_counselor.s).await;
    assert_eq!(ids.len(), 2);
    for s in readers(&t) {
        assert_eq!(tipline_alerts(&app, s).await, 2);
    }

    // Every row that concerns each report: alike field by field.
    let after = app.dump().await;
    let new: BTreeSet<Row> = after.difference(&before).cloned().collect();
    let a = concerning(&new, &[&ids[0]]);
    let b = concerning(&new, &[&ids[1]]);
    assert_alike(
        &a,
        &b,
        &[
            "tip_reports",
            "tip_report_events",
            "notifications",
            "outbox",
            "audit_events",
        ],
    );
    // The report's own time is its window's start.
    let report = a.iter().find(|r| r.table == "tip_reports").unwrap();
    let created = report.fields["created_at"].clone().unwrap();
    assert!(created.starts_with("2026-11-30 00:00:00"), "{created}");
    // In the audit chain, the two are one batch: next to each other.
    let seqs: Vec<i64> = app
        .strings("SELECT CAST(seq AS TEXT) AS s FROM audit_events WHERE action = 'tipline.report.submit' ORDER BY seq".into())
        .await
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(seqs.len(), 2);
    assert_eq!(seqs[1], seqs[0] + 1);
    let admin = app.relog(&t.w.district_admin).await;
    let verified = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(verified["ok"], true, "{verified}");

    // Every answer staff get about each: alike too.
    assert_eq!(
        answers_about(&app, &t, &ids[0]).await,
        answers_about(&app, &t, &ids[1]).await
    );
    assert_eq!(
        deliveries(&app, &admin, &a).await,
        deliveries(&app, &admin, &b).await
    );

    // The reporter's routes leave no line in the log.
    let text = logs.text();
    assert!(
        text.contains("route=/api/v1/reports/{id}"),
        "the log is captured"
    );
    for route in [
        "method=POST route=/api/v1/reports ",
        "route=/api/v1/reports/challenge",
        "route=/api/v1/mailboxes",
    ] {
        assert!(!text.contains(route), "{route} is logged");
    }
}

async fn two_reporter_messages_in_one_window_leave_the_same_trail(app: TestApp) {
    let mut t = tip_world(&app).await;
    let first = submit_sealed(&app, "SCH-X", "A report", "normal", false).await;
    let second = submit_sealed(&app, "SCH-X", "Another report", "normal", false).await;
    let before = app.dump().await;

    // 10:05 and 10:41 at the school: one window of both (normal) reports.
    let mut sent = Vec::new();
    for (receipt, when) in [(&first, at(2, 5, 9)), (&second, at(2, 41, 37))] {
        app.clock.set(when);
        let m = app
            .post_anon(
                "/api/v1/reports/followup/messages",
                json!({"receipt": receipt, "plaintext": {"text": "One more thing"}}),
            )
            .await
            .expect(201);
        assert_eq!(m["sent_on"], "2026-11-30");
        sent.push(m["id"].as_str().unwrap().to_string());
    }
    let report_of = |m: &str| format!("SELECT report_id AS s FROM tip_messages WHERE id = '{m}'");
    let ra = app.strings(report_of(&sent[0])).await.pop().unwrap();
    let rb = app.strings(report_of(&sent[1])).await.pop().unwrap();

    // The reporter sees the message, without a place yet; staff see nothing.
    let mine = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": first}))
        .await
        .expect(200);
    assert_eq!(mine["messages"][0]["seq"], 0);
    t.relogin(&app).await;
    let alerts = tipline_alerts(&app, &t.x_counselor.s).await;
    for r in [&ra, &rb] {
        let detail = app
            .get(&format!("/api/v1/reports/{r}"), &t.x_counselor.s.token)
            .await
            .expect(200);
        assert_eq!(detail["messages"], json!([]));
    }

    app.clock.set(at(3, 0, 20));
    assert_eq!(app.run_tipline_windows().await, 2);
    t.relogin(&app).await;
    assert_eq!(tipline_alerts(&app, &t.x_counselor.s).await, alerts + 2);
    let mine = app
        .post_anon("/api/v1/reports/followup", json!({"receipt": first}))
        .await
        .expect(200);
    assert_eq!(mine["messages"][0]["seq"], 1);

    let after = app.dump().await;
    let changed: BTreeSet<Row> = after.difference(&before).cloned().collect();
    let a = concerning(&changed, &[&sent[0], &ra]);
    let b = concerning(&changed, &[&sent[1], &rb]);
    assert_alike(
        &a,
        &b,
        &["tip_messages", "tip_reports", "notifications", "outbox"],
    );
    let message = a.iter().find(|r| r.table == "tip_messages").unwrap();
    let created = message.fields["created_at"].clone().unwrap();
    assert!(created.starts_with("2026-11-30 02:00:00"), "{created}");
    assert_eq!(
        answers_about(&app, &t, &ra).await,
        answers_about(&app, &t, &rb).await
    );
    let admin = app.relog(&t.w.district_admin).await;
    let verified = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(verified["ok"], true, "{verified}");
}

async fn deadlines_count_from_the_window_and_danger_now_is_announced_at_once(app: TestApp) {
    let mut t = tip_world(&app).await;

    // The mailbox tells each urgency's trade, in the reporter's language.
    let en = app
        .send(
            "GET",
            "/api/v1/mailboxes/SCH-X",
            None,
            None,
            &[("Accept-Language", "en-US,en;q=0.9")],
        )
        .await
        .expect(200);
    assert_eq!(en["language"], "en");
    let minutes: Vec<(String, i64)> = en["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["urgency"].as_str().unwrap().to_string(),
                w["window_minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        minutes,
        [
            ("normal".to_string(), 60),
            ("urgent".to_string(), 15),
            ("danger_now".to_string(), 0)
        ]
    );
    assert!(en["windows"][2]["trade_off"]
        .as_str()
        .unwrap()
        .contains("at once"));
    let zh = mailbox(&app, "SCH-X").await;
    assert_eq!(zh["language"], "zh-CN");
    assert!(zh["windows"][1]["trade_off"]
        .as_str()
        .unwrap()
        .contains("15分钟"));

    // Danger now: staff see it and are alerted at once, to the moment.
    app.clock.set(at(0, 3, 0));
    send_report(&app, "danger_now", "He is outside the dorm now").await;
    t.relogin(&app).await;
    assert_eq!(report_ids(&app, &t.x_counselor.s).await.len(), 1);
    assert_eq!(tipline_alerts(&app, &t.x_counselor.s).await, 1);

    // Urgent at 08:05: its window ends at 08:15, and the hour to acknowledge
    // counts from there: not overdue at 09:10, overdue after 09:15.
    app.clock.set(at(0, 5, 0));
    send_report(&app, "urgent", "Someone keeps messaging me").await;
    app.clock.set(at(0, 15, 10));
    assert_eq!(app.run_tipline_windows().await, 1);
    t.relogin(&app).await;
    assert_eq!(report_ids(&app, &t.x_counselor.s).await.len(), 2);
    app.clock.set(at(1, 10, 0));
    // The danger-now report (08:03) is overdue; the urgent one not yet.
    assert_eq!(app.run_tipline_deadlines().await, 1);
    app.clock.set(at(1, 15, 30));
    assert_eq!(app.run_tipline_deadlines().await, 1);
}

crate::on_both_databases!(
    two_reports_in_one_window_leave_the_same_trail_but_for_random_ids,
    two_reporter_messages_in_one_window_leave_the_same_trail,
    deadlines_count_from_the_window_and_danger_now_is_announced_at_once,
);
