//! Large sealed files kept outside the database: one file per blob in a
//! directory, named by a random id. A blob is written durably (a temporary
//! file, fsync, rename, fsync of the directory) before the row that names
//! it commits; a crash between the two leaves an orphan file, which
//! `orphans` finds for a sweep. The database keeps each blob's size and
//! SHA-256, and a read checks the hash.
//!
//! With several instances (PostgreSQL) the directory must be shared storage
//! that every instance mounts, and backed up with the database.

use chrono::{DateTime, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A temporary file's name starts with this; an id never does.
const TEMP_PREFIX: &str = "tmp-";

#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

/// What the database keeps of a stored blob.
#[derive(Clone, Debug)]
pub struct StoredBlob {
    pub id: String,
    pub size: i64,
    pub sha256: String,
}

/// An id is 22 characters of base64url (128 random bits): nothing read from
/// the database can name a path outside the directory.
fn valid_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

impl BlobStore {
    /// The directory is made on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> BlobStore {
        BlobStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> std::io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(invalid("not a blob id"));
        }
        Ok(self.dir.join(id))
    }

    /// Writes `bytes` as a new blob and makes it durable. Blocking. `now`
    /// is the injected clock's: the file keeps only its hour.
    pub fn put(&self, bytes: &[u8], now: DateTime<Utc>) -> std::io::Result<StoredBlob> {
        std::fs::create_dir_all(&self.dir)?;
        let id = crate::crypto::b64u(&crate::crypto::random_bytes(16));
        let temp = self.dir.join(format!("{TEMP_PREFIX}{id}"));
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            f.write_all(bytes)?;
            // The file's time is only the hour it was written in: the exact
            // one would tell when a reporter sent it (issue 13 §1).
            f.set_modified(start_of_hour(now))?;
            f.sync_all()?;
            std::fs::rename(&temp, self.path(&id)?)?;
            sync_dir(&self.dir)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        Ok(StoredBlob {
            id,
            size: bytes.len() as i64,
            sha256: crate::crypto::sha256_hex(bytes),
        })
    }

    /// A blob's bytes, refused when they do not match their stored hash.
    pub fn get(&self, id: &str, sha256: &str) -> std::io::Result<Vec<u8>> {
        let bytes = std::fs::read(self.path(id)?)?;
        if !crate::crypto::constant_time_eq(
            crate::crypto::sha256_hex(&bytes).as_bytes(),
            sha256.as_bytes(),
        ) {
            return Err(invalid("a blob does not match its hash"));
        }
        Ok(bytes)
    }

    /// Removes a blob; one already gone is fine.
    pub fn remove(&self, id: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.path(id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Blob ids and leftover temporary files last written more than `age`
    /// ago: candidates for an orphan sweep, which removes those no row
    /// names. The age is the file system's (a row commits moments after its
    /// file is renamed), not a stored time.
    pub fn older_than(
        &self,
        age: Duration,
        now: DateTime<Utc>,
    ) -> std::io::Result<(Vec<String>, Vec<PathBuf>)> {
        let mut ids = Vec::new();
        let mut temps = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((ids, temps)),
            other => other?,
        };
        let cutoff = SystemTime::from(now)
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for entry in entries {
            let entry = entry?;
            let modified = entry.metadata()?.modified()?;
            if modified > cutoff {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            if valid_id(&name) {
                ids.push(name);
            } else if name.starts_with(TEMP_PREFIX) {
                temps.push(entry.path());
            }
        }
        Ok((ids, temps))
    }
}

/// The start of the hour `t` falls in.
fn start_of_hour(t: DateTime<Utc>) -> SystemTime {
    let secs = t.timestamp().max(0) as u64;
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs - secs % 3600)
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be
/// opened, as on Windows).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_reads_back_and_a_changed_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let now = DateTime::from_timestamp(1_800_001_234, 0).unwrap();
        let b = store.put(b"sealed bytes", now).unwrap();
        let modified = std::fs::metadata(store.dir().join(&b.id))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(modified, start_of_hour(now), "only the hour is kept");
        let (ids, _) = store.older_than(Duration::from_secs(1200), now).unwrap();
        assert_eq!(
            ids,
            vec![b.id.clone()],
            "by the given clock, not the wall's"
        );
        assert_eq!(b.size, 12);
        assert_eq!(store.get(&b.id, &b.sha256).unwrap(), b"sealed bytes");
        std::fs::write(store.dir().join(&b.id), b"other bytes!").unwrap();
        assert!(store.get(&b.id, &b.sha256).is_err());
        store.remove(&b.id).unwrap();
        store.remove(&b.id).unwrap();
        assert!(store.get("../../etc/passwd", &b.sha256).is_err());
        let (ids, temps) = store.older_than(Duration::ZERO, now).unwrap();
        assert!(ids.is_empty() && temps.is_empty());
    }
}
