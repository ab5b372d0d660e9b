//! Roster import benchmark: a GB18030 file of 2,000 pupils and 3,000
//! guardians imported into an empty school, then imported again (which
//! changes nothing), on a fresh SQLite file (or PostgreSQL with
//! ROSTER_DATABASE_URL). Times each whole import transaction: decoding,
//! checking every row, 12 classes, 2,000 pupils, 3,000 parent accounts with
//! their activation codes and SMS, 3,000 guardianships, the audit.
//!
//!     cargo bench --bench roster
//!     ROSTER_DATABASE_URL=postgres://… cargo bench --bench roster

use diesel::connection::SimpleConnection;
use safecampus::auth::{Caller, Role};
use safecampus::db::{DatabaseUrl, Db};
use safecampus::i18n::Language;
use std::time::Instant;

const NOW: &str = "2026-11-30 00:00:00";
const HEAD: &str = "student_no,name,grade,class,sex,guardian1_name,guardian1_phone,guardian1_relation,guardian1_primary,guardian2_name,guardian2_phone,guardian2_relation,guardian2_primary\n";

/// `n` pupils in 12 classes, every second one with two guardians.
fn roster(n: usize) -> Vec<u8> {
    let mut s = HEAD.to_string();
    for i in 0..n {
        let grade = i % 6 + 1;
        let second = if i % 2 == 0 {
            format!("家长{i}乙,1380{i:07},父亲,N")
        } else {
            ",,,".to_string()
        };
        s.push_str(&format!(
            "T{i:05},学生{i},{grade},{grade}年级{}班,女,家长{i}甲,1390{i:07},母亲,Y,{second}\n",
            i % 4 + 1
        ));
    }
    encoding_rs::GB18030.encode(&s).0.into_owned()
}

fn main() {
    let n: usize = std::env::var("ROSTER_PUPILS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("ROSTER_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("roster.db").display()));
    let db = Db::open(&DatabaseUrl::parse(&url).expect("database url"), 4);
    db.migrate().expect("migrations");
    // Imports are audited: the chain needs its key, as in the service.
    safecampus::audit::use_key(b"roster-bench-audit-key-roster-bench-01");
    db.write_blocking(|conn| {
        conn.batch_execute(&format!(
            "INSERT INTO districts (id, name, created_at) VALUES ('d', 'Bench District', '{NOW}');\
             INSERT INTO schools (id, district_id, name, code, kind, timezone, dismissal_time, created_at) \
             VALUES ('s', 'd', 'Bench School', 'BENCH', 'primary', 'Asia/Shanghai', '16:30', '{NOW}');\
             INSERT INTO users (id, district_id, school_id, role, username, display_name, language, password_hash, disabled, tokens_valid_after, created_at) \
             VALUES ('admin', 'd', 's', 'school_admin', 'admin', 'Admin', 'zh-CN', 'x', FALSE, '{NOW}', '{NOW}');"
        ))?;
        Ok(())
    })
    .expect("school set up");
    let caller = Caller {
        user_id: "admin".into(),
        role: Role::SchoolAdmin,
        district_id: "d".into(),
        school_id: Some("s".into()),
        language: Language::ZhCn,
        session_id: "bench".into(),
    };
    let file = roster(n);
    let now = chrono::NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M:%S").unwrap();
    for run in ["first import", "second import"] {
        let bytes = file.clone();
        let started = Instant::now();
        let out = db
            .write_blocking(|conn| {
                safecampus::org::roster::import(conn, now, &caller, "s", Ok(bytes), true)
            })
            .expect("imported");
        println!(
            "{run} of {n} pupils ({} KiB GB18030): {:.2} s — created {}, updated {}, unchanged {}, parents {}, guardianships {}",
            file.len() / 1024,
            started.elapsed().as_secs_f64(),
            out.created,
            out.updated,
            out.unchanged,
            out.parents_created,
            out.guardians_linked
        );
    }
}
