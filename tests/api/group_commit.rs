//! Group commit (`Db::write_grouped`): jobs that share one transaction each
//! keep or lose only their own writes, a failed commit fails them all,
//! concurrent writes all land exactly once, and the audit events of a batch
//! are linked at its end, for the jobs it kept, in one chain however many
//! writers run.

use crate::support::library::{
    record_audit, AnyConnection, ApiError, AppResult, AuditEvent, Backend, Code, Db,
    POSTGRES_GROUP_WRITERS,
};
use crate::support::TestApp;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::sync::mpsc;
use std::time::Duration;

on_both_databases!(
    a_failing_job_undoes_only_itself,
    a_failed_commit_fails_the_whole_batch,
    concurrent_writes_all_land_exactly_once,
    idempotent_twins_in_one_batch_create_one_row,
    a_batch_links_the_audit_events_of_the_jobs_it_kept_in_their_order,
    concurrent_audited_writes_keep_one_chain,
);

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Tx {
    #[diesel(sql_type = Text)]
    id: String,
}

fn count(conn: &mut AnyConnection, sql: &str) -> AppResult<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

async fn setup(db: &Db) {
    db.write(|conn| {
        conn.batch_execute(
            "CREATE TABLE gc_probe (id TEXT PRIMARY KEY NOT NULL, \
             parent TEXT REFERENCES gc_probe(id) DEFERRABLE INITIALLY DEFERRED)",
        )?;
        Ok(())
    })
    .await
    .unwrap();
}

fn insert(conn: &mut AnyConnection, id: &str, parent: Option<&str>) -> AppResult<()> {
    diesel::sql_query("INSERT INTO gc_probe (id, parent) VALUES ($1, $2)")
        .bind::<Text, _>(id)
        .bind::<diesel::sql_types::Nullable<Text>, _>(parent)
        .execute(conn)?;
    Ok(())
}

/// The transaction a job runs in, where the backend can say (PostgreSQL).
fn txid(conn: &mut AnyConnection, backend: Backend) -> AppResult<String> {
    Ok(match backend {
        Backend::Postgres => {
            diesel::sql_query("SELECT txid_current()::text AS id")
                .get_result::<Tx>(conn)?
                .id
        }
        Backend::Sqlite => String::new(),
    })
}

/// Holds every writer thread in a job of its own until `release` is sent,
/// so that everything queued meanwhile forms the next batch (of the writer
/// let go first, which takes all that waits).
async fn hold_writers(
    db: &Db,
    backend: Backend,
) -> (mpsc::Sender<()>, Vec<actix_web::rt::task::JoinHandle<()>>) {
    let writers = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_GROUP_WRITERS,
    };
    let (release, wait) = mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    let mut held = Vec::new();
    for _ in 0..writers {
        let (started, is_started) = tokio::sync::oneshot::channel::<()>();
        let (db, wait) = (db.clone(), wait.clone());
        held.push(actix_web::rt::spawn(async move {
            db.write_grouped(move |_| {
                let _ = started.send(());
                let wait = wait.lock().unwrap();
                wait.recv_timeout(Duration::from_secs(30)).ok();
                Ok(())
            })
            .await
            .unwrap();
        }));
        is_started.await.unwrap();
    }
    (release, held)
}

/// Lets the held writers go, one by one.
async fn let_go(release: mpsc::Sender<()>, held: Vec<actix_web::rt::task::JoinHandle<()>>) {
    for _ in 0..held.len() {
        release.send(()).unwrap();
    }
    for h in held {
        h.await.unwrap();
    }
}

async fn queued<F>(jobs: Vec<F>) -> Vec<actix_web::rt::task::JoinHandle<F::Output>>
where
    F: std::future::Future + 'static,
{
    let handles: Vec<_> = jobs.into_iter().map(actix_web::rt::spawn).collect();
    // Let every task run up to its wait on the writer.
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    handles
}

async fn a_failing_job_undoes_only_itself(app: TestApp) {
    let db = app.state.db.clone();
    setup(&db).await;
    let backend = app.backend;
    let (release, held) = hold_writers(&db, app.backend).await;
    let jobs: Vec<_> = (0..10)
        .map(|i| {
            let db = db.clone();
            async move {
                db.write_grouped(move |conn| {
                    let tx = txid(conn, backend)?;
                    insert(conn, &format!("row-{i}"), None)?;
                    match i % 3 {
                        // Fails after writing: a validation refusal.
                        1 => Err(ApiError::invalid("probe", "refused on purpose")),
                        // Fails in the database: the key is taken (row-0 came first).
                        2 => insert(conn, "row-0", None).map(|_| tx),
                        _ => Ok(tx),
                    }
                })
                .await
            }
        })
        .collect();
    let handles = queued(jobs).await;
    let_go(release, held).await;
    let mut txids = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        let result = h.await.unwrap();
        match i % 3 {
            0 => txids.push(result.expect("a good job commits")),
            1 => assert_eq!(result.unwrap_err().code, Code::InvalidField),
            _ => assert_eq!(result.unwrap_err().code, Code::AlreadyExists),
        }
    }
    if backend == Backend::Postgres {
        txids.dedup();
        assert_eq!(txids.len(), 1, "the jobs shared one transaction");
    }
    let ids: Vec<String> = db
        .read(|conn| {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = Text)]
                id: String,
            }
            Ok(diesel::sql_query("SELECT id FROM gc_probe ORDER BY id")
                .load::<Id>(conn)?
                .into_iter()
                .map(|r| r.id)
                .collect())
        })
        .await
        .unwrap();
    assert_eq!(ids, ["row-0", "row-3", "row-6", "row-9"]);
}

async fn a_failed_commit_fails_the_whole_batch(app: TestApp) {
    let db = app.state.db.clone();
    setup(&db).await;
    let (release, held) = hold_writers(&db, app.backend).await;
    let jobs: Vec<_> = (0..6)
        .map(|i| {
            let db = db.clone();
            async move {
                db.write_grouped(move |conn| {
                    // Job 4 leaves a dangling deferred reference: every job
                    // succeeds on its own, and the commit is refused.
                    let parent = (i == 4).then_some("nowhere");
                    insert(conn, &format!("row-{i}"), parent)
                })
                .await
            }
        })
        .collect();
    let handles = queued(jobs).await;
    let_go(release, held).await;
    for h in handles {
        assert!(
            h.await.unwrap().is_err(),
            "no job of a failed commit succeeds"
        );
    }
    let n = db
        .read(|conn| count(conn, "SELECT COUNT(*) AS n FROM gc_probe"))
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing of the failed batch is kept");
    // The writer carries on after a failed commit.
    db.write_grouped(|conn| insert(conn, "after", None))
        .await
        .unwrap();
}

async fn concurrent_writes_all_land_exactly_once(app: TestApp) {
    let db = app.state.db.clone();
    setup(&db).await;
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let db = db.clone();
            actix_web::rt::spawn(async move {
                db.write_grouped(move |conn| insert(conn, &format!("row-{i:03}"), None))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let (n, distinct) = db
        .read(|conn| {
            Ok((
                count(conn, "SELECT COUNT(*) AS n FROM gc_probe")?,
                count(conn, "SELECT COUNT(DISTINCT id) AS n FROM gc_probe")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((n, distinct), (300, 300));
}

/// Two requests with one Idempotency-Key that land in the same batch: the
/// second sees the first's key inside the shared transaction and replays it.
async fn idempotent_twins_in_one_batch_create_one_row(app: TestApp) {
    use crate::support::library::{IdempotencyKey, Idempotent};
    use actix_web::http::StatusCode;
    use actix_web::FromRequest;
    let db = app.state.db.clone();
    setup(&db).await;
    let (release, held) = hold_writers(&db, app.backend).await;
    let now = chrono::Utc::now().naive_utc();
    let jobs: Vec<_> = (0..5)
        .map(|i| {
            let db = db.clone();
            async move {
                let req = actix_web::test::TestRequest::post()
                    .uri("/probe")
                    .insert_header(("Idempotency-Key", "twin"))
                    .to_http_request();
                let key = IdempotencyKey::extract(&req).await.unwrap();
                let res = Idempotent::new(&db, now, "probe".into(), key, [7u8; 32])
                    .run(move |conn| {
                        insert(conn, &format!("row-{i}"), None)?;
                        Ok(serde_json::json!({ "made": i }))
                    })
                    .await
                    .unwrap();
                (
                    res.status(),
                    res.headers().contains_key("idempotent-replayed"),
                )
            }
        })
        .collect();
    let handles = queued(jobs).await;
    let_go(release, held).await;
    let mut fresh = 0;
    for h in handles {
        let (status, replayed) = h.await.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        fresh += usize::from(!replayed);
    }
    assert_eq!(fresh, 1, "one request created, the others replayed it");
    let n = db
        .read(|conn| count(conn, "SELECT COUNT(*) AS n FROM gc_probe"))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

fn probe_audit(conn: &mut AnyConnection, now: chrono::NaiveDateTime, id: &str) -> AppResult<()> {
    record_audit(
        conn,
        now,
        AuditEvent::system("probe.write", "gc_probe", Some(id)),
    )
}

fn head_seq(conn: &mut AnyConnection) -> AppResult<i64> {
    count(conn, "SELECT seq AS n FROM audit_head WHERE id = 1")
}

/// The probe rows the audit chain names, in chain order.
async fn audited(db: &Db) -> Vec<String> {
    db.read(|conn| {
        #[derive(QueryableByName)]
        struct Target {
            #[diesel(sql_type = Text)]
            target_id: String,
        }
        Ok(diesel::sql_query(
            "SELECT target_id FROM audit_events WHERE action = 'probe.write' ORDER BY seq",
        )
        .load::<Target>(conn)?
        .into_iter()
        .map(|r| r.target_id)
        .collect())
    })
    .await
    .unwrap()
}

async fn chain_verifies(app: &TestApp) {
    let admin = app.district_admin().await;
    let v = app
        .get("/api/v1/audit/verify", &admin.token)
        .await
        .expect(200);
    assert_eq!(v["ok"], true, "{v}");
}

/// A job's audit event waits for the end of its batch (the head is not
/// moved, so not locked, while jobs run), is linked in job order, and goes
/// with the job when the job fails.
async fn a_batch_links_the_audit_events_of_the_jobs_it_kept_in_their_order(app: TestApp) {
    let db = app.state.db.clone();
    setup(&db).await;
    let now = app.state.now_db();
    let (release, held) = hold_writers(&db, app.backend).await;
    let jobs: Vec<_> = (0..6)
        .map(|i| {
            let db = db.clone();
            async move {
                db.write_grouped(move |conn| {
                    let id = format!("row-{i}");
                    let before = head_seq(conn)?;
                    insert(conn, &id, None)?;
                    probe_audit(conn, now, &id)?;
                    let after = head_seq(conn)?;
                    if i % 3 == 1 {
                        return Err(ApiError::invalid("probe", "refused on purpose"));
                    }
                    Ok((before, after))
                })
                .await
            }
        })
        .collect();
    let handles = queued(jobs).await;
    let_go(release, held).await;
    for (i, h) in handles.into_iter().enumerate() {
        match h.await.unwrap() {
            Ok((before, after)) => assert_eq!(before, after, "job {i} moved the audit head"),
            Err(e) => {
                assert_eq!(i % 3, 1, "job {i}: {e:?}");
                assert_eq!(e.code, Code::InvalidField);
            }
        }
    }
    assert_eq!(audited(&db).await, ["row-0", "row-2", "row-3", "row-5"]);
    chain_verifies(&app).await;
}

/// Many audited writes at once, taken by every writer there is: each lands
/// once, none waits on another through the audit head (no deadlock, no
/// 503), and the chain they make verifies.
async fn concurrent_audited_writes_keep_one_chain(app: TestApp) {
    let db = app.state.db.clone();
    setup(&db).await;
    let now = app.state.now_db();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let db = db.clone();
            actix_web::rt::spawn(async move {
                db.write_grouped(move |conn| {
                    let id = format!("row-{i:03}");
                    insert(conn, &id, None)?;
                    probe_audit(conn, now, &id)
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let mut linked = audited(&db).await;
    linked.sort();
    let expected: Vec<String> = (0..300).map(|i| format!("row-{i:03}")).collect();
    assert_eq!(linked, expected);
    chain_verifies(&app).await;
}
