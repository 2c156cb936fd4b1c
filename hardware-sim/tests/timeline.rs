//! Tags moved by a test through the library API show up (and vanish) in
//! what a serial host reads: gate pass, removal, moves between antennas.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use hardware_sim::{Simulator, TagSelector};
use shared::protocol::r2000::{Command, Response};
use shared::tag::EpcBytes;
use support::{scenario, Host, Result};

const SCENARIO: &str = r#"
[[reader]]
name = "gate"
protocol = "r2000"
link = "{dir}/gate"
baud = 921600
role = "gate"
antennas = 2

[[population]]
name = "stock"
kind = "giai96"
company_prefix = "0614141"
count = 5
[[population.placement]]
reader = "gate"
antenna = 1
distance_m = 1.0

[[population]]
name = "leaving"
kind = "giai96"
company_prefix = "0614141"
first_serial = 500
count = 3
"#;

fn seen(host: &mut Host, antenna: u8) -> Result<BTreeSet<EpcBytes>> {
    host.r2000_ask(Command::SetWorkAntenna { antenna })?;
    Ok(host
        .r2000_inventory(Command::RealTimeInventory { repeat: 3 })?
        .into_iter()
        .map(|t| t.epc)
        .collect())
}

#[test]
fn gate_pass_remove_and_move_through_the_api() -> Result {
    let (_dir, s) = scenario(SCENARIO)?;
    let sim = Simulator::start(s)?;
    let link = sim
        .reader("gate")
        .map(|r| r.link().to_path_buf())
        .unwrap_or_default();
    let mut host = Host::open(&link, 921_600)?;
    let stock: BTreeSet<EpcBytes> = sim
        .epcs(&TagSelector::population("stock"))
        .into_iter()
        .collect();
    let leaving: BTreeSet<EpcBytes> = sim
        .epcs(&TagSelector::population("leaving"))
        .into_iter()
        .collect();
    assert_eq!(
        seen(&mut host, 0)?,
        stock,
        "the leaving tags are nowhere yet"
    );

    // Carried through the gate over 1.2 s, antenna 1 then 2.
    sim.gate_pass(
        &TagSelector::population("leaving"),
        "gate",
        &[1, 2],
        Duration::from_millis(1200),
    );
    std::thread::sleep(Duration::from_millis(450));
    let during = seen(&mut host, 0)?;
    assert!(
        during.is_superset(&leaving),
        "in the gate: {} of {}",
        during.len(),
        stock.len() + leaving.len()
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(seen(&mut host, 0)?, stock, "gone after the pass");
    assert!(seen(&mut host, 1)?.is_empty());

    // Two stock tags move to antenna 2, one is removed altogether.
    let moved = TagSelector::range("stock", 0, 2);
    sim.move_tags(&moved, "gate", 2, 0.5);
    let removed = sim.epcs(&TagSelector::range("stock", 4, 1));
    sim.remove_tags(&TagSelector::range("stock", 4, 1));
    let on2: BTreeSet<EpcBytes> = sim.epcs(&moved).into_iter().collect();
    assert_eq!(seen(&mut host, 1)?, on2);
    let on1 = seen(&mut host, 0)?;
    assert_eq!(on1.len(), 2);
    assert!(on1.is_disjoint(&on2) && !on1.contains(&removed[0]));

    // A tag added by the test is read at once; the counters saw all of it.
    let fresh = *shared::epc::encode_giai96(0, "0614141", "777")?.epc_bytes();
    sim.add_tag(&fresh, "gate", 1, 0.3);
    assert!(seen(&mut host, 0)?.contains(&fresh));
    let c = sim.reader("gate").map(|r| r.counters()).unwrap_or_default();
    assert!(leaving.iter().all(|e| c.reports_for(e) > 0));
    assert_eq!(c.per_antenna.iter().sum::<u64>(), c.tag_reports_sent);
    assert!(matches!(
        host.r2000_ask(Command::GetWorkAntenna)?,
        Response::WorkAntenna { antenna: 0 }
    ));
    Ok(())
}

/// A gate pass on a short-range (desk, 0.6 m) reader of a tag that was
/// placed far away (50 m): the library's pass used to walk the tag by at a
/// fixed 0.8 m, beyond that reader's range, so nothing was ever read.
#[test]
fn a_gate_pass_on_a_short_range_reader_is_read() -> Result {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("desk");
    let scenario = hardware_sim::Scenario::quick(hardware_sim::ProtocolKind::R2000, &link, 1);
    let sim = Simulator::start(scenario)?;
    sim.remove_tags(&TagSelector::population("assets"));
    let mut host = Host::open(&link, 115_200)?;
    let far = *shared::epc::encode_giai96(0, "0614141", "4242")?.epc_bytes();
    sim.add_tag(&far, "reader-1", 1, 50.0);
    assert!(seen(&mut host, 0)?.is_empty(), "50 m is out of range");
    assert_eq!(
        sim.gate_pass(
            &TagSelector::epc(&far),
            "reader-1",
            &[1],
            Duration::from_millis(1500)
        ),
        1
    );
    std::thread::sleep(Duration::from_millis(550));
    assert!(seen(&mut host, 0)?.contains(&far), "read passing the desk");
    std::thread::sleep(Duration::from_millis(1200));
    assert!(seen(&mut host, 0)?.is_empty(), "gone after the pass");
    Ok(())
}
