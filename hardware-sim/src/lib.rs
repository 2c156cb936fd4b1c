//! `hardware-sim` — emulated UHF RFID readers on pseudo-terminals.
//!
//! Speaks the same bytes as the real devices (device side of the `shared`
//! codecs), paced at the serial line rate, over a tag field with enough
//! physics and faults that the daemon tested against it works on real
//! readers. A library for tests to script, and a binary.
//!
//! Map: [`scenario`] is the TOML file; [`field`] the tags, their memory,
//! positions and the radio model; [`core`] one reader without IO (bytes and
//! times in, paced bytes out); `protocol` its R2000 and Chainway
//! personalities; [`pty`] the pseudo-terminals and the serving threads;
//! [`Simulator`] ties them together for tests and the binary.
//!
//! ```no_run
//! use hardware_sim::{Scenario, ProtocolKind, Simulator};
//! let sim = Simulator::start(Scenario::quick(ProtocolKind::R2000, "/tmp/rfid-1", 20))?;
//! let reader = sim.reader("reader-1").expect("in the scenario");
//! // open reader.link() with serialport, talk R2000 …
//! println!("{:?}", reader.counters());
//! # Ok::<(), hardware_sim::SimError>(())
//! ```

pub mod bench;
pub mod core;
pub mod faults;
pub mod field;
mod protocol;
pub mod pty;
pub mod scenario;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::core::{Chunk, Counters, Output, ReaderCore};
pub use crate::faults::{Fault, FaultCounts, FaultRates};
pub use crate::field::{Field, Placement, TagMemory};
pub use crate::scenario::{
    EventAction, Physics, PlacementSpec, Population, ProtocolKind, ReaderSpec, Role, Scenario,
    TagKind, TagSelector,
};
pub use shared::epc::gen2::{Bank, LockAction, LockTarget};
use shared::tag::EpcBytes;

use crate::core::lock_field;
use crate::pty::{lock_core, Clock, LinkEvent, Pty};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    #[error(transparent)]
    Field(#[from] field::FieldError),
    #[error("reader {reader:?}: cannot open a PTY at {link}: {source}")]
    Pty {
        reader: String,
        link: PathBuf,
        source: std::io::Error,
    },
}

/// A running set of emulated readers. Dropping it stops them and removes
/// their links.
#[derive(Debug)]
pub struct Simulator {
    readers: Vec<ReaderHandle>,
    field: Arc<Mutex<Field>>,
    clock: Clock,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// A test's grip on one reader: counters, faults, where its port is.
#[derive(Debug, Clone)]
pub struct ReaderHandle {
    name: String,
    link: PathBuf,
    index: usize,
    core: Arc<Mutex<ReaderCore>>,
    clock: Clock,
    state: Arc<Mutex<LinkState>>,
}

#[derive(Debug, Default)]
struct LinkState {
    slave: Option<PathBuf>,
    plugged: bool,
    replugs: u64,
    last_error: Option<String>,
}

impl ReaderHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stable path a host opens (a symlink to the current PTY).
    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Index of the reader in the scenario.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The PTY the link points at now (changes after an unplug).
    pub fn slave_path(&self) -> Option<PathBuf> {
        self.state.lock().ok().and_then(|s| s.slave.clone())
    }

    /// Whether the PTY exists right now.
    pub fn is_plugged(&self) -> bool {
        self.state.lock().map(|s| s.plugged).unwrap_or(false)
    }

    /// How many times the PTY came back after an unplug.
    pub fn replugs(&self) -> u64 {
        self.state.lock().map(|s| s.replugs).unwrap_or(0)
    }

    pub fn counters(&self) -> Counters {
        lock_core(&self.core).counters()
    }

    pub fn reset_counters(&self) {
        lock_core(&self.core).reset_counters();
    }

    /// Applies a one-shot fault now.
    pub fn inject(&self, fault: Fault) {
        let now = self.clock.now();
        lock_core(&self.core).inject(fault, now);
    }

    /// Replaces the background fault rates.
    pub fn set_fault_rates(&self, rates: FaultRates) {
        lock_core(&self.core).set_fault_rates(rates);
    }

    /// Waits until the PTY is back after an unplug (or `timeout`).
    pub fn wait_plugged(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.is_plugged() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.is_plugged()
    }
}

impl Simulator {
    /// Validates the scenario, opens every reader's PTY and link, and starts
    /// serving. When this returns, every link exists.
    pub fn start(scenario: Scenario) -> Result<Self, SimError> {
        scenario.validate()?;
        let field = Arc::new(Mutex::new(Field::from_scenario(&scenario)?));
        let clock = Clock(Instant::now());
        let stop = Arc::new(AtomicBool::new(false));
        let mut sim = Simulator {
            readers: Vec::new(),
            field: field.clone(),
            clock,
            stop: stop.clone(),
            threads: Vec::new(),
        };
        for (index, spec) in scenario.readers.iter().enumerate() {
            let Some(core) = ReaderCore::new(&scenario, index, field.clone()) else {
                continue;
            };
            let pty = Pty::open(&spec.link, spec.baud).map_err(|source| SimError::Pty {
                reader: spec.name.clone(),
                link: spec.link.clone(),
                source,
            })?;
            let state = Arc::new(Mutex::new(LinkState {
                slave: Some(pty.slave_path().to_path_buf()),
                plugged: true,
                ..LinkState::default()
            }));
            let core = Arc::new(Mutex::new(core));
            let handle = ReaderHandle {
                name: spec.name.clone(),
                link: spec.link.clone(),
                index,
                core: core.clone(),
                clock,
                state: state.clone(),
            };
            let (link, stop) = (spec.link.clone(), stop.clone());
            let name = spec.name.clone();
            let thread = std::thread::Builder::new()
                .name(format!("reader-{}", spec.name))
                .spawn(move || {
                    pty::serve(core, Some(pty), link, clock, stop, move |ev| {
                        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                        match ev {
                            LinkEvent::Ready { slave } => {
                                tracing::info!(reader = %name, slave = %slave.display(), "replugged");
                                s.slave = Some(slave);
                                s.plugged = true;
                                s.replugs += 1;
                            }
                            LinkEvent::Reopened { slave } => {
                                tracing::debug!(reader = %name, slave = %slave.display(), "host closed the port; fresh PTY");
                                s.slave = Some(slave);
                            }
                            LinkEvent::Unplugged => {
                                tracing::info!(reader = %name, "unplugged");
                                s.plugged = false;
                                s.slave = None;
                            }
                            LinkEvent::Failed(e) => {
                                tracing::warn!(reader = %name, error = %e, "cannot re-create PTY");
                                s.last_error = Some(e);
                            }
                        }
                    })
                })
                .map_err(|source| SimError::Pty {
                    reader: spec.name.clone(),
                    link: spec.link.clone(),
                    source,
                })?;
            sim.readers.push(handle);
            sim.threads.push(thread);
        }
        Ok(sim)
    }

    pub fn readers(&self) -> &[ReaderHandle] {
        &self.readers
    }

    pub fn reader(&self, name: &str) -> Option<&ReaderHandle> {
        self.readers.iter().find(|r| r.name == name)
    }

    /// Time since start (the timeline's clock).
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Runs `f` on the tag field (escape hatch for unusual scripts).
    pub fn with_field<R>(&self, f: impl FnOnce(&mut Field) -> R) -> R {
        f(&mut lock_field(&self.field))
    }

    fn reader_index(&self, reader: &str) -> Option<usize> {
        self.reader(reader).map(|r| r.index)
    }

    /// Tag indices a selector names.
    pub fn select(&self, tags: &TagSelector) -> Vec<usize> {
        self.with_field(|f| f.select(tags))
    }

    /// Current EPCs of the selected tags.
    pub fn epcs(&self, tags: &TagSelector) -> Vec<EpcBytes> {
        self.with_field(|f| {
            f.select(tags)
                .into_iter()
                .filter_map(|i| f.tags.get(i).map(|t| t.memory.epc()))
                .collect()
        })
    }

    /// A copy of the memory of the tag whose EPC is `epc` now.
    pub fn tag_memory(&self, epc: &EpcBytes) -> Option<TagMemory> {
        self.with_field(|f| {
            f.find_epc(epc)
                .first()
                .and_then(|&i| f.tags.get(i).map(|t| t.memory.clone()))
        })
    }

    /// Takes tags out of every field. Returns how many were selected.
    pub fn remove_tags(&self, tags: &TagSelector) -> usize {
        self.with_field(|f| {
            let sel = f.select(tags);
            f.remove(&sel);
            sel.len()
        })
    }

    /// Moves tags to one antenna of a reader (out of every other field).
    pub fn move_tags(
        &self,
        tags: &TagSelector,
        reader: &str,
        antenna: u8,
        distance_m: f32,
    ) -> usize {
        let Some(r) = self.reader_index(reader) else {
            return 0;
        };
        self.with_field(|f| {
            let sel = f.select(tags);
            f.move_to(
                &sel,
                Placement {
                    reader: r,
                    antenna,
                    distance_m,
                },
            );
            sel.len()
        })
    }

    /// Adds tags to one antenna of a reader, keeping their other places.
    pub fn place_tags(
        &self,
        tags: &TagSelector,
        reader: &str,
        antenna: u8,
        distance_m: f32,
    ) -> usize {
        let Some(r) = self.reader_index(reader) else {
            return 0;
        };
        self.with_field(|f| {
            let sel = f.select(tags);
            f.place(
                &sel,
                Placement {
                    reader: r,
                    antenna,
                    distance_m,
                },
            );
            sel.len()
        })
    }

    /// A new tag with this EPC at a reader's antenna; returns its index.
    pub fn add_tag(
        &self,
        epc: &EpcBytes,
        reader: &str,
        antenna: u8,
        distance_m: f32,
    ) -> Option<usize> {
        let r = self.reader_index(reader)?;
        Some(self.with_field(|f| {
            let n = f.tags.len() as u32;
            let mut tid = vec![0xE2, 0x80, 0x11, 0x05, 0x20, 0x00, 0xA0, 0x00];
            tid.extend_from_slice(&n.to_be_bytes());
            let m = TagMemory::new(epc.as_slice(), tid, 8, 256);
            f.add_tag(
                m,
                vec![Placement {
                    reader: r,
                    antenna,
                    distance_m,
                }],
            )
        }))
    }

    /// Carries tags through a gate now (see [`EventAction::GatePass`]),
    /// wherever they were. The path passes the antennas at the scenario's
    /// default 0.8 m, or at half the reader's range if that is shorter: a
    /// desk or short-range reader (0.6 m) would otherwise never see a tag
    /// 0.8 m away, and the pass would silently read nothing.
    pub fn gate_pass(
        &self,
        tags: &TagSelector,
        reader: &str,
        antennas: &[u8],
        duration: Duration,
    ) -> usize {
        let Some(r) = self.reader_index(reader) else {
            return 0;
        };
        let now = self.now();
        self.with_field(|f| {
            let closest = f.range_m(r).map_or(0.8, |range| (range * 0.5).min(0.8));
            let sel = f.select(tags);
            f.gate_pass(&sel, r, antennas.to_vec(), now, duration, closest, 0.8);
            sel.len()
        })
    }

    /// Walks a handheld along a shelf of these tags now (see [`EventAction::Sweep`]).
    pub fn sweep(&self, tags: &TagSelector, reader: &str, shelf_m: f32, speed_mps: f32) -> usize {
        let Some(r) = self.reader_index(reader) else {
            return 0;
        };
        let now = self.now();
        self.with_field(|f| {
            let sel = f.select(tags);
            f.sweep(&sel, r, 1, now, shelf_m, speed_mps, 0.3);
            sel.len()
        })
    }

    /// Applies one timeline action now, as if the scenario had it at this
    /// instant (the binary's `--control` lines). Returns how many tags it
    /// selected (1 for a reader event), or why it cannot apply.
    pub fn apply(&self, action: &EventAction) -> Result<usize, String> {
        let known = |reader: &str| {
            self.reader(reader)
                .ok_or_else(|| format!("no reader named {reader:?} in the scenario"))
        };
        Ok(match action {
            EventAction::GatePass {
                reader,
                tags,
                antennas,
                duration_s,
                closest_m,
                spacing_m,
            } => {
                let r = known(reader)?.index;
                let now = self.now();
                let duration = Duration::from_secs_f32(duration_s.max(0.001));
                self.with_field(|f| {
                    let sel = f.select(tags);
                    f.gate_pass(
                        &sel,
                        r,
                        antennas.clone(),
                        now,
                        duration,
                        *closest_m,
                        *spacing_m,
                    );
                    sel.len()
                })
            }
            EventAction::Sweep {
                reader,
                tags,
                antenna,
                shelf_m,
                speed_mps,
                lateral_m,
            } => {
                let r = known(reader)?.index;
                let now = self.now();
                self.with_field(|f| {
                    let sel = f.select(tags);
                    f.sweep(&sel, r, *antenna, now, *shelf_m, *speed_mps, *lateral_m);
                    sel.len()
                })
            }
            EventAction::Remove { tags } => self.remove_tags(tags),
            EventAction::Add {
                tags,
                reader,
                antenna,
                distance_m,
            } => {
                known(reader)?;
                self.place_tags(tags, reader, *antenna, *distance_m)
            }
            EventAction::Move {
                tags,
                reader,
                antenna,
                distance_m,
            } => {
                known(reader)?;
                self.move_tags(tags, reader, *antenna, *distance_m)
            }
            EventAction::Reboot { reader } => {
                known(reader)?.inject(Fault::Reboot);
                1
            }
            EventAction::Unplug { reader, duration_s } => {
                known(reader)?.inject(Fault::Unplug {
                    duration: Duration::from_secs_f32(duration_s.max(0.0)),
                });
                1
            }
            EventAction::Faults { reader, rates } => {
                known(reader)?.set_fault_rates(rates.clone());
                1
            }
        })
    }

    /// Stops every reader and removes the links.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl TagSelector {
    /// Every tag of a population.
    pub fn population(name: &str) -> Self {
        Self {
            population: Some(name.to_string()),
            ..Self::default()
        }
    }

    /// `count` tags of a population from its `first`.
    pub fn range(name: &str, first: usize, count: usize) -> Self {
        Self {
            population: Some(name.to_string()),
            first,
            count: Some(count),
            epcs: Vec::new(),
        }
    }

    /// The tags whose EPC is this one now.
    pub fn epc(epc: &EpcBytes) -> Self {
        Self {
            epcs: vec![epc.to_string()],
            ..Self::default()
        }
    }
}
