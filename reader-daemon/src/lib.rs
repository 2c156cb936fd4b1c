//! `reader-daemon` — the edge daemon beside the UHF readers.
//!
//! Today it carries the field engineer's tools in [`tools`]: batch EPC
//! decoding/encoding and decoding of captured serial byte streams, both
//! streaming line by line in constant memory. The serial reader loop, the
//! durable journal and the sync with `warehouse-server` arrive with issue 4/6.

pub mod tools;
