//! A simulated fixed reader: a field of tags in front of its antennas,
//! read at line rate and aggregated per cycle as the daemon's
//! `aggregate` module does (one observation per tag and antenna per cycle,
//! first/last seen, count, peak RSSI). Between cycles a few tags leave and
//! others arrive (churn); now and then the newcomer is a foreign tag.
//! Pure: the caller gives the clock and the random source.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use shared::sync::{Observation, ObservationKind};
use shared::tag::EpcBytes;

use super::layout::Layout;

/// A tag in the field: its EPC, the asset it is on (None: foreign), the
/// antenna that sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldTag {
    pub epc: EpcBytes,
    pub asset_id: Option<i64>,
    pub antenna: u8,
}

/// How a reader reads.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// Raw tag reports per second (line rate).
    pub reads_per_sec: u32,
    pub cycle: std::time::Duration,
    /// Share of the field replaced between cycles.
    pub churn: f64,
    /// Share of newcomers that are foreign tags.
    pub foreign: f64,
}

#[derive(Debug)]
pub struct SimReader {
    pub name: String,
    /// Asset indices this reader's newcomers are drawn from.
    pool: std::ops::Range<u64>,
    field: Vec<FieldTag>,
}

fn foreign_tag<R: Rng>(rng: &mut R) -> anyhow::Result<FieldTag> {
    let mut b = [0u8; 12];
    rng.fill(&mut b[..]);
    b[0] = 0xE2; // a TID-style manufacturer EPC, never a GIAI-96 header
    Ok(FieldTag {
        epc: EpcBytes::new(&b)?,
        asset_id: None,
        antenna: rng.gen_range(1..=4),
    })
}

fn asset_tag<R: Rng>(layout: &Layout, k: u64, rng: &mut R) -> anyhow::Result<FieldTag> {
    Ok(FieldTag {
        epc: layout.epc(k)?,
        asset_id: Some(layout.first_id + k as i64),
        antenna: rng.gen_range(1..=4),
    })
}

impl SimReader {
    /// A reader whose field holds `tags` assets of `pool` (all of it if
    /// smaller).
    pub fn new<R: Rng>(
        name: String,
        layout: &Layout,
        pool: std::ops::Range<u64>,
        tags: usize,
        rng: &mut R,
    ) -> anyhow::Result<Self> {
        let n = (pool.end - pool.start) as usize;
        let field = if n <= tags {
            pool.clone()
                .map(|k| asset_tag(layout, k, rng))
                .collect::<anyhow::Result<_>>()?
        } else {
            rand::seq::index::sample(rng, n, tags)
                .into_iter()
                .map(|i| asset_tag(layout, pool.start + i as u64, rng))
                .collect::<anyhow::Result<_>>()?
        };
        Ok(Self { name, pool, field })
    }

    #[cfg(test)]
    pub fn field(&self) -> &[FieldTag] {
        &self.field
    }

    /// The observations of the cycle that ran from `end - cycle` to `end`
    /// ([`SimReader::churn`] moves the field on before the next one).
    pub fn cycle<R: Rng>(
        &mut self,
        how: &Reading,
        end: DateTime<Utc>,
        rng: &mut R,
    ) -> Vec<Observation> {
        let mut out = Vec::new();
        if !self.field.is_empty() {
            let cycle_ms = how.cycle.as_millis().max(1) as i64;
            let start = end - Duration::milliseconds(cycle_ms);
            let reads = (u128::from(how.reads_per_sec) * how.cycle.as_millis() / 1000) as usize;
            // (first, last, count, peak) per field slot.
            let mut seen: HashMap<usize, (i64, i64, u32, i16)> = HashMap::new();
            for _ in 0..reads {
                let slot = rng.gen_range(0..self.field.len());
                let at = rng.gen_range(0..cycle_ms);
                let rssi = rng.gen_range(-80i16..-30);
                let e = seen.entry(slot).or_insert((at, at, 0, rssi));
                e.0 = e.0.min(at);
                e.1 = e.1.max(at);
                e.2 += 1;
                e.3 = e.3.max(rssi);
            }
            // The daemon keys by (antenna, EPC): two slots with the same
            // tag on the same antenna are one observation.
            let mut by_key: HashMap<(u8, EpcBytes), Observation> = HashMap::new();
            for (slot, (first, last, count, peak)) in seen {
                let tag = self.field[slot];
                let o = by_key.entry((tag.antenna, tag.epc)).or_insert(Observation {
                    epc: tag.epc,
                    reader: self.name.clone(),
                    antenna: tag.antenna,
                    first_seen: start + Duration::milliseconds(first),
                    last_seen: start + Duration::milliseconds(last),
                    count: 0,
                    peak_rssi: Some(peak),
                    kind: ObservationKind::Seen,
                    stocktake_id: None,
                });
                o.first_seen = o.first_seen.min(start + Duration::milliseconds(first));
                o.last_seen = o.last_seen.max(start + Duration::milliseconds(last));
                o.count += count;
                o.peak_rssi = o.peak_rssi.max(Some(peak));
            }
            out = by_key.into_values().collect();
            out.sort_by_key(|o| (o.antenna, o.epc));
        }
        out
    }

    /// Replaces each tag with chance `how.churn`: by another asset of the
    /// pool, or (chance `how.foreign`) by a foreign tag.
    pub fn churn<R: Rng>(
        &mut self,
        layout: &Layout,
        how: &Reading,
        rng: &mut R,
    ) -> anyhow::Result<()> {
        let n = self.pool.end - self.pool.start;
        for slot in 0..self.field.len() {
            if !rng.gen_bool(how.churn.clamp(0.0, 1.0)) {
                continue;
            }
            self.field[slot] = if n == 0 || rng.gen_bool(how.foreign.clamp(0.0, 1.0)) {
                foreign_tag(rng)?
            } else {
                asset_tag(layout, self.pool.start + rng.gen_range(0..n), rng)?
            };
        }
        Ok(())
    }

    /// The asset id an EPC in this reader's field is on, if any.
    pub fn asset_of(&self, epc: &EpcBytes) -> Option<i64> {
        self.field
            .iter()
            .find(|t| t.epc == *epc)
            .and_then(|t| t.asset_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn layout() -> Layout {
        Layout {
            first_id: 1,
            assets: 10_000,
            warehouses: vec![(1, vec![1])],
            units: vec![1],
            categories: vec![1],
            batches: vec![],
            prefix: "0614141".into(),
        }
    }

    const HOW: Reading = Reading {
        reads_per_sec: 550,
        cycle: std::time::Duration::from_millis(2000),
        churn: 0.02,
        foreign: 0.05,
    };

    #[test]
    fn a_cycle_reports_each_tag_once_with_its_reads_inside_the_cycle() -> anyhow::Result<()> {
        let l = layout();
        let mut rng = StdRng::seed_from_u64(1);
        let mut r = SimReader::new("shelf-1".into(), &l, 0..1_000, 200, &mut rng)?;
        let end = Utc::now();
        let obs = r.cycle(&HOW, end, &mut rng);
        // 1,100 reads over 200 tags: nearly every tag is seen.
        assert!(
            (190..=200).contains(&obs.len()),
            "{} observations",
            obs.len()
        );
        let reads: u32 = obs.iter().map(|o| o.count).sum();
        assert_eq!(reads, 1_100);
        let mut keys: Vec<_> = obs.iter().map(|o| (o.antenna, o.epc)).collect();
        keys.dedup();
        assert_eq!(keys.len(), obs.len(), "one observation per (antenna, tag)");
        for o in &obs {
            assert!(o.first_seen <= o.last_seen);
            assert!(o.first_seen >= end - Duration::milliseconds(2000) && o.last_seen <= end);
            assert_eq!(o.reader, "shelf-1");
        }
        Ok(())
    }

    #[test]
    fn churn_replaces_a_few_tags_per_cycle_and_brings_foreign_ones() -> anyhow::Result<()> {
        let l = layout();
        let mut rng = StdRng::seed_from_u64(2);
        let mut r = SimReader::new("shelf-1".into(), &l, 0..1_000, 200, &mut rng)?;
        let before: Vec<FieldTag> = r.field().to_vec();
        let mut foreign = 0;
        for _ in 0..50 {
            r.cycle(&HOW, Utc::now(), &mut rng);
            r.churn(&l, &HOW, &mut rng)?;
            foreign += r.field().iter().filter(|t| t.asset_id.is_none()).count();
        }
        let kept = r.field().iter().filter(|t| before.contains(t)).count();
        // 2 % a cycle for 50 cycles keeps about 0.98^50 ≈ 36 %.
        assert!((40..120).contains(&kept), "{kept} of 200 kept");
        assert!(foreign > 0);
        for t in r.field() {
            if let Some(id) = t.asset_id {
                assert!((1..=1_000).contains(&id), "asset {id} outside the pool");
                assert_eq!(Some(t.epc), l.epc(id as u64 - 1).ok());
            }
        }
        Ok(())
    }
}
