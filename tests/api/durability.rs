//! Durability: the real server killed with SIGKILL while clients write
//! loses no acknowledged write and duplicates none, and its audit chain
//! still verifies; concurrent duplicates of one request make one row.

use crate::support::library::random_bytes;
use crate::support::tipline::{register_key, solve_pow, Holder};
use crate::support::tipline_client::{open_text, seal_text};
use crate::support::*;
use chrono::Utc;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

// --- the real binary ---------------------------------------------------------------

/// `safecampus serve` as its own process on the test's database; killed
/// (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_safecampus"))
            .arg("serve")
            .env("DATABASE_URL", &app.database_url)
            .env("SAFECAMPUS_BIND", format!("127.0.0.1:{port}"))
            .env("SAFECAMPUS_JWT_SECRET", JWT_SECRET)
            .env("SAFECAMPUS_RECEIPT_PEPPER", RECEIPT_PEPPER)
            .env("SAFECAMPUS_AUDIT_KEY", AUDIT_KEY)
            .env("SAFECAMPUS_WORKERS", "2")
            .env("SAFECAMPUS_DB_POOL_SIZE", "6")
            .env("SAFECAMPUS_POW_DIFFICULTY", "0")
            .env("SAFECAMPUS_POW_SURGE_REPORTS", "1000000")
            .env("SAFECAMPUS_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the server binary");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        // Up to 30 s for migrations and the listener.
        for _ in 0..600 {
            let ready = app
                .client
                .get(format!("{}/readyz", server.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map(|r| r.status().as_u16() == 200)
                .unwrap_or(false);
            if ready {
                return server;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server binary did not become ready");
    }

    /// SIGKILL: no graceful shutdown, requests in flight are cut.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request that may find no server: `None` when no answer came.
async fn try_post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    let mut req = app
        .client
        .post(app.url(path))
        .timeout(Duration::from_secs(20))
        .insert_header(("Content-Type", "application/json"));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    if let Some(k) = key {
        req = req.insert_header(("Idempotency-Key", k));
    }
    let mut res = req.send_body(body.to_string()).await.ok()?;
    let bytes = res.body().limit(1 << 20).await.ok()?;
    Some((
        res.status().as_u16(),
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

// --- the tip line's recipients -------------------------------------------------------

/// School X's mailbox, read by the district's bureau officer (the binary
/// runs on the real clock, so no officer is old enough to approve school
/// recipients here); returns the officer as the recipient the test reads with.
async fn open_mailbox(app: &TestApp, w: &World) -> Holder {
    app.create_user(&w.district_admin, "bureau_officer", "bureau.qian", None)
        .await;
    register_key(app, app.login("bureau.qian", PASSWORD).await).await
}

/// A report body with a fresh, solved challenge (difficulty 0 here).
async fn report_body(app: &TestApp, mailbox: &Value, text: &str) -> Value {
    json!({"school_code": "SCH-X", "category": "sexual_abuse", "urgency": "normal",
           "envelope": seal_text(&mailbox["recipient_keys"], text), "pow": solve_pow(app).await})
}

/// The plaintexts of every report in school X, as its recipient opens them.
async fn report_texts(app: &TestApp, reader: &Holder) -> Vec<String> {
    let list = app
        .get("/api/v1/reports?limit=100", &reader.s.token)
        .await
        .expect(200);
    let mut texts = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let detail = app
            .get(&format!("/api/v1/reports/{id}"), &reader.s.token)
            .await
            .expect(200);
        texts.push(open_text(&detail["envelope"], &reader.sk));
    }
    texts
}

// --- pupils ----------------------------------------------------------------------

/// A pupil of school X with the world's parent of X as guardian; older
/// pupils may leave the gate alone.
async fn pupil(app: &TestApp, w: &World, name: &str, older: bool) -> String {
    let body = if older {
        json!({"school_id": w.x.id, "class_id": w.x.class_id, "name": name,
               "student_no": format!("NO-{name}"), "grade": 5, "handover_required": false})
    } else {
        json!({"school_id": w.x.id, "class_id": w.x.class_id, "name": name,
               "student_no": format!("NO-{name}"), "grade": 1})
    };
    let s = app
        .post("/api/v1/students", &w.x.admin.token, body)
        .await
        .expect(201);
    let id = s["id"].as_str().unwrap().to_string();
    app.add_guardian(&w.x.admin, &id, &w.x.parent.user_id, "mother")
        .await;
    id
}

/// A leave off campus that is open now (real time: the binary's clock),
/// filed by the parent and approved by the head teacher.
async fn open_leave(app: &TestApp, w: &World, student: &str) -> String {
    let now = Utc::now();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let l = app
        .post(
            "/api/v1/leave-requests",
            &w.x.parent.token,
            json!({"student_id": student, "kind": "personal",
                   "starts_at": fmt(now - chrono::Duration::minutes(5)),
                   "ends_at": fmt(now + chrono::Duration::hours(3)),
                   "reason": "dentist", "leaves_campus": true}),
        )
        .await
        .expect(201);
    let id = l["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/leave-requests/{id}/decision"),
        &w.x.teacher.token,
        json!({"approve": true, "note": "ok"}),
    )
    .await
    .expect(200);
    id
}

// --- kill -9 -----------------------------------------------------------------------

#[derive(Clone)]
enum Op {
    Handover { student: String },
    Exit { leave: String },
    Report { body: Value, text: String },
}

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    NotSent,
    /// Sent; no answer came (the server died with it in flight).
    Lost,
    Answered(u16, Value),
}

struct Planned {
    op: Op,
    key: String,
}

impl Planned {
    async fn send(&self, app: &TestApp, w: &World) -> Option<(u16, Value)> {
        match &self.op {
            Op::Handover { student } => {
                try_post(
                    app,
                    "/api/v1/handovers",
                    Some(&w.x.guard.token),
                    &json!({"student_id": student, "guardian_user_id": w.x.parent.user_id}),
                    Some(&self.key),
                )
                .await
            }
            Op::Exit { leave } => {
                try_post(
                    app,
                    &format!("/api/v1/leave-requests/{leave}/exit"),
                    Some(&w.x.guard.token),
                    &json!({}),
                    Some(&self.key),
                )
                .await
            }
            // The single-use proof of work is the report's idempotency key.
            Op::Report { body, .. } => try_post(app, "/api/v1/reports", None, body, None).await,
        }
    }
}

/// The clients' shared state: who sends what next, what came back, and the
/// server to kill.
struct Run<'a> {
    app: &'a TestApp,
    w: &'a World,
    plan: &'a [Planned],
    kill_after: usize,
    outcomes: RefCell<Vec<Outcome>>,
    next: Cell<usize>,
    answered: Cell<usize>,
    server: RefCell<Option<&'a mut Server>>,
}

impl Run<'_> {
    async fn client(&self) {
        while self.server.borrow().is_some() {
            let i = self.next.get();
            if i >= self.plan.len() {
                return;
            }
            self.next.set(i + 1);
            self.outcomes.borrow_mut()[i] = Outcome::Lost;
            let Some((status, body)) = self.plan[i].send(self.app, self.w).await else {
                continue;
            };
            self.outcomes.borrow_mut()[i] = Outcome::Answered(status, body);
            self.answered.set(self.answered.get() + 1);
        }
    }

    /// Kills the server a random 0–10 ms after the `kill_after`th answer,
    /// whatever the clients are doing then (a request just sent, or
    /// mid-transaction, or committing).
    async fn killer(&self) {
        while self.answered.get() < self.kill_after && self.next.get() < self.plan.len() {
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        let delay = random_bytes(1)[0] as u64 % 11;
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
        if let Some(server) = self.server.borrow_mut().take() {
            server.kill();
        }
    }
}

/// What a creating answer names: a handover's `handover_id`, else `id`.
#[track_caller]
fn id_of(body: &Value) -> String {
    let id = body.get("handover_id").unwrap_or(&body["id"]);
    id.as_str().expect("an id in the answer").to_string()
}

async fn kill_9_mid_traffic_loses_no_acknowledged_write_and_duplicates_none(which: Which) {
    let mut app = TestApp::spawn(which).await;
    // The binary runs on the real clock; the test's own writes (the first
    // admin) are dated alike.
    app.clock.set(Utc::now());
    let mut server = Server::start(&app).await;
    app.base = server.base.clone();

    let w = app.world().await;
    let reader = open_mailbox(&app, &w).await;
    let mailbox = app
        .send("GET", "/api/v1/mailboxes/SCH-X", None, None, &[])
        .await
        .expect(200);
    const EACH: usize = 12;
    let mut plan = Vec::new();
    for i in 0..EACH {
        let student = pupil(&app, &w, &format!("young-{i}"), false).await;
        let older = pupil(&app, &w, &format!("older-{i}"), true).await;
        let leave = open_leave(&app, &w, &older).await;
        let text = format!("report number {i}: it happened behind the gym");
        let body = report_body(&app, &mailbox, &text).await;
        plan.push(Op::Handover { student });
        plan.push(Op::Exit { leave });
        plan.push(Op::Report { body, text });
    }
    let plan: Vec<Planned> = plan
        .into_iter()
        .map(|op| Planned {
            op,
            key: uuid::Uuid::now_v7().to_string(),
        })
        .collect();

    // Six clients; the server dies soon after a random answer between the
    // 5th and the 16th, with requests in flight (36 in the plan).
    let run = Run {
        app: &app,
        w: &w,
        plan: &plan,
        kill_after: 5 + (random_bytes(1)[0] as usize % 12),
        outcomes: RefCell::new(vec![Outcome::NotSent; plan.len()]),
        next: Cell::new(0),
        answered: Cell::new(0),
        server: RefCell::new(Some(&mut server)),
    };
    futures_util::future::join(join_all((0..6).map(|_| run.client())), run.killer()).await;
    assert!(
        run.server.borrow().is_none(),
        "the server was killed mid-run"
    );
    let before = run.outcomes.into_inner();
    for (p, o) in plan.iter().zip(&before) {
        if let Outcome::Answered(status, body) = o {
            assert!(
                (200..300).contains(status),
                "before the kill every request succeeds: {} {status} {body}",
                p.key
            );
        }
    }
    let lost = before.iter().filter(|o| **o == Outcome::Lost).count();
    assert!(lost > 0, "some requests were in flight at the kill");

    let saved = app.count("handovers").await
        + app
            .query_i64("SELECT COUNT(*) AS n FROM leave_requests WHERE status = 'out'".into())
            .await
        + app.count("tip_reports").await;
    let answered = before.len() - lost - before.iter().filter(|o| **o == Outcome::NotSent).count();
    eprintln!(
        "{which:?}: killed after {answered} answers with {lost} in flight; {} saved of which {} unanswered",
        saved,
        saved - answered as i64
    );

    // Restart on the same database; every request is sent (again), with
    // the same Idempotency-Key and body. An answered one sent again stands
    // for one whose answer the kill lost after its commit: the server
    // cannot tell the two apart and must answer as it did.
    let server = Server::start(&app).await;
    app.base = server.base.clone();
    for (p, o) in plan.iter().zip(&before) {
        let (status, body) = p.send(&app, &w).await.expect("the new server answers");
        match (&p.op, o) {
            (Op::Report { .. }, Outcome::Answered(..)) => {
                assert_eq!(status, 400, "a spent challenge is refused: {body}");
                assert_eq!(body["code"], "pow_invalid");
            }
            // In flight at the kill: saved then (its challenge is spent) or not.
            (Op::Report { .. }, Outcome::Lost) => {
                assert!(
                    status == 201 || (status == 400 && body["code"] == "pow_invalid"),
                    "{status} {body}"
                );
            }
            (Op::Report { .. }, Outcome::NotSent) => assert_eq!(status, 201, "{body}"),
            (_, Outcome::Answered(_, first)) => {
                assert!((200..300).contains(&status), "{status} {body}");
                assert_eq!(
                    id_of(&body),
                    id_of(first),
                    "the replay answers as the first did"
                );
            }
            (_, _) => assert!((200..300).contains(&status), "{status} {body}"),
        }
    }

    // Each handover and exit once, with one notification and one audit event.
    let parent = &w.x.parent.user_id;
    for p in &plan {
        match &p.op {
            Op::Handover { student } => assert_eq!(
                app.query_i64(format!("SELECT COUNT(*) AS n FROM handovers WHERE student_id = '{student}'")
                )
                .await,
                1
            ),
            Op::Exit { leave } => assert_eq!(
                app.query_i64(format!(
                        "SELECT COUNT(*) AS n FROM leave_requests WHERE id = '{leave}' AND status = 'out'"
                    )
                )
                .await,
                1
            ),
            Op::Report { .. } => {}
        }
    }
    let n = EACH as i64;
    assert_eq!(app.count("handovers").await, n);
    for (template, action) in [
        ("pickup.released", "handover.release"),
        ("leave.exited", "leave.exit"),
    ] {
        assert_eq!(
            app.query_i64(format!("SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{parent}' AND template = '{template}'")).await,
            n,
            "{template}"
        );
        assert_eq!(
            app.query_i64(format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"
            ))
            .await,
            n,
            "{action}"
        );
    }
    // Each report once; an acknowledged receipt opens its report. The
    // server's clock is the machine's: its reports' windows end within the
    // hour after now.
    let now = app.now();
    app.clock
        .set(chrono::Utc::now() + chrono::Duration::minutes(61));
    assert!(app.run_tipline_windows().await > 0);
    app.clock.set(now);
    let texts = report_texts(&app, &reader).await;
    assert_eq!(texts.len(), EACH);
    for (p, o) in plan.iter().zip(&before) {
        if let Op::Report { text, .. } = &p.op {
            assert_eq!(texts.iter().filter(|t| *t == text).count(), 1, "{text}");
            if let Outcome::Answered(_, first) = o {
                app.post_anon(
                    "/api/v1/reports/followup",
                    json!({"receipt": first["receipt"]}),
                )
                .await
                .expect(200);
            }
        }
    }
    let admin = app.login("admin", ADMIN_PASSWORD).await;
    let v = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(v["ok"], true, "{v}");
}

on_both!(kill_9_mid_traffic_loses_no_acknowledged_write_and_duplicates_none);

// --- concurrent duplicates ------------------------------------------------------------

async fn twenty(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &Value,
    key: Option<&str>,
) -> Vec<(u16, Value)> {
    join_all((0..20).map(|_| async {
        try_post(app, path, token, body, key)
            .await
            .expect("an answer")
    }))
    .await
}

#[track_caller]
fn all_the_same_created(answers: &[(u16, Value)], status: u16) -> String {
    let id = id_of(&answers[0].1);
    for (s, b) in answers {
        assert_eq!(*s, status, "{b}");
        assert_eq!(id_of(b), id, "{b}");
    }
    id
}

async fn twenty_identical_requests_with_one_idempotency_key_create_one_row(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;

    let notice = json!({"audience": {"class_ids": [x.class_id]}, "to": "guardians",
                        "category": "safety_education", "title": "Body safety lesson",
                        "body": "Please talk about it at home.", "requires_ack": true});
    let answers = twenty(
        &app,
        "/api/v1/notices",
        Some(&x.teacher.token),
        &notice,
        Some("notice-1"),
    )
    .await;
    all_the_same_created(&answers, 201);
    assert_eq!(app.count("notices").await, 1);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{}' AND notice_id IS NOT NULL",
            x.parent.user_id
        ))
        .await,
        1
    );

    let leave = json!({"student_id": x.student_id, "kind": "sick",
                       "starts_at": "2026-11-30T02:00:00Z", "ends_at": "2026-11-30T04:00:00Z",
                       "reason": "fever", "leaves_campus": true});
    let answers = twenty(
        &app,
        "/api/v1/leave-requests",
        Some(&x.parent.token),
        &leave,
        Some("leave-1"),
    )
    .await;
    all_the_same_created(&answers, 201);
    assert_eq!(app.count("leave_requests").await, 1);

    let handover = json!({"student_id": w.y.student_id, "guardian_user_id": w.y.parent.user_id});
    let answers = twenty(
        &app,
        "/api/v1/handovers",
        Some(&w.y.guard.token),
        &handover,
        Some("handover-1"),
    )
    .await;
    let id = all_the_same_created(&answers, 201);
    assert_eq!(app.count("handovers").await, 1);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE template = 'pickup.released' AND user_id = '{}'",
            w.y.parent.user_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'handover.release' AND target_id = '{id}'"
        ))
        .await,
        1
    );
    let v = app
        .get("/api/v1/audit/verify", &w.district_admin.token)
        .await
        .expect(200);
    assert_eq!(v["ok"], true, "{v}");
}

async fn twenty_parallel_handovers_of_one_pupil_release_once(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    let body = json!({"student_id": x.student_id, "guardian_user_id": x.parent.user_id});
    // Each gate tablet its own request: half with their own key, half without.
    let keys: Vec<String> = (0..20).map(|i| format!("gate-{i}")).collect();
    let answers = join_all(keys.iter().enumerate().map(|(i, k)| {
        let key = (i % 2 == 0).then_some(k.as_str());
        let (app, body, token) = (&app, &body, &x.guard.token);
        async move {
            try_post(app, "/api/v1/handovers", Some(token), body, key)
                .await
                .expect("an answer")
        }
    }))
    .await;
    let released: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(released.len(), 1, "{answers:?}");
    for (s, b) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*s, 409, "{b}");
        assert_eq!(b["code"], "already_released", "{b}");
    }
    assert_eq!(app.count("handovers").await, 1);
    assert_eq!(
        app.query_i64(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE template = 'pickup.released' AND user_id = '{}'",
            x.parent.user_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'handover.release'".into()
        )
        .await,
        1
    );
}

async fn twenty_parallel_reports_with_one_proof_of_work_make_one_report(app: TestApp) {
    let w = app.world().await;
    open_mailbox(&app, &w).await;
    let mailbox = app
        .send("GET", "/api/v1/mailboxes/SCH-X", None, None, &[])
        .await
        .expect(200);
    let body = report_body(&app, &mailbox, "the same report, sent twenty times").await;
    let answers = twenty(&app, "/api/v1/reports", None, &body, None).await;
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    for (s, b) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*s, 400, "{b}");
        assert_eq!(b["code"], "pow_invalid", "{b}");
    }
    assert_eq!(app.count("tip_reports").await, 1);
}

on_both_databases!(
    twenty_identical_requests_with_one_idempotency_key_create_one_row,
    twenty_parallel_handovers_of_one_pupil_release_once,
    twenty_parallel_reports_with_one_proof_of_work_make_one_report,
);
