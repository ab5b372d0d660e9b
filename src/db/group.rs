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
//! - jobs of a batch run in arrival order, so a later job sees an earlier
//!   job's writes (exactly as if the earlier one had committed first). With
//!   several writers (PostgreSQL), two batches run side by side as any two
//!   transactions do: a unique insert waits for the other batch's commit
//!   and then fails as a conflict, as it would between two `Db::write`s;
//! - what a job leaves to the end of the batch (`last_in_batch`: the audit
//!   chain's appends) runs after every job, in their order, just before the
//!   commit. The audit head, a lock every write needs, is then held only
//!   while the batch links its events and commits, and never while the
//!   batch waits for another row: a batch that holds the head waits for
//!   nobody, so two transactions never wait on each other through it.

use super::{in_transaction, AnyConnection, Losses, Pool, WriteCount};
use crate::error::{ApiError, AppResult};
use diesel::connection::TransactionManager;
use diesel::Connection;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

/// The most jobs one commit carries. A batch forms from what waits while the
/// previous commit syncs, so under light load batches are of one.
pub const MAX_BATCH: usize = 128;

/// Work a job left to the end of its batch.
type Tail = Box<dyn FnOnce(&mut AnyConnection) -> AppResult<()>>;

thread_local! {
    /// While a job of a batch runs on this thread: the work it left to the
    /// end of the batch, in order.
    static JOB_TAIL: RefCell<Option<Vec<Tail>>> = const { RefCell::new(None) };
}

/// Runs `work` at the end of the batch, after every job and just before the
/// commit, when called from a grouped write (it is dropped with the job
/// when the job fails); runs it now otherwise. For statements on a row
/// every write touches (the audit head), so that it is locked last.
/// What `work` writes is not visible to later jobs of the same batch.
pub fn last_in_batch(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> AppResult<()> + 'static,
) -> AppResult<()> {
    let mut work = Some(Box::new(work) as Tail);
    JOB_TAIL.with(|tail| {
        if let Some(tail) = tail.borrow_mut().as_mut() {
            tail.extend(work.take());
        }
    });
    match work {
        Some(now) => now(conn),
        None => Ok(()),
    }
}

/// Whether this thread is running a job of a batch: its `last_in_batch`
/// work has not been written yet.
pub fn in_batch() -> bool {
    JOB_TAIL.with(|tail| tail.borrow().is_some())
}

/// A queued write: run in a savepoint, then told the outcome of the commit
/// (`None` when it succeeded); or, when it never ran, just failed.
trait GroupJob: Send {
    /// Runs the job; with the work it left to the end of the batch when it
    /// succeeded.
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> (Finish, Vec<Tail>);
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
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> (Finish, Vec<Tail>) {
        let Typed { f, answer, span } = *self;
        JOB_TAIL.with(|tail| *tail.borrow_mut() = Some(Vec::new()));
        let outcome = {
            let _entered = span.enter();
            savepoint(conn, f)
        };
        let tail = JOB_TAIL.with(|tail| tail.borrow_mut().take().unwrap_or_default());
        let tail = if outcome.is_ok() { tail } else { Vec::new() };
        let finish: Finish = Box::new(move |commit_error| {
            let result = match (outcome, commit_error) {
                (Ok(value), None) => Ok(value),
                (Ok(_), Some(e)) => Err(e.clone()),
                // Its own failure explains it best; it was rolled back anyway.
                (Err(e), _) => Err(e),
            };
            let _ = answer.send(result);
        });
        (finish, tail)
    }

    fn fail(self: Box<Self>, error: &ApiError) {
        let _ = self.answer.send(Err(error.clone()));
    }
}

/// The sending end of the writer threads' queue; the threads end when the
/// last `Db` holding it is dropped.
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    /// `writers` threads take batches from one queue, each in its own
    /// transaction. On SQLite one is all the write lock lets run; on
    /// PostgreSQL the next batch runs its jobs while the one before commits
    /// (and locks the audit head only at its end: see the module's notes).
    pub(super) fn start(
        pool: Pool,
        writes: WriteCount,
        losses: Losses,
        writers: usize,
    ) -> GroupWriter {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..writers.max(1) {
            let (pool, queue) = (pool.clone(), queue.clone());
            let (writes, losses) = (writes.clone(), losses.clone());
            std::thread::Builder::new()
                .name(format!("group-commit-{n}"))
                .spawn(move || writer(pool, queue, writes, losses))
                .expect("start a group-commit thread");
        }
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

fn writer(pool: Pool, queue: Arc<Mutex<mpsc::Receiver<Job>>>, writes: WriteCount, losses: Losses) {
    loop {
        // One writer gathers a batch at a time; the others wait for the
        // queue, not for the database.
        let batch = {
            let queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            let Ok(first) = queue.recv() else { return };
            let mut batch = Vec::with_capacity(MAX_BATCH);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        run_batch(&pool, batch, &writes, &losses);
    }
}

fn run_batch(pool: &Pool, batch: Vec<Job>, writes: &WriteCount, losses: &Losses) {
    let mut conn = match super::checkout(pool, losses) {
        Ok(c) => c,
        Err(error) => {
            for job in batch {
                job.fail(&error);
            }
            return;
        }
    };
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut pending = batch.into_iter();
    let committed = in_transaction(&mut conn, true, |conn| {
        let mut tails: Vec<Tail> = Vec::new();
        for job in pending.by_ref() {
            let (finish, tail) = job.run(conn);
            finishes.push(finish);
            tails.extend(tail);
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
        // A failure here fails the batch: every job's events or none.
        for work in tails {
            catch_unwind(AssertUnwindSafe(|| work(conn)))
                .unwrap_or_else(|_| Err(ApiError::internal("a batch's last work panicked")))?;
        }
        Ok(())
    });
    super::settle(&mut conn, &committed, losses);
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
