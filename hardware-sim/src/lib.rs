//! `hardware-sim` — emulated UHF RFID readers on pseudo-terminals.
//!
//! Speaks the same bytes as the real devices (device side of the `shared`
//! codecs), paced at the serial line rate, over a tag field with enough
//! physics and faults that the daemon tested against it works on real
//! readers. A library for tests to script, and a binary.
