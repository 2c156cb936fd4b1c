//! The R2000 reader over a real serial-port client: settings, inventories,
//! sessions, commissioning a blank tag, errors, unplug/replug.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use hardware_sim::{Fault, Simulator, TagSelector};
use shared::protocol::r2000::{Command, ErrorCode, Response};
use shared::tag::EpcBytes;
use support::{scenario, Host, Result};

const BAUD: u32 = 921_600;

const SCENARIO: &str = r#"
seed = 11
[[reader]]
name = "desk"
protocol = "r2000"
link = "{dir}/desk"
baud = 921600
antennas = 4
connected = [1, 2, 3]
firmware = "1.9"

[[population]]
name = "assets"
kind = "giai96"
company_prefix = "0614141"
count = 12
[[population.placement]]
reader = "desk"
antenna = 1
distance_m = 0.2

[[population]]
name = "blank"
kind = "blank"
count = 1
[[population.placement]]
reader = "desk"
antenna = 2
distance_m = 0.2
"#;

fn start() -> Result<(tempfile::TempDir, Simulator, Host)> {
    let (dir, s) = scenario(SCENARIO)?;
    let sim = Simulator::start(s)?;
    let link = sim.reader("desk").map(|r| r.link().to_path_buf());
    let host = Host::open(&link.unwrap_or_default(), BAUD)?;
    Ok((dir, sim, host))
}

fn epcs(reports: &[shared::protocol::r2000::TagReport]) -> BTreeSet<EpcBytes> {
    reports.iter().map(|t| t.epc).collect()
}

#[test]
fn firmware_power_antenna_and_region() -> Result {
    let (_dir, _sim, mut host) = start()?;
    assert_eq!(
        host.r2000_ask(Command::GetFirmwareVersion)?,
        Response::Firmware { major: 1, minor: 9 }
    );
    assert_eq!(
        host.r2000_ask(Command::SetOutputPower { dbm: vec![20] })?,
        Response::Ok { cmd: 0x76 }
    );
    assert_eq!(
        host.r2000_ask(Command::GetOutputPower)?,
        Response::OutputPower { dbm: vec![20] }
    );
    assert_eq!(
        host.r2000_ask(Command::SetOutputPower {
            dbm: vec![30, 25, 20, 15]
        })?,
        Response::Ok { cmd: 0x76 }
    );
    assert_eq!(
        host.r2000_ask(Command::GetOutputPower)?,
        Response::OutputPower {
            dbm: vec![30, 25, 20, 15]
        }
    );
    assert_eq!(
        host.r2000_ask(Command::SetOutputPower { dbm: vec![40] })?,
        Response::Error {
            cmd: 0x76,
            code: ErrorCode::OUTPUT_POWER_OUT_OF_RANGE
        }
    );
    assert_eq!(
        host.r2000_ask(Command::SetWorkAntenna { antenna: 2 })?,
        Response::Ok { cmd: 0x74 }
    );
    assert_eq!(
        host.r2000_ask(Command::GetWorkAntenna)?,
        Response::WorkAntenna { antenna: 2 }
    );
    assert_eq!(
        host.r2000_ask(Command::SetWorkAntenna { antenna: 4 })?,
        Response::Error {
            cmd: 0x74,
            code: ErrorCode::ANTENNA_ID_OUT_OF_RANGE
        }
    );
    // Antenna 4 (index 3) has nothing connected.
    host.r2000_ask(Command::SetWorkAntenna { antenna: 3 })?;
    assert_eq!(
        host.r2000_ask(Command::RealTimeInventory { repeat: 1 })?,
        Response::Error {
            cmd: 0x89,
            code: ErrorCode::ANTENNA_MISSING
        }
    );
    assert!(matches!(
        host.r2000_ask(Command::GetFrequencyRegion)?,
        Response::FrequencyRegion { .. }
    ));
    // Another reader's address: silence. Broadcast: answered.
    host.r2000_to(7, Command::GetFirmwareVersion)?;
    assert!(host
        .r2000_until(Duration::from_millis(150), |_| true)?
        .is_empty());
    host.r2000_to(0xFF, Command::GetFirmwareVersion)?;
    assert_eq!(host.r2000_until(Duration::from_secs(1), |_| true)?.len(), 1);
    Ok(())
}

#[test]
fn inventories_find_the_field_and_sessions_hide_tags() -> Result {
    let (_dir, sim, mut host) = start()?;
    let assets: BTreeSet<EpcBytes> = sim
        .epcs(&TagSelector::population("assets"))
        .into_iter()
        .collect();
    let seen = epcs(&host.r2000_inventory(Command::RealTimeInventory { repeat: 4 })?);
    assert_eq!(seen, assets, "four S0 rounds read every tag");
    let reader = sim.reader("desk").map(|r| r.counters()).unwrap_or_default();
    assert!(reader.tag_reports_sent >= 12);
    assert_eq!(reader.per_antenna[0], reader.tag_reports_sent);

    // Session 1, target A: a tag read once stays quiet for the persistence time.
    let first = epcs(&host.r2000_inventory(Command::SessionInventory {
        session: 1,
        target: 0,
        repeat: 3,
    })?);
    assert!(first.len() >= 10, "{}", first.len());
    let again = epcs(&host.r2000_inventory(Command::SessionInventory {
        session: 1,
        target: 0,
        repeat: 1,
    })?);
    assert!(
        again.is_disjoint(&first),
        "tags already inventoried in S1 answered again"
    );
    // …but answer target B.
    let b = epcs(&host.r2000_inventory(Command::SessionInventory {
        session: 1,
        target: 1,
        repeat: 2,
    })?);
    assert!(!b.is_empty() && b.is_subset(&first));

    // Fast-switch over antennas 1..3 (antenna 4 slot disabled): blank tag on 2.
    let stays = |antenna| shared::protocol::r2000::AntennaStay { antenna, stays: 2 };
    host.r2000(Command::FastSwitchInventory {
        antennas: [
            stays(0),
            stays(1),
            stays(2),
            shared::protocol::r2000::AntennaStay {
                antenna: 0xFF,
                stays: 0,
            },
        ],
        interval_ms: 0,
        repeat: 1,
    })?;
    let frames = host.r2000_until(Duration::from_secs(3), |r| {
        matches!(r, Response::FastSwitchEnd { .. })
    })?;
    let ants: BTreeSet<u8> = frames
        .iter()
        .filter_map(|r| match r {
            Response::TagReport(t) => Some(t.antenna),
            _ => None,
        })
        .collect();
    assert!(ants.contains(&0) && ants.contains(&1), "{ants:?}");
    assert!(matches!(
        frames.last(),
        Some(Response::FastSwitchEnd { .. })
    ));

    // Buffered inventory, then the buffer.
    assert!(matches!(
        host.r2000_ask(Command::BufferedInventory { repeat: 3 })?,
        Response::BufferedInventoryEnd { .. }
    ));
    let count = match host.r2000_ask(Command::GetBufferCount)? {
        Response::BufferCount { count } => count,
        other => anyhow::bail!("{other:?}"),
    };
    assert!(count >= 10);
    host.r2000(Command::GetAndResetBuffer)?;
    let seen = std::cell::Cell::new(0u16);
    let records = host.r2000_until(Duration::from_secs(2), |r| {
        seen.set(seen.get() + 1);
        matches!(r, Response::BufferRecord(_)) && seen.get() == count
    })?;
    assert_eq!(records.len(), usize::from(count));
    assert_eq!(
        host.r2000_ask(Command::GetBuffer)?,
        Response::Error {
            cmd: 0x90,
            code: ErrorCode::BUFFER_EMPTY
        }
    );
    Ok(())
}

#[test]
fn commissioning_a_blank_tag_persists_and_collisions_fail() -> Result {
    let (_dir, sim, mut host) = start()?;
    let new_epc = *shared::epc::encode_giai96(0, "0614141", "900001")?.epc_bytes();
    // Antenna 1 holds 12 tags: without an EPC match the write collides.
    assert_eq!(
        host.r2000_ask(Command::Write {
            password: [0; 4],
            bank: 1,
            word_addr: 2,
            data: new_epc.as_slice().to_vec()
        })?,
        Response::Error {
            cmd: 0x82,
            code: ErrorCode::INVENTORY_OK_BUT_ACCESS_FAIL
        }
    );
    // Antenna 2 holds the blank tag alone.
    host.r2000_ask(Command::SetWorkAntenna { antenna: 1 })?;
    let blank = epcs(&host.r2000_inventory(Command::RealTimeInventory { repeat: 3 })?);
    assert_eq!(blank.len(), 1);
    match host.r2000_ask(Command::Write {
        password: [0; 4],
        bank: 1,
        word_addr: 2,
        data: new_epc.as_slice().to_vec(),
    })? {
        Response::TagOperation(op) => {
            assert_eq!(op.code, ErrorCode::SUCCESS);
            assert!(blank.contains(&op.epc), "reports the EPC it singulated");
        }
        other => anyhow::bail!("write: {other:?}"),
    }
    let after = epcs(&host.r2000_inventory(Command::RealTimeInventory { repeat: 3 })?);
    assert_eq!(after, BTreeSet::from([new_epc]));
    // Read it back from the tag's memory, through the reader.
    match host.r2000_ask(Command::Read {
        bank: 1,
        word_addr: 2,
        word_count: 6,
        password: None,
    })? {
        Response::TagRead(r) => assert_eq!(r.data, new_epc.as_slice()),
        other => anyhow::bail!("read: {other:?}"),
    }
    assert!(
        sim.tag_memory(&new_epc).is_some(),
        "the field's tag changed too"
    );

    // With an EPC match, a write on the crowded antenna reaches one tag.
    host.r2000_ask(Command::SetWorkAntenna { antenna: 0 })?;
    let target = sim.epcs(&TagSelector::range("assets", 3, 1));
    let target = *target.first().ok_or_else(|| anyhow::anyhow!("no tag"))?;
    assert_eq!(
        host.r2000_ask(Command::SetEpcMatch { epc: Some(target) })?,
        Response::Ok { cmd: 0x85 }
    );
    // Set an access password, lock the EPC bank, then a write without it fails.
    let op = |r: Response| match r {
        Response::TagOperation(op) => Ok(op.code),
        other => Err(anyhow::anyhow!("{other:?}")),
    };
    assert_eq!(
        op(host.r2000_ask(Command::Write {
            password: [0; 4],
            bank: 0,
            word_addr: 2,
            data: vec![0x12, 0x34, 0x56, 0x78]
        })?)?,
        ErrorCode::SUCCESS
    );
    assert_eq!(
        op(host.r2000_ask(Command::Lock {
            password: [0x12, 0x34, 0x56, 0x78],
            region: 3,
            action: 1
        })?)?,
        ErrorCode::SUCCESS
    );
    assert_eq!(
        op(host.r2000_ask(Command::Write {
            password: [0; 4],
            bank: 1,
            word_addr: 2,
            data: vec![0xAA, 0xBB]
        })?)?,
        ErrorCode::ACCESS_OR_PASSWORD_ERROR
    );
    assert_eq!(
        op(host.r2000_ask(Command::Write {
            password: [0x12, 0x34, 0x56, 0x78],
            bank: 3,
            word_addr: 0,
            data: vec![0xAA, 0xBB]
        })?)?,
        ErrorCode::SUCCESS
    );
    Ok(())
}

#[test]
fn unsupported_commands_get_an_error_and_noise_is_skipped() -> Result {
    let (_dir, sim, mut host) = start()?;
    // The host codec cannot know 0x99's layout, so it keeps the status raw.
    host.r2000(Command::Unknown {
        cmd: 0x99,
        data: vec![1, 2],
    })?;
    host.fill(Duration::from_millis(200))?;
    assert_eq!(host.take_bytes(), [0xA0, 0x04, 0x01, 0x99, 0x11, 0xB1]);
    // Garbage and a bad checksum before a good frame: the good one is answered.
    host.send(&[0x00, 0x13, 0xA0, 0x03, 0x01, 0x72, 0x00])?;
    assert_eq!(
        host.r2000_ask(Command::GetFirmwareVersion)?,
        Response::Firmware { major: 1, minor: 9 }
    );
    let c = sim.reader("desk").map(|r| r.counters()).unwrap_or_default();
    assert!(c.bytes_skipped >= 3, "{c:?}");
    Ok(())
}

#[test]
fn block_write_0x94_writes_like_0x82() -> Result {
    let (_dir, sim, mut host) = start()?;
    host.r2000_ask(Command::SetWorkAntenna { antenna: 1 })?;
    let new_epc = *shared::epc::encode_giai96(0, "0614141", "900003")?.epc_bytes();
    let mut data = vec![0, 0, 0, 0, 1, 2, 6];
    data.extend_from_slice(new_epc.as_slice());
    host.r2000(Command::Unknown { cmd: 0x94, data })?;
    host.fill(Duration::from_millis(200))?;
    let reply = host.take_bytes();
    assert_eq!(reply.get(3), Some(&0x94), "{reply:02X?}");
    assert!(sim.tag_memory(&new_epc).is_some());
    Ok(())
}

#[test]
fn unplug_and_replug_at_the_same_path() -> Result {
    let (_dir, sim, mut host) = start()?;
    let reader = sim
        .reader("desk")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("reader"))?;
    let before = reader.slave_path();
    host.r2000_ask(Command::SetWorkAntenna { antenna: 2 })?;
    reader.inject(Fault::Unplug {
        duration: Duration::from_millis(300),
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(!reader.is_plugged());
    assert!(
        host.fill(Duration::from_millis(50)).is_err(),
        "the old port is dead"
    );
    drop(host);
    assert!(reader.wait_plugged(Duration::from_secs(3)));
    // Retry the open as a real host does: just after the replug the
    // simulator may still swap a fresh PTY behind the link.
    let mut attempt = 0;
    let (mut host, firmware) = loop {
        attempt += 1;
        let mut fresh = Host::open(reader.link(), BAUD)?;
        match fresh.r2000_ask(Command::GetFirmwareVersion) {
            Ok(r) => break (fresh, r),
            Err(_) if attempt < 10 => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e),
        }
    };
    assert_eq!(firmware, Response::Firmware { major: 1, minor: 9 });
    // Power came back: volatile settings are gone.
    assert_eq!(
        host.r2000_ask(Command::GetWorkAntenna)?,
        Response::WorkAntenna { antenna: 0 }
    );
    assert_eq!(reader.replugs(), 1);
    assert!(reader.slave_path().is_some() && reader.slave_path() != before || before.is_some());
    assert_eq!(reader.counters().faults.unplugs, 1);
    Ok(())
}

#[test]
fn closing_the_port_leaves_a_fresh_one_behind_the_link() -> Result {
    // serialport sets TIOCEXCL; on a PTY that would outlive the close and
    // make the next (non-root) open fail with EBUSY. The simulator puts a
    // fresh PTY behind the link instead, as a USB serial port behaves.
    let (_dir, sim, host) = start()?;
    let reader = sim
        .reader("desk")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("reader"))?;
    let mut slave = reader.slave_path();
    drop(host);
    for _ in 0..3 {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while reader.slave_path() == slave && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_ne!(reader.slave_path(), slave, "a fresh PTY after the close");
        slave = reader.slave_path();
        let mut host = Host::open(reader.link(), BAUD)?;
        assert_eq!(
            host.r2000_ask(Command::GetFirmwareVersion)?,
            Response::Firmware { major: 1, minor: 9 }
        );
    }
    assert_eq!(reader.replugs(), 0, "not an unplug");
    Ok(())
}
