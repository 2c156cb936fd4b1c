//! `reader-daemon` — the edge daemon beside the readers.
//!
//! Today it carries the field engineer's tools (`epc`, `frame`); the serial
//! reader loop, journal and sync arrive with issue 4/6.

fn main() {}
