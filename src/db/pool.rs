//! Connections: opening them for the configured backend, the pool, and
//! handing them out alive (a PostgreSQL connection is probed when it has
//! been idle or another was lost) and dropping the ones that lost the
//! server.

use super::{AnyConnection, Backend, DatabaseUrl};
use crate::error::{ApiError, AppResult, Code};
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Opens connections of the configured backend only: a PostgreSQL URL never
/// falls back to creating an SQLite file named after it.
pub struct Manager {
    pub(super) url: DatabaseUrl,
    /// How long SQLite waits for another writer's lock before "database is locked".
    pub(super) busy_timeout: Duration,
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";

/// How long a request waits for a connection, or for SQLite's write lock,
/// before it is answered 503.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a request waits on the database in all before it is
/// answered 503, even when the database took the query and went silent.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.url.target)
                    .map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; {SQLITE_PRAGMAS}",
                    self.busy_timeout.as_millis()
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(c))
            }
            Backend::Postgres => diesel::PgConnection::establish(&self.url.target)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    /// Not called on checkout (the pool's own test is off): `checkout`
    /// probes a PostgreSQL connection that has been idle. An SQLite
    /// connection is a file handle that a probe would not test anyway (a
    /// locked or unreadable file shows on the real statement).
    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        match conn {
            AnyConnection::Sqlite(_) => Ok(()),
            AnyConnection::Postgresql(c) => {
                c.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
            }
        }
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking()
            || <AnyConnection as Connection>::TransactionManager::is_broken_transaction_manager(
                conn,
            )
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type Pooled = r2d2::PooledConnection<Manager>;

/// A PostgreSQL connection idle for longer than this is probed (`SELECT 1`)
/// before it is handed out; one used more recently is handed out as it is
/// (HikariCP's "alive bypass window", 500 ms by default there too). Probing
/// every checkout cost a round trip on every request.
pub const PROBE_AFTER_IDLE: Duration = Duration::from_millis(500);

/// How many PostgreSQL connections were found lost. After a loss every
/// pooled connection is probed at its next checkout however recently it
/// was used: one lost connection (a server restart, a cut network) says
/// the others may be lost too.
#[derive(Clone, Default)]
pub struct Losses(Arc<AtomicU64>);

impl Losses {
    fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// When a pooled connection was last handed out, and the losses then.
struct LastCheckout(std::time::Instant, u64);

/// A connection from the pool. A PostgreSQL connection idle for longer than
/// `PROBE_AFTER_IDLE`, or handed out before the last loss, is probed
/// first; a dead one is dropped and the next tried.
pub fn checkout(pool: &Pool, losses: &Losses) -> AppResult<Pooled> {
    for _ in 0..=pool.max_size() {
        let mut conn = pool.get()?;
        let seen = losses.count();
        let trusted = r2d2::PooledConnection::extensions(&conn)
            .get::<LastCheckout>()
            .is_some_and(|t| t.1 == seen && t.0.elapsed() < PROBE_AFTER_IDLE);
        let alive = match &mut *conn {
            AnyConnection::Postgresql(c) if !trusted => c.batch_execute("SELECT 1").is_ok(),
            _ => true,
        };
        if alive {
            r2d2::PooledConnection::extensions_mut(&mut conn)
                .insert(LastCheckout(std::time::Instant::now(), seen));
            return Ok(conn);
        }
        lose(&mut conn, losses);
    }
    Err(ApiError::database_unavailable(
        "no connection to the database answers",
    ))
}

/// After a connection's work: one that lost the server (503
/// `database_unavailable` on PostgreSQL) is dropped when it goes back to
/// the pool, and the others are probed at their next checkout.
pub fn settle<T>(conn: &mut AnyConnection, result: &AppResult<T>, losses: &Losses) {
    let lost = matches!(result, Err(e) if e.code == Code::DatabaseUnavailable);
    if lost && matches!(conn, AnyConnection::Postgresql(_)) {
        lose(conn, losses);
    }
}

fn lose(conn: &mut AnyConnection, losses: &Losses) {
    losses.0.fetch_add(1, Ordering::SeqCst);
    drop_when_returned(conn);
}

/// Marks the connection broken, so that the pool drops it on return
/// (`Manager::has_broken`).
fn drop_when_returned(conn: &mut AnyConnection) {
    <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .set_in_error();
}
