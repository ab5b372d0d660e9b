//! The tip line under an anonymous flood, beside a dismissal (issue 13, §6):
//!
//!     cargo bench --bench flood -- --secs 60
//!     cargo bench --bench flood -- --db postgres --database-url postgres://postgres@127.0.0.1:5432/safecampus_flood
//!
//! It builds a fresh database through the app's migrations with a small
//! district (2 schools, 2,000 pupils with a guardian each), starts the release
//! server on it, makes a few real v1 reports to attach to, and then runs
//! handovers at a steady rate (open loop, as guards hand pupils over at the
//! gate): `--quiet-secs` alone, then `--secs` beside `--clients` anonymous
//! clients (closed loop, as fast as the server answers) that flood
//! `POST /reports/challenge`, follow-up with wrong receipts and maximal
//! attachments (10 MiB of ciphertext, ~14 MiB of JSON): half with a wrong
//! receipt header, half with a real one. It prints the handovers' errors and
//! p50/p99 in the quiet and in the flood, and what the flood got.
//! Target: 0 handover errors and a flood p99 within 2× the quiet p99.
//!
//! The seed and the load loop follow `benches/loadtest.rs` in a smaller form.
//! The PostgreSQL database named in the URL is dropped and created again.

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use safecampus::db::schema::{
    classes, districts, guardianships, personnel, schools, students, users,
};
use safecampus::db::{AnyConnection, DatabaseUrl, Db};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/api/support/tipline_client.rs"]
mod tipline_client;

const SCHOOLS: usize = 2;
const PUPILS: usize = 2000;
const DISTRICT: &str = "00000000-0000-7000-8000-000000000001";
const PASSWORD: &str = "flood-test-password-1";
const AUDIT_KEY: &str = "flood-audit-key-flood-audit-key-flood-1";
const REPORTS: usize = 40;
const CLIENT_THREADS: usize = 2;

struct Args {
    postgres: Option<String>,
    secs: u64,
    quiet_secs: u64,
    clients: usize,
    rate: u64,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        postgres: None,
        secs: 60,
        quiet_secs: 10,
        clients: 200,
        rate: 10,
    };
    let mut db = "sqlite".to_string();
    let mut url = None;
    let num = |v: Option<String>, flag: &str| -> u64 {
        v.and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{flag} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--db" => db = it.next().expect("--db sqlite|postgres"),
            "--database-url" => url = it.next(),
            "--secs" => a.secs = num(it.next(), "--secs"),
            "--quiet-secs" => a.quiet_secs = num(it.next(), "--quiet-secs"),
            "--clients" => a.clients = num(it.next(), "--clients") as usize,
            "--handovers-per-sec" => a.rate = num(it.next(), "--handovers-per-sec").max(1),
            "--bench" => {}
            other => panic!("unknown argument {other:?}; see benches/flood.rs"),
        }
    }
    a.postgres =
        match db.as_str() {
            "sqlite" => None,
            "postgres" => Some(url.unwrap_or_else(|| {
                "postgres://postgres@127.0.0.1:5432/safecampus_flood".to_string()
            })),
            other => panic!("--db must be sqlite or postgres, not {other}"),
        };
    assert!(
        (a.rate * (a.secs + a.quiet_secs)) as usize <= PUPILS,
        "more handovers than pupils: lower --handovers-per-sec or --secs"
    );
    a
}

// --- measurements ------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    micros: Vec<u32>,
    /// Answers by status (0: no answer).
    statuses: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        let mut v = self.micros.clone();
        v.sort_unstable();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] as f64 / 1000.0
    }

    fn merge(&mut self, other: Stats) {
        self.micros.extend(other.micros);
        for (k, n) in other.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

type Recorded = Rc<std::cell::RefCell<BTreeMap<&'static str, Stats>>>;

/// Sends one request and records its status and, when it is `want`, its latency.
async fn timed(
    rec: &Recorded,
    label: &'static str,
    want: u16,
    req: awc::ClientRequest,
    body: Option<actix_web::web::Bytes>,
) -> Option<actix_web::web::Bytes> {
    let t = Instant::now();
    let res = match body {
        Some(b) => {
            req.insert_header(("Content-Type", "application/json"))
                .send_body(b)
                .await
        }
        None => req.send().await,
    };
    let (status, body) = match res {
        Ok(mut r) => {
            let body = r.body().limit(1 << 20).await.unwrap_or_default();
            (r.status().as_u16(), body)
        }
        Err(e) => {
            let mut m = rec.borrow_mut();
            let s = m.entry(label).or_default();
            *s.statuses.entry(0).or_default() += 1;
            s.first_error.get_or_insert(e.to_string());
            return None;
        }
    };
    let mut m = rec.borrow_mut();
    let s = m.entry(label).or_default();
    *s.statuses.entry(status).or_default() += 1;
    if status == want {
        s.micros
            .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        Some(body)
    } else {
        s.first_error.get_or_insert(format!(
            "{status} {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
        None
    }
}

// --- the server ----------------------------------------------------------------------

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str, dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_safecampus"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("SAFECAMPUS_BLOB_DIR", dir.join("blobs"))
        .env("SAFECAMPUS_BIND", format!("127.0.0.1:{port}"))
        .env(
            "SAFECAMPUS_JWT_SECRET",
            "flood-secret-flood-secret-flood-secret-1",
        )
        .env(
            "SAFECAMPUS_RECEIPT_PEPPER",
            "flood-pepper-flood-pepper-flood-pepper-1",
        )
        .env("SAFECAMPUS_AUDIT_KEY", AUDIT_KEY)
        // The setup's reports solve no search; the flood's challenges cost
        // the server the same whatever their difficulty.
        .env("SAFECAMPUS_POW_DIFFICULTY", "0")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start target/release/safecampus");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the server did not start; see {}",
        dir.join("server.log").display()
    );
}

// --- data ------------------------------------------------------------------------------

fn id(kind: u8, n: usize) -> String {
    format!("00000000-0000-7000-800{kind}-{n:012x}")
}

/// The district: schools, a guard each, a bureau officer, pupils (each with
/// a guardian) who must be handed over. (student id, school, guardian id).
fn seed(db: &Db) -> Vec<(String, usize, String)> {
    let now = Utc::now().naive_utc();
    let hash = safecampus::crypto::password::hash_now(PASSWORD).unwrap();
    let mut conn = db.conn().unwrap();
    let conn: &mut AnyConnection = &mut conn;
    conn.batch_execute("BEGIN").unwrap();
    diesel::insert_into(districts::table)
        .values((
            districts::id.eq(DISTRICT),
            districts::name.eq("Flood District"),
            districts::created_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    let user =
        |conn: &mut AnyConnection, uid: String, school: Option<String>, role, name: String| {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(uid),
                    users::district_id.eq(DISTRICT),
                    users::school_id.eq(school),
                    users::role.eq(role),
                    users::username.eq(&name),
                    users::display_name.eq(&name),
                    users::language.eq("en"),
                    users::password_hash.eq(&hash),
                    users::tokens_valid_after.eq(now - chrono::Duration::hours(1)),
                    users::created_at.eq(now),
                ))
                .execute(conn)
                .unwrap();
        };
    user(conn, id(7, 0), None, "bureau_officer", "bureau".into());
    for s in 0..SCHOOLS {
        diesel::insert_into(schools::table)
            .values((
                schools::id.eq(id(1, s)),
                schools::district_id.eq(DISTRICT),
                schools::name.eq(format!("School {s}")),
                schools::code.eq(format!("FLOOD-{s}")),
                schools::kind.eq("primary"),
                schools::timezone.eq("Asia/Shanghai"),
                schools::dismissal_time.eq("16:30"),
                schools::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(classes::table)
            .values((
                classes::id.eq(id(2, s)),
                classes::school_id.eq(id(1, s)),
                classes::grade.eq(1),
                classes::name.eq("Class 1"),
                classes::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        user(
            conn,
            id(8, s),
            Some(id(1, s)),
            "guard",
            format!("guard-{s}"),
        );
        // Vetted: a guard reaches pupils only with a standing clearance.
        diesel::insert_into(personnel::table)
            .values((
                personnel::id.eq(id(9, s)),
                personnel::district_id.eq(DISTRICT),
                personnel::school_id.eq(id(1, s)),
                personnel::user_id.eq(id(8, s)),
                personnel::name.eq(format!("guard-{s}")),
                personnel::kind.eq("guard"),
                personnel::starts_on.eq("2026-01-01"),
                personnel::grace_pending.eq(false),
                personnel::access_until.eq(now + chrono::Duration::days(30)),
                personnel::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    }
    let mut pupils = Vec::with_capacity(PUPILS);
    for n in 0..PUPILS {
        let s = n % SCHOOLS;
        user(conn, id(4, n), None, "parent", format!("parent-{n}"));
        diesel::insert_into(students::table)
            .values((
                students::id.eq(id(3, n)),
                students::school_id.eq(id(1, s)),
                students::class_id.eq(id(2, s)),
                students::name.eq(format!("Pupil {n}")),
                students::student_no.eq(format!("NO-{n}")),
                students::grade.eq(1),
                students::handover_required.eq(true),
                students::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        diesel::insert_into(guardianships::table)
            .values((
                guardianships::id.eq(id(5, n)),
                guardianships::student_id.eq(id(3, n)),
                guardianships::user_id.eq(id(4, n)),
                guardianships::relation.eq("mother"),
                guardianships::is_primary.eq(true),
                guardianships::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        pupils.push((id(3, n), s, id(4, n)));
    }
    conn.batch_execute("COMMIT").unwrap();
    pupils
}

/// One request during setup; its JSON answer.
fn setup_call(base: &str, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let (url, method, token) = (
        format!("{base}{path}"),
        method.to_string(),
        token.map(str::to_string),
    );
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let mut req = client.request(
            awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
            &url,
        );
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let mut res = if body.is_null() {
            req.send().await
        } else {
            req.send_json(&body).await
        }
        .expect("request");
        let bytes = res.body().limit(1 << 20).await.unwrap();
        assert!(
            res.status().as_u16() < 300,
            "{path}: {} {}",
            res.status(),
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    })
}

// --- the run -----------------------------------------------------------------------------

/// Handovers at `rate` a second from `start` (pupil index) for `dur`, open loop.
fn dismissal(
    base: &str,
    guards: Arc<Vec<String>>,
    pupils: Arc<Vec<(String, usize, String)>>,
    start: usize,
    rate: u64,
    dur: Duration,
) -> Stats {
    let url = Rc::new(format!("{base}/api/v1/handovers"));
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        let rec: Recorded = Default::default();
        let mut tick = actix_web::rt::time::interval(Duration::from_micros(1_000_000 / rate));
        let started = Instant::now();
        let mut tasks = Vec::new();
        let mut i = start;
        while started.elapsed() < dur {
            tick.tick().await;
            let (student, school, guardian) = pupils[i].clone();
            let req = client
                .post(url.as_str())
                .insert_header(("Authorization", format!("Bearer {}", guards[school])))
                .insert_header(("Idempotency-Key", format!("flood-handover-{i}")));
            let body = json!({"student_id": student, "guardian_user_id": guardian}).to_string();
            let rec = rec.clone();
            tasks.push(actix_web::rt::spawn(async move {
                timed(&rec, "handover", 201, req, Some(body.into())).await;
            }));
            i += 1;
        }
        for t in tasks {
            let _ = t.await;
        }
        Rc::try_unwrap(rec)
            .ok()
            .unwrap()
            .into_inner()
            .remove("handover")
            .unwrap_or_default()
    })
}

/// The flood's clients, closed loop until `stop`: challenges, wrong
/// follow-up receipts, and maximal attachments (wrong and real headers).
fn flood(
    base: &str,
    clients: usize,
    receipts: Arc<Vec<String>>,
    attachment: actix_web::web::Bytes,
    stop: Arc<AtomicBool>,
) -> BTreeMap<&'static str, Stats> {
    let merged = Mutex::new(BTreeMap::<&'static str, Stats>::new());
    let n = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..CLIENT_THREADS {
            let (base, receipts, attachment, stop, merged, n) = (
                base.to_string(),
                receipts.clone(),
                attachment.clone(),
                stop.clone(),
                &merged,
                n.clone(),
            );
            let mine: Vec<usize> = (t..clients).step_by(CLIENT_THREADS).collect();
            s.spawn(move || {
                let stats = actix_web::rt::System::new().block_on(async move {
                    let client = awc::Client::builder()
                        .connector(awc::Connector::new().limit(mine.len()))
                        .timeout(Duration::from_secs(60))
                        .finish();
                    let rec: Recorded = Default::default();
                    let tasks: Vec<_> = mine.into_iter().map(|c| {
                        let (client, rec, base, receipts, attachment, stop, n) = (client.clone(), rec.clone(), base.clone(), receipts.clone(), attachment.clone(), stop.clone(), n.clone());
                        actix_web::rt::spawn(async move {
                            while !stop.load(Ordering::Relaxed) {
                                let i = n.fetch_add(1, Ordering::Relaxed);
                                // 2 in 5 challenges, 2 in 5 wrong receipts, 1 in 5 attachments.
                                match c % 5 {
                                    0 | 1 => {
                                        let req = client.post(format!("{base}/api/v1/reports/challenge?school_code=FLOOD-{}", i % SCHOOLS));
                                        timed(&rec, "challenge", 201, req, None).await;
                                    }
                                    2 | 3 => {
                                        let req = client.post(format!("{base}/api/v1/reports/followup"));
                                        let body = json!({"receipt": format!("{:05}-AAAAA-BBBBB-CCCCC", i % 100_000)}).to_string();
                                        timed(&rec, "wrong receipt", 404, req, Some(body.into())).await;
                                    }
                                    _ if i % 2 == 0 => {
                                        let req = client.post(format!("{base}/api/v1/reports/followup/attachments"))
                                            .insert_header(("X-Tipline-Receipt", format!("{:05}-AAAAA-BBBBB-CCCCC", i % 100_000)));
                                        timed(&rec, "attachment, wrong receipt", 404, req, Some(attachment.clone())).await;
                                    }
                                    _ => {
                                        let req = client.post(format!("{base}/api/v1/reports/followup/attachments"))
                                            .insert_header(("X-Tipline-Receipt", receipts[i % receipts.len()].clone()));
                                        timed(&rec, "attachment, real receipt", 201, req, Some(attachment.clone())).await;
                                    }
                                }
                            }
                        })
                    }).collect();
                    for t in tasks {
                        let _ = t.await;
                    }
                    Rc::try_unwrap(rec).ok().unwrap().into_inner()
                });
                let mut m = merged.lock().unwrap();
                for (k, v) in stats {
                    m.entry(k).or_default().merge(v);
                }
            });
        }
    });
    merged.into_inner().unwrap()
}

fn main() {
    let args = args();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (backend, database_url) = match &args.postgres {
        None => (
            "SQLite",
            format!("sqlite://{}", dir.join("app.db").display()),
        ),
        Some(url) => {
            let (server_url, name) = url.rsplit_once('/').expect("postgres://host/dbname");
            let name = name.split('?').next().unwrap().to_string();
            let mut admin = diesel::PgConnection::establish(&format!("{server_url}/postgres"))
                .expect("connect to postgres");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            ("PostgreSQL", url.clone())
        }
    };
    let db = Db::open(&DatabaseUrl::parse(&database_url).unwrap(), 2);
    db.migrate().expect("migrations");
    safecampus::audit::use_key(AUDIT_KEY.as_bytes());
    let pupils = Arc::new(seed(&db));
    drop(db);
    let server = start_server(&database_url, &dir);
    let base = server.base.clone();
    let login = |name: &str| {
        setup_call(
            &base,
            "POST",
            "/api/v1/auth/login",
            None,
            json!({"username": name, "password": PASSWORD}),
        )["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let bureau = login("bureau");
    let (_sk, public_key) = tipline_client::new_key();
    setup_call(
        &base,
        "PUT",
        "/api/v1/me/encryption-key",
        Some(&bureau),
        json!({"public_key": public_key, "password": PASSWORD}),
    );
    let guards: Arc<Vec<String>> =
        Arc::new((0..SCHOOLS).map(|s| login(&format!("guard-{s}"))).collect());
    // Real reports (their receipts are what a flooder who made reports holds).
    let receipts: Arc<Vec<String>> = Arc::new((0..REPORTS).map(|i| {
        let c = setup_call(&base, "POST", "/api/v1/reports/challenge", None, Value::Null);
        let r = setup_call(&base, "POST", "/api/v1/reports", None, json!({
            "school_code": format!("FLOOD-{}", i % SCHOOLS), "category": "other", "urgency": "normal",
            "plaintext": {"text": "flood"}, "pow": {"challenge": c["challenge"], "nonce": "0"}}));
        r["receipt"].as_str().unwrap().to_string()
    }).collect());
    // One maximal attachment (10 MiB of ciphertext), sealed to the bureau's key.
    let mailbox = setup_call(&base, "GET", "/api/v1/mailboxes/FLOOD-0", None, Value::Null);
    let big = safecampus::crypto::random_bytes(10 * 1024 * 1024);
    let env = safecampus::crypto::envelope::seal(
        &tipline_client::recipients(&mailbox["district_keys"]),
        &big,
    )
    .unwrap();
    let attachment = actix_web::web::Bytes::from(json!({ "envelope": env }).to_string());
    eprintln!(
        "flood: {backend}, data in {}, attachment body {} bytes",
        dir.display(),
        attachment.len()
    );

    let quiet_dur = Duration::from_secs(args.quiet_secs);
    let flood_dur = Duration::from_secs(args.secs);
    let quiet = dismissal(
        &base,
        guards.clone(),
        pupils.clone(),
        0,
        args.rate,
        quiet_dur,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let (base, receipts, attachment, stop) = (
            base.clone(),
            receipts.clone(),
            attachment.clone(),
            stop.clone(),
        );
        let clients = args.clients;
        std::thread::spawn(move || flood(&base, clients, receipts, attachment, stop))
    };
    // Let the flood reach its pace before the dismissal is measured beside it.
    std::thread::sleep(Duration::from_secs(2));
    let start = (args.rate * args.quiet_secs) as usize;
    let during = dismissal(
        &base,
        guards.clone(),
        pupils.clone(),
        start,
        args.rate,
        flood_dur,
    );
    stop.store(true, Ordering::Relaxed);
    let flooded = flooder.join().unwrap();
    drop(server);

    println!();
    println!(
        "**{backend}**, {} UTC, {cores} cores, load average at start {}; handovers at {}/s, \
         {} s quiet then {} s beside {} anonymous clients.",
        Utc::now().format("%Y-%m-%d %H:%M"),
        load_avg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        args.rate,
        args.quiet_secs,
        args.secs,
        args.clients,
    );
    println!();
    println!("| handovers | done | errors | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for (name, s) in [("quiet", &quiet), ("during the flood", &during)] {
        let errors: u64 = s
            .statuses
            .iter()
            .filter(|(k, _)| **k != 201)
            .map(|(_, n)| n)
            .sum();
        println!(
            "| {name} | {} | {errors} | {:.2} | {:.2} |",
            s.micros.len(),
            s.pct(0.5),
            s.pct(0.99)
        );
    }
    println!();
    println!(
        "flood p99 / quiet p99 = {:.2} (target ≤ 2); handover errors during the flood: {} (target 0)",
        during.pct(0.99) / quiet.pct(0.99),
        during.statuses.iter().filter(|(k, _)| **k != 201).map(|(_, n)| n).sum::<u64>(),
    );
    for (name, s) in [("quiet", &quiet), ("flood", &during)] {
        if let Some(e) = &s.first_error {
            println!("first handover error ({name}): {e}");
        }
    }
    println!();
    println!("| flood request | answers by status | p50 ms (expected status) |");
    println!("|---|---|---|");
    for (label, s) in &flooded {
        let by: Vec<String> = s
            .statuses
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        println!("| {label} | {} | {:.2} |", by.join(", "), s.pct(0.5));
    }
}
