//! Failed-login throttling: the rule (pure). Two counters per attempt, one
//! for the peer address and one for the account name as typed; each locks
//! for a time that doubles with every failure past a free allowance, up to
//! a cap. The counts live in the database (`store/throttle.rs`).
//!
//! The account lock is capped short (a minute) so an attacker elsewhere can
//! delay the real person but never lock them out for long; the address
//! lock grows to a quarter of an hour, which is what stops one source
//! guessing. Both forget a key an hour after its last failure.

/// What is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The peer address of the connection.
    Address(std::net::IpAddr),
    /// The username as typed (known or not).
    Account(String),
}

/// How one kind of key is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Failures allowed before the first lock.
    pub free: u32,
    /// Lock after the first failure past `free`, seconds; doubles after.
    pub first_lock_secs: u64,
    /// The longest lock, seconds.
    pub cap_secs: u64,
}

/// A key's failures are forgotten this long after its last one.
pub const FORGET_AFTER_MS: i64 = 3600 * 1000;

impl Key {
    /// The stored form: `ip:ADDRESS` or `account:NAME`.
    pub fn stored(&self) -> String {
        match self {
            Key::Address(ip) => format!("ip:{ip}"),
            // Case-folded so `Admin` and `admin` share one count.
            Key::Account(name) => format!("account:{}", name.trim().to_lowercase()),
        }
    }

    pub fn rule(&self) -> Rule {
        match self {
            Key::Address(_) => Rule {
                free: 10,
                first_lock_secs: 1,
                cap_secs: 15 * 60,
            },
            Key::Account(_) => Rule {
                free: 5,
                first_lock_secs: 1,
                cap_secs: 60,
            },
        }
    }
}

/// Seconds a key stays locked after its `failures`-th failure (0: none).
pub fn lock_secs(rule: Rule, failures: u32) -> u64 {
    if failures <= rule.free {
        return 0;
    }
    let doublings = (failures - rule.free - 1).min(32);
    rule.first_lock_secs
        .saturating_mul(1u64 << doublings)
        .min(rule.cap_secs)
}

/// Whole seconds from `now_ms` until `until_ms`, at least 1 when locked.
pub fn retry_after_secs(until_ms: i64, now_ms: i64) -> Option<u64> {
    (until_ms > now_ms).then(|| ((until_ms - now_ms + 999) / 1000).max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_after_the_allowance_and_stop_at_the_cap() {
        let account = Key::Account("Admin".into());
        let rule = account.rule();
        let locks: Vec<u64> = (1..=14).map(|n| lock_secs(rule, n)).collect();
        assert_eq!(locks, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(lock_secs(rule, u32::MAX), 60);
        let ip = Key::Address([127, 0, 0, 1].into()).rule();
        assert_eq!(lock_secs(ip, 10), 0);
        assert_eq!(lock_secs(ip, 11), 1);
        assert_eq!(lock_secs(ip, 40), 15 * 60);
    }

    #[test]
    fn account_names_share_a_count_across_case() {
        assert_eq!(
            Key::Account(" Admin".into()).stored(),
            Key::Account("admin".into()).stored()
        );
        assert_eq!(Key::Address([10, 0, 0, 2].into()).stored(), "ip:10.0.0.2");
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(1000, 1000), None);
        assert_eq!(retry_after_secs(1001, 1000), Some(1));
        assert_eq!(retry_after_secs(3500, 1000), Some(3));
    }
}
