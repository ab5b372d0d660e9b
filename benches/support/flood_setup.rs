//! The flood bench's setup: a district seeded straight into the database,
//! the release server started on it, and the calls that prepare the run.

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use safecampus::db::schema::{
    classes, districts, guardianships, personnel, schools, students, users,
};
use safecampus::db::{AnyConnection, Db};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SCHOOLS: usize = 2;
pub const PUPILS: usize = 2000;
pub const DISTRICT: &str = "00000000-0000-7000-8000-000000000001";
pub const PASSWORD: &str = "flood-test-password-1";
pub const AUDIT_KEY: &str = "flood-audit-key-flood-audit-key-flood-1";

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_server(database_url: &str, dir: &std::path::Path) -> Server {
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

fn id(kind: u8, n: usize) -> String {
    format!("00000000-0000-7000-800{kind}-{n:012x}")
}

/// The district: schools, a guard each, a bureau officer, pupils (each with
/// a guardian) who must be handed over. (student id, school, guardian id).
pub fn seed(db: &Db) -> Vec<(String, usize, String)> {
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

/// One request during setup; its JSON answer. A `tipline_busy` refusal
/// (the anonymous budget) is sent again after its Retry-After, as an app
/// would.
pub fn setup_call(base: &str, method: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let (url, method, token) = (
        format!("{base}{path}"),
        method.to_string(),
        token.map(str::to_string),
    );
    actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::default();
        loop {
            let mut req = client.request(
                awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            );
            if let Some(t) = &token {
                req = req.insert_header(("Authorization", format!("Bearer {t}")));
            }
            let mut res = if body.is_null() {
                req.send().await
            } else {
                req.send_json(&body).await
            }
            .expect("request");
            let bytes = res.body().limit(1 << 20).await.unwrap();
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if res.status().as_u16() == 503 && answer["code"] == "tipline_busy" {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(1);
                actix_web::rt::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            assert!(
                res.status().as_u16() < 300,
                "{path}: {} {}",
                res.status(),
                String::from_utf8_lossy(&bytes)
            );
            return answer;
        }
    })
}
