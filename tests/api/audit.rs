use crate::support::TestApp;
use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use safecampus::crypto::{hex, sha256};
use safecampus::db::schema::{audit_events as ae, audit_head as ah};
use serde_json::json;

type Event = (String, i64, NaiveDateTime, [Option<String>; 6]);
/// (id, seq, at, actor, role, action, target type, target, school)
type StoredEvent = (
    String,
    i64,
    NaiveDateTime,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// What an insider with the database and the source code can compute: the
/// plain SHA-256 link of the chain's format (no key).
fn plain_link(
    prev: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    f: &[Option<String>; 6],
) -> String {
    let mut buf = Vec::new();
    let mut put = |v: Option<&str>| match v {
        Some(s) => {
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
    };
    put(Some("safecampus/audit/v1"));
    put(Some(prev));
    put(Some(&seq.to_string()));
    put(Some(id));
    put(Some(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
    for v in f {
        put(v.as_deref());
    }
    hex(&sha256(&buf))
}

/// Rewrites every link with plain hashes, as an insider who cannot know the
/// key would, after changing `action` of the event at `seq` (if any), and
/// moves the head to match.
async fn relink_plainly(app: &TestApp, tamper_seq: Option<i64>, keyed: bool) {
    let db = app.state.db.clone();
    web::block(move || {
        db.write_blocking(|conn| {
            if let Some(seq) = tamper_seq {
                diesel::update(ae::table.filter(ae::seq.eq(seq)))
                    .set(ae::action.eq("school.read"))
                    .execute(conn)?;
            }
            let rows: Vec<StoredEvent> = ae::table
                .order(ae::seq)
                .select((
                    ae::id,
                    ae::seq,
                    ae::at,
                    ae::actor_id,
                    ae::actor_role,
                    ae::action,
                    ae::target_type,
                    ae::target_id,
                    ae::school_id,
                ))
                .load(conn)?;
            let events: Vec<Event> = rows
                .into_iter()
                .map(|r| (r.0, r.1, r.2, [r.3, r.4, Some(r.5), Some(r.6), r.7, r.8]))
                .collect();
            let mut prev = safecampus::audit::GENESIS.to_string();
            for (id, seq, at, f) in &events {
                let hash = plain_link(&prev, *seq, id, *at, f);
                diesel::update(ae::table.find(id))
                    .set((ae::prev_hash.eq(&prev), ae::hash.eq(&hash)))
                    .execute(conn)?;
                prev = hash;
            }
            diesel::update(ah::table.find(1))
                .set((ah::hash.eq(&prev), ah::keyed.eq(keyed)))
                .execute(conn)?;
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
}

async fn an_insider_who_recomputes_the_hashes_is_caught(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let ok = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(ok["ok"], true);
    // Someone with the database rewrites an event and every link after it.
    relink_plainly(&app, Some(5), true).await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false, "{bad}");
    assert_eq!(bad["events"], 0, "no link verifies without the key");
}

async fn a_signed_head_kept_outside_proves_the_chain_still_extends_it(app: TestApp) {
    let w = app.world().await;
    let officer = app.vetting_officer().await;
    let head = app
        .get("/api/v1/audit/head", &officer.token)
        .await
        .expect(200);
    let token = head["token"].as_str().unwrap().to_string();
    let seq = head["seq"].as_i64().unwrap();
    // Later work extends the chain.
    app.create_school(&w.district_admin, "SCH-Z", "primary")
        .await;
    let admin = &w.district_admin.token;
    let v = app
        .get(&format!("/api/v1/audit/verify?against={token}"), admin)
        .await
        .expect(200);
    assert_eq!(
        (v["ok"].as_bool(), v["extends"].as_bool()),
        (Some(true), Some(true)),
        "{v}"
    );
    assert!(v["events"].as_i64().unwrap() > seq);
    // A head the service did not sign is refused.
    let forged = token.replacen(&format!("{seq}."), &format!("{}.", seq - 1), 1);
    app.get(&format!("/api/v1/audit/verify?against={forged}"), admin)
        .await
        .expect_problem(422, "invalid_query");
    // The event at the kept head is rewritten: the chain no longer extends it.
    app.execute(format!(
        "UPDATE audit_events SET hash = 'x' WHERE seq = {seq}"
    ))
    .await;
    let v = app
        .get(&format!("/api/v1/audit/verify?against={token}"), admin)
        .await
        .expect(200);
    assert_eq!(
        (v["ok"].as_bool(), v["extends"].as_bool()),
        (Some(false), Some(false)),
        "{v}"
    );
}

async fn a_chain_from_before_the_key_is_sealed_only_if_it_verifies(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let seal = |app: &TestApp| {
        let db = app.state.db.clone();
        web::block(move || db.write_blocking(safecampus::audit::seal_with_key))
    };
    // A chain as an older version wrote it (plain links, not yet keyed) ...
    relink_plainly(&app, None, false).await;
    let sealed = seal(&app).await.unwrap().unwrap();
    assert!(sealed > 10);
    let ok = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(ok["ok"], true, "{ok}");
    // ... but one tampered with before the upgrade is not sealed.
    relink_plainly(&app, None, false).await;
    app.execute("UPDATE audit_events SET action = 'school.read' WHERE seq = 4".into())
        .await;
    assert!(seal(&app).await.unwrap().is_err());
    let keyed = app
        .query_i64("SELECT COUNT(*) AS n FROM audit_head WHERE keyed = TRUE".into())
        .await;
    assert_eq!(keyed, 0);
}

async fn the_chain_verifies_and_shows_a_tampered_row(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let ok = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(ok["ok"], true);
    let events = ok["events"].as_i64().unwrap();
    assert!(events > 10, "logins and creations were audited: {events}");
    // Someone with database access rewrites history.
    app.execute("UPDATE audit_events SET action = 'school.read' WHERE seq = 5".into())
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["events"], 4);
    let tampered_id = bad["first_bad_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.query_i64(format!(
            "SELECT seq AS n FROM audit_events WHERE id = '{tampered_id}'"
        ))
        .await,
        5
    );
}

async fn a_removed_row_breaks_the_chain(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    app.execute("DELETE FROM audit_events WHERE seq = 3".into())
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
    assert!(bad["first_bad_id"].is_string());
}

async fn the_tail_cannot_be_cut_quietly(app: TestApp) {
    let w = app.world().await;
    let admin = &w.district_admin.token;
    let max = app
        .query_i64("SELECT MAX(seq) AS n FROM audit_events".into())
        .await;
    app.execute(format!("DELETE FROM audit_events WHERE seq > {}", max - 2))
        .await;
    let bad = app.get("/api/v1/audit/verify", admin).await.expect(200);
    assert_eq!(bad["ok"], false);
}

async fn concurrent_writers_keep_one_chain(app: TestApp) {
    let admin = app.district_admin().await;
    let creates = (0..10).map(|i| {
        app.post(
            "/api/v1/schools",
            &admin.token,
            json!({"name": format!("S{i}"), "code": format!("PAR-{i}"), "kind": "primary"}),
        )
    });
    for r in futures_util::future::join_all(creates).await {
        r.expect(201);
    }
    let ok = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(
        app.query_i64(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'school.create'".into()
        )
        .await,
        10
    );
}

async fn audit_rows_hold_no_passwords_or_tokens(app: TestApp) {
    let w = app.world().await;
    let marker = crate::support::PASSWORD;
    let token_piece = &w.x.parent.refresh[..16];
    for column in [
        "id",
        "actor_id",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "school_id",
    ] {
        let n = app
            .query_i64(format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE {column} LIKE '%{marker}%' OR {column} LIKE '%{token_piece}%'"
            ))
            .await;
        assert_eq!(n, 0, "{column}");
    }
    assert!(app.count("audit_events").await > 0);
}

on_both_databases!(
    an_insider_who_recomputes_the_hashes_is_caught,
    a_signed_head_kept_outside_proves_the_chain_still_extends_it,
    a_chain_from_before_the_key_is_sealed_only_if_it_verifies,
    the_chain_verifies_and_shows_a_tampered_row,
    a_removed_row_breaks_the_chain,
    the_tail_cannot_be_cut_quietly,
    concurrent_writers_keep_one_chain,
    audit_rows_hold_no_passwords_or_tokens,
);
