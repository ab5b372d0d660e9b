//! Faults around the service: the database away (503 problem+json, not
//! ready, back by itself), and SMTP and the push webhook down for a while
//! (every queued message delivered exactly once when they return).

use crate::support::library;
use crate::support::receivers::{SmtpSink, WebhookReceiver};
use crate::support::workers::run_outbox;
use crate::support::*;
use chrono::Duration;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

// --- a TCP proxy the test controls ------------------------------------------------------

/// Forwards connections to the database; `cut` drops every connection and
/// refuses new ones (closes them at once) until `resume`; `stall` keeps
/// every connection open and forwards nothing (a partition, a frozen host).
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let stalled = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, stalled2, open2) = (up.clone(), stalled.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                open2.lock().unwrap().push(client.try_clone().unwrap());
                // While stalled a new connection is held, never answered.
                while stalled2.load(Ordering::SeqCst) && up2.load(Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                open2.lock().unwrap().push(server.try_clone().unwrap());
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    stalled2.clone(),
                );
                pipe(server, client, stalled2.clone());
            }
        });
        Proxy {
            addr,
            up,
            stalled,
            open,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    fn resume(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`; while stalled, what was read is held back.
fn pipe(mut from: TcpStream, mut to: TcpStream, stalled: Arc<AtomicBool>) {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            while stalled.load(Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// The host:port of a postgres:// URL, and the URL with another in its place.
fn through(url: &str, proxy: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, rest) = match rest.split_once('@') {
        Some((a, r)) => (format!("{a}@"), r),
        None => (String::new(), rest),
    };
    let tail = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    format!("{scheme}://{auth}{proxy}{tail}")
}

fn target_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let host = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    host.to_socket_addrs().unwrap().next().unwrap()
}

// --- the database away ----------------------------------------------------------------

/// How the test takes the database away and gives it back.
enum Outage {
    /// PostgreSQL behind the proxy.
    Proxy(Proxy),
    /// SQLite: another process's writer holds the file's write lock.
    Lock(String, Option<diesel::SqliteConnection>),
}

impl Outage {
    /// The proxy for PostgreSQL, or SQLite's file, and the app on it.
    async fn prepare(which: Which, vars: &[(&'static str, &str)]) -> (TestApp, Outage) {
        let proxy =
            (which == Which::Postgres).then(|| Proxy::start(target_of(&postgres_url().unwrap())));
        let proxy_addr = proxy.as_ref().map(|p| p.addr);
        let setup = Setup {
            vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            route_database: proxy_addr
                .map(|a| Box::new(move |url: &str| through(url, a)) as RouteDatabase),
        };
        let app = TestApp::try_spawn_with(which, setup).await.unwrap();
        let outage = match proxy {
            Some(p) => Outage::Proxy(p),
            None => Outage::Lock(
                app.database_url.trim_start_matches("sqlite://").to_string(),
                None,
            ),
        };
        (app, outage)
    }

    /// PostgreSQL stops answering (the proxy holds everything back); on
    /// SQLite the lock is held, as in `begin`.
    fn stall(&mut self) {
        match self {
            Outage::Proxy(p) => p.stall(),
            Outage::Lock(..) => self.begin(),
        }
    }

    fn begin(&mut self) {
        match self {
            Outage::Proxy(p) => p.cut(),
            Outage::Lock(path, held) => {
                let mut c = diesel::SqliteConnection::establish(path).unwrap();
                c.batch_execute("PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE;")
                    .unwrap();
                *held = Some(c);
            }
        }
    }

    fn end(&mut self) {
        match self {
            Outage::Proxy(p) => {
                p.cut();
                p.resume();
            }
            Outage::Lock(_, held) => {
                let mut c = held.take().unwrap();
                c.batch_execute("ROLLBACK;").unwrap();
            }
        }
    }
}

fn lesson(class_id: &str, title: &str) -> Value {
    json!({"audience": {"class_ids": [class_id]}, "to": "guardians",
           "category": "safety_education", "title": title,
           "body": "Please talk about it at home.", "requires_ack": false})
}

#[track_caller]
fn unavailable(r: &Resp) {
    r.expect_problem(503, "database_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
}

/// Every documented route, with a signed-in teacher and an empty JSON
/// body, while the database is away: nothing answers 500, and a 503 is the
/// database's. On PostgreSQL no route pretends the caller is unknown.
async fn every_route_answers_without_a_500(app: &TestApp, which: Which, token: &str) {
    let doc = serde_json::to_value(library::openapi_document()).unwrap();
    let mut calls = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.ends_with("/stream") {
            continue; // a stream that stays open; it tolerates failures itself
        }
        let path: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "01a20000-0000-7000-8000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let path = path.clone();
            calls.push(async move {
                let r = app
                    .send(&method, &path, Some(token), body.as_ref(), &[])
                    .await;
                (method, path, r)
            });
        }
    }
    let answers = futures_util::future::join_all(calls).await;
    let mut by_status: std::collections::BTreeMap<u16, usize> = Default::default();
    for (_, _, r) in &answers {
        *by_status.entry(r.status).or_default() += 1;
    }
    eprintln!(
        "{which:?}, database away: {} calls, by status {by_status:?}",
        answers.len()
    );
    for (method, path, r) in answers {
        assert_ne!(r.status, 500, "{method} {path}: {}", r.text);
        if r.status == 503 {
            assert_eq!(r.code(), "database_unavailable", "{method} {path}");
        }
        let public = path.starts_with("/api/v1/auth/")
            || path.starts_with("/api/v1/mailboxes/")
            || path.starts_with("/api/v1/reports/challenge")
            || path == "/api/v1/reports"
            || path.starts_with("/api/v1/reports/followup")
            || path == "/healthz";
        // Never a 401, 403 or 404 that hides the outage: input refused
        // before the database is asked, or 503.
        if which == Which::Postgres && !public && path != "/api/v1/openapi.json" {
            assert!(
                [503, 400, 422].contains(&r.status),
                "{method} {path}: {}",
                r.text
            );
        }
    }
}

async fn database_away_is_503_and_not_ready_and_the_service_recovers_by_itself(which: Which) {
    let (app, mut outage) = Outage::prepare(which, &[("SAFECAMPUS_DB_TIMEOUT_MS", "300")]).await;
    let w = app.world().await;
    let x = &w.x;
    app.send("GET", "/readyz", None, None, &[])
        .await
        .expect(200);

    outage.begin();
    unavailable(&app.send("GET", "/readyz", None, None, &[]).await);
    app.send("GET", "/healthz", None, None, &[])
        .await
        .expect(200);
    let key = [("Idempotency-Key", "lesson-during-outage")];
    let notice = lesson(&x.class_id, "During the outage");
    unavailable(
        &app.send(
            "POST",
            "/api/v1/notices",
            Some(&x.teacher.token),
            Some(&notice),
            &key,
        )
        .await,
    );
    let handover = json!({"student_id": x.student_id, "guardian_user_id": x.parent.user_id});
    unavailable(
        &app.post("/api/v1/handovers", &x.guard.token, handover.clone())
            .await,
    );
    unavailable(
        &app.post_anon(
            "/api/v1/auth/login",
            json!({"username": x.parent.username, "password": PASSWORD}),
        )
        .await,
    );
    // Reads: PostgreSQL is gone for them too; SQLite's readers go on
    // beside the other writer (WAL).
    for path in ["/api/v1/me/notifications", "/api/v1/me", "/api/v1/notices"] {
        let r = app.get(path, &x.teacher.token).await;
        match which {
            Which::Postgres => unavailable(&r),
            Which::Sqlite => assert!(r.status == 200 || r.status == 503, "{path}: {}", r.text),
        }
    }

    every_route_answers_without_a_500(&app, which, &x.teacher.token).await;

    outage.end();
    // Back by itself: no restart, the pool makes new connections.
    wait_until_ready(&app).await;
    app.send(
        "POST",
        "/api/v1/notices",
        Some(&x.teacher.token),
        Some(&notice),
        &key,
    )
    .await
    .expect(201);
    app.post("/api/v1/handovers", &x.guard.token, handover)
        .await
        .expect(201);
    app.get("/api/v1/me/notifications", &x.parent.token)
        .await
        .expect(200);
    assert_eq!(app.count("notices").await, 1, "nothing was half-saved");
    assert_eq!(app.count("handovers").await, 1);
    let v = app
        .get("/api/v1/audit/verify", &w.district_admin.token)
        .await
        .expect(200);
    assert_eq!(v["ok"], true, "{v}");
}

async fn wait_until_ready(app: &TestApp) {
    for _ in 0..200 {
        if app.send("GET", "/readyz", None, None, &[]).await.status == 200 {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not ready again after the database came back");
}

/// A database that takes requests and never answers (a partition, a frozen
/// host; on SQLite a lock held longer than the configured wait): each
/// request is answered 503 at its deadline, not left hanging, and a retry
/// with the same Idempotency-Key after recovery makes one notice, whether
/// or not the abandoned attempt went through in the end.
async fn a_database_that_stops_answering_is_503_at_the_deadline_not_a_hang(which: Which) {
    let (app, mut outage) = Outage::prepare(
        which,
        &[
            ("SAFECAMPUS_DB_TIMEOUT_MS", "60000"),
            ("SAFECAMPUS_DB_REQUEST_TIMEOUT_MS", "1000"),
        ],
    )
    .await;
    let w = app.world().await;
    let x = &w.x;
    outage.stall();
    unavailable(&app.send("GET", "/readyz", None, None, &[]).await);
    let key = [("Idempotency-Key", "lesson-while-stalled")];
    let notice = lesson(&x.class_id, "While the database hangs");
    unavailable(
        &app.send(
            "POST",
            "/api/v1/notices",
            Some(&x.teacher.token),
            Some(&notice),
            &key,
        )
        .await,
    );
    if which == Which::Postgres {
        unavailable(&app.get("/api/v1/me/notifications", &x.parent.token).await);
    }
    outage.end();
    wait_until_ready(&app).await;
    app.send(
        "POST",
        "/api/v1/notices",
        Some(&x.teacher.token),
        Some(&notice),
        &key,
    )
    .await
    .expect(201);
    assert_eq!(app.count("notices").await, 1);
}

// --- SMTP and the webhook away ----------------------------------------------------------

async fn smtp_and_webhook_down_for_a_while_deliver_every_message_exactly_once(app: TestApp) {
    let w = app.world().await;
    let x = &w.x;
    // Twelve families with email in school X's class.
    for i in 0..12 {
        let parent = app
            .post(
                "/api/v1/users",
                &x.admin.token,
                json!({"role": "parent", "username": format!("family-{i}"),
                       "display_name": format!("Family {i}"), "password": PASSWORD,
                       "email": format!("family-{i}@example.test"), "language": "en"}),
            )
            .await
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_string();
        let pupil = app
            .create_student(&x.admin, &x.id, &x.class_id, &format!("pupil-{i}"), 1)
            .await;
        app.add_guardian(&x.admin, &pupil, &parent, "father").await;
    }
    let smtp_port = SmtpSink::free_port();
    let hook = WebhookReceiver::start();
    hook.respond_with(503);
    let with_webhook = |url: String| {
        let secret = hook.secret.clone();
        app.state_with(move |s| {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{smtp_port}"));
            s.push_webhook_url = Some(url);
            s.push_webhook_secret = secret.into_bytes();
        })
    };
    // First the gateway refuses connections, then it answers 503.
    let refusing = with_webhook(format!("http://127.0.0.1:{}/hook", SmtpSink::free_port()));
    let state = with_webhook(hook.url.clone());
    // While both are down: two notices, each to every family.
    for title in ["Body safety lesson", "Trusted adults at home"] {
        app.post(
            "/api/v1/notices",
            &x.teacher.token,
            lesson(&x.class_id, title),
        )
        .await
        .expect(201);
    }
    // Three rounds of failures, a day apart (same hour: no quiet hours).
    for round in 0..3 {
        run_outbox(if round == 0 { &refusing } else { &state }).await;
        app.clock.advance(Duration::days(1));
    }
    let failed_hooks = hook.hooks().len();
    assert!(failed_hooks > 0, "the webhook was tried while it failed");
    let email = app
        .strings("SELECT id AS s FROM outbox WHERE channel = 'email' ORDER BY id".into())
        .await;
    let push = app
        .strings("SELECT id AS s FROM outbox WHERE channel = 'push' ORDER BY id".into())
        .await;
    assert!(email.len() >= 24 && push.len() >= 24, "{email:?} {push:?}");
    assert_eq!(
        app.strings("SELECT id AS s FROM outbox WHERE state <> 'pending' OR attempts < 3".into())
            .await,
        Vec::<String>::new(),
        "nothing went out, nothing is dead yet"
    );

    // Both come back; the next rounds deliver, and later rounds add nothing.
    let sink = SmtpSink::start_on(smtp_port);
    hook.respond_with(200);
    for _ in 0..3 {
        run_outbox(&state).await;
        app.clock.advance(Duration::days(1));
    }
    let mut mails: HashMap<String, usize> = HashMap::new();
    for m in sink.mails() {
        *mails.entry(m.header("Message-ID").unwrap()).or_default() += 1;
    }
    assert_eq!(mails.len(), email.len(), "one mail per queued email");
    assert!(mails.values().all(|n| *n == 1), "no mail twice: {mails:?}");
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for h in hook.hooks().split_off(failed_hooks) {
        assert!(h.signature_ok);
        *delivered.entry(h.idempotency_key).or_default() += 1;
    }
    let mut keys: Vec<_> = delivered.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, push, "every push delivered");
    assert!(
        delivered.values().all(|n| *n == 1),
        "none twice: {delivered:?}"
    );
    assert_eq!(
        app.strings("SELECT id AS s FROM outbox WHERE state <> 'sent'".into())
            .await,
        Vec::<String>::new()
    );
}

on_both!(
    database_away_is_503_and_not_ready_and_the_service_recovers_by_itself,
    a_database_that_stops_answering_is_503_at_the_deadline_not_a_hang,
);
on_both_databases!(smtp_and_webhook_down_for_a_while_deliver_every_message_exactly_once);

#[test]
fn a_postgres_url_is_rewritten_to_go_through_the_proxy() {
    let proxy: SocketAddr = "127.0.0.1:7000".parse().unwrap();
    assert_eq!(
        through(
            "postgres://postgres@127.0.0.1:5432/db?options=-csearch_path%3Dt_1",
            proxy
        ),
        "postgres://postgres@127.0.0.1:7000/db?options=-csearch_path%3Dt_1"
    );
    assert_eq!(
        target_of("postgres://u:p@127.0.0.1:5433/db"),
        "127.0.0.1:5433".parse().unwrap()
    );
}
