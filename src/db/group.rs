//! Group commit: one writer thread takes every write that is waiting, runs
//! each in its own savepoint inside one shared transaction, commits once,
//! and only then answers them all. A durable commit (an fsync on SQLite with
//! `synchronous = FULL`, a WAL flush on PostgreSQL) is the expensive part of
//! a small write; sharing it lets the throughput of durable writes exceed the
//! disk's sync rate without weakening what an acknowledgement means.
//!
//! Semantics, per job:
//! - a job that fails rolls back to its savepoint: its writes vanish, the
//!   others in the batch are untouched, and it gets its own error;
//! - a job that succeeds is answered only after the commit; when the commit
//!   (or the transaction around the batch) fails, every job of the batch
//!   gets that error and nothing of the batch is kept;
//! - jobs run in arrival order, so a later job sees an earlier job's writes
//!   (exactly as if the earlier one had committed first): the audit chain and
//!   unique checks stay serial.

use super::{in_transaction, AnyConnection, Pool, WriteCount};
use crate::error::{ApiError, AppResult};
use diesel::connection::TransactionManager;
use diesel::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// The most jobs one commit carries. A batch forms from what waits while the
/// previous commit syncs, so under light load batches are of one.
pub const MAX_BATCH: usize = 128;

/// A queued write: run in a savepoint, then told the outcome of the commit
/// (`None` when it succeeded); or, when it never ran, just failed.
trait GroupJob: Send {
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Finish;
    fn fail(self: Box<Self>, error: &ApiError);
}
type Job = Box<dyn GroupJob>;
type Finish = Box<dyn FnOnce(Option<&ApiError>) + Send>;

struct Typed<T, F> {
    f: F,
    answer: oneshot::Sender<AppResult<T>>,
    span: tracing::Span,
}

impl<T, F> GroupJob for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Finish {
        let Typed { f, answer, span } = *self;
        let outcome = {
            let _entered = span.enter();
            savepoint(conn, f)
        };
        Box::new(move |commit_error| {
            let result = match (outcome, commit_error) {
                (Ok(value), None) => Ok(value),
                (Ok(_), Some(e)) => Err(e.clone()),
                // Its own failure explains it best; it was rolled back anyway.
                (Err(e), _) => Err(e),
            };
            let _ = answer.send(result);
        })
    }

    fn fail(self: Box<Self>, error: &ApiError) {
        let _ = self.answer.send(Err(error.clone()));
    }
}

/// The sending end of the writer thread's queue; the thread ends when the
/// last `Db` holding it is dropped.
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    pub(super) fn start(pool: Pool, writes: WriteCount) -> GroupWriter {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || writer(pool, queue, writes))
            .expect("start the group-commit thread");
        GroupWriter { jobs }
    }

    /// Queues `f`; resolves after the batch holding it has committed.
    pub(super) async fn submit<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let (answer, rx) = oneshot::channel::<AppResult<T>>();
        let job: Job = Box::new(Typed {
            f,
            answer,
            span: tracing::Span::current(),
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::unavailable("the group-commit writer has stopped"))?;
        rx.await
            .map_err(|_| ApiError::internal("the group-commit writer dropped a job"))?
    }
}

/// Runs `f` in a savepoint of the open transaction: released when `f`
/// succeeds, rolled back when it fails or panics.
pub fn savepoint<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> AppResult<T>,
) -> AppResult<T> {
    type Tm = <AnyConnection as Connection>::TransactionManager;
    Tm::begin_transaction(conn)?;
    let result = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(r) => r,
        Err(_) => Err(ApiError::internal("a grouped write panicked")),
    };
    match result {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Tm::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

fn writer(pool: Pool, queue: mpsc::Receiver<Job>, writes: WriteCount) {
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&pool, batch, &writes);
    }
}

fn run_batch(pool: &Pool, batch: Vec<Job>, writes: &WriteCount) {
    let mut conn = match pool.get() {
        Ok(c) => c,
        Err(e) => {
            let error = ApiError::from(e);
            for job in batch {
                job.fail(&error);
            }
            return;
        }
    };
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut pending = batch.into_iter();
    let committed = in_transaction(&mut conn, true, |conn| {
        for job in pending.by_ref() {
            finishes.push(job.run(conn));
            // A savepoint that could not be released or rolled back leaves
            // the transaction unusable: the whole batch fails.
            type Tm = <AnyConnection as Connection>::TransactionManager;
            if Tm::transaction_manager_status_mut(conn)
                .transaction_depth()
                .is_err()
            {
                return Err(ApiError::unavailable(
                    "a grouped write broke the transaction",
                ));
            }
        }
        Ok(())
    });
    // Counted before anyone hears of it (see `WriteCount`).
    writes.bump();
    let error = committed.err();
    for finish in finishes {
        finish(error.as_ref());
    }
    let error = error.unwrap_or_else(|| ApiError::unavailable("the batch was abandoned"));
    for job in pending {
        job.fail(&error);
    }
}
