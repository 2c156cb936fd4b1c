//! End-to-end tests: each starts the real `warehouse-server` binary on
//! 127.0.0.1 with an OS-assigned port and a temporary SQLite database
//! (see `support`), and drives it over HTTP like a client would.

mod support;

mod activity;
mod admin_cli;
mod auth;
mod bad_input;
mod central_purchasing;
mod clerk_checks;
mod cockpit;
mod contract;
mod epcis;
mod exports_and_bounds;
mod fleet;
mod health;
mod idle_findings;
mod import_register;
mod ingest;
mod inspections;
mod intake;
mod keepers;
mod kits;
mod log_and_backup;
mod migrate;
mod money_rules;
mod multi_line;
mod network;
mod pages_words;
mod pages_words2;
mod postgres;
mod regions;
mod register;
mod rentals;
mod replicas;
mod report_periods;
mod reports_lists;
mod reservations;
mod run_script;
mod security_auth;
mod security_chain;
mod security_readers;
mod security_serving;
mod standards;
mod stocktake;
mod supervision;
mod tags;
mod workflows;
