//! Group commit (`Db::write_grouped`): jobs that share one transaction each
//! keep or lose only their own writes, a failed commit fails them all, and
//! concurrent writes all land exactly once.

use crate::support::library::{AnyConnection, ApiError, AppResult, Backend, Code, Db};
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

/// Holds the writer thread in a job of its own until `release` is sent, so
/// that everything queued meanwhile forms the next batch.
async fn hold_writer(db: &Db) -> (mpsc::Sender<()>, actix_web::rt::task::JoinHandle<()>) {
    let (release, wait) = mpsc::channel::<()>();
    let (started, is_started) = tokio::sync::oneshot::channel::<()>();
    let db = db.clone();
    let held = actix_web::rt::spawn(async move {
        db.write_grouped(move |_| {
            let _ = started.send(());
            wait.recv_timeout(Duration::from_secs(30)).ok();
            Ok(())
        })
        .await
        .unwrap();
    });
    is_started.await.unwrap();
    (release, held)
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
    let (release, held) = hold_writer(&db).await;
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
    release.send(()).unwrap();
    held.await.unwrap();
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
    let (release, held) = hold_writer(&db).await;
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
    release.send(()).unwrap();
    held.await.unwrap();
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
    let (release, held) = hold_writer(&db).await;
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
    release.send(()).unwrap();
    held.await.unwrap();
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
