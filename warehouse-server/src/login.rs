//! The one login path, shared by the JSON API and the login page:
//! throttle check, bounded password verification (a dummy hash for unknown
//! names, so timing tells nothing), failure counting with lockouts in the
//! log and the audit trail, then a session. The throttle rule is
//! [`crate::throttle`].

use std::net::IpAddr;

use crate::accounts::{bounded_hashing, dummy_hash, verify_password};
use crate::config::Config;
use crate::error::{AppError, AppResult, Reason};
use crate::store::{AuthenticatedSession, Store};
use crate::throttle::{retry_after_secs, Key};
use crate::time::now_ms;

/// Someone asking to log in, from `peer`.
#[derive(Debug)]
pub struct Attempt {
    pub username: String,
    pub password: String,
    pub peer: IpAddr,
}

/// Refuses with 429 while the address or the account is locked.
async fn refuse_if_locked(store: &Store, keys: &[Key]) -> AppResult<()> {
    let now = now_ms();
    match store.login_locked_until(keys.to_vec(), now).await? {
        Some(until) => Err(Reason::LoginThrottled {
            retry_after_secs: retry_after_secs(until, now).unwrap_or(1),
        }
        .into()),
        None => Ok(()),
    }
}

/// Logs in: a new session, or `WrongLogin` (401) / `LoginThrottled` (429).
/// Wrong password, unknown name and deactivated account are one answer.
pub async fn log_in(store: &Store, config: &Config, a: Attempt) -> AppResult<AuthenticatedSession> {
    let keys = vec![Key::Address(a.peer), Key::Account(a.username.clone())];
    refuse_if_locked(store, &keys).await?;
    let found = store.user_for_login(a.username.clone()).await?;
    let hash = match &found {
        Some((_, hash)) => hash.clone(),
        None => dummy_hash(config.password_cost)?.to_owned(),
    };
    let password = a.password;
    // Queued behind a flood, re-check: a lock may have started meanwhile.
    let verified = bounded_hashing(refuse_if_locked(store, &keys), move || {
        verify_password(&password, &hash)
    })
    .await?;
    match found {
        Some((user, _)) if verified && user.active => {
            store.clear_login_failures(keys[1].clone()).await?;
            store.create_session(user, config.session_ttl_secs).await
        }
        _ => {
            for lock in store.record_login_failure(keys, now_ms()).await? {
                tracing::warn!(
                    key = %lock.key,
                    failures = lock.failures,
                    locked_for_secs = (lock.locked_until - now_ms()) / 1000,
                    "login locked after repeated failures"
                );
            }
            Err(AppError::from(Reason::WrongLogin))
        }
    }
}

/// Changes a person's own password: the old one must verify; every other
/// session of theirs ends (`keep_token` is the one they are using).
pub async fn change_own_password(
    store: &Store,
    config: &Config,
    username: String,
    old_password: String,
    new_password: String,
    keep_token: Option<String>,
) -> AppResult<()> {
    crate::accounts::check_password_rules(&new_password)?;
    let Some((user, hash)) = store.user_for_login(username).await? else {
        return Err(Reason::NotLoggedIn.into());
    };
    let verified = bounded_hashing(async { Ok(()) }, move || {
        verify_password(&old_password, &hash)
    })
    .await?;
    if !verified {
        return Err(Reason::WrongOldPassword.into());
    }
    let hash = crate::accounts::hash_password_bounded(new_password, config.password_cost).await?;
    store.set_password(user.id, hash, keep_token).await
}

/// An administrator sets someone's password; all their sessions end.
pub async fn reset_password(
    store: &Store,
    config: &Config,
    user_id: i64,
    new_password: String,
) -> AppResult<()> {
    crate::accounts::check_password_rules(&new_password)?;
    let hash = crate::accounts::hash_password_bounded(new_password, config.password_cost).await?;
    store.set_password(user_id, hash, None).await
}
