//! Storage plumbing: one connection type over SQLite and PostgreSQL, a pool,
//! embedded migrations, and the single blocking hop every request uses.
//! Domains see `AnyConnection` and never which backend runs, except in a repo
//! function that must speak a dialect.

pub mod group;
mod pool;
pub mod schema;

pub use pool::{
    checkout, settle, Losses, Manager, Pool, Pooled, DEFAULT_REQUEST_TIMEOUT, DEFAULT_TIMEOUT,
    PROBE_AFTER_IDLE,
};

use crate::error::{ApiError, AppResult, Code};
use chrono::NaiveDateTime;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs a statement that the multi-backend cannot express (multi-row
/// INSERTs, dialect SQL) on the concrete connection; the expression is
/// written once and compiled for each backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $body,
            $crate::db::AnyConnection::Postgresql($c) => $body,
        }
    };
}

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Clone, Debug)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: a file path for SQLite, the URL for PostgreSQL.
    target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl {
                backend: Backend::Postgres,
                target: url.to_string(),
            })
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if path.is_empty() || path.contains("://") {
                return Err(format!(
                    "DATABASE_URL must be sqlite://PATH or postgres://…, not {url:?}"
                ));
            }
            Ok(DatabaseUrl {
                backend: Backend::Sqlite,
                target: path.to_string(),
            })
        }
    }
}

/// Group-commit writers (see `group`) on PostgreSQL unless set otherwise
/// (`SAFECAMPUS_DB_GROUP_WRITERS`): each overlaps its batch's statements
/// with the commit of the batch before. SQLite lets one transaction write
/// at a time, so it has one.
pub const POSTGRES_GROUP_WRITERS: usize = 3;

/// How many writes this process has finished, committed or not. Every write
/// path of `Db` counts itself after its transaction ends and before its
/// caller hears of it, so a cache of what the database held is still good
/// exactly while the count it was filled at is the current one (read the
/// count first, then the database). Writes made by another process or
/// node are not counted: see `sessions`.
#[derive(Clone, Default)]
pub struct WriteCount(Arc<AtomicU64>);

impl WriteCount {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A pooled connection handed out raw (probes, the CLI, benchmarks): what
/// it writes is counted when it goes back.
pub struct RawConnection {
    conn: Pooled,
    writes: WriteCount,
}

impl std::ops::Deref for RawConnection {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for RawConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for RawConnection {
    fn drop(&mut self) {
        self.writes.bump();
    }
}

#[derive(Clone)]
pub struct Db {
    pool: Pool,
    pub backend: Backend,
    request_timeout: Duration,
    group: Arc<group::GroupWriter>,
    pub writes: WriteCount,
    losses: Losses,
}

impl Db {
    /// Builds the pool without waiting for the database: the service starts
    /// (and says "not ready") while the database is away.
    pub fn open(url: &DatabaseUrl, max_size: u32) -> Db {
        Self::open_with_timeout(url, max_size, DEFAULT_TIMEOUT)
    }

    /// `timeout` bounds the wait for a pooled connection and, on SQLite, for
    /// the write lock: past it the request fails with 503 instead of queueing.
    pub fn open_with_timeout(url: &DatabaseUrl, max_size: u32, timeout: Duration) -> Db {
        Self::open_with_writers(url, max_size, timeout, POSTGRES_GROUP_WRITERS)
    }

    /// `open_with_timeout`, with `writers` group-commit writers on
    /// PostgreSQL (one on SQLite whatever is asked).
    pub fn open_with_writers(
        url: &DatabaseUrl,
        max_size: u32,
        timeout: Duration,
        writers: usize,
    ) -> Db {
        let writers = match url.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => writers,
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // Probed in `checkout` when idle, not on every checkout.
            .test_on_check_out(false)
            .build_unchecked(Manager {
                url: url.clone(),
                busy_timeout: timeout,
            });
        let writes = WriteCount::default();
        let losses = Losses::default();
        Db {
            group: Arc::new(group::GroupWriter::start(
                pool.clone(),
                writes.clone(),
                losses.clone(),
                writers,
            )),
            writes,
            losses,
            pool,
            backend: url.backend,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A request's whole wait on the database (connection, locks, queries):
    /// past it the request is answered 503 and its blocking thread is left
    /// to finish or fail on its own. A connection that stops answering
    /// (a partition, a frozen host) would otherwise hold the request forever.
    pub fn with_request_timeout(mut self, limit: Duration) -> Db {
        self.request_timeout = limit;
        self
    }

    /// Whether a write would go through now. On SQLite the write lock is
    /// taken and let go at once (reads go on while another process holds
    /// it, so `SELECT 1` would say ready when nothing can be saved); on
    /// PostgreSQL one round trip.
    pub async fn ready(&self) -> AppResult<()> {
        let (pool, losses) = (self.pool.clone(), self.losses.clone());
        self.bounded(move || {
            let mut conn = checkout(&pool, &losses)?;
            let result = match &mut *conn {
                AnyConnection::Sqlite(c) => c.batch_execute("BEGIN IMMEDIATE; ROLLBACK;"),
                AnyConnection::Postgresql(c) => c.batch_execute("SELECT 1"),
            }
            .map_err(ApiError::from);
            settle(&mut conn, &result, &losses);
            result
        })
        .await
    }

    pub fn conn(&self) -> AppResult<RawConnection> {
        Ok(RawConnection {
            conn: checkout(&self.pool, &self.losses)?,
            writes: self.writes.clone(),
        })
    }

    pub fn migrate(&self) -> Result<(), String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let result = match &mut *conn {
            AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
            AnyConnection::Postgresql(c) => {
                c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ())
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Runs `f` in a read transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        self.hop(false, f).await
    }

    /// Runs one statement outside any transaction on the blocking pool: for
    /// a single read that needs no snapshot across statements (the session
    /// check of every authenticated request), it saves BEGIN and COMMIT.
    pub async fn query<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let (pool, losses) = (self.pool.clone(), self.losses.clone());
        let span = tracing::Span::current();
        self.bounded(move || {
            let _entered = span.enter();
            let mut conn = checkout(&pool, &losses)?;
            let result = f(&mut conn);
            settle(&mut conn, &result, &losses);
            result
        })
        .await
    }

    /// Runs `f` in a write transaction on the blocking pool. On SQLite the
    /// transaction takes the write lock at its start (BEGIN IMMEDIATE), so two
    /// writers wait for each other instead of failing on a lock upgrade.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        self.hop(true, f).await
    }

    /// Like `write`, but committed together with the other grouped writes
    /// waiting at the same moment (see `group`): `f` runs in its own
    /// savepoint, so its failure undoes only its own writes, and the answer
    /// comes after the shared commit. For short, hot writes whose durability
    /// matters (report submission, handovers, idempotent creates); `f` runs
    /// on the one writer thread, so it must not wait on anything but the
    /// database.
    pub async fn write_grouped<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        match actix_web::rt::time::timeout(self.request_timeout, self.group.submit(f)).await {
            Ok(done) => done,
            Err(_) => Err(ApiError::database_unavailable(
                "no answer from the database before the request deadline",
            )),
        }
    }

    async fn hop<T, F>(&self, write: bool, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let (pool, losses) = (self.pool.clone(), self.losses.clone());
        let writes = write.then(|| self.writes.clone());
        let span = tracing::Span::current();
        self.bounded(move || {
            let _entered = span.enter();
            let mut conn = checkout(&pool, &losses)?;
            let result = in_transaction(&mut conn, write, f);
            settle(&mut conn, &result, &losses);
            if let Some(writes) = writes {
                writes.bump();
            }
            result
        })
        .await
    }

    /// Runs `f` on the blocking pool, answering 503 at the request deadline.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        match actix_web::rt::time::timeout(self.request_timeout, actix_web::web::block(f)).await {
            Ok(done) => done?,
            Err(_) => Err(ApiError::database_unavailable(
                "no answer from the database before the request deadline",
            )),
        }
    }

    /// The same as `read`, for code that already runs on a blocking thread
    /// (workers).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut conn = checkout(&self.pool, &self.losses)?;
        let result = in_transaction(&mut conn, false, f);
        settle(&mut conn, &result, &self.losses);
        result
    }

    /// The same as `write`, for code that already runs on a blocking thread
    /// (workers, the CLI).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut conn = checkout(&self.pool, &self.losses)?;
        let result = in_transaction(&mut conn, true, f);
        settle(&mut conn, &result, &self.losses);
        self.writes.bump();
        result
    }
}

pub fn in_transaction<T>(
    conn: &mut AnyConnection,
    write: bool,
    f: impl FnOnce(&mut AnyConnection) -> AppResult<T>,
) -> AppResult<T> {
    match conn {
        AnyConnection::Sqlite(c) if write => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction(c)?,
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    type Tm = <AnyConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = Tm::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            Tm::rollback_transaction(conn).map_err(ApiError::from)?;
            Err(e)
        }
    }
}

/// True when a diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Application-made ids: UUIDv7 whose time part is `at`, the injected
/// clock's now (never the machine's clock, which a test clock or a clock set
/// by an operator would contradict). Within one millisecond a counter that
/// only grows orders the ids a process makes (RFC 9562, 6.2 method 1), so ids
/// sort in the order they were made; the last 32 bits are random.
pub fn new_id(at: NaiveDateTime) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    const COUNTER_BITS: u32 = 42;
    static COUNTER: OnceLock<AtomicU64> = OnceLock::new();
    let counter = COUNTER.get_or_init(|| {
        // Start anywhere in the lower half, so it never wraps in practice.
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&crate::crypto::random_bytes(8));
        AtomicU64::new(u64::from_le_bytes(seed) >> (64 - COUNTER_BITS + 1))
    });
    let count = u128::from(counter.fetch_add(1, Ordering::Relaxed) & ((1 << COUNTER_BITS) - 1));
    let millis = at.and_utc().timestamp_millis().clamp(0, (1 << 48) - 1) as u128;
    let mut tail = [0u8; 4];
    tail.copy_from_slice(&crate::crypto::random_bytes(4));
    let bits = millis << 80
        | 0x7 << 76 // version 7
        | (count >> 30) << 64 // the counter's top 12 bits: rand_a
        | 0b10 << 62 // the RFC 4122 variant
        | (count & ((1 << 30) - 1)) << 32
        | u128::from(u32::from_be_bytes(tail));
    uuid::Uuid::from_u128(bits).to_string()
}

/// Maps a unique-constraint violation to a 409 with a stable code naming the
/// field; other errors pass through.
pub fn conflict_on_unique(
    code: Code,
    field: &'static str,
    detail: &'static str,
) -> impl FnOnce(diesel::result::Error) -> ApiError {
    move |e| {
        if is_unique_violation(&e) {
            ApiError::conflict(code, detail).with_field(field)
        } else {
            e.into()
        }
    }
}

/// Rows per INSERT statement when fanning out (well under both backends'
/// bind-parameter limits).
pub const INSERT_CHUNK: usize = 1000;

/// Writes `?` placeholders as `$1, $2, …` on PostgreSQL.
pub fn dialect(conn: &AnyConnection, sql: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => sql.to_string(),
        AnyConnection::Postgresql(_) => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_id;
    use chrono::{NaiveDate, NaiveDateTime};

    fn at(year: i32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(year, 3, 1)
            .unwrap()
            .and_hms_milli_opt(8, 30, 0, 123)
            .unwrap()
    }

    #[test]
    fn an_id_carries_the_given_time_whatever_the_machine_date() {
        for year in [2020, 2035] {
            let id = uuid::Uuid::parse_str(&new_id(at(year))).unwrap();
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!(secs as i64, at(year).and_utc().timestamp());
            assert_eq!(nanos / 1_000_000, 123);
        }
    }

    #[test]
    fn ids_of_one_instant_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..1000).map(|_| new_id(at(2035))).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        // A later instant sorts after, an earlier one before.
        assert!(new_id(at(2036)) > ids[999]);
        assert!(new_id(at(2020)) < ids[0]);
    }
}
