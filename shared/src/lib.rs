//! `shared` — the code every other crate of the warehouse stands on.
//!
//! It is pure: no IO, no async, no clocks. It owns the asset's lifetime
//! identity (the GS1 EPC codec in [`epc`]) and the readers' serial wire
//! protocols as sans-IO codecs ([`protocol::r2000`], [`protocol::chainway`]):
//! bytes in, frames out. The daemon owns the serial ports, the simulator owns
//! the pseudo-terminals; both call the same functions here.

pub mod epc;
pub mod hex;
pub mod protocol;
pub mod sync;
pub mod tag;
