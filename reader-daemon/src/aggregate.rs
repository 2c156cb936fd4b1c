//! Event cycles (GS1 ALE style): raw reads, hundreds a second and mostly
//! repeats, become one observation per tag and antenna per cycle.
//!
//! Pure: no IO and no clock of its own — every call is given the time, so
//! tests drive it with a fake clock. A cycle ends when it has lasted
//! `cycle`, or when no tag new to the cycle has appeared for `stable_set`.
//! Stock-take and desk readers report CURRENT (every tag seen in the
//! cycle, [`ObservationKind::Seen`]); gates report ADDITIONS/DELETIONS
//! against the previous cycle ([`ObservationKind::Added`] /
//! [`ObservationKind::Removed`]).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::sync::{Observation, ObservationKind};
use shared::tag::EpcBytes;

use crate::config::{AggregationConfig, Role};

/// One tag report off the wire, stamped when the daemon decoded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRead {
    pub epc: EpcBytes,
    /// 1-based antenna port.
    pub antenna: u8,
    /// dBm, if the reader reports it.
    pub rssi_dbm: Option<i16>,
    pub at: DateTime<Utc>,
}

/// What a reader's cycles report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportMode {
    /// Every tag seen in the cycle (stock-takes, desks).
    Current,
    /// Tags that appeared since / vanished since the previous cycle (gates).
    Delta,
}

impl From<Role> for ReportMode {
    fn from(role: Role) -> Self {
        match role {
            Role::Gate => ReportMode::Delta,
            Role::Desk | Role::Handheld => ReportMode::Current,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sighting {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u32,
    peak: Option<i16>,
}

type Key = (u8, EpcBytes);

/// One reader's event cycles.
#[derive(Debug)]
pub struct Aggregator {
    reader: String,
    mode: ReportMode,
    cycle: chrono::Duration,
    stable_set: chrono::Duration,
    started: DateTime<Utc>,
    last_new: DateTime<Utc>,
    current: BTreeMap<Key, Sighting>,
    /// The previous cycle's set (Delta mode only).
    previous: BTreeMap<Key, Sighting>,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Aggregator {
    /// Starts the first cycle at `now`.
    pub fn new(
        reader: impl Into<String>,
        mode: ReportMode,
        timing: AggregationConfig,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            reader: reader.into(),
            mode,
            cycle: chrono_duration(timing.cycle()),
            stable_set: chrono_duration(timing.stable_set()),
            started: now,
            last_new: now,
            current: BTreeMap::new(),
            previous: BTreeMap::new(),
        }
    }

    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Folds one raw read into the running cycle.
    pub fn read(&mut self, read: RawRead) {
        let key = (read.antenna, read.epc);
        match self.current.get_mut(&key) {
            Some(s) => {
                s.first = s.first.min(read.at);
                s.last = s.last.max(read.at);
                s.count = s.count.saturating_add(1);
                s.peak = match (s.peak, read.rssi_dbm) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                self.current.insert(
                    key,
                    Sighting {
                        first: read.at,
                        last: read.at,
                        count: 1,
                        peak: read.rssi_dbm,
                    },
                );
                self.last_new = self.last_new.max(read.at);
            }
        }
    }

    /// When the running cycle ends if no new tag appears before then.
    pub fn deadline(&self) -> DateTime<Utc> {
        (self.started + self.cycle).min(self.last_new + self.stable_set)
    }

    /// Ends the cycle if its time has come, returning its observations
    /// (possibly none); `None` while the cycle is still running.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Option<Vec<Observation>> {
        if now < self.deadline() {
            return None;
        }
        Some(self.end_cycle(now))
    }

    /// Ends the cycle now whatever its age (shutdown); in Delta mode the
    /// tags still present are not reported as removed.
    pub fn flush(&mut self, now: DateTime<Utc>) -> Vec<Observation> {
        match self.mode {
            ReportMode::Current => self.end_cycle(now),
            ReportMode::Delta => {
                let added = self.deltas();
                self.restart(now);
                added.0
            }
        }
    }

    fn restart(&mut self, now: DateTime<Utc>) {
        self.started = now;
        self.last_new = now;
    }

    /// (added, removed) against the previous cycle.
    fn deltas(&self) -> (Vec<Observation>, Vec<Observation>) {
        let added = self
            .current
            .iter()
            .filter(|(k, _)| !self.previous.contains_key(k))
            .map(|(k, s)| self.observation(k, s, ObservationKind::Added))
            .collect();
        let removed = self
            .previous
            .iter()
            .filter(|(k, _)| !self.current.contains_key(k))
            .map(|(k, s)| self.observation(k, s, ObservationKind::Removed))
            .collect();
        (added, removed)
    }

    fn end_cycle(&mut self, now: DateTime<Utc>) -> Vec<Observation> {
        let out = match self.mode {
            ReportMode::Current => {
                let out = self
                    .current
                    .iter()
                    .map(|(k, s)| self.observation(k, s, ObservationKind::Seen))
                    .collect();
                self.current.clear();
                out
            }
            ReportMode::Delta => {
                let (mut added, removed) = self.deltas();
                added.extend(removed);
                self.previous = std::mem::take(&mut self.current);
                added
            }
        };
        self.restart(now);
        out
    }

    /// A removed tag is reported with its sightings from the last cycle it
    /// was seen in.
    fn observation(&self, key: &Key, s: &Sighting, kind: ObservationKind) -> Observation {
        Observation {
            epc: key.1,
            reader: self.reader.clone(),
            antenna: key.0,
            first_seen: s.first,
            last_seen: s.last,
            count: s.count,
            peak_rssi: s.peak,
            kind,
            stocktake_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A fake clock: milliseconds since a fixed epoch.
    fn t(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_767_225_600_000 + ms)
            .single()
            .unwrap_or_default()
    }

    fn epc(n: u8) -> EpcBytes {
        EpcBytes::new(&[0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n]).unwrap_or_else(|_| unreachable!())
    }

    fn read(n: u8, antenna: u8, rssi: i16, ms: i64) -> RawRead {
        RawRead {
            epc: epc(n),
            antenna,
            rssi_dbm: Some(rssi),
            at: t(ms),
        }
    }

    fn timing(cycle_ms: u64, stable_set_ms: u64) -> AggregationConfig {
        AggregationConfig {
            cycle_ms,
            stable_set_ms,
        }
    }

    #[test]
    fn current_folds_repeats_into_one_observation_per_tag_and_antenna() {
        let mut a = Aggregator::new("hand-1", ReportMode::Current, timing(1000, 300), t(0));
        a.read(read(1, 1, -60, 10));
        a.read(read(1, 1, -50, 20));
        a.read(read(1, 1, -70, 30));
        a.read(read(1, 2, -65, 40));
        a.read(read(2, 1, -40, 50));
        assert_eq!(a.poll(t(200)), None, "still within the stable-set interval");
        let obs = a.poll(t(350)).unwrap_or_default();
        assert_eq!(obs.len(), 3);
        let o = &obs[0];
        assert_eq!((o.antenna, o.epc, o.count), (1, epc(1), 3));
        assert_eq!(
            (o.first_seen, o.last_seen, o.peak_rssi),
            (t(10), t(30), Some(-50))
        );
        assert_eq!(o.kind, ObservationKind::Seen);
        assert_eq!(o.reader, "hand-1");
        assert_eq!((obs[1].antenna, obs[1].epc), (1, epc(2)));
        assert_eq!((obs[2].antenna, obs[2].epc, obs[2].count), (2, epc(1), 1));
        // The next cycle starts empty.
        assert_eq!(a.poll(t(700)), Some(vec![]));
    }

    #[test]
    fn a_cycle_ends_on_duration_while_new_tags_keep_coming() {
        let mut a = Aggregator::new("hand-1", ReportMode::Current, timing(1000, 300), t(0));
        for i in 0..10u8 {
            a.read(read(i, 1, -60, i64::from(i) * 200));
            if i64::from(i) * 200 < 1000 {
                assert_eq!(a.poll(t(i64::from(i) * 200)), None);
            }
        }
        // Reads up to t=1800 arrived before we polled; the duration bound
        // (1000 ms) has long passed.
        let obs = a.poll(t(1800)).unwrap_or_default();
        assert_eq!(obs.len(), 10);
        assert_eq!(a.deadline(), t(2100));
    }

    #[test]
    fn stable_set_counts_only_tags_new_to_the_cycle() {
        let mut a = Aggregator::new("desk", ReportMode::Current, timing(5000, 300), t(0));
        a.read(read(1, 1, -60, 0));
        // Repeats of a known tag do not extend the cycle.
        for ms in (50..400).step_by(50) {
            a.read(read(1, 1, -60, ms));
        }
        assert_eq!(a.poll(t(299)), None);
        let obs = a.poll(t(300)).unwrap_or_default();
        assert_eq!(obs.len(), 1);
        assert_eq!(obs[0].count, 8);
    }

    #[test]
    fn gate_reports_additions_then_deletions() {
        let mut a = Aggregator::new("gate-1", ReportMode::Delta, timing(500, 200), t(0));
        a.read(read(1, 1, -60, 10));
        a.read(read(2, 1, -60, 20));
        let c1 = a.poll(t(250)).unwrap_or_default();
        assert_eq!(c1.len(), 2);
        assert!(c1.iter().all(|o| o.kind == ObservationKind::Added));
        // Both still there: nothing to say.
        a.read(read(1, 1, -60, 300));
        a.read(read(2, 1, -55, 310));
        assert_eq!(a.poll(t(520)), Some(vec![]));
        // Tag 2 gone, tag 3 arrived.
        a.read(read(1, 1, -60, 600));
        a.read(read(3, 2, -60, 610));
        let c3 = a.poll(t(820)).unwrap_or_default();
        let kinds: Vec<_> = c3.iter().map(|o| (o.epc, o.antenna, o.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (epc(3), 2, ObservationKind::Added),
                (epc(2), 1, ObservationKind::Removed)
            ]
        );
        // The removal carries the last cycle the tag was seen in.
        assert_eq!(c3[1].last_seen, t(310));
        // Empty field: tags 1 and 3 go.
        let c4 = a.poll(t(1100)).unwrap_or_default();
        assert_eq!(c4.len(), 2);
        assert!(c4.iter().all(|o| o.kind == ObservationKind::Removed));
        assert_eq!(a.poll(t(1400)), Some(vec![]));
    }

    #[test]
    fn flush_reports_the_running_cycle() {
        let mut a = Aggregator::new("hand-1", ReportMode::Current, timing(1000, 300), t(0));
        a.read(read(1, 1, -60, 10));
        assert_eq!(a.flush(t(20)).len(), 1);
        let mut g = Aggregator::new("gate", ReportMode::Delta, timing(1000, 300), t(0));
        g.read(read(1, 1, -60, 10));
        let f = g.flush(t(20));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, ObservationKind::Added);
    }

    #[test]
    fn reads_without_rssi_keep_the_peak_of_those_with_it() {
        let mut a = Aggregator::new("d", ReportMode::Current, timing(1000, 300), t(0));
        a.read(RawRead {
            rssi_dbm: None,
            ..read(1, 1, 0, 0)
        });
        a.read(read(1, 1, -70, 5));
        a.read(RawRead {
            rssi_dbm: None,
            ..read(1, 1, 0, 6)
        });
        let obs = a.poll(t(400)).unwrap_or_default();
        assert_eq!(obs[0].peak_rssi, Some(-70));
    }
}
