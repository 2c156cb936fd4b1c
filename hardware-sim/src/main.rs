//! `hardware-sim` binary: serves emulated readers on PTYs.
//!
//! `run` prints `ready <name> <link>` per reader once every link exists and
//! serves until SIGINT/SIGTERM, then removes its links. `bench` measures
//! line utilisation, CPU and memory of a `run` child.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use hardware_sim::bench::{self, BenchOptions};
use hardware_sim::{ProtocolKind, Scenario, Simulator};
use nix::sys::signal::{SigSet, Signal};

#[derive(Debug, Parser)]
#[command(
    name = "hardware-sim",
    version,
    about = "Emulated UHF RFID readers on pseudo-terminals"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the readers of a scenario (or one quick reader) until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Measure a one-reader field at line rate: report bytes vs line
    /// capacity, the simulator's CPU and RSS.
    Bench(BenchArgs),
    /// Check a scenario file and print what it defines.
    Check {
        #[arg(long)]
        scenario: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario file (TOML, see docs/hardware-sim.md).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Link path for a single reader (the scenario's only reader, or a quick one).
    #[arg(long)]
    link: Option<PathBuf>,
    #[arg(long, value_enum)]
    protocol: Option<ProtocolKind>,
    /// Without a scenario: N generated GIAI-96 tags (company prefix 0614141).
    #[arg(long, default_value_t = 20)]
    tags: usize,
    /// Reader address (R2000), overrides the scenario.
    #[arg(long)]
    address: Option<u8>,
    /// Line rate, overrides the scenario (default 115200).
    #[arg(long)]
    baud: Option<u32>,
    /// Seed for every random choice, overrides the scenario.
    #[arg(long)]
    seed: Option<u64>,
    /// Read timeline actions from stdin, one JSON object per line, and
    /// apply each at once (the scenario's `[[event]]` fields without
    /// `at_s`, e.g. `{"kind":"move","tags":{"population":"blank","first":0,"count":1},"reader":"reader-1","distance_m":0.3}`);
    /// answers `ok N` (N tags selected) or `error WHY` per line on stdout.
    #[arg(long)]
    control: bool,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    #[arg(long, default_value_t = 5000)]
    tags: usize,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    #[arg(long, value_enum, default_value_t = ProtocolKind::R2000)]
    protocol: ProtocolKind,
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn build_scenario(a: &RunArgs) -> anyhow::Result<Scenario> {
    let mut s = match &a.scenario {
        Some(path) => Scenario::load(path)?,
        None => {
            let Some(link) = &a.link else {
                bail!("give --scenario FILE, or --link PATH (with --protocol and --tags)");
            };
            Scenario::quick(a.protocol.unwrap_or(ProtocolKind::R2000), link, a.tags)
        }
    };
    if a.scenario.is_some() {
        if let Some(link) = &a.link {
            if s.readers.len() != 1 {
                bail!(
                    "--link names one reader but the scenario has {}",
                    s.readers.len()
                );
            }
            s.readers[0].link = link.clone();
        }
        if let Some(p) = a.protocol {
            s.readers.iter_mut().for_each(|r| r.protocol = p);
        }
    }
    if let Some(addr) = a.address {
        if addr == 0xFF {
            bail!("--address 255 is the broadcast address");
        }
        s.readers.iter_mut().for_each(|r| r.address = addr);
    }
    if let Some(b) = a.baud {
        s.readers.iter_mut().for_each(|r| r.baud = b);
    }
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    s.validate()?;
    Ok(s)
}

fn run(a: RunArgs) -> anyhow::Result<()> {
    let scenario = build_scenario(&a)?;
    // Block the signals before any thread exists so that only `wait` sees them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;
    let sim = std::sync::Arc::new(Simulator::start(scenario)?);
    {
        let mut out = std::io::stdout().lock();
        for r in sim.readers() {
            writeln!(out, "ready {} {}", r.name(), r.link().display())?;
        }
        out.flush()?;
    }
    if a.control {
        // A weak handle: a control thread blocked on stdin must not keep the
        // simulator (and its links) alive after a signal.
        let weak = std::sync::Arc::downgrade(&sim);
        std::thread::spawn(move || control(&weak));
    }
    let sig = signals.wait().context("waiting for a signal")?;
    tracing::info!(signal = ?sig, "stopping");
    let mut sim = sim;
    loop {
        match std::sync::Arc::try_unwrap(sim) {
            Ok(s) => {
                s.shutdown();
                return Ok(());
            }
            // A control line is being applied; it takes microseconds.
            Err(shared) => {
                sim = shared;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

/// `run --control`: applies stdin's JSON actions until stdin closes.
fn control(sim: &std::sync::Weak<Simulator>) {
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let answer = match serde_json::from_str::<hardware_sim::EventAction>(text) {
            Err(e) => format!("error not a timeline action ({e}): {text}"),
            Ok(action) => match sim.upgrade() {
                None => return,
                Some(sim) => match sim.apply(&action) {
                    Ok(n) => format!("ok {n}"),
                    Err(e) => format!("error {e}"),
                },
            },
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HARDWARE_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(a) => run(a),
        Cmd::Bench(b) => bench::run(&BenchOptions {
            tags: b.tags,
            seconds: b.seconds,
            protocol: b.protocol,
            baud: b.baud,
            json: b.json,
        })
        .map(|_| ()),
        Cmd::Check { scenario } => Scenario::load(&scenario)
            .map(|s| {
                for r in &s.readers {
                    println!(
                        "reader {} {} at {} ({} antennas, {:?})",
                        r.name,
                        r.protocol,
                        r.link.display(),
                        r.antennas,
                        r.role
                    );
                }
                for p in &s.populations {
                    println!("population {}: {:?}", p.name, p.kind);
                }
                println!("{} timeline events, seed {}", s.events.len(), s.seed);
            })
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hardware-sim: {e:#}");
            ExitCode::from(2)
        }
    }
}
