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
    let sim = Simulator::start(scenario)?;
    {
        let mut out = std::io::stdout().lock();
        for r in sim.readers() {
            writeln!(out, "ready {} {}", r.name(), r.link().display())?;
        }
        out.flush()?;
    }
    let sig = signals.wait().context("waiting for a signal")?;
    tracing::info!(signal = ?sig, "stopping");
    sim.shutdown();
    Ok(())
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
