//! `warehouse-server` as a child process: `admin init` on a temporary
//! SQLite file, `serve` on 127.0.0.1, the admin CLI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use std::sync::Arc;

use crate::api::Api;
use crate::pg::PgDatabase;
use crate::process::Process;
use crate::{workspace_bin, ADMIN, COMPANY_PREFIX, ORG_NAME, PASSWORD};

/// How long a server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment every server run gets: cheap password hashing, quiet logs.
fn test_env(cmd: &mut Command) -> &mut Command {
    cmd.env("WAREHOUSE_PASSWORD_COST", "insecure-fast-for-tests")
        .env("WAREHOUSE_LOG", "warn")
}

/// True if `db` is a PostgreSQL URL rather than a SQLite file.
fn is_postgres(db: &Path) -> bool {
    let text = db.to_string_lossy();
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The environment for a server over `db`: a PostgreSQL database's chain
/// key lives in the temp dir (see [`chain_key_file`]).
fn db_env<'a>(cmd: &'a mut Command, db: &Path) -> &'a mut Command {
    if is_postgres(db) {
        cmd.env("WAREHOUSE_CHAIN_KEY_FILE", chain_key_file(db));
    }
    test_env(cmd)
}

/// Runs `warehouse-server --db DB ARGS…` to completion.
pub fn cli(db: &Path, args: &[&str]) -> Result<Output> {
    db_env(
        Command::new(workspace_bin("warehouse-server")?)
            .arg("--db")
            .arg(db)
            .args(args),
        db,
    )
    .output()
    .context("running warehouse-server")
}

/// [`cli`] that must succeed; returns stdout.
pub fn cli_ok(db: &Path, args: &[&str]) -> Result<String> {
    let out = cli(db, args)?;
    if !out.status.success() {
        // A command such as simulate-year says what failed on stdout:
        // keep its last lines with stderr.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        bail!(
            "warehouse-server {args:?} failed: {}\n--- last lines of stdout:\n{tail}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Which database the fixtures give a server: SQLite files unless
/// `WAREHOUSE_TEST_BACKEND=postgres`, then a fresh PostgreSQL database per
/// server (scripts/test.sh runs the e2e suite both ways).
pub fn on_postgres() -> bool {
    std::env::var("WAREHOUSE_TEST_BACKEND")
        .map(|b| b.trim().eq_ignore_ascii_case("postgres"))
        .unwrap_or(false)
}

/// A fresh, not yet initialised database for one test: `DIR/NAME` on
/// SQLite, a new PostgreSQL database (dropped with the handle) under
/// `WAREHOUSE_TEST_BACKEND=postgres`. Pass the path to `--db`.
pub fn fresh_db(dir: &Path, name: &str) -> Result<(PathBuf, Option<Arc<PgDatabase>>)> {
    if on_postgres() {
        let pg = PgDatabase::create()?;
        Ok((PathBuf::from(pg.url()), Some(Arc::new(pg))))
    } else {
        Ok((dir.join(name), None))
    }
}

/// Where a server over `db` logs: `DB.log` beside a SQLite file; for a
/// PostgreSQL URL, a file named after the database in the temp dir.
fn log_beside(db: &Path) -> PathBuf {
    let text = db.to_string_lossy();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let name = text
            .rsplit('/')
            .next()
            .unwrap_or("pg")
            .replace(['?', '&', '='], "_");
        std::env::temp_dir().join(format!("{name}.log"))
    } else {
        db.with_extension("log")
    }
}

/// The server process over one database file. It can be killed and started
/// again at the same URL (a server that goes away and comes back); it is
/// killed on drop.
#[derive(Debug)]
pub struct WarehouseServer {
    pub db: PathBuf,
    /// `http://127.0.0.1:PORT`; empty until the port is known.
    pub url: String,
    /// 0 until the first start (or [`WarehouseServer::init`]) fixes it.
    port: u16,
    env: Vec<(String, String)>,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Process>,
    /// The PostgreSQL database, kept while any replica uses it.
    pg: Option<Arc<PgDatabase>>,
}

impl WarehouseServer {
    /// `admin init` of `DIR/warehouse.db` (administrator [`ADMIN`], password
    /// [`PASSWORD`], company prefix [`COMPANY_PREFIX`]), with a loopback port
    /// reserved now so a config can name the server before it runs.
    pub fn init(dir: &Path) -> Result<Self> {
        let (db, pg) = fresh_db(dir, "warehouse.db")?;
        admin_init(&db)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut server = Self::on(db);
        server.pg = pg;
        server.log = dir.join("warehouse.log");
        server.port = port;
        server.url = format!("http://127.0.0.1:{port}");
        Ok(server)
    }

    /// An existing database; the OS assigns the port at the first start.
    /// The server's stderr goes to `DB.log`.
    pub fn on(db: PathBuf) -> Self {
        Self {
            log: log_beside(&db),
            db,
            url: String::new(),
            port: 0,
            env: Vec::new(),
            args: Vec::new(),
            child: None,
            pg: None,
        }
    }

    /// Keeps `pg` (the database `db` names) alive as long as this server.
    pub fn keeping(mut self, pg: Option<Arc<PgDatabase>>) -> Self {
        self.pg = pg;
        self
    }

    /// A second `serve` process on the same database file (SQLite in WAL
    /// mode takes several processes; each transaction is IMMEDIATE), with
    /// the same environment and arguments, its own reserved loopback port
    /// and its stderr in `DB.NAME.log`: a replica for fail-over tests.
    pub fn replica(&self, name: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Ok(Self {
            db: self.db.clone(),
            url: format!("http://127.0.0.1:{port}"),
            port,
            env: self.env.clone(),
            args: self.args.clone(),
            log: self.log.with_extension(format!("{name}.log")),
            child: None,
            pg: self.pg.clone(),
        })
    }

    /// An extra environment variable for `serve`.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// An extra argument for `serve` (e.g. `--tls-cert`).
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// `warehouse-server --db DB admin ARGS…`, which must succeed; stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        cli_ok(&self.db, &all)
    }

    /// Registers the daemon a config describes (its `daemon_id` and every
    /// reader, with `admin register-daemon`); returns the daemon's token.
    pub fn register_daemon(&self, cfg: &crate::DaemonConfig) -> Result<String> {
        let specs: Vec<String> = cfg
            .readers
            .iter()
            .map(|r| format!("{}:{}", r.name, r.role))
            .collect();
        let mut args = vec!["register-daemon", "--daemon-id", &cfg.daemon_id];
        for spec in &specs {
            args.extend(["--reader", spec]);
        }
        let out = self.admin(&args)?;
        Ok(out.trim().to_string())
    }

    /// Serves; returns once the server has bound and said so (`listening on
    /// URL` on stdout), with the URL.
    pub fn start(&mut self) -> Result<&str> {
        self.kill();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let listen = format!("127.0.0.1:{}", self.port);
        let mut process = Process::spawn(
            db_env(
                Command::new(workspace_bin("warehouse-server")?)
                    .arg("--db")
                    .arg(&self.db)
                    .args(["serve", "--listen", &listen])
                    .args(&self.args),
                &self.db,
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log),
            "warehouse-server",
        )?;
        let stdout = process
            .child()
            .stdout
            .take()
            .ok_or_else(|| anyhow!("warehouse-server: no stdout"))?;
        // The first line says where it listens; the rest is drained so the
        // server never writes into a closed pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => bail!(
                "warehouse-server exited before listening on {listen}: {}",
                self.log_text()
            ),
            Err(_) => bail!(
                "warehouse-server did not listen on {listen} within {START_TIMEOUT:?}: {}",
                self.log_text()
            ),
        };
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from warehouse-server: {line:?}"))?;
        self.port = url
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .ok_or_else(|| anyhow!("no port in warehouse-server's {line:?}"))?;
        self.url = url.to_owned();
        self.child = Some(process);
        Ok(&self.url)
    }

    /// The running server's process id (for reading its memory use).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Process::pid)
    }

    /// Whether the server's process is still running (for assertion
    /// messages): `None` if it was never started or was killed.
    pub fn running(&mut self) -> Option<bool> {
        let child = self.child.as_mut()?;
        Some(matches!(child.child().try_wait(), Ok(None)))
    }

    /// Kills the server (it is "away" until [`WarehouseServer::start`] again).
    pub fn kill(&mut self) {
        drop(self.child.take());
    }

    /// The server's stderr so far (for assertion messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Where the server keeps a database's chain key by default
/// (`<db>.chainkey`, created by `admin init`).
pub fn chain_key_file(db: &Path) -> PathBuf {
    if is_postgres(db) {
        return log_beside(db).with_extension("chainkey");
    }
    let mut p = db.as_os_str().to_owned();
    p.push(".chainkey");
    p.into()
}

/// `admin init` of `db` with the standard test organisation: administrator
/// [`ADMIN`] with [`PASSWORD`], company prefix [`COMPANY_PREFIX`].
pub fn admin_init(db: &Path) -> Result<()> {
    cli_ok(
        db,
        &[
            "admin",
            "init",
            "--admin-username",
            ADMIN,
            "--admin-password",
            PASSWORD,
            "--org-name",
            ORG_NAME,
            "--company-prefix",
            COMPANY_PREFIX,
        ],
    )?;
    Ok(())
}

/// A running server on a fresh or given database in its own temporary
/// directory, with an [`Api`] client to it (`server.post_ok(…)`,
/// `server.base`, `server.http` through `Deref`); killed on drop.
#[derive(Debug)]
pub struct Server {
    pub process: WarehouseServer,
    pub api: Api,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    /// Fresh database, initialised with an administrator.
    pub fn start() -> Result<Self> {
        Self::start_fresh(&[], &[])
    }

    /// [`Server::start`] with extra environment variables and `serve`
    /// arguments.
    pub fn start_fresh(env: &[(&str, &str)], args: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (db, pg) = fresh_db(dir.path(), "warehouse.db")?;
        admin_init(&db)?;
        let mut server = Self::start_with_args(dir, db, env, args)?;
        server.process.pg = pg;
        Ok(server)
    }

    /// Serves an existing database file.
    pub fn start_on(dir: tempfile::TempDir, db: PathBuf) -> Result<Self> {
        Self::start_with(dir, db, &[])
    }

    /// Serves an existing database file with extra environment variables.
    /// Request bodies are capped at 64 KiB (`WAREHOUSE_MAX_BODY_BYTES`) so
    /// oversized-body tests stay small.
    pub fn start_with(dir: tempfile::TempDir, db: PathBuf, env: &[(&str, &str)]) -> Result<Self> {
        Self::start_with_args(dir, db, env, &[])
    }

    /// [`Server::start_with`] plus extra `serve` arguments.
    pub fn start_with_args(
        dir: tempfile::TempDir,
        db: PathBuf,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Self> {
        let mut process = WarehouseServer::on(db.clone()).env("WAREHOUSE_MAX_BODY_BYTES", "65536");
        for (k, v) in env {
            process = process.env(k, v);
        }
        for a in args {
            process = process.arg(a);
        }
        let api = Api::new(process.start()?)?;
        Ok(Self {
            process,
            api,
            db,
            dir,
        })
    }
}
