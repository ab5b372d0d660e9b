//! Database probes: what a test reads behind the API's back, to check what
//! was (or was not) written.

use super::library::{self, Backend, Clock, Presence};
use super::TestApp;
use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use std::collections::{BTreeMap, BTreeSet};

/// One row: its table and every column as text (`None` for NULL).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub table: String,
    pub fields: BTreeMap<String, Option<String>>,
}

impl TestApp {
    /// Every row of every table.
    pub async fn dump(&self) -> BTreeSet<Row> {
        let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (t, c) in self.columns().await {
            by_table.entry(t).or_default().push(c);
        }
        assert!(by_table.contains_key("tip_reports") && by_table.contains_key("audit_events"));
        let mut rows = BTreeSet::new();
        for (table, cols) in by_table {
            // Each column as text, NULL marked, joined by a separator no value holds.
            let cells = cols
                .iter()
                .map(|c| format!("COALESCE('=' || CAST(\"{c}\" AS TEXT), '0')"))
                .collect::<Vec<_>>()
                .join(" || CHR_SEP || ");
            let sql =
                format!("SELECT {cells} AS s FROM \"{table}\"").replace("CHR_SEP", "'\u{1f}'");
            for line in self.strings(sql).await {
                let fields = cols
                    .iter()
                    .zip(line.split('\u{1f}'))
                    .map(|(c, v)| (c.clone(), v.strip_prefix('=').map(str::to_string)))
                    .collect();
                rows.insert(Row {
                    table: table.clone(),
                    fields,
                });
            }
        }
        rows
    }

    /// The number of rows in a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.query_i64(format!("SELECT COUNT(*) AS n FROM {table}"))
            .await
    }

    /// One BigInt column named `n` of one row.
    pub async fn query_i64(&self, sql: String) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let (db, sql) = (self.state.db.clone(), sql);
        web::block(move || {
            let mut conn = db.conn().unwrap();
            diesel::sql_query(sql)
                .get_result::<N>(&mut *conn)
                .unwrap()
                .n
        })
        .await
        .unwrap()
    }

    /// One Text column named `s`, every row.
    pub async fn strings(&self, sql: String) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct S {
            #[diesel(sql_type = diesel::sql_types::Text)]
            s: String,
        }
        let (db, sql) = (self.state.db.clone(), sql);
        web::block(move || {
            let mut conn = db.conn().unwrap();
            diesel::sql_query(sql)
                .load::<S>(&mut *conn)
                .unwrap()
                .into_iter()
                .map(|r| r.s)
                .collect()
        })
        .await
        .unwrap()
    }

    /// Locks `table` against every write, in a transaction of its own on
    /// another connection, until the returned guard is dropped: writers that
    /// reach it stop there (PostgreSQL; SQLite has one writer anyway).
    pub async fn lock_table(&self, table: &str) -> TableLock {
        if self.backend == Backend::Sqlite {
            return TableLock(None);
        }
        let (db, sql) = (
            self.state.db.clone(),
            format!("BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE;"),
        );
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut conn = db.conn().unwrap();
            conn.batch_execute(&sql).unwrap();
            let _ = locked.send(());
            // Dropping the guard drops the sender.
            let _ = wait.recv();
            conn.batch_execute("ROLLBACK").unwrap();
        });
        is_locked.await.unwrap();
        TableLock(Some(release))
    }

    pub async fn execute(&self, sql: String) {
        let (db, sql) = (self.state.db.clone(), sql);
        web::block(move || {
            let mut conn = db.conn().unwrap();
            conn.batch_execute(&sql).unwrap();
        })
        .await
        .unwrap()
    }

    /// Notifications of one template to one user.
    pub async fn notes(&self, user_id: &str, template: &str) -> i64 {
        self.query_i64(format!(
            "SELECT COUNT(*) AS n FROM notifications WHERE user_id = '{user_id}' AND template = '{template}'"
        ))
        .await
    }

    /// Audit events of one action.
    pub async fn audits(&self, action: &str) -> i64 {
        self.query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}'"
        ))
        .await
    }

    /// Audit events whose action is LIKE a pattern.
    pub async fn audits_like(&self, pattern: &str) -> i64 {
        self.query_i64(format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE '{pattern}'"
        ))
        .await
    }

    /// Where a pupil is now, by the service's clock.
    pub async fn presence(&self, student: &str) -> Presence {
        let (state, student, at) = (self.state.clone(), student.to_string(), self.clock.now());
        web::block(move || {
            let mut conn = state.db.conn().unwrap();
            library::presence(&mut conn, &student, at)
        })
        .await
        .unwrap()
        .unwrap()
    }

    /// Table and column names of the test database.
    pub async fn columns(&self) -> Vec<(String, String)> {
        #[derive(diesel::QueryableByName)]
        struct Column {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            c: String,
        }
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
                 FROM information_schema.columns WHERE table_schema = current_schema()"
            }
        };
        let db = self.state.db.clone();
        web::block(move || {
            let mut conn = db.conn().unwrap();
            diesel::sql_query(sql)
                .load::<Column>(&mut *conn)
                .unwrap()
                .into_iter()
                .map(|c| (c.t, c.c))
                .collect()
        })
        .await
        .unwrap()
    }

    /// The tables with a row whose any column, as text, contains `needle`
    /// (any case).
    pub async fn tables_containing(&self, needle: &str) -> Vec<String> {
        let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (t, c) in self.columns().await {
            by_table.entry(t).or_default().push(c);
        }
        assert!(by_table.contains_key("tip_reports") && by_table.len() > 15);
        let mut hits = Vec::new();
        let needle = needle.to_lowercase().replace('\'', "''");
        for (t, cols) in by_table {
            let cond = cols
                .iter()
                .map(|c| format!("LOWER(CAST(\"{c}\" AS TEXT)) LIKE '%{needle}%'"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let n = self
                .query_i64(format!("SELECT COUNT(*) AS n FROM \"{t}\" WHERE {cond}"))
                .await;
            if n > 0 {
                hits.push(t);
            }
        }
        hits
    }
}

/// A table lock held by `TestApp::lock_table`, given up when dropped.
pub struct TableLock(#[allow(dead_code)] Option<std::sync::mpsc::Sender<()>>);
