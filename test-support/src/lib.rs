//! Process fixtures for the workspace's end-to-end tests (a dev-dependency
//! only, never published): finding (and if needed building) the workspace's
//! binaries, `warehouse-server` initialised with `admin init` on a temporary
//! SQLite file and served on 127.0.0.1 with an OS-assigned port, its HTTP
//! API with the standard test accounts, `hardware-sim` and `reader-daemon`
//! as child processes, and bounded waits. Every child is killed on drop.
//!
//! Fixtures that only one crate's tests use (the daemon's journal probes,
//! the server's standard world of units and assets, the simulator's serial
//! host) stay in that crate's `tests/`.

mod api;
mod bin;
mod daemon;
mod main_job;
mod pg;
mod process;
mod server;
mod sim;
mod words;

pub use api::{api_login, id, Api, BlockingApi};
pub use bin::workspace_bin;
pub use daemon::{Daemon, DaemonConfig, ReaderLine};
pub use main_job::{
    bin_dir, field, free_port, population_epcs, processes_under, run_command, MainJob,
    DEMO_PASSWORD,
};
pub use pg::{db_execute, db_rows, db_scalar, hex_of, pg_admin_url, PgDatabase, DEFAULT_PG_URL};
pub use process::{collect, output_within, text_of, wait_until, Process};
pub use server::{
    admin_init, chain_key_file, cli, cli_ok, fresh_db, on_postgres, Server, WarehouseServer,
};
pub use sim::SimProcess;
pub use words::{chinese_outside, unreadable};

/// The administrator `admin init` creates.
pub const ADMIN: &str = "admin";
/// Every test account's password.
pub const PASSWORD: &str = "s3cret-pass";
/// The GS1 company prefix of the test organisation (the simulator's).
pub const COMPANY_PREFIX: &str = "0614141";
/// The test organisation's name.
pub const ORG_NAME: &str = "测试公物仓";
