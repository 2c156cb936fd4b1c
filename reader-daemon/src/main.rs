//! `reader-daemon` binary: command-line entry point.

use std::io::{self, BufWriter, Write};
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

fn run(cli: Cli) -> io::Result<Tally> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let tally = match cli.command {
        Command::Epc { action } => match action {
            EpcAction::Decode { hex } if from_stdin(&hex) => {
                tools::epc::decode_stream(io::stdin().lock(), &mut out)?
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
                tools::epc::encode_stream(io::stdin().lock(), filter, &mut out)?
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
                tools::frame::Input::Lines(io::stdin().lock())
            } else {
                tools::frame::Input::Args(&hex)
            };
            tools::frame::decode(protocol, direction, input, &mut out)?
        }
    };
    out.flush()?;
    Ok(tally)
}
