//! Fixtures only the daemon's end-to-end tests use: its own CLI, its
//! journal, what the server stored, and a small register to work against.
//! The processes (server, simulator, daemon), the HTTP client and bounded
//! waits come from the `test-support` crate, re-exported here.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

#[allow(unused_imports)]
pub use test_support::{
    collect, id, text_of, wait_until, BlockingApi as Http, Daemon, DaemonConfig, SimProcess,
    WarehouseServer,
};

pub type R<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub const BIN: &str = env!("CARGO_BIN_EXE_reader-daemon");

/// The n-th of a run of distinct observations (EPC and time from `n`), for
/// tests that fill a journal directly.
pub fn observation(n: u64) -> R<shared::sync::Observation> {
    let mut epc = [0x30u8; 12];
    epc[4..].copy_from_slice(&n.to_be_bytes());
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(
        1_767_225_600_000_000 + i64::try_from(n)?,
    )
    .ok_or("time out of range")?;
    Ok(shared::sync::Observation {
        epc: shared::tag::EpcBytes::new(&epc)?,
        reader: "soak".into(),
        antenna: 1,
        first_seen: at,
        last_seen: at,
        count: 1,
        peak_rssi: Some(-60),
        kind: shared::sync::ObservationKind::Seen,
        stocktake_id: None,
    })
}

/// Reads the journal's counters (the daemon may be running: WAL readers
/// do not block it).
pub fn journal_stats(path: &Path) -> R<reader_daemon::journal::JournalStats> {
    Ok(open_journal(path)?.stats()?)
}

/// Opens a journal with the daemon's default limits.
pub fn open_journal(path: &Path) -> R<reader_daemon::journal::Journal> {
    Ok(reader_daemon::journal::Journal::open(
        path,
        reader_daemon::journal::Limits {
            max_observations: 1_000_000,
            warn_fraction: 0.8,
        },
    )?)
}

/// The daemon's status file (beside its journal), if it has written one.
pub fn daemon_status(journal: &Path) -> Option<reader_daemon::status::StatusReport> {
    let bytes = std::fs::read(journal.with_extension("status.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `reader-daemon status --config CONFIG [--json]`: (exit code, stdout, stderr).
pub fn status(config: &Path, json: bool) -> R<(i32, String, String)> {
    let mut cmd = Command::new(BIN);
    cmd.arg("status").arg("--config").arg(config);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.stdin(Stdio::null()).output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The journal has sent everything it committed (and committed something).
pub fn drained(journal: &Path) -> bool {
    journal_stats(journal)
        .map(|s| s.backlog == 0 && s.committed_total > 0)
        .unwrap_or(false)
}

/// The server's database `db` holds every observation the journal
/// committed, each exactly once, and nothing else; the journal has nothing
/// left to send and dropped nothing. Returns the number of rows.
pub fn assert_server_holds_each_once(db: &Path, journal: &Path) -> R<usize> {
    let rows = sightings(db)?;
    let mut keys = std::collections::HashSet::new();
    for r in &rows {
        let key = (
            r.epc.clone(),
            r.reader.clone(),
            r.antenna,
            r.kind.clone(),
            r.first_seen,
            r.last_seen,
        );
        assert!(keys.insert(key), "sighting stored twice: {r:?}");
    }
    let stats = journal_stats(journal)?;
    assert_eq!(stats.backlog, 0, "{stats:?}");
    assert_eq!(stats.dropped_total, 0);
    assert_eq!(
        rows.len() as u64,
        stats.committed_total,
        "server rows {} vs journal committed {}",
        rows.len(),
        stats.committed_total
    );
    Ok(rows.len())
}

// ---------------------------------------------------------------------------
// What the real warehouse-server stored.
// ---------------------------------------------------------------------------

/// Every sighting the server stored in `db`.
pub fn sightings(db: &Path) -> R<Vec<Sighting>> {
    let sql = format!(
        "SELECT {}, r.name, s.antenna, s.kind, s.first_seen, s.last_seen, s.daemon_id, s.sequence
             FROM sightings s JOIN readers r ON r.id = s.reader_id ORDER BY s.id",
        test_support::hex_of(db, "s.epc")
    );
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let int =
        |v: &Option<String>| -> R<i64> { Ok(v.as_deref().unwrap_or_default().parse::<i64>()?) };
    test_support::db_rows(db, &sql)?
        .iter()
        .map(|r| {
            if r.len() != 8 {
                return Err(format!("sightings row of {} columns", r.len()).into());
            }
            Ok(Sighting {
                epc: text(&r[0]),
                reader: text(&r[1]),
                antenna: int(&r[2])?,
                kind: text(&r[3]),
                first_seen: int(&r[4])?,
                last_seen: int(&r[5])?,
                daemon: text(&r[6]),
                sequence: int(&r[7])?,
            })
        })
        .collect()
}

/// One row of the server's `sightings` table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sighting {
    /// EPC hex, upper case.
    pub epc: String,
    pub reader: String,
    pub antenna: i64,
    pub kind: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub daemon: String,
    pub sequence: i64,
}

/// `reader-daemon ARGS…` to completion: (success, stdout + stderr).
pub fn run_cli(args: &[&str]) -> R<(bool, String)> {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

// ---------------------------------------------------------------------------
// A small register to work against, over the server's HTTP API.
// ---------------------------------------------------------------------------

/// An admin and a keeper, one warehouse with shelf A01, one category.
pub struct Site {
    pub admin: String,
    pub keeper: String,
    pub warehouse: i64,
    pub location: i64,
    pub category: i64,
}

impl Site {
    pub fn create(http: &Http) -> R<Self> {
        use serde_json::json;
        let admin = http.login("admin")?;
        let keeper = http.block_on(http.api.add_user(&admin, "keeper", "keeper", None))?;
        let warehouse = id(&http.post("/api/v1/warehouses", &admin, json!({"name": "主仓"}))?)?;
        let location = id(&http.post(
            &format!("/api/v1/warehouses/{warehouse}/locations"),
            &admin,
            json!({"code": "A01", "name": "Shelf 1"}),
        )?)?;
        let category = id(&http.post(
            "/api/v1/categories",
            &admin,
            json!({"code": "0101", "name": "办公桌"}),
        )?)?;
        Ok(Self {
            admin,
            keeper,
            warehouse,
            location,
            category,
        })
    }

    /// A registered reader: (id, token).
    pub fn reader(&self, http: &Http, name: &str, role: &str) -> R<(i64, String)> {
        Ok(http.block_on(
            http.api
                .add_reader(&self.admin, name, role, Some(self.location)),
        )?)
    }

    /// A registered asset on shelf A01, not yet tagged.
    pub fn asset(&self, http: &Http, number: &str) -> R<i64> {
        self.asset_at(http, number, self.location)
    }

    /// A registered asset at `location`, not yet tagged.
    pub fn asset_at(&self, http: &Http, number: &str, location: i64) -> R<i64> {
        Ok(id(&http.post(
            "/api/v1/assets",
            &self.admin,
            serde_json::json!({"asset_number": number, "name": format!("桌子 {number}"),
                "category_id": self.category, "original_value_fen": 150000,
                "purchase_date": "2024-03-01", "holder_location_id": location}),
        )?)?)
    }

    /// A registered asset on shelf A01 whose tag the server has bound
    /// (commissioned through the API, as an earlier delivery would have been).
    pub fn tagged_asset(
        &self,
        http: &Http,
        number: &str,
        reader_token: &str,
    ) -> R<(i64, shared::tag::EpcBytes)> {
        self.tagged_asset_at(http, number, self.location, reader_token)
    }

    /// The same at `location`.
    pub fn tagged_asset_at(
        &self,
        http: &Http,
        number: &str,
        location: i64,
        reader_token: &str,
    ) -> R<(i64, shared::tag::EpcBytes)> {
        let asset = self.asset_at(http, number, location)?;
        let epc = http.block_on(http.api.tag_asset(asset, &self.keeper, reader_token))?;
        Ok((asset, shared::tag::EpcBytes::from_hex(&epc)?))
    }
}

/// A scenario for the hardware-sim binary: one reader (`role` gate, desk
/// or handheld) and populations of given EPCs, each spread between ¼ and
/// ¾ of `distance` m from its antenna 1, or out of every field when `None`.
pub fn one_reader_scenario(
    name: &str,
    protocol: &str,
    role: &str,
    link: &Path,
    populations: &[(&str, &[shared::tag::EpcBytes], Option<f32>)],
) -> String {
    let mut s = format!(
        "seed = 11\n\n[[reader]]\nname = {name:?}\nprotocol = {protocol:?}\nlink = {:?}\nrole = {role:?}\n",
        link.display().to_string()
    );
    for (pop, epcs, distance) in populations {
        let list: Vec<String> = epcs
            .iter()
            .map(|e| format!("{:?}", e.to_string()))
            .collect();
        s.push_str(&format!(
            "\n[[population]]\nname = {pop:?}\nkind = \"explicit\"\nepcs = [{}]\n",
            list.join(", ")
        ));
        if let Some(d) = distance {
            s.push_str(&format!(
                "[[population.placement]]\nreader = {name:?}\ndistance_m = {}\nspread_m = {}\n",
                d / 2.0,
                d / 2.0
            ));
        }
    }
    s
}

/// A raw, non-GS1 EPC (a foreign tag), distinct per `n`.
pub fn foreign_epc(n: u16) -> R<shared::tag::EpcBytes> {
    let [hi, lo] = n.to_be_bytes();
    Ok(shared::tag::EpcBytes::new(&[
        0xE2, 0x80, 0x11, 0x70, 0, 0, 0, 0, 0, 0xF0, hi, lo,
    ])?)
}
