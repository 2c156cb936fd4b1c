//! `reader-daemon` binary: command-line entry point.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reader_daemon::tools::{self, frame::Protocol, Tally};
use shared::protocol::Direction;

#[derive(Debug, Parser)]
#[command(
    name = "reader-daemon",
    version,
    about = "RFID public-asset warehouse: edge reader daemon and field tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// GS1 EPC tools: decode hex to scheme, fields and URIs; encode URIs to hex.
    Epc {
        #[command(subcommand)]
        action: EpcAction,
    },
    /// Reader wire-protocol tools.
    Frame {
        #[command(subcommand)]
        action: FrameAction,
    },
    /// Run the daemon: drive the configured readers, journal their
    /// observations and sync them to the server (until SIGINT/SIGTERM).
    Run {
        /// TOML configuration (see docs/reader-daemon.md).
        #[arg(long)]
        config: PathBuf,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Show a running daemon's readers, journal backlog and last sync.
    Status {
        #[arg(long)]
        config: PathBuf,
        /// Print the raw JSON status instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Handheld stock-take: join (--session) or open (--open) a stock-take,
    /// run the reader with a live count, sync the results (also later, when
    /// offline now) and print the summary. Ends on Enter or after --duration-s.
    Stocktake {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        reader: String,
        /// Open a new stock-take of this location id (needs --warehouse).
        #[arg(
            long,
            conflicts_with = "session",
            required_unless_present_any = ["session", "inspect"]
        )]
        open: Option<i64>,
        #[arg(long, requires = "open")]
        warehouse: Option<i64>,
        /// Open an inspection at this unit's premises (巡检): what the unit
        /// holds is expected.
        #[arg(long, conflicts_with_all = ["session", "open"])]
        inspect: Option<i64>,
        /// Join this open stock-take.
        #[arg(long)]
        session: Option<i64>,
        /// A keeper's API token (or WAREHOUSE_TOKEN); needed to open and for
        /// the expected list, which is then cached for offline use.
        #[arg(long)]
        keeper_token: Option<String>,
        #[arg(long)]
        duration_s: Option<f64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// At the end, how long to wait for the server to take the results;
        /// what it has not taken stays journalled and goes with the next run.
        #[arg(long, default_value_t = 15.0)]
        sync_wait_s: f64,
    },
    /// Write asset EPCs onto blank tags: exactly one blank tag in the field,
    /// EPC allocated by the server, written, read back, confirmed.
    Commission {
        #[arg(long)]
        config: PathBuf,
        /// Reader (from the config) to write with; the daemon must not be
        /// using it at the same time.
        #[arg(long)]
        reader: String,
        /// Asset id; repeat for several (prompts between tags).
        #[arg(long, required_unless_present = "batch")]
        asset: Vec<i64>,
        /// A delivery: file with one asset id per line (`-` for stdin).
        #[arg(long)]
        batch: Option<PathBuf>,
        /// Overwrite a tag that already carries an asset (GIAI) EPC.
        #[arg(long)]
        force: bool,
        /// No prompt between tags.
        #[arg(long)]
        yes: bool,
        /// Inventory time for the field check and the read-back, ms.
        #[arg(long, default_value_t = 700)]
        scan_ms: u64,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum EpcAction {
    /// Decode EPC hex (arguments, or one per line from stdin with none or `-`)
    /// to one JSON object per line.
    Decode {
        /// EPC bank identifier bytes as hex (without PC word).
        hex: Vec<String>,
    },
    /// Encode tag URIs (`urn:epc:tag:…`) or pure-identity URIs
    /// (`urn:epc:id:…`, with --filter) to EPC hex, one JSON object per line.
    Encode {
        /// URIs; none or `-` reads one per line from stdin.
        uri: Vec<String>,
        /// Filter value (0–7) for pure-identity URIs, which carry none.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=7))]
        filter: Option<u8>,
    },
}

#[derive(Debug, Subcommand)]
enum FrameAction {
    /// Decode a captured byte stream (hex; arguments or stdin lines, all one
    /// stream) into one JSON object per frame and per skipped byte range.
    Decode {
        #[arg(long, value_enum)]
        protocol: Protocol,
        /// Which side sent the bytes: the reader's responses, or the host's commands.
        #[arg(long, value_enum, default_value = "response")]
        direction: DirectionArg,
        hex: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DirectionArg {
    Response,
    Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run { config, log_format } => {
            init_logging(log_format);
            daemon_main(&config)
        }
        Command::Status { config, json } => reader_daemon::cli::status(&config, json),
        Command::Stocktake {
            config,
            reader,
            open,
            warehouse,
            inspect,
            session,
            keeper_token,
            duration_s,
            quiet,
            sync_wait_s,
        } => {
            init_logging(LogFormat::Text);
            reader_daemon::cli::stocktake(
                &config,
                reader_daemon::cli::StocktakeArgs {
                    reader,
                    open_location: open,
                    warehouse,
                    inspect_unit: inspect,
                    session,
                    keeper_token,
                    duration: duration_s
                        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok()),
                    quiet,
                    sync_wait: std::time::Duration::try_from_secs_f64(sync_wait_s)
                        .unwrap_or(std::time::Duration::ZERO),
                },
            )
        }
        Command::Commission {
            config,
            reader,
            asset,
            batch,
            force,
            yes,
            scan_ms,
        } => {
            init_logging(LogFormat::Text);
            commission_main(&config, reader, asset, batch, force, yes, scan_ms)
        }
        command => return tools_main(Cli { command }),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("reader-daemon: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn daemon_main(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let config = reader_daemon::config::Config::load(config)?;
    reader_daemon::daemon::run(config)?;
    Ok(ExitCode::SUCCESS)
}

fn commission_main(
    config: &std::path::Path,
    reader: String,
    mut assets: Vec<i64>,
    batch: Option<PathBuf>,
    force: bool,
    yes: bool,
    scan_ms: u64,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    if let Some(batch) = batch {
        let text = if batch.as_os_str() == "-" {
            io::read_to_string(io::stdin())?
        } else {
            std::fs::read_to_string(&batch)
                .with_context(|| format!("reading the batch file {}", batch.display()))?
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            assets.push(
                line.parse().with_context(|| {
                    format!("batch line {}: {line:?} is not an asset id", n + 1)
                })?,
            );
        }
    }
    reader_daemon::cli::commission(
        config,
        reader_daemon::cli::CommissionArgs {
            reader,
            assets,
            force,
            yes,
            scan: std::time::Duration::from_millis(scan_ms),
        },
    )
}

fn tools_main(cli: Cli) -> ExitCode {
    match run(cli) {
        Ok(tally) => ExitCode::from(tally.exit_code() as u8),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reader-daemon: {e}");
            ExitCode::from(2)
        }
    }
}

/// True when the items should come from stdin: no arguments, or just `-`.
fn from_stdin(items: &[String]) -> bool {
    items.is_empty() || (items.len() == 1 && items[0] == "-")
}

/// Buffer size on both ends of the batch tools' pipes: a pipe hands over
/// up to 64 KiB a read, and fewer, larger reads and writes keep syscalls
/// off the per-line cost.
const PIPE_BUFFER: usize = 1 << 20;

/// Standard input behind a large buffer.
fn stdin() -> io::BufReader<io::StdinLock<'static>> {
    io::BufReader::with_capacity(PIPE_BUFFER, io::stdin().lock())
}

fn run(cli: Cli) -> io::Result<Tally> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(PIPE_BUFFER, stdout.lock());
    let tally = match cli.command {
        Command::Epc { action } => match action {
            EpcAction::Decode { hex } if from_stdin(&hex) => {
                tools::epc::decode_stream(stdin(), &mut out)?
            }
            EpcAction::Decode { hex } => {
                let mut decoder = tools::epc::Decoder::default();
                let mut tally = Tally::default();
                for item in &hex {
                    tally.record(decoder.item(item, &mut out)?);
                }
                tally
            }
            EpcAction::Encode { uri, filter } if from_stdin(&uri) => {
                tools::epc::encode_stream(stdin(), filter, &mut out)?
            }
            EpcAction::Encode { uri, filter } => {
                let mut tally = Tally::default();
                for item in &uri {
                    tally.record(tools::epc::encode_item(item, filter, &mut out)?);
                }
                tally
            }
        },
        Command::Frame {
            action:
                FrameAction::Decode {
                    protocol,
                    direction,
                    hex,
                },
        } => {
            let direction = match direction {
                DirectionArg::Response => Direction::Response,
                DirectionArg::Command => Direction::Command,
            };
            let input = if from_stdin(&hex) {
                tools::frame::Input::Lines(stdin())
            } else {
                tools::frame::Input::Args(&hex)
            };
            tools::frame::decode(protocol, direction, input, &mut out)?
        }
        Command::Run { .. }
        | Command::Status { .. }
        | Command::Stocktake { .. }
        | Command::Commission { .. } => Tally::default(),
    };
    out.flush()?;
    Ok(tally)
}
