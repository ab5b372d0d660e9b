//! The flood bench's measurements: each request's status, problem code and
//! latency, and the CPU time the server, the load client and the whole
//! machine spent in each phase (from /proc).

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Instant;

#[derive(Default)]
pub struct Stats {
    pub micros: Vec<u32>,
    /// Answers by status (0: no answer).
    pub statuses: BTreeMap<u16, u64>,
    /// Answers by status and problem code ("503 tipline_busy"; "201").
    pub answers: BTreeMap<String, u64>,
    pub first_error: Option<String>,
}

impl Stats {
    pub fn pct(&self, p: f64) -> f64 {
        super::percentile::percentile_ms(&self.micros, p)
    }

    /// Answers other than `ok`, no answer included.
    pub fn errors(&self, ok: u16) -> u64 {
        self.statuses
            .iter()
            .filter(|(k, _)| **k != ok)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn merge(&mut self, other: Stats) {
        self.micros.extend(other.micros);
        for (k, n) in other.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        for (k, n) in other.answers {
            *self.answers.entry(k).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

pub type Recorded = Rc<std::cell::RefCell<BTreeMap<&'static str, Stats>>>;

/// Sends one request and records its status and code and, when it is
/// `want`, its latency.
pub async fn timed(
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
            *s.answers.entry("no answer".into()).or_default() += 1;
            s.first_error.get_or_insert(e.to_string());
            return None;
        }
    };
    let code = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string));
    let mut m = rec.borrow_mut();
    let s = m.entry(label).or_default();
    *s.statuses.entry(status).or_default() += 1;
    let key = match (status, code) {
        (s, Some(c)) if s >= 400 => format!("{s} {c}"),
        (s, _) => s.to_string(),
    };
    *s.answers.entry(key).or_default() += 1;
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

/// CPU seconds so far: the server's, this process's (the load client),
/// and the whole machine's busy time (all cores).
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub server: f64,
    pub client: f64,
    pub machine_busy: f64,
    pub at: Option<Instant>,
}

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf only reads a constant of the system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of a process, in seconds (/proc/<pid>/stat, fields 14
/// and 15, counted after the command name, which may hold spaces).
fn process_cpu(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // After the name: state is field 3, so utime (14) is index 11.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / ticks_per_sec()
}

/// Busy seconds of all cores (/proc/stat: all but idle and iowait).
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let total: f64 = f.iter().take(8).sum();
    let idle = f.get(3).unwrap_or(&0.0) + f.get(4).unwrap_or(&0.0);
    (total - idle) / ticks_per_sec()
}

impl Cpu {
    pub fn now(server_pid: u32) -> Cpu {
        Cpu {
            server: process_cpu(&server_pid.to_string()),
            client: process_cpu("self"),
            machine_busy: machine_busy(),
            at: Some(Instant::now()),
        }
    }

    /// What was spent from `start` to `self`: (server, client, machine busy,
    /// wall seconds).
    pub fn since(&self, start: &Cpu) -> (f64, f64, f64, f64) {
        let wall = match (self.at, start.at) {
            (Some(b), Some(a)) => (b - a).as_secs_f64(),
            _ => f64::NAN,
        };
        (
            self.server - start.server,
            self.client - start.client,
            self.machine_busy - start.machine_busy,
            wall,
        )
    }
}
