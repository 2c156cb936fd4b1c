//! The R2000 reader (Impinj R2000 / E710 modules), device side.
//!
//! Commands are handled in order: one that arrives while an inventory runs
//! waits until that inventory's end frame, as on the real reader.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use shared::protocol::r2000::{
    decode_command, encode_command, encode_response, AntennaStay, BufferRecord, Command,
    CommandFrame, ErrorCode, FrequencyRegion, Response, ResponseFrame, TagOperation, TagRead,
    TagReport, BROADCAST_ADDR,
};
use shared::protocol::Decoded;
use shared::tag::EpcBytes;

use shared::protocol::Deframer;

use super::{drain, tag_answered, Protocol};
use crate::core::{Ctx, FrameKind};
use crate::field::{AccessError, Read, Target};
use shared::epc::gen2::{Bank, LockAction, LockTarget};

/// Error code for an access that more than one tag answered (no EPC match
/// set): the inventory worked, the access collided.
const MULTIPLE_TAGS: ErrorCode = ErrorCode::INVENTORY_OK_BUT_ACCESS_FAIL;
const BAUD_OUT_OF_RANGE: ErrorCode = ErrorCode(0x4A);
const BEEPER_OUT_OF_RANGE: ErrorCode = ErrorCode(0x4B);
/// Block write: same request layout as 0x82.
const BLOCK_WRITE: u8 = 0x94;
/// Output power limits of the module, dBm.
const MAX_POWER_DBM: u8 = 33;

#[derive(Debug)]
enum Activity {
    /// 0x89 / 0x8B / 0x80: rounds on one antenna.
    Rounds {
        cmd: u8,
        antenna0: u8,
        session: u8,
        target: Target,
        rounds_left: u32,
        total: u32,
        started: Duration,
        next_round: Duration,
    },
    /// 0x8A: rounds over a plan of antennas.
    FastSwitch {
        plan: Vec<AntennaStay>,
        slot: usize,
        stays_done: u8,
        cycles_left: u32,
        interval: Duration,
        total: u32,
        started: Duration,
        next_round: Duration,
    },
}

#[derive(Debug, Clone, Copy)]
struct Buffered {
    pc: u16,
    epc: EpcBytes,
    rssi_dbm: i16,
    antenna: u8,
    freq_index: u8,
    count: u8,
}

#[derive(Debug, Default)]
pub(crate) struct R2000 {
    activity: Option<Activity>,
    pending: VecDeque<CommandFrame>,
    buffer: BTreeMap<EpcBytes, Buffered>,
}

fn frame(ctx: &Ctx, response: Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    encode_response(
        &ResponseFrame {
            addr: ctx.settings.address,
            response,
        },
        &mut out,
    );
    out
}

fn rssi(read: &Read) -> i16 {
    read.rssi_dbm.round().clamp(-129.0, -2.0) as i16
}

impl R2000 {
    fn reply(&self, ctx: &mut Ctx, response: Response, now: Duration) {
        let bytes = frame(ctx, response);
        ctx.reply(bytes, now);
    }

    fn ok(&self, ctx: &mut Ctx, cmd: u8, now: Duration) {
        self.reply(ctx, Response::Ok { cmd }, now);
    }

    fn err(&self, ctx: &mut Ctx, cmd: u8, code: ErrorCode, now: Duration) {
        self.reply(ctx, Response::Error { cmd, code }, now);
    }

    fn start_rounds(
        &mut self,
        ctx: &mut Ctx,
        cmd: u8,
        session: u8,
        target: Target,
        repeat: u8,
        now: Duration,
    ) {
        let antenna0 = ctx.settings.work_antenna;
        if !ctx.antenna_connected(antenna0) {
            self.err(ctx, cmd, ErrorCode::ANTENNA_MISSING, now);
            return;
        }
        // A slow or deaf reader: the whole inventory starts late or never.
        let Some(extra) = ctx.faults.response_fate(&mut ctx.counters.faults) else {
            return;
        };
        let now = now + extra;
        self.activity = Some(Activity::Rounds {
            cmd,
            antenna0,
            session,
            target,
            rounds_left: u32::from(repeat.max(1)),
            total: 0,
            started: now,
            next_round: now + Duration::from_secs_f32(ctx.spec.response_ms.max(0.0) / 1000.0),
        });
    }

    fn handle(&mut self, f: CommandFrame, ctx: &mut Ctx, now: Duration) {
        if f.addr != ctx.settings.address && f.addr != BROADCAST_ADDR {
            return; // another reader on the bus
        }
        ctx.counters.commands_received += 1;
        if self.activity.is_some() {
            self.pending.push_back(f);
            return;
        }
        self.execute(f.command, ctx, now);
    }

    fn execute(&mut self, command: Command, ctx: &mut Ctx, now: Duration) {
        let cmd = command.code();
        let antennas = ctx.spec.antennas;
        match command {
            Command::Reset => ctx.reboot_requested = true,
            Command::SetBaudRate { code } => match Command::baud_rate(code) {
                Some(baud) => {
                    self.ok(ctx, cmd, now);
                    ctx.settings.baud = baud;
                }
                None => self.err(ctx, cmd, BAUD_OUT_OF_RANGE, now),
            },
            Command::GetFirmwareVersion => {
                let (major, minor, _) = ctx.spec.firmware_version();
                self.reply(ctx, Response::Firmware { major, minor }, now);
            }
            Command::SetAddress { address } => {
                if address == BROADCAST_ADDR {
                    self.err(ctx, cmd, ErrorCode::READER_ADDRESS_INVALID, now);
                } else {
                    self.ok(ctx, cmd, now);
                    ctx.settings.address = address;
                }
            }
            Command::SetWorkAntenna { antenna } => {
                if antenna < antennas {
                    ctx.settings.work_antenna = antenna;
                    self.ok(ctx, cmd, now);
                } else {
                    self.err(ctx, cmd, ErrorCode::ANTENNA_ID_OUT_OF_RANGE, now);
                }
            }
            Command::GetWorkAntenna => {
                let antenna = ctx.settings.work_antenna;
                self.reply(ctx, Response::WorkAntenna { antenna }, now);
            }
            Command::SetOutputPower { dbm } => {
                let n = usize::from(antennas);
                let fits = dbm.len() == 1 || dbm.len() >= n;
                if !fits || dbm.is_empty() || dbm.iter().any(|p| *p > MAX_POWER_DBM) {
                    self.err(ctx, cmd, ErrorCode::OUTPUT_POWER_OUT_OF_RANGE, now);
                } else {
                    let p: Vec<f32> = (0..n)
                        .map(|i| f32::from(*dbm.get(i).unwrap_or(&dbm[0])))
                        .collect();
                    ctx.settings.power_dbm = p.clone();
                    // 0x76 is stored in flash.
                    ctx.settings.saved_power_dbm = p;
                    self.ok(ctx, cmd, now);
                }
            }
            Command::GetOutputPower => {
                let p: Vec<u8> = ctx
                    .settings
                    .power_dbm
                    .iter()
                    .map(|d| d.round().clamp(0.0, 255.0) as u8)
                    .collect();
                let dbm = if p.windows(2).all(|w| w[0] == w[1]) {
                    p[..1.min(p.len())].to_vec()
                } else {
                    let mut v = p;
                    // Multi-port firmware answers 4 or 8 bytes.
                    let want = if v.len() <= 4 { 4 } else { 8 };
                    let last = v.last().copied().unwrap_or(0);
                    v.resize(want, last);
                    v
                };
                self.reply(ctx, Response::OutputPower { dbm }, now);
            }
            Command::SetFrequencyRegion { region } => match region {
                FrequencyRegion::Standard {
                    region: r,
                    start,
                    end,
                } if (1..=3).contains(&r) && start <= end && end <= 59 => {
                    ctx.settings.freq_range = (start, end);
                    ctx.settings.region = Some(region);
                    self.ok(ctx, cmd, now);
                }
                FrequencyRegion::UserDefined { quantity, .. } if quantity > 0 => {
                    ctx.settings.region = Some(region);
                    self.ok(ctx, cmd, now);
                }
                _ => self.err(ctx, cmd, ErrorCode::FREQUENCY_REGION_OUT_OF_RANGE, now),
            },
            Command::GetFrequencyRegion => {
                let region = ctx.settings.region.unwrap_or(FrequencyRegion::Standard {
                    region: FrequencyRegion::CHINA,
                    start: ctx.settings.freq_range.0,
                    end: ctx.settings.freq_range.1,
                });
                self.reply(ctx, Response::FrequencyRegion { region }, now);
            }
            Command::SetBeeperMode { mode } => {
                if mode <= 2 {
                    ctx.settings.beeper = mode;
                    self.ok(ctx, cmd, now);
                } else {
                    self.err(ctx, cmd, BEEPER_OUT_OF_RANGE, now);
                }
            }
            Command::GetTemperature => self.reply(ctx, Response::Temperature { celsius: 38 }, now),
            Command::BufferedInventory { repeat } => {
                let s = ctx.spec.session;
                self.start_rounds(ctx, cmd, s, Target::A, repeat, now)
            }
            Command::RealTimeInventory { repeat } => {
                let s = ctx.spec.session;
                self.start_rounds(ctx, cmd, s, Target::A, repeat, now)
            }
            Command::SessionInventory {
                session,
                target,
                repeat,
            } => {
                if session > 3 || target > 1 {
                    self.err(ctx, cmd, ErrorCode::PARAMETER_INVALID, now);
                } else {
                    let t = if target == 0 { Target::A } else { Target::B };
                    self.start_rounds(ctx, cmd, session, t, repeat, now)
                }
            }
            Command::FastSwitchInventory {
                antennas: plan,
                interval_ms,
                repeat,
            } => {
                let plan: Vec<AntennaStay> = plan
                    .iter()
                    .copied()
                    .filter(|s| s.antenna < antennas.min(8) && s.stays > 0)
                    .collect();
                let fate = if plan.is_empty() {
                    None
                } else {
                    ctx.faults.response_fate(&mut ctx.counters.faults)
                };
                if plan.is_empty() {
                    self.err(ctx, cmd, ErrorCode::PARAMETER_INVALID, now);
                } else if let Some(extra) = fate {
                    let now = now + extra;
                    self.activity = Some(Activity::FastSwitch {
                        plan,
                        slot: 0,
                        stays_done: 0,
                        cycles_left: u32::from(repeat.max(1)),
                        interval: Duration::from_millis(u64::from(interval_ms)),
                        total: 0,
                        started: now,
                        next_round: now
                            + Duration::from_secs_f32(ctx.spec.response_ms.max(0.0) / 1000.0),
                    });
                }
            }
            Command::GetBuffer | Command::GetAndResetBuffer => {
                if self.buffer.is_empty() {
                    self.err(ctx, cmd, ErrorCode::BUFFER_EMPTY, now);
                } else {
                    let tag_count = u16::try_from(self.buffer.len()).unwrap_or(u16::MAX);
                    let records: Vec<Buffered> = self.buffer.values().copied().collect();
                    for b in records {
                        let r = Response::BufferRecord(BufferRecord {
                            cmd,
                            tag_count,
                            pc: b.pc,
                            epc: b.epc,
                            rssi_dbm: b.rssi_dbm,
                            antenna: b.antenna,
                            freq_index: b.freq_index,
                            inventory_count: b.count,
                        });
                        self.reply(ctx, r, now);
                    }
                    if cmd == 0x91 {
                        self.buffer.clear();
                    }
                }
            }
            Command::GetBufferCount => {
                let count = u16::try_from(self.buffer.len()).unwrap_or(u16::MAX);
                self.reply(ctx, Response::BufferCount { count }, now);
            }
            Command::ResetBuffer => {
                self.buffer.clear();
                self.ok(ctx, cmd, now);
            }
            Command::SetEpcMatch { epc } => {
                ctx.settings.epc_match = epc;
                self.ok(ctx, cmd, now);
            }
            Command::GetEpcMatch => {
                let epc = ctx.settings.epc_match;
                self.reply(ctx, Response::EpcMatch { epc }, now);
            }
            Command::Read {
                bank,
                word_addr,
                word_count,
                password,
            } => self.read(ctx, bank, word_addr, word_count, password, now),
            Command::Write {
                password,
                bank,
                word_addr,
                data,
            } => self.write(ctx, cmd, password, bank, word_addr, &data, now),
            Command::Unknown {
                cmd: BLOCK_WRITE,
                data,
            } => {
                // 0x94 block write has 0x82's layout (public host code such
                // as pyImpinj writes with it): let the codec parse it as one.
                let mut frame = Vec::new();
                encode_command(
                    &CommandFrame {
                        addr: 0,
                        command: Command::Unknown { cmd: 0x82, data },
                    },
                    &mut frame,
                );
                match decode_command(&frame) {
                    Decoded::Frame {
                        frame:
                            CommandFrame {
                                command:
                                    Command::Write {
                                        password,
                                        bank,
                                        word_addr,
                                        data,
                                    },
                                ..
                            },
                        ..
                    } => self.write(ctx, BLOCK_WRITE, password, bank, word_addr, &data, now),
                    _ => self.err(ctx, BLOCK_WRITE, ErrorCode::PARAMETER_INVALID, now),
                }
            }
            Command::Lock {
                password,
                region,
                action,
            } => {
                let target = match region {
                    1 => LockTarget::User,
                    2 => LockTarget::Tid,
                    3 => LockTarget::Epc,
                    4 => LockTarget::AccessPassword,
                    5 => LockTarget::KillPassword,
                    _ => return self.err(ctx, cmd, ErrorCode::LOCK_REGION_OUT_OF_RANGE, now),
                };
                if action > 3 {
                    return self.err(ctx, cmd, ErrorCode::LOCK_TYPE_OUT_OF_RANGE, now);
                }
                let state = LockAction::from_bits(action & 1 != 0, action & 2 != 0);
                let pw = u32::from_be_bytes(password);
                self.access(ctx, cmd, now, |m| m.lock(&[(target, state)], pw));
            }
            Command::Kill { password } => {
                let pw = u32::from_be_bytes(password);
                self.access(ctx, cmd, now, |m| {
                    if m.kill_password == 0 || m.kill_password != pw {
                        Err(AccessError::WrongPassword)
                    } else {
                        m.killed = true;
                        Ok(())
                    }
                });
            }
            Command::Unknown { cmd, .. } => self.err(ctx, cmd, ErrorCode::FAIL, now),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        ctx: &mut Ctx,
        cmd: u8,
        password: [u8; 4],
        bank: u8,
        word_addr: u8,
        data: &[u8],
        now: Duration,
    ) {
        let Some(bank) = Bank::from_u8(bank) else {
            return self.err(ctx, cmd, ErrorCode::MEMBANK_OUT_OF_RANGE, now);
        };
        let pw = u32::from_be_bytes(password);
        self.access(ctx, cmd, now, |m| {
            m.write(bank, usize::from(word_addr), data, pw)
        });
    }

    fn read(
        &mut self,
        ctx: &mut Ctx,
        bank: u8,
        word_addr: u8,
        word_count: u8,
        password: Option<[u8; 4]>,
        now: Duration,
    ) {
        let cmd = 0x81;
        let Some(bank) = Bank::from_u8(bank) else {
            return self.err(ctx, cmd, ErrorCode::MEMBANK_OUT_OF_RANGE, now);
        };
        if word_count == 0 {
            return self.err(ctx, cmd, ErrorCode::PARAMETER_INVALID, now);
        }
        let pw = password.map_or(0, u32::from_be_bytes);
        let tags = ctx.answering(None, now);
        if tags.is_empty() {
            return self.err(ctx, cmd, ErrorCode::NO_TAG, now);
        }
        let results: Vec<(u16, EpcBytes, Vec<u8>)> = ctx.with_field(|f| {
            tags.iter()
                .filter_map(|&i| {
                    let m = &f.tags[i].memory;
                    m.read(bank, usize::from(word_addr), usize::from(word_count), pw)
                        .ok()
                        .map(|d| (m.pc(), m.epc(), d))
                })
                .collect()
        });
        if results.is_empty() {
            return self.err(ctx, cmd, ErrorCode::TAG_READ_ERROR, now);
        }
        let tag_count = u16::try_from(results.len()).unwrap_or(u16::MAX);
        let antenna = ctx.settings.work_antenna;
        let freq_index = ctx.hop();
        for (pc, epc, data) in results {
            let r = Response::TagRead(TagRead {
                tag_count,
                pc,
                epc,
                data,
                antenna,
                freq_index,
                read_count: 1,
            });
            self.reply(ctx, r, now);
        }
    }

    /// A write/lock/kill on the single tag that answers.
    fn access(
        &mut self,
        ctx: &mut Ctx,
        cmd: u8,
        now: Duration,
        op: impl FnOnce(&mut crate::field::TagMemory) -> Result<(), AccessError>,
    ) {
        let tag = match ctx.single(None, now) {
            Ok(t) => t,
            Err(AccessError::MultipleTags) => return self.err(ctx, cmd, MULTIPLE_TAGS, now),
            Err(_) => return self.err(ctx, cmd, ErrorCode::NO_TAG, now),
        };
        let (pc, epc, result) = ctx.with_field(|f| {
            let m = &mut f.tags[tag].memory;
            let (pc, epc) = (m.pc(), m.epc());
            (pc, epc, op(m))
        });
        let code = match result {
            Ok(()) => ErrorCode::SUCCESS,
            Err(e) if !tag_answered(e) => ErrorCode::NO_TAG,
            Err(AccessError::MemoryOverrun) => match cmd {
                0x82 | BLOCK_WRITE => ErrorCode::TAG_WRITE_ERROR,
                0x83 => ErrorCode::TAG_LOCK_ERROR,
                _ => ErrorCode::TAG_KILL_ERROR,
            },
            Err(_) => ErrorCode::ACCESS_OR_PASSWORD_ERROR,
        };
        let antenna = ctx.settings.work_antenna;
        let freq_index = ctx.hop();
        let r = Response::TagOperation(TagOperation {
            cmd,
            tag_count: 1,
            pc,
            epc,
            code,
            antenna,
            freq_index,
            op_count: 1,
        });
        self.reply(ctx, r, now);
    }

    fn report(ctx: &mut Ctx, cmd: u8, read: &Read, freq_index: u8, at: Duration) {
        let antenna0 = read.antenna.saturating_sub(1);
        let bytes = frame(
            ctx,
            Response::TagReport(TagReport {
                cmd,
                freq_index,
                antenna: antenna0,
                pc: read.pc,
                epc: read.epc,
                rssi_dbm: rssi(read),
            }),
        );
        ctx.emit(
            bytes,
            FrameKind::Report {
                antenna: read.antenna,
                epc: read.epc,
            },
            at,
        );
    }

    fn buffer_reads(&mut self, reads: &[Read], freq_index: u8) {
        for r in reads {
            let e = self.buffer.entry(r.epc).or_insert(Buffered {
                pc: r.pc,
                epc: r.epc,
                rssi_dbm: rssi(r),
                antenna: r.antenna.saturating_sub(1),
                freq_index,
                count: 0,
            });
            e.count = e.count.saturating_add(1);
            e.rssi_dbm = e.rssi_dbm.max(rssi(r));
        }
    }

    fn rate(total: u32, started: Duration, now: Duration) -> u16 {
        let secs = now.saturating_sub(started).as_secs_f64().max(0.001);
        (f64::from(total) / secs).min(65535.0) as u16
    }
}

impl Protocol for R2000 {
    fn on_bytes(&mut self, input: &mut Deframer, ctx: &mut Ctx, now: Duration) {
        let mut frames = Vec::new();
        drain(input, ctx, decode_command, |f, _| frames.push(f));
        for f in frames {
            self.handle(f, ctx, now);
            if ctx.reboot_requested {
                self.pending.clear();
                return;
            }
        }
    }

    fn generate(&mut self, ctx: &mut Ctx, now: Duration) -> Option<Duration> {
        let round_time = ctx.round_time();
        match self.activity.as_mut() {
            None => {
                // Run queued commands until one starts an inventory.
                while self.activity.is_none() {
                    let f = self.pending.pop_front()?;
                    self.execute(f.command, ctx, now);
                }
                Some(now)
            }
            Some(Activity::Rounds {
                cmd,
                antenna0,
                session,
                target,
                rounds_left,
                total,
                started,
                next_round,
            }) => {
                if now < *next_round {
                    return Some(*next_round);
                }
                let (cmd, antenna0) = (*cmd, *antenna0);
                if *rounds_left == 0 {
                    let (total, started) = (*total, *started);
                    let read_rate = Self::rate(total, started, now);
                    let end = if cmd == 0x80 {
                        Response::BufferedInventoryEnd {
                            antenna: antenna0,
                            tag_count: u16::try_from(self.buffer.len()).unwrap_or(u16::MAX),
                            read_rate,
                            total_read: total,
                        }
                    } else {
                        Response::InventoryEnd {
                            cmd,
                            antenna: antenna0,
                            read_rate,
                            total_read: total,
                        }
                    };
                    self.activity = None;
                    let bytes = frame(ctx, end);
                    ctx.emit(bytes, FrameKind::Stream, now);
                    return Some(now);
                }
                *rounds_left -= 1;
                *next_round = now + round_time;
                let (session, target) = (*session, *target);
                let reads = ctx.round(antenna0, session, target, now);
                *total = total.saturating_add(reads.len() as u32);
                let freq = ctx.hop();
                if cmd == 0x80 {
                    self.buffer_reads(&reads, freq);
                } else {
                    for r in &reads {
                        Self::report(ctx, cmd, r, freq, now);
                    }
                }
                Some(now + round_time)
            }
            Some(Activity::FastSwitch {
                plan,
                slot,
                stays_done,
                cycles_left,
                interval,
                total,
                started,
                next_round,
            }) => {
                if now < *next_round {
                    return Some(*next_round);
                }
                if *cycles_left == 0 {
                    let duration_ms =
                        u32::try_from(now.saturating_sub(*started).as_millis()).unwrap_or(u32::MAX);
                    let end = Response::FastSwitchEnd {
                        total_read: *total,
                        duration_ms,
                    };
                    self.activity = None;
                    let bytes = frame(ctx, end);
                    ctx.emit(bytes, FrameKind::Stream, now);
                    return Some(now);
                }
                let stay = plan[*slot];
                let advance = |stays_done: &mut u8, slot: &mut usize, cycles_left: &mut u32| {
                    *stays_done = 0;
                    *slot += 1;
                    if *slot >= plan.len() {
                        *slot = 0;
                        *cycles_left -= 1;
                    }
                };
                if !ctx.antenna_connected(stay.antenna) {
                    advance(stays_done, slot, cycles_left);
                    *next_round = now + *interval;
                    let bytes = frame(
                        ctx,
                        Response::AntennaError {
                            antenna: stay.antenna,
                            code: ErrorCode::ANTENNA_MISSING,
                        },
                    );
                    ctx.emit(bytes, FrameKind::Stream, now);
                    return Some(*next_round);
                }
                let reads = ctx.round(stay.antenna, ctx.spec.session, Target::A, now);
                *total = total.saturating_add(reads.len() as u32);
                *stays_done += 1;
                *next_round = now + round_time;
                if *stays_done >= stay.stays {
                    advance(stays_done, slot, cycles_left);
                    *next_round += *interval;
                }
                let at = *next_round;
                let freq = ctx.hop();
                for r in &reads {
                    Self::report(ctx, 0x8A, r, freq, now);
                }
                Some(at)
            }
        }
    }
}
