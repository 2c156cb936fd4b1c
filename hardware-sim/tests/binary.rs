//! The `hardware-sim` binary as a child process: ready lines, serving a
//! real serial client, clean shutdown on SIGTERM/SIGINT removing links,
//! clear errors for bad input.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use shared::protocol::{chainway, r2000};
use support::{Host, Result};
use test_support::SimProcess;

const EXE: &str = env!("CARGO_BIN_EXE_hardware-sim");

#[test]
fn quick_reader_serves_then_stops_on_sigterm() -> Result {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("reader");
    let link_s = link.to_string_lossy().to_string();
    let sim = SimProcess::spawn(
        [
            "run",
            "--link",
            &link_s,
            "--protocol",
            "r2000",
            "--tags",
            "7",
            "--baud",
            "921600",
            "--address",
            "3",
        ],
        1,
        &dir.path().join("sim.log"),
    )?;
    assert_eq!(sim.links, vec![("reader-1".to_string(), link.clone())]);
    let mut host = Host::open(&link, 921_600)?;
    host.r2000_to(3, r2000::Command::GetFirmwareVersion)?;
    let r = host.r2000_until(Duration::from_secs(2), |_| true)?;
    assert!(
        matches!(r.as_slice(), [r2000::Response::Firmware { .. }]),
        "{r:?}"
    );
    host.r2000_to(3, r2000::Command::RealTimeInventory { repeat: 5 })?;
    let frames = host.r2000_until(Duration::from_secs(3), |r| {
        matches!(r, r2000::Response::InventoryEnd { .. })
    })?;
    let tags: std::collections::BTreeSet<_> = frames
        .iter()
        .filter_map(|f| match f {
            r2000::Response::TagReport(t) => Some(t.epc),
            _ => None,
        })
        .collect();
    assert_eq!(tags.len(), 7);
    // Every generated tag is a GIAI-96 of company prefix 0614141.
    for epc in &tags {
        let d = shared::epc::decode(epc.as_slice());
        assert_eq!(
            d.company_prefix().map(|p| p.to_string()).as_deref(),
            Some("0614141")
        );
    }
    drop(host);
    let status = sim.stop(Signal::SIGTERM)?;
    assert!(status.success(), "{status}");
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
    Ok(())
}

#[test]
fn scenario_with_two_readers_and_overrides() -> Result {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[reader]]
name = "gate-1"
protocol = "r2000"
link = "{d}/gate-1"
role = "gate"
antennas = 2
[[reader]]
name = "handheld"
protocol = "chainway"
link = "{d}/handheld"
role = "handheld"
[[population]]
name = "a"
kind = "explicit"
epcs = ["3074257BF7194E4000001A85", "E2801105200000000000AB12"]
[[population.placement]]
reader = "handheld"
distance_m = 0.5
"#,
            d = dir.path().display()
        ),
    )?;
    let sim = SimProcess::spawn(
        [
            "run",
            "--scenario",
            &file.to_string_lossy(),
            "--seed",
            "9",
            "--baud",
            "460800",
        ],
        2,
        &dir.path().join("sim.log"),
    )?;
    let names: Vec<&str> = sim.links.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["gate-1", "handheld"]);
    let mut host = Host::open(&sim.links[1].1, 460_800)?;
    match host.chainway_ask(chainway::Command::SingleInventory { param: 0x0064 })? {
        chainway::Response::SingleTag(Some(t)) => assert_eq!(t.epc.len(), 12),
        other => anyhow::bail!("{other:?}"),
    }
    drop(host);
    let links: Vec<PathBuf> = sim.links.iter().map(|(_, p)| p.clone()).collect();
    let status = sim.stop(Signal::SIGINT)?;
    assert!(status.success(), "{status}");
    for l in links {
        assert!(
            std::fs::symlink_metadata(&l).is_err(),
            "{} removed",
            l.display()
        );
    }
    Ok(())
}

#[test]
fn bad_input_gets_a_clear_error() -> Result {
    let out = Command::new(EXE).args(["run"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scenario"));

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[reader]]\nname = \"x\"\nprotocol = \"r2000\"\nlink = \"/tmp/x\"\nantennas = 9\n",
    )?;
    let out = Command::new(EXE)
        .args(["run", "--scenario", &file.to_string_lossy()])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("antennas = 9"), "{err}");

    // A regular file where the link should go is never replaced.
    let file = dir.path().join("occupied");
    std::fs::write(&file, "keep me")?;
    let out = Command::new(EXE)
        .args(["run", "--link", &file.to_string_lossy(), "--tags", "1"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a symlink"));
    assert_eq!(std::fs::read_to_string(&file)?, "keep me");
    Ok(())
}

/// `run --control`: timeline actions on stdin, one answer line each; a
/// SIGTERM still stops it cleanly (links removed) while stdin stays open.
#[test]
fn control_lines_move_tags_and_say_what_is_wrong() -> Result {
    let dir = tempfile::tempdir()?;
    let link = dir.path().join("reader");
    let link_s = link.to_string_lossy().to_string();
    let mut sim = SimProcess::spawn(
        [
            "run",
            "--control",
            "--protocol",
            "r2000",
            "--tags",
            "4",
            "--link",
            &link_s,
        ],
        1,
        &dir.path().join("sim.log"),
    )?;
    assert_eq!(sim.links[0].0, "reader-1");
    let mut say = |line: &str| sim.say(line);
    assert_eq!(
        say(r#"{"kind":"remove","tags":{"population":"assets","first":1,"count":2}}"#)?,
        "ok 2"
    );
    let mut host = Host::open(&link, 115_200)?;
    host.r2000(r2000::Command::RealTimeInventory { repeat: 5 })?;
    let frames = host.r2000_until(Duration::from_secs(3), |r| {
        matches!(r, r2000::Response::InventoryEnd { .. })
    })?;
    let seen: std::collections::BTreeSet<_> = frames
        .iter()
        .filter_map(|f| match f {
            r2000::Response::TagReport(t) => Some(t.epc),
            _ => None,
        })
        .collect();
    assert_eq!(seen.len(), 2, "two of four tags left in the field");
    let answer = say(
        r#"{"kind":"move","tags":{"population":"assets"},"reader":"gate-9","distance_m":0.2}"#,
    )?;
    assert!(
        answer.starts_with("error no reader named \"gate-9\""),
        "{answer}"
    );
    let answer = say("{\"kind\":\"teleport\"}")?;
    assert!(
        answer.starts_with("error not a timeline action"),
        "{answer}"
    );
    drop(host);
    let status = sim.stop(Signal::SIGTERM)?;
    assert!(status.success(), "{status}");
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
    Ok(())
}
