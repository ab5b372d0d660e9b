//! Fan-out benchmark: one notice from a school admin to the families of
//! 200,000 pupils (one guardian each, every guardian with an email address),
//! on a fresh SQLite file (or PostgreSQL with FANOUT_DATABASE_URL). Times the
//! whole sending transaction: audience resolution, 200,000 feed items,
//! 200,000 recipient rows and the outbox rows for email and push.
//!
//!     cargo bench --bench fanout            # 200,000 guardians
//!     FANOUT_GUARDIANS=50000 cargo bench --bench fanout

use diesel::connection::SimpleConnection;
use safecampus::auth::{Caller, Role};
use safecampus::db::{DatabaseUrl, Db};
use safecampus::i18n::Language;
use safecampus::notices::NewNotice;
use std::time::Instant;

const NOW: &str = "2026-11-30 00:00:00";

fn main() {
    let n: usize = std::env::var("FANOUT_GUARDIANS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("FANOUT_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("fanout.db").display()));
    let db = Db::open(&DatabaseUrl::parse(&url).expect("database url"), 4);
    db.migrate().expect("migrations");
    // Notices are audited: the chain needs its key, as in the service.
    safecampus::audit::use_key(b"fanout-bench-audit-key-fanout-bench-01");

    let setup = Instant::now();
    let classes = n.div_ceil(1000);
    db.write_blocking(|conn| {
        let mut sql = format!(
            "INSERT INTO districts (id, name, created_at) VALUES ('d', 'Bench District', '{NOW}');\
             INSERT INTO schools (id, district_id, name, code, kind, timezone, dismissal_time, created_at) \
             VALUES ('s', 'd', 'Bench School', 'BENCH', 'primary', 'Asia/Shanghai', '16:30', '{NOW}');\
             INSERT INTO users (id, district_id, school_id, role, username, display_name, language, password_hash, disabled, tokens_valid_after, created_at) \
             VALUES ('admin', 'd', 's', 'school_admin', 'admin', 'Admin', 'zh-CN', 'x', FALSE, '{NOW}', '{NOW}');"
        );
        for c in 0..classes {
            sql.push_str(&format!(
                "INSERT INTO classes (id, school_id, grade, name, created_at) VALUES ('c{c}', 's', {}, 'Class {c}', '{NOW}');",
                c % 6 + 1
            ));
        }
        conn.batch_execute(&sql)?;
        for start in (0..n).step_by(1000) {
            let end = (start + 1000).min(n);
            let users: Vec<String> = (start..end)
                .map(|i| format!("('u{i}', 'd', NULL, 'parent', 'p{i}', 'Parent {i}', 'p{i}@example.test', 'zh-CN', 'x', FALSE, '{NOW}', '{NOW}')"))
                .collect();
            let pupils: Vec<String> = (start..end)
                .map(|i| format!("('st{i}', 's', 'c{}', 'Pupil {i}', 'N{i}', {}, TRUE, '{NOW}')", i / 1000, (i / 1000) % 6 + 1))
                .collect();
            let links: Vec<String> = (start..end)
                .map(|i| format!("('g{i}', 'st{i}', 'u{i}', 'mother', TRUE, '{NOW}')"))
                .collect();
            conn.batch_execute(&format!(
                "INSERT INTO users (id, district_id, school_id, role, username, display_name, email, language, password_hash, disabled, tokens_valid_after, created_at) VALUES {};\
                 INSERT INTO students (id, school_id, class_id, name, student_no, grade, handover_required, created_at) VALUES {};\
                 INSERT INTO guardianships (id, student_id, user_id, relation, is_primary, created_at) VALUES {};",
                users.join(","), pupils.join(","), links.join(",")
            ))?;
        }
        Ok(())
    })
    .expect("district set up");
    println!(
        "set up {n} pupils and guardians in {classes} classes: {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let caller = Caller {
        user_id: "admin".into(),
        role: Role::SchoolAdmin,
        district_id: "d".into(),
        school_id: Some("s".into()),
        language: Language::ZhCn,
        session_id: "bench".into(),
    };
    // Every grade of the school: every pupil's family.
    let request: NewNotice = serde_json::from_value(serde_json::json!({
        "audience": {"grades": [1, 2, 3, 4, 5, 6]},
        "to": "guardians", "category": "safety_education",
        "title": "防性侵安全教育", "body": "请与孩子一起学习身体安全知识并确认。",
        "requires_ack": true
    }))
    .expect("request");
    let now = chrono::NaiveDateTime::parse_from_str(NOW, "%Y-%m-%d %H:%M:%S").unwrap();
    let started = Instant::now();
    let notice = db
        .write_blocking(|conn| safecampus::notices::create_notice(conn, now, &caller, request))
        .expect("notice sent");
    let took = started.elapsed();
    let outbox: i64 = {
        use diesel::prelude::*;
        use safecampus::db::schema::outbox;
        let mut conn = db.conn().expect("connection");
        outbox::table.count().get_result(&mut *conn).expect("count")
    };
    println!(
        "notice to {} guardians ({} outbox rows) sent in {:.2} s",
        notice.recipients,
        outbox,
        took.as_secs_f64()
    );
}
