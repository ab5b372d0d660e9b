//! Session liveness answered from memory (issue 19): the session check every
//! authenticated request makes (`auth::extract`), kept per session and
//! trusted only while no write has finished since it was read. Shared
//! beside `state`, which holds it; it imports nothing of `auth`.
//!
//! Why that is safe: every write path of `Db` counts itself (`WriteCount`)
//! after its transaction ends and before its caller hears of it. An entry is
//! filled with the count read *before* the database was read, and used only
//! while the count is still that. So logging out, a password change,
//! disabling an account, "end all sessions", a role or school change, a
//! vetting decision or any other write acts on the very next request, with
//! no list of which writes matter to keep up to date. What depends on time
//! (a vetting clearance running out) is checked against the clock on every
//! hit; the token's own expiry is checked before the cache is asked.
//!
//! Under a steady stream of writes the cache simply misses and the request
//! reads the database, as it did before. Reads alone (the feed at 64
//! connections) make no database round trip for the session at all.
//!
//! Several nodes: a write made by another process or node is not counted
//! here, so a revocation there would not be seen on this node until this
//! node writes something. Run one node per database with the cache on (the
//! default), or set `SAFECAMPUS_SESSION_CACHE=off` when several nodes share
//! a database: every request then reads its session from the database.

use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::sync::RwLock;

/// The user and session of a token as every request checks them:
/// (user, role, district, school, language, session, password change
/// required). `auth` reads it; this module, shared, imports no domain.
pub type SessionRow = (String, String, String, Option<String>, String, String, bool);

/// Sessions remembered at most; past it the cache starts again empty.
const CAPACITY: usize = 65_536;

/// What a live session's check found, as of write count `writes`.
#[derive(Clone)]
pub struct Checked {
    pub row: SessionRow,
    /// Whether the role needs vetting, and until when the account's
    /// vetting lets it reach pupils.
    pub vetted_role: bool,
    pub access_until: Option<NaiveDateTime>,
}

impl Checked {
    /// Whether the account may reach pupils at `now` (always, for a role
    /// that needs no vetting).
    pub fn cleared(&self, now: NaiveDateTime) -> bool {
        !self.vetted_role || self.access_until.is_some_and(|until| until > now)
    }
}

struct Entry {
    writes: u64,
    user_id: String,
    checked: Checked,
}

pub struct SessionCache {
    enabled: bool,
    entries: RwLock<HashMap<String, Entry>>,
}

impl SessionCache {
    pub fn new(enabled: bool) -> SessionCache {
        SessionCache {
            enabled,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The session's check, if it was made at write count `writes_now`.
    pub fn get(&self, user_id: &str, session_id: &str, writes_now: u64) -> Option<Checked> {
        if !self.enabled {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(session_id)?;
        (e.writes == writes_now && e.user_id == user_id).then(|| e.checked.clone())
    }

    /// Remembers a live session's check made at write count `writes`
    /// (read before the database was).
    pub fn put(&self, user_id: &str, session_id: &str, writes: u64, checked: Checked) {
        if !self.enabled {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(
            session_id.to_string(),
            Entry {
                writes,
                user_id: user_id.to_string(),
                checked,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(vetted_role: bool, until: Option<NaiveDateTime>) -> Checked {
        Checked {
            row: (
                "u".into(),
                "teacher".into(),
                "d".into(),
                None,
                "en".into(),
                "s".into(),
                false,
            ),
            vetted_role,
            access_until: until,
        }
    }

    #[test]
    fn an_entry_stands_only_at_the_write_count_it_was_read_at() {
        let cache = SessionCache::new(true);
        cache.put("u", "s", 7, checked(false, None));
        assert!(cache.get("u", "s", 7).is_some());
        assert!(
            cache.get("u", "s", 8).is_none(),
            "a write since: read again"
        );
        assert!(cache.get("v", "s", 7).is_none(), "another user's token");
        assert!(cache.get("u", "t", 7).is_none());
        let off = SessionCache::new(false);
        off.put("u", "s", 7, checked(false, None));
        assert!(off.get("u", "s", 7).is_none());
    }

    #[test]
    fn clearance_runs_out_with_the_clock_not_the_cache() {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let c = checked(true, Some(t));
        assert!(c.cleared(t - chrono::Duration::seconds(1)));
        assert!(!c.cleared(t));
        assert!(!checked(true, None).cleared(t));
        assert!(checked(false, None).cleared(t));
    }
}
