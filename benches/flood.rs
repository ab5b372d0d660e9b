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
use safecampus::db::{DatabaseUrl, Db};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/flood_measure.rs"]
mod measure;
#[path = "support/percentile.rs"]
mod percentile;
#[path = "support/flood_setup.rs"]
mod setup;
#[path = "../tests/api/support/tipline_client.rs"]
mod tipline_client;

use measure::{timed, Cpu, Recorded, Stats};
use setup::{seed, setup_call, start_server, AUDIT_KEY, PASSWORD, PUPILS, SCHOOLS};

const REPORTS: usize = 40;
const CLIENT_THREADS: usize = 2;

struct Args {
    postgres: Option<String>,
    secs: u64,
    quiet_secs: u64,
    clients: usize,
    rate: u64,
    /// The flood's client threads at nice 19: the attacker's load as if it
    /// ran on another machine, taking only the CPU the server leaves.
    flood_nice: bool,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        postgres: None,
        secs: 60,
        quiet_secs: 10,
        clients: 200,
        rate: 10,
        flood_nice: false,
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
            "--flood-nice" => a.flood_nice = true,
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
    nice: bool,
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
                if nice {
                    lower_priority();
                }
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

/// This thread (and what it spawns) at nice 19. On Linux the nice value
/// is a thread's, so the handover client keeps its own.
fn lower_priority() {
    // SAFETY: gettid and setpriority only read and set this thread's
    // scheduling priority.
    let r = unsafe {
        let tid = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19)
    };
    assert_eq!(r, 0, "setpriority: {}", std::io::Error::last_os_error());
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
    let pid = server.child.id();
    let quiet_cpu = Cpu::now(pid);
    let quiet = dismissal(
        &base,
        guards.clone(),
        pupils.clone(),
        0,
        args.rate,
        quiet_dur,
    );
    let quiet_cpu = Cpu::now(pid).since(&quiet_cpu);
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let (base, receipts, attachment, stop) = (
            base.clone(),
            receipts.clone(),
            attachment.clone(),
            stop.clone(),
        );
        let (clients, nice) = (args.clients, args.flood_nice);
        std::thread::spawn(move || flood(&base, clients, receipts, attachment, stop, nice))
    };
    // Let the flood reach its pace before the dismissal is measured beside it.
    std::thread::sleep(Duration::from_secs(2));
    let start = (args.rate * args.quiet_secs) as usize;
    let flood_cpu = Cpu::now(pid);
    let during = dismissal(
        &base,
        guards.clone(),
        pupils.clone(),
        start,
        args.rate,
        flood_dur,
    );
    let flood_cpu = Cpu::now(pid).since(&flood_cpu);
    stop.store(true, Ordering::Relaxed);
    let flooded = flooder.join().unwrap();
    drop(server);
    report(
        &args,
        backend,
        cores,
        &load_avg,
        [(&quiet, quiet_cpu), (&during, flood_cpu)],
        &flooded,
    );
}

type Phase<'a> = (&'a Stats, (f64, f64, f64, f64));

fn report(
    args: &Args,
    backend: &str,
    cores: usize,
    load_avg: &str,
    phases: [Phase; 2],
    flooded: &BTreeMap<&'static str, Stats>,
) {
    let [(quiet, _), (during, _)] = phases;
    println!();
    println!(
        "**{backend}**, {} UTC, {cores} cores, load average at start {}; handovers at {}/s, \
         {} s quiet then {} s beside {} anonymous clients{}.",
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
        if args.flood_nice {
            " at nice 19 (--flood-nice: modelling an attacker on another machine)"
        } else {
            " on the same cores at normal priority"
        },
    );
    println!();
    println!("| handovers | done | errors | p50 ms | p99 ms | server CPU s | load client CPU s | machine busy s (of {cores} cores × wall) |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, (s, (server, client, busy, wall))) in
        ["quiet", "during the flood"].iter().zip(phases)
    {
        println!(
            "| {name} | {} | {} | {:.2} | {:.2} | {server:.1} ({:.0}% of a core) | {client:.1} | {busy:.1} of {:.1} |",
            s.micros.len(),
            s.errors(201),
            s.pct(0.5),
            s.pct(0.99),
            100.0 * server / wall,
            cores as f64 * wall,
        );
    }
    println!();
    println!(
        "quiet p99 {:.2} ms, flood p99 {:.2} ms, ratio {:.2} (target ≤ 2); handover errors during the flood: {} (target 0)",
        quiet.pct(0.99),
        during.pct(0.99),
        during.pct(0.99) / quiet.pct(0.99),
        during.errors(201),
    );
    for (name, s) in [("quiet", quiet), ("flood", during)] {
        if let Some(e) = &s.first_error {
            println!("first handover error ({name}): {e}");
        }
    }
    println!();
    println!("| flood request | answered, by status and code | refused by the budget (503 tipline_busy) | p50 ms (expected status) |");
    println!("|---|---|---|---|");
    for (label, s) in flooded {
        let answered: Vec<String> = s
            .answers
            .iter()
            .filter(|(k, _)| k.as_str() != "503 tipline_busy")
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let refused = s.answers.get("503 tipline_busy").copied().unwrap_or(0);
        println!(
            "| {label} | {} | {refused} | {:.2} |",
            answered.join(", "),
            s.pct(0.5)
        );
    }
}
