//! Time as the warehouse keeps and shows it: UTC unix milliseconds in the
//! database, RFC 3339 in JSON, and Asia/Shanghai on screen and for due
//! dates. Asia/Shanghai is UTC+8 all year (no daylight saving since 1991),
//! so a fixed offset is exact; this is the one place that says so.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// Asia/Shanghai's offset from UTC, in seconds. SQL that buckets by local
/// day or month adds it to unix seconds.
pub const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;

/// Unix milliseconds → UTC time for the API.
pub fn ts(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The wall-clock time in Asia/Shanghai at `t`.
pub fn shanghai(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + TimeDelta::seconds(SHANGHAI_OFFSET_SECS)
}

/// Today's date in Asia/Shanghai as `YYYY-MM-DD`, which is how due dates
/// are meant.
pub fn shanghai_today() -> String {
    shanghai(Utc::now()).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_is_eight_hours_ahead_across_midnight() {
        // 2024-06-30 16:30 UTC is already 1 July 00:30 in Shanghai.
        let t = ts(1_719_765_000_000);
        assert_eq!(
            shanghai(t).format("%Y-%m-%d %H:%M").to_string(),
            "2024-07-01 00:30"
        );
        // No daylight saving: winter is +8 too.
        let w = ts(1_704_067_200_000); // 2024-01-01 00:00 UTC
        assert_eq!(shanghai(w).format("%H:%M").to_string(), "08:00");
    }
}
