//! The Chainway reader over a real serial-port client: version, power,
//! single and streaming inventory, tag write/read/lock, errors, unplug.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use hardware_sim::{Fault, Simulator, TagSelector};
use shared::protocol::chainway::{
    lock_code, AntennaPower, Bank, Command, DeviceError, InventoryReport, LockAction, LockTarget,
    Response, TagFilter,
};
use shared::tag::EpcBytes;
use support::{scenario, Host, Result};

const BAUD: u32 = 921_600;

const SCENARIO: &str = r#"
seed = 5
[[reader]]
name = "gate"
protocol = "chainway"
link = "{dir}/gate"
baud = 921600
role = "gate"
antennas = 2
firmware = "7.2.1"

[[population]]
name = "assets"
kind = "giai96"
company_prefix = "0614141"
first_serial = 100
count = 8
[[population.placement]]
reader = "gate"
antenna = 1
distance_m = 1.0

[[population]]
name = "foreign"
kind = "foreign"
count = 2
[[population.placement]]
reader = "gate"
antenna = 2
distance_m = 1.0

[[population]]
name = "blank"
kind = "blank"
count = 1
"#;

fn start() -> Result<(tempfile::TempDir, Simulator, Host)> {
    let (dir, s) = scenario(SCENARIO)?;
    let sim = Simulator::start(s)?;
    let link = sim.reader("gate").map(|r| r.link().to_path_buf());
    let host = Host::open(&link.unwrap_or_default(), BAUD)?;
    Ok((dir, sim, host))
}

fn stream(host: &mut Host, report: InventoryReport, for_: Duration) -> Result<Vec<Response>> {
    host.chainway(Command::StartInventory { report })?;
    // Hosts send a bare 00 keep-alive while streaming; it must be ignored.
    std::thread::sleep(for_ / 2);
    host.send(&[0x00])?;
    std::thread::sleep(for_ / 2);
    host.chainway(Command::StopInventory)?;
    host.chainway_until(Duration::from_secs(2), |r| {
        matches!(r, Response::StopAck { .. })
    })
}

#[test]
fn version_and_power() -> Result {
    let (_dir, _sim, mut host) = start()?;
    assert_eq!(
        host.chainway_ask(Command::GetVersion)?,
        Response::Version {
            major: 7,
            minor: 2,
            patch: 1
        }
    );
    assert_eq!(
        host.chainway_ask(Command::SetPower {
            save: false,
            antenna: 2,
            read_centi_dbm: 2500,
            write_centi_dbm: 2000
        })?,
        Response::SetPowerAck { ok: true }
    );
    assert_eq!(
        host.chainway_ask(Command::GetPower)?,
        Response::Power(vec![
            AntennaPower {
                antenna: 1,
                read_centi_dbm: 3000,
                write_centi_dbm: 3000
            },
            AntennaPower {
                antenna: 2,
                read_centi_dbm: 2500,
                write_centi_dbm: 2000
            },
        ])
    );
    assert_eq!(
        host.chainway_ask(Command::SetPower {
            save: false,
            antenna: 3,
            read_centi_dbm: 2500,
            write_centi_dbm: 2500
        })?,
        Response::SetPowerAck { ok: false }
    );
    Ok(())
}

#[test]
fn single_and_streaming_inventory() -> Result {
    let (_dir, sim, mut host) = start()?;
    match host.chainway_ask(Command::SingleInventory { param: 0x0064 })? {
        Response::SingleTag(Some(rec)) => {
            assert!(rec.rssi_deci_dbm < 0 && (1..=2).contains(&rec.antenna))
        }
        other => anyhow::bail!("{other:?}"),
    }
    let frames = stream(
        &mut host,
        InventoryReport::Normal,
        Duration::from_millis(400),
    )?;
    let seen: BTreeSet<EpcBytes> = frames
        .iter()
        .filter_map(|r| match r {
            Response::Tag(t) => Some(t.epc),
            _ => None,
        })
        .collect();
    let expected: BTreeSet<EpcBytes> = sim
        .epcs(&TagSelector::population("assets"))
        .into_iter()
        .chain(sim.epcs(&TagSelector::population("foreign")))
        .collect();
    assert_eq!(
        seen, expected,
        "both antennas, assets and foreign tags; no blank (out of range)"
    );
    let ants: BTreeSet<u8> = frames
        .iter()
        .filter_map(|r| match r {
            Response::Tag(t) => Some(t.antenna),
            _ => None,
        })
        .collect();
    assert_eq!(ants, BTreeSet::from([1, 2]));
    // Nothing after the stop acknowledgement.
    assert!(host
        .chainway_until(Duration::from_millis(200), |_| false)?
        .is_empty());
    let c = sim.reader("gate").map(|r| r.counters()).unwrap_or_default();
    assert_eq!(
        c.tag_reports_sent as usize,
        frames
            .iter()
            .filter(|r| matches!(r, Response::Tag(_)))
            .count()
            + 1
    );
    assert!(c.bytes_skipped >= 1, "the keep-alive byte");

    // Frequency reporting mode carries the channel.
    host.chainway(Command::StartInventory {
        report: InventoryReport::Frequency,
    })?;
    std::thread::sleep(Duration::from_millis(100));
    host.chainway(Command::StopInventory)?;
    host.fill(Duration::from_millis(200))?;
    let bytes = host.take_bytes();
    let layout = InventoryReport::Frequency.layout();
    match shared::protocol::chainway::decode_response_with(&bytes, layout) {
        shared::protocol::Decoded::Frame {
            frame: Response::Tag(t),
            ..
        } => {
            assert!(t
                .frequency_khz
                .is_some_and(|f| (920_000..=925_000).contains(&f)))
        }
        other => anyhow::bail!("{other:?}"),
    }
    Ok(())
}

#[test]
fn write_read_back_lock_and_errors() -> Result {
    let (_dir, sim, mut host) = start()?;
    // Bring the blank tag alone to antenna 2 (foreign tags leave).
    sim.remove_tags(&TagSelector::population("foreign"));
    sim.move_tags(&TagSelector::population("blank"), "gate", 2, 0.5);
    let blank = sim.epcs(&TagSelector::population("blank"));
    let blank = *blank.first().ok_or_else(|| anyhow::anyhow!("blank"))?;
    let new_epc = *shared::epc::encode_giai96(0, "0614141", "900002")?.epc_bytes();

    // "Any tag" with nine tags answering collides.
    let any = |data: &[u8]| Command::Write {
        password: 0,
        filter: TagFilter::any(),
        bank: Bank::Epc,
        word_address: 2,
        data: data.to_vec(),
    };
    assert_eq!(
        host.chainway_ask(any(new_epc.as_slice()))?,
        Response::Error {
            cmd: 0x87,
            error: DeviceError::Tag { code: 0x22 }
        }
    );
    // Selecting the blank tag by its EPC works, and persists.
    let write = Command::Write {
        password: 0,
        filter: TagFilter::epc(blank.as_slice()),
        bank: Bank::Epc,
        word_address: 2,
        data: new_epc.as_slice().to_vec(),
    };
    assert_eq!(host.chainway_ask(write)?, Response::WriteResult);
    let frames = stream(
        &mut host,
        InventoryReport::Normal,
        Duration::from_millis(300),
    )?;
    assert!(frames
        .iter()
        .any(|r| matches!(r, Response::Tag(t) if t.epc == new_epc)));
    assert!(!frames
        .iter()
        .any(|r| matches!(r, Response::Tag(t) if t.epc == blank)));
    let read = Command::Read {
        password: 0,
        filter: TagFilter::epc(new_epc.as_slice()),
        bank: Bank::Tid,
        word_address: 0,
        word_count: 6,
    };
    match host.chainway_ask(read)? {
        Response::ReadResult { data } => assert_eq!(data[..2], [0xE2, 0x80]),
        other => anyhow::bail!("{other:?}"),
    }
    // Access password, lock the EPC bank: a write without the password is refused.
    let sel = TagFilter::epc(new_epc.as_slice());
    let set_pw = Command::Write {
        password: 0,
        filter: sel.clone(),
        bank: Bank::Reserved,
        word_address: 2,
        data: vec![0xCA, 0xFE, 0xBA, 0xBE],
    };
    assert_eq!(host.chainway_ask(set_pw)?, Response::WriteResult);
    let lock = Command::Lock {
        password: 0xCAFE_BABE,
        filter: sel.clone(),
        lock_code: lock_code(&[(LockTarget::Epc, LockAction::Lock)]),
    };
    assert_eq!(host.chainway_ask(lock)?, Response::LockResult);
    let refused = Command::Write {
        password: 0,
        filter: sel,
        bank: Bank::Epc,
        word_address: 2,
        data: vec![0, 0],
    };
    assert_eq!(
        host.chainway_ask(refused)?,
        Response::Error {
            cmd: 0x87,
            error: DeviceError::Tag { code: 0x01 }
        }
    );
    let mem = sim
        .tag_memory(&new_epc)
        .ok_or_else(|| anyhow::anyhow!("tag"))?;
    assert_eq!(mem.epc_lock, hardware_sim::LockAction::Lock);
    // Unsupported command: the bare-00 error under request + 1.
    // (The host codec keeps replies to codes it does not model raw.)
    let r = host.chainway_ask(Command::Unknown {
        cmd: 0x50,
        payload: vec![],
    })?;
    assert!(
        matches!(&r, Response::Unknown { cmd: 0x51, payload } if payload == &[0x00])
            || r == Response::Error {
                cmd: 0x51,
                error: DeviceError::Unsupported
            },
        "{r:?}"
    );
    Ok(())
}

#[test]
fn unplug_mid_stream_and_replug() -> Result {
    let (_dir, sim, mut host) = start()?;
    let reader = sim
        .reader("gate")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("reader"))?;
    host.chainway(Command::StartInventory {
        report: InventoryReport::Normal,
    })?;
    host.fill(Duration::from_millis(100))?;
    reader.inject(Fault::Unplug {
        duration: Duration::from_millis(200),
    });
    let mut dead = false;
    for _ in 0..50 {
        if host.fill(Duration::from_millis(20)).is_err() {
            dead = true;
            break;
        }
    }
    assert!(dead, "reads on the unplugged port fail");
    drop(host);
    assert!(reader.wait_plugged(Duration::from_secs(3)));
    // Like a real host (and the daemon), retry the open: just after a
    // replug the simulator may still swap a fresh PTY behind the link when
    // the old host's close is noticed, and an fd opened in that instant
    // belongs to the PTY being retired.
    let mut attempt = 0;
    let (mut host, quiet) = loop {
        attempt += 1;
        let mut fresh = Host::open(reader.link(), BAUD)?;
        match fresh.chainway_until(Duration::from_millis(150), |_| false) {
            Ok(frames) => break (fresh, frames),
            Err(_) if attempt < 10 => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e),
        }
    };
    // The reboot stopped the inventory: nothing streams until asked.
    assert!(quiet.is_empty(), "{quiet:?}");
    assert!(matches!(
        host.chainway_ask(Command::GetVersion)?,
        Response::Version { .. }
    ));
    Ok(())
}
