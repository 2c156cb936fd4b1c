//! Credentials: argon2id password hashes and random bearer tokens (session
//! and reader tokens), of which only the SHA-256 is ever stored.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use std::sync::OnceLock;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::PasswordCost;
use crate::error::{AppError, AppResult};

/// Prefix of session tokens (login).
pub const SESSION_PREFIX: &str = "whs_";
/// Prefix of reader daemon tokens.
pub const READER_PREFIX: &str = "whr_";

fn argon2(cost: PasswordCost) -> AppResult<Argon2<'static>> {
    let params = match cost {
        // OWASP: argon2id, m=19 MiB, t=2, p=1.
        PasswordCost::Standard => Params::new(19 * 1024, 2, 1, None),
        // Only for the test suite; see config::PasswordCost.
        PasswordCost::InsecureFastForTests => Params::new(8, 1, 1, None),
    }
    .map_err(|e| AppError::internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// PHC string (parameters and salt included, so verification never needs
/// to know which cost was used).
pub fn hash_password(password: &str, cost: PasswordCost) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(cost)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("hashing password: {e}")))
}

/// Argon2 runs at most this many at once: one per core. Each run holds
/// its memory cost (19 MiB), so a flood of logins costs a bounded amount of
/// memory and leaves the blocking pool's other threads to SQLite.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs `work` (argon2) on the blocking pool once a hashing slot is free.
/// `before` runs after the slot is taken and may refuse: a queued login
/// re-checks its throttle there, so a flood drains without hashing.
pub async fn bounded_hashing<T: Send + 'static>(
    before: impl std::future::Future<Output = AppResult<()>>,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| AppError::internal(format!("hashing slots closed: {e}")))?;
    before.await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

/// [`hash_password`] under the hashing bound.
pub async fn hash_password_bounded(password: String, cost: PasswordCost) -> AppResult<String> {
    bounded_hashing(async { Ok(()) }, move || hash_password(&password, cost)).await?
}

/// A hash of nothing anyone knows, at `cost`: an unknown username is
/// verified against it so it takes as long as a known one.
pub fn dummy_hash(cost: PasswordCost) -> AppResult<&'static str> {
    static DUMMY: OnceLock<(PasswordCost, String)> = OnceLock::new();
    if let Some((c, h)) = DUMMY.get() {
        if *c == cost {
            return Ok(h);
        }
    }
    let fresh = hash_password(&new_token("dummy_"), cost)?;
    let (_, h) = DUMMY.get_or_init(|| (cost, fresh));
    Ok(h)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Minimum password rules, checked where passwords are set.
pub fn check_password_rules(password: &str) -> AppResult<()> {
    const MIN: usize = 8;
    if password.chars().count() < MIN {
        return Err(crate::error::Reason::PasswordTooShort { min: MIN }.into());
    }
    Ok(())
}

/// A fresh token: prefix + 64 hex chars (256 random bits).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", shared::hex::Hex(&bytes)).to_ascii_lowercase()
}

/// What is stored for a token: a random token needs no salt or slow hash.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() -> AppResult<()> {
        let phc = hash_password("correct horse", PasswordCost::InsecureFastForTests)?;
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_password_rules("short").is_err());
        Ok(())
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token(SESSION_PREFIX);
        let b = new_token(SESSION_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_PREFIX) && a.len() == 4 + 64);
        assert_eq!(token_hash(&a).len(), 32);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
