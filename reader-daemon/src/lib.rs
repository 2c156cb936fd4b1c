//! `reader-daemon` — the edge daemon beside the UHF readers.
//!
//! It drives serial readers ([`reader`] threads around sans-IO [`driver`]s
//! for the R2000 and Chainway protocols), folds raw reads into event-cycle
//! observations ([`aggregate`]), commits them to a durable SQLite
//! [`journal`] and sends them to `warehouse-server` exactly once
//! ([`sync`]), failing over between the server's replicas ([`servers`]).
//! [`daemon`] wires these together for `reader-daemon run`; [`status`]
//! serves `/status` and `/metrics`; [`health`] reports the readers' health
//! to the server. The field engineer's tools (EPC and frame decoding) are
//! in [`tools`].

pub mod aggregate;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod driver;
pub mod handheld;
pub mod health;
pub mod journal;
pub mod reader;
pub mod servers;
pub mod status;
pub mod sync;
pub mod tools;
