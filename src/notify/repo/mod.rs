//! Every statement notify runs: the feed, notices and their receipts,
//! preferences, and the outbox (written by the sending core, drained by its
//! workers, looked after by admins).

pub mod feed;
pub mod notices;
pub mod outbox;
pub mod prefs;

use crate::db::AnyConnection;

/// Rows per INSERT statement when fanning out (well under both backends'
/// bind-parameter limits).
pub const INSERT_CHUNK: usize = 1000;

/// Writes `?` placeholders as `$1, $2, …` on PostgreSQL.
fn dialect(conn: &AnyConnection, sql: &str) -> String {
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
