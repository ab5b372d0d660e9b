//! Password hashing (argon2id, OWASP parameters) on a bounded pool, and the
//! password policy.

use crate::error::{ApiError, AppResult, Code};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

fn argon2() -> Argon2<'static> {
    // OWASP: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_now(password: &str) -> AppResult<String> {
    let salt =
        SaltString::encode_b64(&crate::crypto::random_bytes(16)).map_err(ApiError::internal)?;
    Ok(argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(ApiError::internal)?
        .to_string())
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs argon2 on the blocking pool, at most `permits` at a time, so a login
/// storm queues here instead of starving every other request.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(hash_now("not a real password, for timing only").expect("hash")),
        }
    }

    pub async fn hash(&self, password: String) -> AppResult<String> {
        off_pool(&self.permits, move || hash_now(&password)).await?
    }

    /// Waits for a place to hash. A login takes it before its attempt is
    /// counted, so an attempt counts as a failure only while its hash is
    /// running: a queue of honest logins when the server is busy is not a
    /// password spray, and never trips the failure throttle.
    pub async fn turn(&self) -> AppResult<Turn> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        Ok(Turn {
            permit,
            dummy_hash: self.dummy_hash.clone(),
        })
    }
}

/// A place to hash, held until the verification it is spent on is done.
pub struct Turn {
    permit: OwnedSemaphorePermit,
    dummy_hash: Arc<String>,
}

impl Turn {
    /// Verifies against `hash`, or against a dummy hash when there is no user,
    /// so that an unknown username costs the same time as a wrong password.
    pub async fn verify(self, password: String, hash: Option<String>) -> AppResult<bool> {
        let real = hash.is_some();
        let dummy = self.dummy_hash;
        let ok = on_own_thread(self.permit, move || {
            verify_now(&password, hash.as_deref().unwrap_or(dummy.as_str()))
        })
        .await?;
        Ok(ok && real)
    }
}

/// Runs a hash on a thread of its own, not on the blocking pool: the
/// blocking pool is sized to the database pool (see `server::run`), and a
/// hash holding one of its threads would leave a request waiting for a
/// connection. A permit, held by the thread until the hash is done (even
/// when the client has gone), bounds how many such threads exist at once.
async fn off_pool<T: Send + 'static>(
    permits: &Arc<Semaphore>,
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    on_own_thread(permit, f).await
}

async fn on_own_thread<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let (done, answer) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("password-hash".into())
        .spawn(move || {
            let _ = done.send(f());
            drop(permit);
        })
        .map_err(ApiError::internal)?;
    answer.await.map_err(ApiError::internal)
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// A password that meets the policy: 10 to 128 characters, not a common
/// password, not the username.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(field: &str, password: String, username: &str) -> AppResult<NewPassword> {
        let weak = |detail: &str| {
            let mut e = ApiError::invalid(field, detail.to_string());
            e.code = Code::WeakPassword;
            e
        };
        let len = password.chars().count();
        if len < MIN_LEN {
            return Err(weak("the password must have at least 10 characters"));
        }
        if len > MAX_LEN {
            return Err(weak("the password must have at most 128 characters"));
        }
        let lower = password.to_lowercase();
        if common_passwords().contains(lower.as_str()) {
            return Err(weak("this password is too common; choose another"));
        }
        if !username.is_empty() && lower.contains(&username.to_lowercase()) {
            return Err(weak("the password must not contain the username"));
        }
        Ok(NewPassword(password))
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_short_common_and_username_passwords() {
        assert!(NewPassword::parse("p", "short".into(), "li").is_err());
        assert!(NewPassword::parse("p", "Password123".into(), "li").is_err());
        assert!(NewPassword::parse("p", "wang.teacher.2026".into(), "wang.teacher").is_err());
        assert!(NewPassword::parse("p", "plum-river-lantern-7".into(), "li").is_ok());
        assert!(common_passwords().len() > 1500);
    }

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let h = hash_now("plum-river-lantern-7").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_now("plum-river-lantern-7", &h));
        assert!(!verify_now("plum-river-lantern-8", &h));
    }
}
