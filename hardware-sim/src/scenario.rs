//! The scenario file: which readers to emulate, which tags lie where, what
//! happens when. TOML, documented with examples in `docs/hardware-sim.md`.
//!
//! Parsing only checks shape; [`Scenario::validate`] checks meaning (known
//! reader and population names, antennas in range) and names what is wrong.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::FaultRates;

/// A whole scenario: readers, tag populations, physics, timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed for every random choice (tag placement spread, reads, RSSI, faults).
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub physics: Physics,
    #[serde(default, rename = "reader")]
    pub readers: Vec<ReaderSpec>,
    #[serde(default, rename = "population")]
    pub populations: Vec<Population>,
    #[serde(default, rename = "event")]
    pub events: Vec<EventSpec>,
}

fn default_seed() -> u64 {
    1
}

/// Which wire protocol a reader speaks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolKind {
    R2000,
    Chainway,
}

impl std::fmt::Display for ProtocolKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProtocolKind::R2000 => "r2000",
            ProtocolKind::Chainway => "chainway",
        })
    }
}

/// Where the reader stands: sets default range and inventory session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Exit gate: long range, several antennas.
    Gate,
    /// Keeper's desk: short range, one antenna.
    #[default]
    Desk,
    /// Handheld used for stock-takes (盘点).
    Handheld,
}

impl Role {
    /// Read range (m) at 30 dBm when the scenario does not say.
    pub fn default_range_m(self) -> f32 {
        match self {
            Role::Gate => 4.0,
            Role::Desk => 0.6,
            Role::Handheld => 2.0,
        }
    }
}

/// One emulated reader.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReaderSpec {
    pub name: String,
    pub protocol: ProtocolKind,
    /// Where the symlink to the PTY goes (e.g. `/tmp/sim/gate-1`).
    pub link: PathBuf,
    /// R2000 reader address (0x00–0xFE). Ignored by Chainway.
    #[serde(default = "default_address")]
    pub address: u8,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default)]
    pub role: Role,
    /// Number of antenna ports (1-based in the scenario, 1..=8).
    #[serde(default = "default_antennas")]
    pub antennas: u8,
    /// Ports with an antenna attached; all of them when absent. An inventory
    /// on a missing one gets the protocol's "antenna missing" error.
    #[serde(default)]
    pub connected: Option<Vec<u8>>,
    /// Read range (m) at 30 dBm; the role's default when absent.
    #[serde(default)]
    pub range_m: Option<f32>,
    /// Output power at power-up, dBm.
    #[serde(default = "default_power")]
    pub power_dbm: f32,
    /// Firmware version reported, `major.minor[.patch]`.
    #[serde(default = "default_firmware")]
    pub firmware: String,
    /// Gen2 session used by inventories that do not name one (0–3).
    #[serde(default)]
    pub session: u8,
    /// Most distinct tags singulated in one inventory round per antenna.
    #[serde(default = "default_max_tags")]
    pub max_tags_per_round: usize,
    /// Time the reader takes to answer a command, ms.
    #[serde(default = "default_response_ms")]
    pub response_ms: f32,
    /// Air time of one inventory round, ms (the end-of-round frame waits at
    /// least this long after the command).
    #[serde(default = "default_round_ms")]
    pub round_ms: f32,
    /// Background fault rates (all zero by default).
    #[serde(default)]
    pub faults: FaultRates,
}

fn default_address() -> u8 {
    1
}
fn default_baud() -> u32 {
    115_200
}
fn default_antennas() -> u8 {
    1
}
fn default_power() -> f32 {
    30.0
}
fn default_firmware() -> String {
    "1.8".to_string()
}
fn default_max_tags() -> usize {
    1000
}
fn default_response_ms() -> f32 {
    2.0
}
fn default_round_ms() -> f32 {
    20.0
}

impl ReaderSpec {
    /// A reader with every default, for the CLI's one-reader mode and tests.
    pub fn new(name: &str, protocol: ProtocolKind, link: impl Into<PathBuf>) -> Self {
        Self {
            name: name.to_string(),
            protocol,
            link: link.into(),
            address: default_address(),
            baud: default_baud(),
            role: Role::Desk,
            antennas: default_antennas(),
            connected: None,
            range_m: None,
            power_dbm: default_power(),
            firmware: default_firmware(),
            session: 0,
            max_tags_per_round: default_max_tags(),
            response_ms: default_response_ms(),
            round_ms: default_round_ms(),
            faults: FaultRates::default(),
        }
    }

    pub fn range_m(&self) -> f32 {
        self.range_m.unwrap_or_else(|| self.role.default_range_m())
    }

    pub fn is_connected(&self, antenna: u8) -> bool {
        antenna >= 1
            && antenna <= self.antennas
            && self
                .connected
                .as_ref()
                .is_none_or(|list| list.contains(&antenna))
    }

    /// Firmware as (major, minor, patch).
    pub fn firmware_version(&self) -> (u8, u8, u8) {
        let mut parts = self
            .firmware
            .split('.')
            .map(|p| p.parse::<u8>().unwrap_or(0));
        (
            parts.next().unwrap_or(1),
            parts.next().unwrap_or(0),
            parts.next().unwrap_or(0),
        )
    }
}

/// How radio behaves in this scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Physics {
    /// Read probability per round for a tag well inside range.
    pub p_max: f32,
    /// Fraction of the range over which the read probability falls to 0.
    pub edge_fraction: f32,
    /// RSSI (dBm) of a tag 1 m from an antenna at 30 dBm.
    pub rssi_at_1m_dbm: f32,
    /// Path-loss exponent of the backscatter link (4 = free space both ways).
    pub path_loss_exponent: f32,
    /// Standard deviation of RSSI jitter, dB.
    pub rssi_jitter_db: f32,
    /// Probability that a tag read in a round is reported once more (and again…).
    pub repeat_probability: f32,
    /// How long a session-1 inventoried flag stays B (Gen2: 0.5–5 s).
    pub s1_persistence_ms: u32,
    /// How long session-2/3 flags stay B after the tag leaves the field.
    pub s23_persistence_ms: u32,
}

impl Default for Physics {
    fn default() -> Self {
        Self {
            p_max: 0.97,
            edge_fraction: 0.3,
            rssi_at_1m_dbm: -55.0,
            path_loss_exponent: 4.0,
            rssi_jitter_db: 1.5,
            repeat_probability: 0.1,
            s1_persistence_ms: 2000,
            s23_persistence_ms: 3000,
        }
    }
}

/// What kind of tags a population holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum TagKind {
    /// Assets: GIAI-96 `company_prefix` + serials from `first_serial`.
    Giai96 {
        company_prefix: String,
        #[serde(default = "default_first_serial")]
        first_serial: u64,
        #[serde(default = "default_filter")]
        filter: u8,
        count: usize,
    },
    /// EPCs given in hex.
    Explicit { epcs: Vec<String> },
    /// Tags of other schemes: SGTIN-96 consumer goods and raw non-GS1 EPCs.
    Foreign {
        count: usize,
        #[serde(default)]
        scheme: ForeignScheme,
    },
    /// Factory-fresh tags: a TID and a factory EPC derived from it, waiting
    /// to be commissioned.
    Blank { count: usize },
}

fn default_first_serial() -> u64 {
    1
}
fn default_filter() -> u8 {
    0
}

/// Scheme of generated foreign tags.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForeignScheme {
    /// Alternate SGTIN-96 and raw 96/128-bit EPCs.
    #[default]
    Mixed,
    Sgtin96,
    /// Random bytes whose header is no GS1 scheme.
    Raw,
}

/// A group of tags with common placement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Population {
    pub name: String,
    #[serde(flatten)]
    pub kind: TagKind,
    /// Where the tags are at the start; nowhere (out of every field) if empty.
    #[serde(default, rename = "placement")]
    pub placements: Vec<PlacementSpec>,
    /// User-memory size in bytes (zero-filled).
    #[serde(default = "default_user_bytes")]
    pub user_bytes: usize,
    /// EPC-bank capacity in bits beyond PC (writes past it fail).
    #[serde(default = "default_epc_capacity")]
    pub epc_capacity_bits: usize,
    /// Tags whose EPC bank is write-locked (perma-locked when there is no
    /// access password, since Gen2 lets a zero password through a lock).
    #[serde(default)]
    pub locked: bool,
    /// Access password (hex, 8 digits); 00000000 when absent.
    #[serde(default)]
    pub access_password: Option<String>,
}

fn default_user_bytes() -> usize {
    8
}
fn default_epc_capacity() -> usize {
    256
}

/// Tags at a reader's antenna, at a distance (spread uniformly by `spread_m`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlacementSpec {
    pub reader: String,
    #[serde(default = "default_antenna")]
    pub antenna: u8,
    pub distance_m: f32,
    #[serde(default)]
    pub spread_m: f32,
}

fn default_antenna() -> u8 {
    1
}

/// Which tags an event applies to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct TagSelector {
    /// A population's name; every tag of it unless `first`/`count` narrow it.
    #[serde(default)]
    pub population: Option<String>,
    #[serde(default)]
    pub first: usize,
    #[serde(default)]
    pub count: Option<usize>,
    /// Tags by current EPC (hex).
    #[serde(default)]
    pub epcs: Vec<String>,
}

/// One timeline event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventSpec {
    /// Seconds after start.
    pub at_s: f32,
    #[serde(flatten)]
    pub action: EventAction,
}

/// What happens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum EventAction {
    /// Tags carried through a gate: they come into range, pass the antennas
    /// in order (closest at the middle of `duration_s`), then leave that
    /// reader's field for good.
    GatePass {
        reader: String,
        tags: TagSelector,
        #[serde(default = "default_gate_antennas")]
        antennas: Vec<u8>,
        #[serde(default = "default_gate_duration")]
        duration_s: f32,
        #[serde(default = "default_closest")]
        closest_m: f32,
        /// Spacing between successive antennas along the path, m.
        #[serde(default = "default_spacing")]
        spacing_m: f32,
    },
    /// A keeper walks a handheld along a shelf holding the tags (evenly
    /// spaced over `shelf_m`) at `speed_mps`, `lateral_m` from the shelf.
    Sweep {
        reader: String,
        tags: TagSelector,
        #[serde(default = "default_antenna")]
        antenna: u8,
        #[serde(default = "default_shelf")]
        shelf_m: f32,
        #[serde(default = "default_speed")]
        speed_mps: f32,
        #[serde(default = "default_lateral")]
        lateral_m: f32,
    },
    /// Tags leave every field.
    Remove { tags: TagSelector },
    /// Tags are put at an antenna (added to whatever placements they have).
    Add {
        tags: TagSelector,
        reader: String,
        #[serde(default = "default_antenna")]
        antenna: u8,
        distance_m: f32,
    },
    /// Tags leave every field and are put at this antenna.
    Move {
        tags: TagSelector,
        reader: String,
        #[serde(default = "default_antenna")]
        antenna: u8,
        distance_m: f32,
    },
    /// The reader reboots (cuts the frame on the wire, loses settings).
    Reboot { reader: String },
    /// The reader's USB cable is pulled for `duration_s`: the PTY and its
    /// link disappear and come back at the same path.
    Unplug { reader: String, duration_s: f32 },
    /// Replace the reader's background fault rates.
    Faults { reader: String, rates: FaultRates },
}

fn default_gate_antennas() -> Vec<u8> {
    vec![1]
}
fn default_gate_duration() -> f32 {
    3.0
}
fn default_closest() -> f32 {
    0.8
}
fn default_spacing() -> f32 {
    0.8
}
fn default_shelf() -> f32 {
    10.0
}
fn default_speed() -> f32 {
    0.5
}
fn default_lateral() -> f32 {
    0.3
}

/// A scenario that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("scenario {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("scenario: {0}")]
    Invalid(String),
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: PathBuf::from("<text>"),
            source: Box::new(e),
        })?;
        s.validate()?;
        Ok(s)
    }

    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let s: Scenario = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// The demo scenario: one reader with `tags` GIAI-96 assets (company
    /// prefix 0614141, serials from 1) well inside antenna 1's range.
    pub fn quick(protocol: ProtocolKind, link: impl Into<PathBuf>, tags: usize) -> Self {
        let reader = ReaderSpec::new("reader-1", protocol, link);
        Scenario {
            seed: default_seed(),
            physics: Physics::default(),
            populations: vec![Population {
                name: "assets".into(),
                kind: TagKind::Giai96 {
                    company_prefix: "0614141".into(),
                    first_serial: 1,
                    filter: 0,
                    count: tags,
                },
                placements: vec![PlacementSpec {
                    reader: reader.name.clone(),
                    antenna: 1,
                    distance_m: reader.range_m() * 0.3,
                    spread_m: reader.range_m() * 0.2,
                }],
                user_bytes: default_user_bytes(),
                epc_capacity_bits: default_epc_capacity(),
                locked: false,
                access_password: None,
            }],
            readers: vec![reader],
            events: vec![],
        }
    }

    pub fn reader_index(&self, name: &str) -> Option<usize> {
        self.readers.iter().position(|r| r.name == name)
    }

    /// Checks names, antennas and numbers; the error names the culprit.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |m: String| Err(ScenarioError::Invalid(m));
        if self.readers.is_empty() {
            return bad("no [[reader]] defined".into());
        }
        for (i, r) in self.readers.iter().enumerate() {
            if self.readers[..i].iter().any(|o| o.name == r.name) {
                return bad(format!("reader name {:?} used twice", r.name));
            }
            if self.readers[..i].iter().any(|o| o.link == r.link) {
                return bad(format!("link {} used twice", r.link.display()));
            }
            if r.antennas == 0 || r.antennas > 8 {
                return bad(format!(
                    "reader {:?}: antennas = {} (1..=8)",
                    r.name, r.antennas
                ));
            }
            if r.address == 0xFF {
                return bad(format!(
                    "reader {:?}: address 0xFF is the broadcast address",
                    r.name
                ));
            }
            if r.baud < 300 {
                return bad(format!("reader {:?}: baud {} too low", r.name, r.baud));
            }
            if r.session > 3 {
                return bad(format!(
                    "reader {:?}: session {} (0..=3)",
                    r.name, r.session
                ));
            }
            if r.range_m() <= 0.0 {
                return bad(format!("reader {:?}: range_m must be positive", r.name));
            }
            if let Some(c) = &r.connected {
                if let Some(a) = c.iter().find(|a| **a == 0 || **a > r.antennas) {
                    return bad(format!(
                        "reader {:?}: connected antenna {a} outside 1..={}",
                        r.name, r.antennas
                    ));
                }
            }
        }
        let check_antenna = |reader: &str, antenna: u8, what: &str| -> Result<(), ScenarioError> {
            let Some(i) = self.reader_index(reader) else {
                return Err(ScenarioError::Invalid(format!(
                    "{what}: unknown reader {reader:?}"
                )));
            };
            let n = self.readers[i].antennas;
            if antenna == 0 || antenna > n {
                return Err(ScenarioError::Invalid(format!(
                    "{what}: antenna {antenna} of reader {reader:?} outside 1..={n}"
                )));
            }
            Ok(())
        };
        for (i, p) in self.populations.iter().enumerate() {
            if self.populations[..i].iter().any(|o| o.name == p.name) {
                return bad(format!("population name {:?} used twice", p.name));
            }
            for pl in &p.placements {
                check_antenna(&pl.reader, pl.antenna, &format!("population {:?}", p.name))?;
                if pl.distance_m < 0.0 || pl.spread_m < 0.0 {
                    return bad(format!("population {:?}: negative distance", p.name));
                }
            }
            if let TagKind::Explicit { epcs } = &p.kind {
                for e in epcs {
                    shared::tag::EpcBytes::from_hex(e).map_err(|err| {
                        ScenarioError::Invalid(format!("population {:?}: EPC {e:?}: {err}", p.name))
                    })?;
                }
            }
            if let Some(pw) = &p.access_password {
                if parse_password(pw).is_none() {
                    return bad(format!(
                        "population {:?}: access_password {pw:?} is not 8 hex digits",
                        p.name
                    ));
                }
            }
        }
        let check_sel = |s: &TagSelector, what: &str| -> Result<(), ScenarioError> {
            if let Some(p) = &s.population {
                if !self.populations.iter().any(|q| &q.name == p) {
                    return Err(ScenarioError::Invalid(format!(
                        "{what}: unknown population {p:?}"
                    )));
                }
            }
            for e in &s.epcs {
                shared::tag::EpcBytes::from_hex(e)
                    .map_err(|err| ScenarioError::Invalid(format!("{what}: EPC {e:?}: {err}")))?;
            }
            Ok(())
        };
        for (i, ev) in self.events.iter().enumerate() {
            let what = format!("event {} (at_s = {})", i + 1, ev.at_s);
            if ev.at_s.is_nan() || ev.at_s < 0.0 {
                return bad(format!("{what}: at_s must be >= 0"));
            }
            match &ev.action {
                EventAction::GatePass {
                    reader,
                    tags,
                    antennas,
                    duration_s,
                    ..
                } => {
                    check_sel(tags, &what)?;
                    for a in antennas {
                        check_antenna(reader, *a, &what)?;
                    }
                    if *duration_s <= 0.0 {
                        return bad(format!("{what}: duration_s must be positive"));
                    }
                }
                EventAction::Sweep {
                    reader,
                    tags,
                    antenna,
                    speed_mps,
                    ..
                } => {
                    check_sel(tags, &what)?;
                    check_antenna(reader, *antenna, &what)?;
                    if *speed_mps <= 0.0 {
                        return bad(format!("{what}: speed_mps must be positive"));
                    }
                }
                EventAction::Remove { tags } => check_sel(tags, &what)?,
                EventAction::Add {
                    tags,
                    reader,
                    antenna,
                    ..
                }
                | EventAction::Move {
                    tags,
                    reader,
                    antenna,
                    ..
                } => {
                    check_sel(tags, &what)?;
                    check_antenna(reader, *antenna, &what)?;
                }
                EventAction::Reboot { reader }
                | EventAction::Unplug { reader, .. }
                | EventAction::Faults { reader, .. } => {
                    check_antenna(reader, 1, &what)?;
                }
            }
        }
        Ok(())
    }
}

/// Parses an 8-hex-digit Gen2 password.
pub fn parse_password(text: &str) -> Option<u32> {
    let t = text.trim();
    if t.len() != 8 {
        return None;
    }
    u32::from_str_radix(t, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() -> Result<(), ScenarioError> {
        let s = Scenario::from_toml(
            r#"
seed = 7
[[reader]]
name = "gate-1"
protocol = "r2000"
link = "/tmp/gate-1"
role = "gate"
antennas = 2

[[population]]
name = "assets"
kind = "giai96"
company_prefix = "0614141"
count = 10
[[population.placement]]
reader = "gate-1"
antenna = 2
distance_m = 1.0

[[event]]
at_s = 1.5
kind = "gate_pass"
reader = "gate-1"
tags = { population = "assets", count = 3 }
antennas = [1, 2]
"#,
        )?;
        assert_eq!(s.seed, 7);
        assert_eq!(s.readers[0].role, Role::Gate);
        assert_eq!(s.events.len(), 1);
        Ok(())
    }

    #[test]
    fn the_example_warehouse_is_valid() -> Result<(), ScenarioError> {
        let s = Scenario::from_toml(include_str!("../examples/warehouse.toml"))?;
        assert_eq!(s.readers.len(), 3);
        crate::field::Field::from_scenario(&s)
            .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
        Ok(())
    }

    #[test]
    fn typos_are_errors() {
        let err = Scenario::from_toml(
            "[[reader]]\nname = \"a\"\nprotocol = \"r2000\"\nlink = \"/tmp/a\"\n[[population]]\nname = \"p\"\nkind = \"blank\"\ncount = 3\ncuont = 3\n",
        );
        assert!(err.is_err());
    }

    #[test]
    fn names_the_unknown_reader() {
        let err = Scenario::from_toml(
            r#"
[[reader]]
name = "a"
protocol = "chainway"
link = "/tmp/a"
[[population]]
name = "p"
kind = "blank"
count = 1
[[population.placement]]
reader = "b"
distance_m = 1.0
"#,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("unknown reader \"b\""), "{err}");
    }
}
