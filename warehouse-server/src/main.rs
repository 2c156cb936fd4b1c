//! Command line of `warehouse-server`: `serve`, the `admin` commands and
//! `bench`. See docs/operations.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use warehouse_server::config::Config;
use warehouse_server::daemons::{self, NewDaemon};
use warehouse_server::events::{ChainKey, SignedHead};
use warehouse_server::policy::Role;
use warehouse_server::register::{NewReader, ReaderRole};
use warehouse_server::store::Store;
use warehouse_server::tools::{bench, bench_pages, fleet, import, scenario, seed, simulate};
use warehouse_server::{accounts, commission};

#[derive(Parser, Debug)]
#[command(
    name = "warehouse-server",
    version,
    about = "RFID public-asset warehouse server"
)]
struct Cli {
    /// TOML configuration file (keys: docs/operations.md).
    #[arg(long, global = true, env = "WAREHOUSE_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file (overrides config and WAREHOUSE_DB).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
        #[arg(long)]
        listen: Option<String>,
        /// PEM certificate chain: serve HTTPS (with --tls-key; see docs/operations.md).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Administration on the database file.
    #[command(subcommand)]
    Admin(Admin),
    /// Benchmarks (ingest, stock-take reconcile, EPC look-up); see docs/performance.md.
    Bench(bench::BenchArgs),
    /// Web UI page times with a large register; see docs/performance.md.
    BenchPages(bench_pages::BenchPagesArgs),
    /// A fleet of readers on serve replicas: seeding, ingest, read-to-visible,
    /// API latency, stock-take reconcile; see docs/performance.md, "Fleet".
    BenchFleet(fleet::FleetArgs),
    /// Register import of a generated workbook (100,000 rows by default):
    /// read, dry run, import, re-import times; see docs/performance.md.
    BenchImport(import::BenchImportArgs),
}

#[derive(Subcommand, Debug)]
enum Admin {
    /// First administrator and organisation settings (once).
    Init {
        #[arg(long)]
        admin_username: String,
        /// Password; or set WAREHOUSE_ADMIN_PASSWORD.
        #[arg(long, env = "WAREHOUSE_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
        #[arg(long)]
        org_name: String,
        /// GS1 company prefix (6–12 digits) for asset EPCs (GIAI-96).
        #[arg(long)]
        company_prefix: String,
    },
    /// Add a user.
    CreateUser(CreateUser),
    /// Register a reader as a daemon of its own and print the daemon's
    /// token (shown only this once).
    CreateReader {
        #[arg(long)]
        name: String,
        /// gate, desk or handheld.
        #[arg(long)]
        role: String,
        #[arg(long)]
        location_id: Option<i64>,
        /// The daemon's id (`[daemon] id` in its config); the reader's name
        /// when absent.
        #[arg(long)]
        daemon_id: Option<String>,
    },
    /// Register a daemon (edge box) with the readers it drives and print
    /// its token (shown only this once).
    RegisterDaemon {
        /// The daemon's id (`[daemon] id` in its config).
        #[arg(long)]
        daemon_id: String,
        /// A reader it drives, NAME:ROLE[:LOCATION_ID] (role gate, desk or
        /// handheld); repeat for each.
        #[arg(long = "reader", required = true)]
        readers: Vec<String>,
    },
    /// Add a region of the network (三级联网) and its agency: a province,
    /// a city under a province, a county under a city. Prints its id.
    AddRegion {
        #[arg(long)]
        name: String,
        /// province, city or county.
        #[arg(long)]
        level: String,
        /// The region one level up (none for a province).
        #[arg(long)]
        parent_id: Option<i64>,
        /// The agency (机关事务管理局); default `<name>机关事务管理局`.
        #[arg(long)]
        agency: Option<String>,
    },
    /// Revoke a daemon's token; it is refused (401) from then on.
    RevokeDaemon {
        #[arg(long)]
        daemon_id: String,
    },
    /// Consistent online backup to a new file (the server may keep running).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Check the keyed chain of events and request steps, and the register
    /// against it; exit 1 and name the first problem.
    VerifyLog {
        /// A head saved earlier by `export-head`: the chain must still
        /// contain it unchanged and extend it.
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Seal a database from before the keyed chain (schema 7) under the
    /// chain key, creating the key file if there is none; refuses if its
    /// unkeyed chain is already broken.
    RekeyChain,
    /// Print the chain's current head, signed with the chain key, as JSON
    /// to keep outside the database (refused if the database does not verify).
    ExportHead,
    /// Write every EPCIS 2.0 event (lifecycle, kits, stock-takes, reads)
    /// as one EPCISDocument (JSON-LD) file, streamed a page at a time; see
    /// docs/epcis.md.
    ExportEpcis {
        /// The file to write (replaced only when the export is complete).
        #[arg(long)]
        out: PathBuf,
        /// Events at or after this time: RFC 3339, or a date (its midnight
        /// in Asia/Shanghai).
        #[arg(long)]
        from: Option<String>,
        /// Events before this time: RFC 3339, or a date (its midnight in
        /// Asia/Shanghai).
        #[arg(long)]
        to: Option<String>,
    },
    /// Generate realistic demo data: N assets (`--assets`), or the demo
    /// network of regions (`--network`: 1 province, 3 cities, 9 counties,
    /// each with its agency's warehouse, units, staff and assets; refused
    /// when it is already there).
    Seed {
        #[arg(long, required_unless_present = "network")]
        assets: Option<u64>,
        #[arg(long, conflicts_with = "assets")]
        network: bool,
        /// The password of every login `--network` makes; or set
        /// WAREHOUSE_USER_PASSWORD.
        #[arg(long, env = "WAREHOUSE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Run a scripted year of requests of every kind and check that the
    /// hash chain verifies and the reports add up; exit 1 if not.
    SimulateYear {
        /// Requests to file.
        #[arg(long, default_value_t = 300)]
        requests: u32,
        /// Random seed (decisions, amounts); also names the simulated users.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Loans left approved and waiting for check-out at the desk at the
        /// end (specific tagged in-stock assets, two each), for demos.
        #[arg(long, default_value_t = 0)]
        waiting: u32,
    },
    /// Write a hardware-sim scenario whose readers see the register's own
    /// tags (desk shelf, exit gate, handheld), and print what to try.
    ExportScenario(scenario::ScenarioArgs),
    /// Import a register (.xlsx, .xls, .ods or CSV; Chinese headings
    /// recognised): every problem listed by row and column, then all rows
    /// in one transaction, or nothing when any row has a problem (exit 1).
    /// A second import of the same file changes nothing.
    ImportRegister(import::ImportArgs),
    /// Copy a SQLite deployment into a new, empty PostgreSQL database in
    /// one transaction, and check every table arrived intact (the global
    /// --db is not used; docs/operations.md, "Moving a deployment to
    /// PostgreSQL").
    Migrate {
        /// The SQLite database file to copy (opened read-only); its chain
        /// key is `chain_key_file` or FILE.chainkey.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/NAME.
        #[arg(long)]
        to: String,
    },
    /// Judge every asset under the agency's idle rules now, as the running
    /// server does daily: open findings, escalate unanswered ones past
    /// their deadline, close those no longer idle; print what it did.
    ScanIdle,
}

#[derive(Args, Debug)]
struct CreateUser {
    #[arg(long)]
    username: String,
    /// Password; or set WAREHOUSE_USER_PASSWORD.
    #[arg(long, env = "WAREHOUSE_USER_PASSWORD", hide_env_values = true)]
    password: String,
    /// administrator, approver, finance, keeper or unit_staff.
    #[arg(long)]
    role: String,
    /// Required for unit_staff.
    #[arg(long)]
    unit_id: Option<i64>,
    #[arg(long)]
    display_name: Option<String>,
    /// The region the role acts in (and below it, for approvers, finance
    /// and administrators); left out: the whole network.
    #[arg(long)]
    region_id: Option<i64>,
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WAREHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(db) = cli.db {
        config.db = db;
    }
    init_logging(&config);
    // Every command but `init` needs the chain key that `init` created.
    let open_with = |config: &Config, key: ChainKey| {
        Store::open(&config.db, 1, key).with_context(|| {
            format!(
                "opening {}",
                warehouse_server::store::pg::without_password(&config.db.to_string_lossy())
            )
        })
    };
    let open = |config: &Config| open_with(config, ChainKey::read(&config.chain_key_path())?);
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if tls_cert.is_some() {
                (config.tls_cert, config.tls_key) = (tls_cert, tls_key);
            }
            warehouse_server::serve(config).await?;
        }
        Command::Bench(args) => bench::run(args, config).await?,
        Command::BenchPages(args) => bench_pages::run(args, config).await?,
        Command::BenchFleet(args) => fleet::run(args, config).await?,
        Command::BenchImport(args) => import::bench_import(args, config).await?,
        Command::Admin(admin) => match admin {
            Admin::Init {
                admin_username,
                admin_password,
                org_name,
                company_prefix,
            } => {
                commission::check_company_prefix(&company_prefix)?;
                accounts::check_password_rules(&admin_password)?;
                let key = ChainKey::read_or_create(&config.chain_key_path())?;
                let store = open_with(&config, key)?;
                let hash = accounts::hash_password(&admin_password, config.password_cost)?;
                let user = store
                    .initialise(
                        vec![
                            ("org.name".into(), org_name),
                            (commission::COMPANY_PREFIX_KEY.into(), company_prefix),
                        ],
                        admin_username,
                        hash,
                    )
                    .await?;
                println!(
                    "initialised; administrator `{}` (id {})",
                    user.username, user.id
                );
            }
            Admin::CreateUser(u) => {
                let role = Role::parse(&u.role).with_context(|| {
                    format!(
                        "role `{}` is not administrator, approver, finance, keeper or unit_staff",
                        u.role
                    )
                })?;
                let new = warehouse_server::register::NewUser {
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    password: u.password.clone(),
                    role,
                    unit_id: u.unit_id,
                    region_id: u.region_id,
                };
                new.validate()?;
                let store = open(&config)?;
                let hash = accounts::hash_password(&u.password, config.password_cost)?;
                let user = store
                    .create_user(
                        u.username.clone(),
                        u.display_name.unwrap_or(u.username),
                        hash,
                        role,
                        u.unit_id,
                        u.region_id,
                    )
                    .await?;
                println!(
                    "created user `{}` (id {}, {})",
                    user.username,
                    user.id,
                    role.as_str()
                );
            }
            Admin::CreateReader {
                name,
                role,
                location_id,
                daemon_id,
            } => {
                let role = ReaderRole::parse(&role).with_context(|| {
                    format!("reader role `{role}` is not gate, desk or handheld")
                })?;
                let store = open(&config)?;
                let daemon = daemon_id.clone().unwrap_or_else(|| name.clone());
                let created = store
                    .create_reader(
                        NewReader {
                            name,
                            role,
                            location_id,
                        },
                        daemon_id,
                    )
                    .await?;
                eprintln!(
                    "reader `{}` (id {}) registered as daemon `{daemon}`; its token is shown only now:",
                    created.reader.name, created.reader.id
                );
                println!("{}", created.token);
            }
            Admin::RegisterDaemon { daemon_id, readers } => {
                let readers = readers
                    .iter()
                    .map(|r| daemons::parse_reader_spec(r))
                    .collect::<Result<Vec<_>, _>>()?;
                let store = open(&config)?;
                let created = store
                    .register_daemon(NewDaemon {
                        daemon_id,
                        readers,
                        expires_at: None,
                    })
                    .await?;
                let names: Vec<&str> = created
                    .daemon
                    .readers
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect();
                eprintln!(
                    "daemon `{}` registered with readers {}; its token is shown only now:",
                    created.daemon.daemon_id,
                    names.join(", ")
                );
                println!("{}", created.token);
            }
            Admin::AddRegion {
                name,
                level,
                parent_id,
                agency,
            } => {
                let level =
                    warehouse_server::register::RegionLevel::parse(&level).ok_or_else(|| {
                        anyhow::anyhow!("level `{level}` is not province, city or county")
                    })?;
                let store = open(&config)?;
                let region = store
                    .create_region(warehouse_server::register::NewRegion {
                        name,
                        level,
                        parent_id,
                        agency,
                    })
                    .await?;
                println!(
                    "region `{}` ({}, id {}), agency {}",
                    region.name,
                    region.level.as_str(),
                    region.id,
                    region.agency
                );
            }
            Admin::RevokeDaemon { daemon_id } => {
                let store = open(&config)?;
                store.revoke_daemon(daemon_id.clone()).await?;
                println!("daemon `{daemon_id}` revoked; its token is refused from now on");
            }
            Admin::Backup { to } => {
                let store = open(&config)?;
                store.backup_to(to.clone()).await?;
                println!("backup written to {}", to.display());
            }
            Admin::VerifyLog { against } => {
                let head = against
                    .map(|path| -> anyhow::Result<SignedHead> {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("reading exported head {}", path.display()))?;
                        serde_json::from_str(&text).with_context(|| {
                            format!("{} is not a head from `admin export-head`", path.display())
                        })
                    })
                    .transpose()?;
                let store = open(&config)?;
                let v = store.verify_log_against(head).await?;
                println!("{}", serde_json::to_string_pretty(&v)?);
                if !v.ok {
                    return Ok(ExitCode::from(1));
                }
            }
            Admin::RekeyChain => {
                let key = ChainKey::read_or_create(&config.chain_key_path())?;
                let store = open_with(&config, key)?;
                let done = store.rekey_chain().await?;
                println!(
                    "sealed {} events and {} request steps under the key in {}",
                    done.events,
                    done.steps,
                    config.chain_key_path().display()
                );
            }
            Admin::ExportEpcis { out, from, to } => {
                let bound = |name: &str, v: &Option<String>| {
                    v.as_deref()
                        .map(|v| warehouse_server::epcis::parse_bound(name, v))
                        .transpose()
                };
                let from_ms = bound("--from", &from)?;
                let to_ms = bound("--to", &to)?;
                let store = open(&config)?;
                let n = warehouse_server::tools::epcis_export::export(&store, &out, from_ms, to_ms)
                    .await?;
                println!("wrote {n} EPCIS events to {}", out.display());
            }
            Admin::ExportHead => {
                let store = open(&config)?;
                let head = store.export_head().await?;
                println!("{}", serde_json::to_string_pretty(&head)?);
            }
            Admin::ScanIdle => {
                let store = open(&config)?;
                let done = store
                    .scan_idle(warehouse_server::policy::Ctx::system("admin-scan-idle"))
                    .await?;
                println!("{}", serde_json::to_string_pretty(&done)?);
            }
            Admin::SimulateYear {
                requests,
                seed,
                waiting,
            } => {
                let store = open(&config)?;
                let report = simulate::simulate_year(&store, seed, requests, waiting).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                if !report.ok {
                    return Ok(ExitCode::from(1));
                }
            }
            Admin::ImportRegister(args) => {
                let store = open(&config)?;
                let outcome = import::import_register(&store, args, true).await?;
                if !outcome.problems.is_empty() {
                    return Ok(ExitCode::from(1));
                }
            }
            Admin::ExportScenario(args) => {
                let store = open(&config)?;
                let guide = scenario::export(&store, &args).await?;
                print!("{guide}");
            }
            Admin::Migrate { from, to } => {
                // The key sits beside the source file unless configured.
                config.db = from.clone();
                let report = warehouse_server::store::pg::copy_from_sqlite(
                    &from,
                    &to,
                    &config.chain_key_path(),
                )
                .await?;
                for t in &report.tables {
                    println!(
                        "{:<24} {:>10} rows  digest {}  equal in both",
                        t.table,
                        t.rows,
                        shared::hex::Hex(&t.digest[..8])
                    );
                }
                for (table, rows) in &report.not_copied {
                    println!("{table:<24} {rows:>10} rows  not copied");
                }
                let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
                println!(
                    "copied {} tables, {rows} rows, from {} to {}; the PostgreSQL deployment \
                     needs the same chain key file ({})",
                    report.tables.len(),
                    from.display(),
                    warehouse_server::store::pg::redact_url(&to),
                    config.chain_key_path().display()
                );
            }
            Admin::Seed {
                network: true,
                password,
                ..
            } => {
                let password = password.context(
                    "seed --network makes logins: give --password (or WAREHOUSE_USER_PASSWORD)",
                )?;
                warehouse_server::register::NewUser {
                    username: "network".into(),
                    display_name: None,
                    password: password.clone(),
                    role: Role::Approver,
                    unit_id: None,
                    region_id: None,
                }
                .validate()?;
                let store = open(&config)?;
                let hash = accounts::hash_password(&password, config.password_cost)?;
                let report = seed::seed_network(&store, &hash).await?;
                println!(
                    "seeded the network: {} regions, {} warehouses, {} units, {} assets",
                    report.regions, report.warehouses, report.units, report.assets
                );
                println!("logins (password as given):");
                for l in &report.logins {
                    println!(
                        "  {:<20} {:<6} {:<10} {}{}",
                        l.username,
                        l.display_name,
                        l.role.as_str(),
                        l.region,
                        l.unit
                            .as_deref()
                            .map(|u| format!(" · {u}"))
                            .unwrap_or_default()
                    );
                }
            }
            Admin::Seed { assets, .. } => {
                let assets = assets.context("give --assets N or --network")?;
                let store = open(&config)?;
                let report = seed::seed(&store, assets, true).await?;
                println!(
                    "seeded {} assets in {:.1?} ({} in the register)",
                    report.assets_added, report.elapsed, report.assets_total
                );
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
