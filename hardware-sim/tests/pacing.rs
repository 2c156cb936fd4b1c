//! Bytes leave at the configured line rate (10 bits a byte), not as a flood.

mod support;

use std::time::{Duration, Instant};

use hardware_sim::{ProtocolKind, Scenario, Simulator};
use shared::protocol::chainway;
use support::{Host, Result};

#[test]
fn a_busy_field_fills_the_line_and_no_more() -> Result {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("r");
    let baud = 115_200;
    let sim = Simulator::start(Scenario::quick(ProtocolKind::Chainway, &link, 300))?;
    let mut host = Host::open(&link, baud)?;
    host.chainway(chainway::Command::StartInventory {
        report: chainway::InventoryReport::Normal,
    })?;
    host.fill(Duration::from_millis(300))?; // let the stream settle
    host.take_bytes();
    let t0 = Instant::now();
    let mut n = 0usize;
    while t0.elapsed() < Duration::from_millis(1500) {
        n += host.fill(Duration::from_millis(50))?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let capacity = f64::from(baud) / 10.0 * secs;
    let ratio = n as f64 / capacity;
    assert!(
        (0.85..=1.03).contains(&ratio),
        "{n} bytes in {secs:.2}s = {:.1}% of the line",
        ratio * 100.0
    );
    let c = sim
        .reader("reader-1")
        .map(|r| r.counters())
        .unwrap_or_default();
    assert!(c.tag_reports_sent > 200);
    Ok(())
}
