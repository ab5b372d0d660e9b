//! The load harness (see README, "Performance"):
//!
//!     cargo bench --bench loadtest -- --db sqlite
//!     cargo bench --bench loadtest -- --db postgres --database-url postgres://postgres@127.0.0.1:5432/safecampus_load
//!
//! It builds a fresh database through the app's own migrations, bulk-loads a
//! district (20 schools, 20,000 students, 40,000 guardians, all sharing one
//! precomputed argon2 hash), starts the release server binary on it, and
//! measures in one run: a bare actix-web JSON handler (the machine's
//! ceiling for HTTP), the authenticated notification feed, anonymous
//! client-sealed report submission, pickup handovers, a login storm beside
//! the feed, and the disk's durable-write ceiling (one-row commits in a loop).
//! It prints a Markdown table. Only ratios within one run mean anything.
//!
//! The PostgreSQL database named in the URL is dropped and created again.

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use futures_util::future::LocalBoxFuture;
use safecampus::db::schema::{
    classes, districts, guardianships, notifications, personnel, pickup_late_alerts, schools,
    students, users,
};
use safecampus::db::{AnyConnection, DatabaseUrl, Db};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The audit key the server under test links its chain with.
const AUDIT_KEY: &str = "loadtest-audit-key-loadtest-audit-key-1";

#[path = "support/percentile.rs"]
mod percentile;
#[path = "../tests/api/support/tipline_client.rs"]
mod tipline_client;

const SCHOOLS: usize = 20;
const CLASSES_PER_SCHOOL: usize = 20;
const STUDENTS_PER_CLASS: usize = 50;
const STUDENTS: usize = SCHOOLS * CLASSES_PER_SCHOOL * STUDENTS_PER_CLASS;
const GUARDIANS: usize = STUDENTS * 2;
const NOTIFICATIONS_PER_GUARDIAN: usize = 2;
const DISTRICT: &str = "00000000-0000-7000-8000-000000000001";
const PASSWORD: &str = "load-test-password-1";
const READ_CONNS: usize = 64;
const WRITE_CONNS: usize = 64;
const RSS_CONNS: usize = 256;
const LOGINS_PER_SEC: u64 = 20;
const CLIENT_THREADS: usize = 2;

struct Args {
    postgres: Option<String>,
    secs: u64,
    /// Where `perf record` writes a profile of the server per measured phase.
    profile: Option<PathBuf>,
    /// Extra environment for the server (`--server-env K=V`), e.g. to
    /// measure with `SAFECAMPUS_SESSION_CACHE=off`.
    server_env: Vec<(String, String)>,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut db = "sqlite".to_string();
    let mut url = None;
    let mut secs = 10;
    let mut profile = None;
    let mut server_env = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--db" => db = it.next().expect("--db sqlite|postgres"),
            "--database-url" => url = it.next(),
            "--secs" => secs = it.next().and_then(|s| s.parse().ok()).expect("--secs N"),
            "--profile" => profile = Some(PathBuf::from(it.next().expect("--profile DIR"))),
            "--server-env" => {
                let kv = it.next().expect("--server-env K=V");
                let (k, v) = kv.split_once('=').expect("--server-env K=V");
                server_env.push((k.to_string(), v.to_string()));
            }
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other:?}; see benches/loadtest.rs"),
        }
    }
    let postgres =
        match db.as_str() {
            "sqlite" => None,
            "postgres" => Some(url.unwrap_or_else(|| {
                "postgres://postgres@127.0.0.1:5432/safecampus_load".to_string()
            })),
            other => panic!("--db must be sqlite or postgres, not {other}"),
        };
    Args {
        postgres,
        secs,
        profile,
        server_env,
    }
}

// --- measurements ------------------------------------------------------------------

#[derive(Default, Clone)]
struct Stats {
    micros: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn pct(&self, p: f64) -> f64 {
        percentile::percentile_ms(&self.micros, p)
    }
}

/// What one connection's loop records: latencies by label.
#[derive(Default)]
struct Recorder(RefCell<HashMap<&'static str, Stats>>);

impl Recorder {
    fn ok(&self, label: &'static str, started: Instant) {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.0
            .borrow_mut()
            .entry(label)
            .or_default()
            .micros
            .push(us);
    }

    fn err(&self, label: &'static str, why: String) {
        let mut m = self.0.borrow_mut();
        let s = m.entry(label).or_default();
        s.errors += 1;
        if s.first_error.is_none() {
            s.first_error = Some(why);
        }
    }
}

/// One request of a workload; `Err(())` ends this connection's loop (the
/// workload ran out of work).
type Op = Arc<
    dyn Fn(awc::Client, Rc<Recorder>, usize) -> LocalBoxFuture<'static, Result<(), ()>>
        + Send
        + Sync,
>;

struct Run {
    stats: HashMap<&'static str, Stats>,
    elapsed: Duration,
    /// The server's CPU seconds during the run (set by `phase`).
    server_cpu: f64,
}

impl Run {
    /// Server CPU seconds per 1,000 answered requests of every label.
    fn cpu_per_thousand(&self) -> Option<f64> {
        let n: usize = self
            .stats
            .values()
            .map(|s| s.micros.len() + s.errors as usize)
            .sum();
        (self.server_cpu > 0.0 && n > 0).then(|| self.server_cpu * 1000.0 / n as f64)
    }
}

/// Runs `op` on `conns` connections for `secs`, spread over client threads.
fn load(conns: usize, dur: Duration, op: Op) -> Run {
    let started = Instant::now();
    let deadline = started + dur;
    let threads = CLIENT_THREADS.min(conns);
    let merged = Mutex::new(HashMap::<&'static str, Stats>::new());
    std::thread::scope(|s| {
        for t in 0..threads {
            let op = op.clone();
            let merged = &merged;
            let mine = (t..conns).step_by(threads).collect::<Vec<_>>();
            s.spawn(move || {
                let stats = actix_web::rt::System::new().block_on(async move {
                    let client = awc::Client::builder()
                        .connector(awc::Connector::new().limit(mine.len()))
                        .timeout(Duration::from_secs(30))
                        .finish();
                    let rec = Rc::new(Recorder::default());
                    let tasks: Vec<_> = mine
                        .into_iter()
                        .map(|c| {
                            let (op, client, rec) = (op.clone(), client.clone(), rec.clone());
                            actix_web::rt::spawn(async move {
                                while Instant::now() < deadline {
                                    if op(client.clone(), rec.clone(), c).await.is_err() {
                                        break;
                                    }
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        let _ = t.await;
                    }
                    Rc::try_unwrap(rec).ok().expect("tasks done").0.into_inner()
                });
                let mut m = merged.lock().unwrap();
                for (k, v) in stats {
                    m.entry(k).or_default().merge(v);
                }
            });
        }
    });
    Run {
        stats: merged.into_inner().unwrap(),
        elapsed: started.elapsed(),
        server_cpu: 0.0,
    }
}

async fn call(
    client: &awc::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
    headers: &[(&str, String)],
) -> Result<(u16, actix_web::web::Bytes), String> {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    for (k, v) in headers {
        req = req.insert_header((*k, v.as_str()));
    }
    let res = match body {
        Some(b) => {
            req.insert_header(("Content-Type", "application/json"))
                .send_body(b.to_string())
                .await
        }
        None => req.send().await,
    };
    let mut res = res.map_err(|e| e.to_string())?;
    let body = res.body().limit(4 << 20).await.map_err(|e| e.to_string())?;
    Ok((res.status().as_u16(), body))
}

/// Records one request: success when the status is `want`.
async fn timed(
    rec: &Recorder,
    label: &'static str,
    want: u16,
    fut: impl std::future::Future<Output = Result<(u16, actix_web::web::Bytes), String>>,
) -> Option<actix_web::web::Bytes> {
    let t = Instant::now();
    match fut.await {
        Ok((s, body)) if s == want => {
            rec.ok(label, t);
            Some(body)
        }
        Ok((s, body)) => {
            rec.err(
                label,
                format!(
                    "{s} {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ),
            );
            None
        }
        Err(e) => {
            rec.err(label, e);
            None
        }
    }
}

// --- processes ----------------------------------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The server's CPU time so far (user + system), in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

/// Runs one measured phase: the server's CPU seconds it took, and, with
/// `--profile`, a `perf record` of the server for the phase whose top ten
/// functions (self time) are printed at the end.
fn phase(pid: u32, profile: Option<&PathBuf>, name: &str, run: impl FnOnce() -> Run) -> Run {
    let recorder = profile.map(|dir| {
        std::fs::create_dir_all(dir).unwrap();
        let out = dir.join(format!("{name}.data"));
        let child = Command::new("perf")
            .args(["record", "-F", "499", "-g", "-o"])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf record (is perf installed?)");
        std::thread::sleep(Duration::from_millis(300));
        child
    });
    let before = cpu_secs(pid);
    let mut r = run();
    r.server_cpu = cpu_secs(pid) - before;
    if let Some(child) = recorder {
        // SAFETY: signalling our own child; perf writes its file on SIGINT.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let _ = child.wait_with_output();
    }
    r
}

/// The top ten functions of a profile by self time.
fn top_ten(data: &std::path::Path) -> String {
    let out = Command::new("perf")
        .args([
            "report",
            "--no-children",
            "--sort",
            "symbol",
            "--stdio",
            "-q",
            "-g",
            "none",
            "-i",
        ])
        .arg(data)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // "  11.95%  [k] finish_task_switch  -  -": the share, the space and the symbol.
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .map(|l| {
            let l = l
                .trim()
                .trim_end_matches(|c: char| c == '-' || c.is_whitespace());
            format!(
                "    {}\n",
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect()
}

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

fn start_server(database_url: &str, dir: &std::path::Path, env: &[(String, String)]) -> Server {
    let port = free_port();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_safecampus"))
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("SAFECAMPUS_BIND", format!("127.0.0.1:{port}"))
        .env(
            "SAFECAMPUS_JWT_SECRET",
            "loadtest-secret-loadtest-secret-loadtest",
        )
        .env(
            "SAFECAMPUS_RECEIPT_PEPPER",
            "loadtest-pepper-loadtest-pepper-loadtest",
        )
        .env("SAFECAMPUS_AUDIT_KEY", AUDIT_KEY)
        // Difficulty 0 and no surge: the client does no proof-of-work search.
        .env("SAFECAMPUS_POW_DIFFICULTY", "0")
        .env("SAFECAMPUS_POW_SURGE_REPORTS", "1000000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start target/release/safecampus");
    let base = format!("http://127.0.0.1:{port}");
    let probe = format!("127.0.0.1:{port}");
    let server = Server { child, base };
    for _ in 0..300 {
        if std::net::TcpStream::connect(&probe).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    panic!(
        "the server did not start; see {}",
        dir.join("server.log").display()
    );
}

/// The bare actix-web handler every other figure is compared to.
fn start_baseline(workers: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new().route(
                    "/json",
                    web::get().to(|| async {
                        HttpResponse::Ok().json(json!({"message": "Hello, World!"}))
                    }),
                )
            })
            .workers(workers)
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    format!("http://127.0.0.1:{port}/json")
}

// --- data -------------------------------------------------------------------------

struct World {
    school_codes: Vec<String>,
    /// (student id, school index, a guardian's user id)
    students: Vec<(String, usize, String)>,
}

/// A fixed UUID per (kind, number), so the data needs no lookup tables.
fn id(prefix: &str, n: usize) -> String {
    let kind = match prefix {
        "school" => 1,
        "class" => 2,
        "student" => 3,
        "parent" => 4,
        "guardianship" => 5,
        _ => 9,
    };
    format!("00000000-0000-7000-800{kind}-{n:012x}")
}

fn insert_chunked<T, F>(conn: &mut AnyConnection, rows: &[T], chunk: usize, mut f: F)
where
    F: FnMut(&mut AnyConnection, &[T]),
{
    for c in rows.chunks(chunk) {
        f(conn, c);
    }
}

fn seed(db: &Db) -> World {
    let now = Utc::now().naive_utc();
    let hash = safecampus::crypto::password::hash_now(PASSWORD).unwrap();
    let mut conn = db.conn().unwrap();
    let conn: &mut AnyConnection = &mut conn;
    conn.batch_execute("BEGIN").unwrap();
    diesel::insert_into(districts::table)
        .values((
            districts::id.eq(DISTRICT),
            districts::name.eq("Load District"),
            districts::created_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    let school_codes: Vec<String> = (0..SCHOOLS).map(|s| format!("LOAD-{s:02}")).collect();
    for (s, code) in school_codes.iter().enumerate() {
        diesel::insert_into(schools::table)
            .values((
                schools::id.eq(id("school", s)),
                schools::district_id.eq(DISTRICT),
                schools::name.eq(format!("School {s}")),
                schools::code.eq(code),
                schools::kind.eq("primary"),
                schools::timezone.eq("Asia/Shanghai"),
                schools::dismissal_time.eq("16:30"),
                schools::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    }
    // Users: one bureau officer, a guard per school, the guardians.
    type UserRow = (String, Option<String>, &'static str, String, String, String);
    let mut people: Vec<UserRow> = vec![(
        "00000000-0000-7000-8007-000000000000".into(),
        None,
        "bureau_officer",
        "bureau".into(),
        "Bureau Officer".into(),
        "en".into(),
    )];
    for s in 0..SCHOOLS {
        people.push((
            format!("00000000-0000-7000-8008-{s:012x}"),
            Some(id("school", s)),
            "guard",
            format!("guard-{s}"),
            format!("Guard {s}"),
            "en".into(),
        ));
    }
    for g in 0..GUARDIANS {
        people.push((
            id("parent", g),
            None,
            "parent",
            format!("parent-{g}"),
            format!("Parent {g}"),
            "en".into(),
        ));
    }
    insert_chunked(conn, &people, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(uid, school, role, username, name, lang)| {
                (
                    users::id.eq(uid),
                    users::district_id.eq(DISTRICT),
                    users::school_id.eq(school),
                    users::role.eq(*role),
                    users::username.eq(username),
                    users::display_name.eq(name),
                    users::language.eq(lang),
                    users::password_hash.eq(&hash),
                    users::tokens_valid_after.eq(now - chrono::Duration::hours(1)),
                    users::created_at.eq(now),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(users::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    let mut class_rows = Vec::new();
    for s in 0..SCHOOLS {
        for c in 0..CLASSES_PER_SCHOOL {
            class_rows.push((
                id("class", s * CLASSES_PER_SCHOOL + c),
                id("school", s),
                (c / 4 + 1) as i32,
                format!("Class {c}"),
            ));
        }
    }
    insert_chunked(conn, &class_rows, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(cid, sid, grade, name)| {
                (
                    classes::id.eq(cid),
                    classes::school_id.eq(sid),
                    classes::grade.eq(grade),
                    classes::name.eq(name),
                    classes::created_at.eq(now),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(classes::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    let mut world = World {
        school_codes,
        students: Vec::with_capacity(STUDENTS),
    };
    let student_rows: Vec<(String, usize, usize, i32)> = (0..STUDENTS)
        .map(|n| {
            let class = n / STUDENTS_PER_CLASS;
            let school = class / CLASSES_PER_SCHOOL;
            (
                id("student", n),
                school,
                class,
                ((class % CLASSES_PER_SCHOOL) / 4 + 1) as i32,
            )
        })
        .collect();
    insert_chunked(conn, &student_rows, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(sid, school, class, grade)| {
                (
                    students::id.eq(sid),
                    students::school_id.eq(id("school", *school)),
                    students::class_id.eq(id("class", *class)),
                    students::name.eq(format!("Pupil {sid}")),
                    students::student_no.eq(sid),
                    students::grade.eq(grade),
                    students::handover_required.eq(true),
                    students::created_at.eq(now),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(students::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    let guardianship_rows: Vec<(usize, usize)> = (0..GUARDIANS).map(|g| (g / 2, g)).collect();
    insert_chunked(conn, &guardianship_rows, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(s, g)| {
                (
                    guardianships::id.eq(id("guardianship", *g)),
                    guardianships::student_id.eq(id("student", *s)),
                    guardianships::user_id.eq(id("parent", *g)),
                    guardianships::relation.eq(if g % 2 == 0 { "mother" } else { "father" }),
                    guardianships::is_primary.eq(g % 2 == 0),
                    guardianships::created_at.eq(now),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(guardianships::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    // A little history in every guardian's feed.
    let notes: Vec<(usize, usize)> = (0..GUARDIANS)
        .flat_map(|g| (0..NOTIFICATIONS_PER_GUARDIAN).map(move |k| (g, k)))
        .collect();
    let data = json!({"student": "Pupil", "student_id": "s", "adult": "Grandma",
                      "relation": "grandmother", "time": "16:35", "handover_id": "h"})
    .to_string();
    insert_chunked(conn, &notes, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(g, k)| {
                (
                    notifications::id.eq(format!("00000000-0000-7000-8006-{:012x}", g * 8 + k)),
                    notifications::user_id.eq(id("parent", *g)),
                    notifications::template.eq("pickup.released"),
                    notifications::data.eq(&data),
                    notifications::category.eq("pickup"),
                    notifications::created_at.eq(now - chrono::Duration::days(1)),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(notifications::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    // Every guard's vetting is complete (a clear check standing for a year).
    for s in 0..SCHOOLS {
        diesel::insert_into(personnel::table)
            .values((
                personnel::id.eq(format!("personnel-guard-{s}")),
                personnel::district_id.eq(DISTRICT),
                personnel::school_id.eq(id("school", s)),
                personnel::user_id.eq(format!("00000000-0000-7000-8008-{s:012x}")),
                personnel::name.eq(format!("Guard {s}")),
                personnel::kind.eq("guard"),
                personnel::starts_on.eq("2026-01-01"),
                personnel::grace_pending.eq(false),
                personnel::access_until.eq(now + chrono::Duration::days(365)),
                personnel::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    }
    // The late-pickup worker's round for today is taken as done (every
    // pupil's alerts recorded), so that, whatever the hour of the run, its
    // first round (20,000 pupils "still waiting" after 16:30) does not run
    // beside the phases. Its own cost is not what this harness measures.
    let today =
        safecampus::dates::LocalDate((Utc::now() + chrono::Duration::hours(8)).date_naive());
    let alerts: Vec<(usize, i32)> = (0..STUDENTS).flat_map(|n| [(n, 1), (n, 2)]).collect();
    insert_chunked(conn, &alerts, 500, |conn, chunk| {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(n, level)| {
                (
                    pickup_late_alerts::id.eq(format!("late-{n}-{level}")),
                    pickup_late_alerts::student_id.eq(id("student", *n)),
                    pickup_late_alerts::local_date.eq(today),
                    pickup_late_alerts::level.eq(level),
                    pickup_late_alerts::created_at.eq(now),
                )
            })
            .collect();
        safecampus::on_backend!(conn, |c| diesel::insert_into(pickup_late_alerts::table)
            .values(&rows)
            .execute(c))
        .unwrap();
    });
    conn.batch_execute("COMMIT").unwrap();
    for (n, (sid, school, _, _)) in student_rows.into_iter().enumerate() {
        // The even guardian of student n is parent 2n.
        world.students.push((sid, school, id("parent", 2 * n)));
    }
    world
}

// --- the durable-write ceiling ---------------------------------------------------

fn ceiling_sqlite(path: &std::path::Path, dur: Duration) -> Run {
    let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    c.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE ceiling (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
    )
    .unwrap();
    ceiling_loop(dur, |i| {
        diesel::sql_query(format!("INSERT INTO ceiling (v) VALUES ('row {i}')"))
            .execute(&mut c)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

fn ceiling_postgres(url: &str, dur: Duration) -> Run {
    let mut c = diesel::PgConnection::establish(url).unwrap();
    c.batch_execute(
        "SET synchronous_commit = on; \
         CREATE TABLE ceiling (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL);",
    )
    .unwrap();
    ceiling_loop(dur, |i| {
        diesel::sql_query(format!("INSERT INTO ceiling (v) VALUES ('row {i}')"))
            .execute(&mut c)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

fn ceiling_loop(dur: Duration, mut commit: impl FnMut(u64) -> Result<(), String>) -> Run {
    let started = Instant::now();
    let mut s = Stats::default();
    let mut i = 0;
    while started.elapsed() < dur {
        let t = Instant::now();
        match commit(i) {
            Ok(()) => s.micros.push(t.elapsed().as_micros() as u32),
            Err(e) => {
                s.errors += 1;
                s.first_error.get_or_insert(e);
            }
        }
        i += 1;
    }
    Run {
        stats: HashMap::from([("commit", s)]),
        elapsed: started.elapsed(),
        server_cpu: 0.0,
    }
}

// --- workloads ----------------------------------------------------------------------

fn login_sync(base: &str, username: &str) -> String {
    let body = json!({"username": username, "password": PASSWORD}).to_string();
    let url = format!("{base}/api/v1/auth/login");
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let (status, body) = call(&client, "POST", &url, None, Some(&body), &[])
            .await
            .expect("login");
        assert_eq!(status, 200, "login: {}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    })
}

fn get_sync(
    base: &str,
    path: &str,
    token: Option<&str>,
    method: &str,
    body: Option<Value>,
) -> Value {
    let url = format!("{base}{path}");
    let token = token.map(str::to_string);
    let method = method.to_string();
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        let body = body.map(|b| b.to_string());
        let (status, res) = call(
            &client,
            &method,
            &url,
            token.as_deref(),
            body.as_deref(),
            &[],
        )
        .await
        .expect("request");
        assert!(
            status < 300,
            "{path}: {status} {}",
            String::from_utf8_lossy(&res)
        );
        serde_json::from_slice(&res).unwrap_or(Value::Null)
    })
}

fn feed_op(base: &str, tokens: Arc<Vec<String>>) -> Op {
    let url = Arc::new(format!("{base}/api/v1/me/notifications"));
    Arc::new(move |client, rec, c| {
        let (url, tokens) = (url.clone(), tokens.clone());
        Box::pin(async move {
            let token = &tokens[c % tokens.len()];
            timed(
                &rec,
                "feed",
                200,
                call(&client, "GET", &url, Some(token), None, &[]),
            )
            .await;
            Ok(())
        })
    })
}

fn baseline_op(url: String) -> Op {
    let url = Arc::new(url);
    Arc::new(move |client, rec, _| {
        let url = url.clone();
        Box::pin(async move {
            timed(
                &rec,
                "baseline",
                200,
                call(&client, "GET", &url, None, None, &[]),
            )
            .await;
            Ok(())
        })
    })
}

fn report_op(base: &str, codes: Arc<Vec<String>>, envelopes: Arc<Vec<Value>>) -> Op {
    let base = Arc::new(base.to_string());
    let n = Arc::new(AtomicUsize::new(0));
    Arc::new(move |client, rec, _| {
        let (base, codes, envelopes, n) =
            (base.clone(), codes.clone(), envelopes.clone(), n.clone());
        Box::pin(async move {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let challenge_url = format!("{base}/api/v1/reports/challenge");
            let Some(ch) = timed(
                &rec,
                "challenge",
                201,
                call(&client, "POST", &challenge_url, None, None, &[]),
            )
            .await
            else {
                return Ok(());
            };
            let ch: Value = serde_json::from_slice(&ch).unwrap();
            let body = json!({
                "school_code": codes[i % codes.len()],
                "category": "bullying",
                "urgency": "normal",
                "envelope": envelopes[i % envelopes.len()],
                "pow": {"challenge": ch["challenge"], "nonce": "0"},
            })
            .to_string();
            let url = format!("{base}/api/v1/reports");
            timed(
                &rec,
                "report",
                201,
                call(&client, "POST", &url, None, Some(&body), &[]),
            )
            .await;
            Ok(())
        })
    })
}

fn handover_op(base: &str, world: Arc<World>, guard_tokens: Arc<Vec<String>>) -> Op {
    let url = Arc::new(format!("{base}/api/v1/handovers"));
    let next = Arc::new(AtomicUsize::new(0));
    Arc::new(move |client, rec, _| {
        let (url, world, guard_tokens, next) = (
            url.clone(),
            world.clone(),
            guard_tokens.clone(),
            next.clone(),
        );
        Box::pin(async move {
            let i = next.fetch_add(1, Ordering::Relaxed);
            // Spread over schools: pupil i of school (i mod 20).
            let per_school = STUDENTS / SCHOOLS;
            let (school, k) = (i % SCHOOLS, i / SCHOOLS);
            if k >= per_school {
                return Err(());
            }
            let (student, s, guardian) = &world.students[school * per_school + k];
            debug_assert_eq!(*s, school);
            let body = json!({"student_id": student, "guardian_user_id": guardian}).to_string();
            let key = format!("load-handover-{i}");
            timed(
                &rec,
                "handover",
                201,
                call(
                    &client,
                    "POST",
                    &url,
                    Some(&guard_tokens[*s]),
                    Some(&body),
                    &[("Idempotency-Key", key)],
                ),
            )
            .await;
            Ok(())
        })
    })
}

/// Open-loop logins at a fixed rate until `stop`.
fn login_storm(base: String, rate: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Stats> {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let client = awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish();
            let rec = Rc::new(Recorder::default());
            let url = Rc::new(format!("{base}/api/v1/auth/login"));
            let mut tick = actix_web::rt::time::interval(Duration::from_millis(1000 / rate));
            let mut tasks = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                // Other guardians than the readers, each once.
                let body =
                    json!({"username": format!("parent-{}", 20_000 + i), "password": PASSWORD})
                        .to_string();
                let (client, rec, url) = (client.clone(), rec.clone(), url.clone());
                tasks.push(actix_web::rt::spawn(async move {
                    timed(
                        &rec,
                        "login",
                        200,
                        call(&client, "POST", &url, None, Some(&body), &[]),
                    )
                    .await;
                }));
                i += 1;
            }
            for t in tasks {
                let _ = t.await;
            }
            let mut m = Rc::try_unwrap(rec).ok().unwrap().0.into_inner();
            m.remove("login").unwrap_or_default()
        })
    })
}

// --- the run ------------------------------------------------------------------------

struct Row {
    name: String,
    conns: String,
    rate: f64,
    stats: Stats,
    ratio: Option<(f64, &'static str)>,
    target: &'static str,
    cpu_per_k: Option<f64>,
}

fn row(name: &str, conns: usize, run: &Run, label: &'static str) -> Row {
    let stats = run.stats.get(label).cloned().unwrap_or_default();
    Row {
        name: name.to_string(),
        conns: conns.to_string(),
        rate: stats.micros.len() as f64 / run.elapsed.as_secs_f64(),
        stats,
        ratio: None,
        target: "",
        cpu_per_k: run.cpu_per_thousand(),
    }
}

fn main() {
    let args = args();
    let dur = Duration::from_secs(args.secs);
    let started_at = Utc::now();
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let dir: PathBuf =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("loadtest-{}", std::process::id()));
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
                .expect("connect to the postgres database of the server");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop the load database");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create the load database");
            ("PostgreSQL", url.clone())
        }
    };
    eprintln!("loadtest: {backend}, data in {}", dir.display());

    let t = Instant::now();
    let db = Db::open(&DatabaseUrl::parse(&database_url).unwrap(), 2);
    db.migrate().expect("migrations");
    // The seed is audited with the same chain key as the server under test.
    safecampus::audit::use_key(AUDIT_KEY.as_bytes());
    let world = Arc::new(seed(&db));
    if args.postgres.is_some() {
        db.conn().unwrap().batch_execute("ANALYZE").unwrap();
    }
    drop(db);
    eprintln!(
        "loadtest: data generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let server = start_server(&database_url, &dir, &args.server_env);
    let pid = server.child.id();
    let base = server.base.clone();
    // Sign in: the readers, the guards, the bureau officer (who registers
    // the mailbox key the reports are sealed to).
    let bureau = login_sync(&base, "bureau");
    let (_sk, public_key) = tipline_client::new_key();
    get_sync(
        &base,
        "/api/v1/me/encryption-key",
        Some(&bureau),
        "PUT",
        Some(json!({ "public_key": public_key, "password": PASSWORD })),
    );
    let mailbox = get_sync(
        &base,
        &format!("/api/v1/mailboxes/{}", world.school_codes[0]),
        None,
        "GET",
        None,
    );
    // Sealed by the client with the tests' tip-line client (the crate's own
    // envelope code), in advance, so the client's crypto does not compete
    // with the server for the CPU.
    let envelopes: Arc<Vec<Value>> = Arc::new(
        (0..256)
            .map(|i| {
                tipline_client::seal_text(&mailbox["recipient_keys"], &format!("load report {i}"))
            })
            .collect(),
    );
    let readers: Arc<Vec<String>> = Arc::new(
        (0..READ_CONNS)
            .map(|i| login_sync(&base, &format!("parent-{}", i * 2)))
            .collect(),
    );
    let guards: Arc<Vec<String>> = Arc::new(
        (0..SCHOOLS)
            .map(|s| login_sync(&base, &format!("guard-{s}")))
            .collect(),
    );
    std::thread::sleep(Duration::from_secs(1));
    let (idle_rss, _) = rss_kib(pid);

    let mut rows = Vec::new();
    // 1. baseline
    let baseline_url = start_baseline(cores);
    let run = load(READ_CONNS, dur, baseline_op(baseline_url));
    let mut r = row(
        "1. baseline: bare actix-web, constant JSON",
        READ_CONNS,
        &run,
        "baseline",
    );
    r.ratio = Some((1.0, "baseline"));
    let baseline = r.rate;
    rows.push(r);
    let prof = args.profile.as_ref();
    // 2. authenticated read
    let run = phase(pid, prof, "2-feed", || {
        load(READ_CONNS, dur, feed_op(&base, readers.clone()))
    });
    let mut r = row("2. GET /me/notifications (JWT)", READ_CONNS, &run, "feed");
    r.ratio = Some((r.rate / baseline, "baseline"));
    r.target = "≥ 0.25, p99 ≤ 10 ms";
    rows.push(r);
    // 6. the durable-write ceiling (measured before the writes it rates)
    let run = match &args.postgres {
        None => ceiling_sqlite(&dir.join("ceiling.db"), dur / 2),
        Some(url) => ceiling_postgres(url, dur / 2),
    };
    let mut ceiling_row = row(
        match &args.postgres {
            None => "6. durable-write ceiling: 1-row commits, SQLite WAL + synchronous=FULL",
            Some(_) => "6. durable-write ceiling: 1-row commits, PostgreSQL synchronous_commit=on",
        },
        1,
        &run,
        "commit",
    );
    let ceiling = ceiling_row.rate;
    ceiling_row.ratio = Some((1.0, "ceiling"));
    // 3. reports
    let run = phase(pid, prof, "3-reports", || {
        load(
            WRITE_CONNS,
            dur,
            report_op(
                &base,
                Arc::new(world.school_codes.clone()),
                envelopes.clone(),
            ),
        )
    });
    let mut r = row(
        "3a. POST /reports/challenge (pow difficulty 0)",
        WRITE_CONNS,
        &run,
        "challenge",
    );
    r.ratio = Some((r.rate / ceiling, "ceiling"));
    rows.push(r);
    let mut r = row(
        "3b. POST /reports (client-sealed, durable)",
        WRITE_CONNS,
        &run,
        "report",
    );
    r.ratio = Some((r.rate / ceiling, "ceiling"));
    r.target = "≥ 1.0, p99 ≤ 50 ms";
    let acknowledged_reports = r.stats.micros.len();
    rows.push(r);
    // 4. handovers
    let run = phase(pid, prof, "4-handovers", || {
        load(
            WRITE_CONNS,
            dur,
            handover_op(&base, world.clone(), guards.clone()),
        )
    });
    let mut r = row(
        "4. POST /handovers (+2 guardian notifications, audit)",
        WRITE_CONNS,
        &run,
        "handover",
    );
    r.ratio = Some((r.rate / ceiling, "ceiling"));
    r.target = "≥ 0.5";
    let acknowledged_handovers = r.stats.micros.len();
    rows.push(r);
    // 5. login storm beside the read
    let stop = Arc::new(AtomicBool::new(false));
    let storm = login_storm(base.clone(), LOGINS_PER_SEC, stop.clone());
    let run = phase(pid, prof, "5-feed-logins", || {
        load(READ_CONNS, dur, feed_op(&base, readers.clone()))
    });
    stop.store(true, Ordering::Relaxed);
    let logins = storm.join().unwrap();
    let mut r = row(
        "5a. GET /me/notifications during 20 logins/s",
        READ_CONNS,
        &run,
        "feed",
    );
    r.ratio = Some((r.rate / baseline, "baseline"));
    r.target = "p99 ≤ 10 ms";
    rows.push(r);
    rows.push(Row {
        name: "5b. POST /auth/login (argon2id), open loop".into(),
        conns: format!("{LOGINS_PER_SEC}/s"),
        rate: logins.micros.len() as f64 / run.elapsed.as_secs_f64(),
        stats: logins,
        ratio: None,
        target: "bounded",
        cpu_per_k: None,
    });
    rows.push(ceiling_row);
    // Memory at 256 connections.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid).0);
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        })
    };
    let run = phase(pid, None, "7-feed-256", || {
        load(RSS_CONNS, dur / 2, feed_op(&base, readers.clone()))
    });
    sampling.store(false, Ordering::Relaxed);
    let rss_256 = sampler.join().unwrap();
    let (_, hwm) = rss_kib(pid);
    let mut r = row(
        "7. GET /me/notifications at 256 connections",
        RSS_CONNS,
        &run,
        "feed",
    );
    r.ratio = Some((r.rate / baseline, "baseline"));
    rows.push(r);

    // What was acknowledged is there, and the audit chain holds.
    drop(server);
    let db = Db::open(&DatabaseUrl::parse(&database_url).unwrap(), 1);
    let mut conn = db.conn().unwrap();
    let reports: i64 = safecampus::db::schema::tip_reports::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let handovers: i64 = safecampus::db::schema::handovers::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let audit = safecampus::audit::verify(&mut conn, None).unwrap();

    println!();
    println!(
        "**{backend}**, {} UTC, {cores} cores, load average at start {}; {} s per phase; \
         reads at {READ_CONNS} connections, writes at {WRITE_CONNS}.",
        started_at.format("%Y-%m-%d %H:%M"),
        load_avg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        args.secs
    );
    println!();
    println!("| Workload | Conns | req/s | p50 ms | p99 ms | Errors | Ratio | Target | Server CPU s / 1k req |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|---:|");
    for r in &rows {
        let ratio = match r.ratio {
            Some((x, of)) => format!("{x:.2} × {of}"),
            None => "".into(),
        };
        let cpu = r.cpu_per_k.map(|c| format!("{c:.3}")).unwrap_or_default();
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
            r.name,
            r.conns,
            r.rate,
            r.stats.pct(0.5),
            r.stats.pct(0.99),
            r.stats.errors,
            ratio,
            r.target,
            cpu
        );
    }
    println!();
    println!(
        "Server RSS: {:.1} MiB idle (target ≤ 50), {:.1} MiB at {RSS_CONNS} connections (target ≤ 150), peak (VmHWM) {:.1} MiB.",
        idle_rss as f64 / 1024.0,
        rss_256 as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "Check: {acknowledged_reports} reports acknowledged, {reports} in the database; \
         {acknowledged_handovers} handovers acknowledged, {handovers} in the database; \
         audit chain {} ({} events).",
        if audit.ok { "verifies" } else { "BROKEN" },
        audit.events
    );
    if let Some(dir) = &args.profile {
        let mut data: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "data"))
            .collect();
        data.sort();
        for d in data {
            println!();
            println!(
                "Profile of the server during phase {} (perf, self time, top 10):",
                d.file_stem().unwrap().to_string_lossy()
            );
            println!();
            print!("{}", top_ten(&d));
        }
    }
    for r in &rows {
        if let Some(e) = &r.stats.first_error {
            println!("First error of {}: {e}", r.name);
        }
    }
    drop(conn);
    drop(db);
    // The server's own log outlives the data, to explain any error above.
    let kept = dir.with_file_name("loadtest-server.log");
    if std::fs::copy(dir.join("server.log"), &kept).is_ok() {
        eprintln!("loadtest: server log kept in {}", kept.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
