//! Operator tools that run beside the server on a plain thread, not behind
//! HTTP: demo data (`seed`), the register benchmark (`bench`), web page
//! timings (`bench-pages`), a fleet of readers on replicas (`bench-fleet`),
//! the scripted year (`admin simulate-year`) and
//! the simulated field built from the register (`admin export-scenario`),
//! the EPCIS 2.0 document of the history (`admin export-epcis`).
//! They use the store's `*_blocking` methods or a real server on 127.0.0.1.

pub mod bench;
pub mod bench_pages;
pub mod epcis_export;
pub mod fleet;
pub mod import;
pub mod scenario;
pub mod seed;
pub mod simulate;
