//! `warehouse-server` — the central server where keepers, units, approvers
//! and finance meet and every scan ends up: HTTP JSON API, web UI, storage,
//! the asset lifecycle state machine, stock-take reconciliation, reports.
//!
//! Not built yet (issue 3/6); this binary only says so.

fn main() {
    eprintln!("warehouse-server: not built yet — see issue 3/6 in the tracker");
    std::process::exit(2);
}
