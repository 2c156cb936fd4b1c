//! The Chainway UR4-family reader, device side.
//!
//! Start inventory streams 0x83 records round after round over the
//! connected antennas until stop; single inventory answers with the
//! strongest tag of one round. Stray bytes (the hosts' `00` keep-alive)
//! are skipped by the codec.

use std::time::Duration;

use rand::Rng;
use shared::protocol::chainway::{
    decode_command, encode_response, AntennaPower, Command, DeviceError, InventoryReport, Response,
    TagFilter, TagRecord,
};

use shared::protocol::Deframer;

use super::{drain, Protocol};
use crate::core::{Ctx, FrameKind};
use crate::field::{AccessError, Read, Select, Target};

/// Tag-operation status codes the SDKs document.
const TAG_REFUSED: u8 = 0x01;
const NO_TAG: u8 = 0x22;
const MIN_CENTI_DBM: u16 = 500;
const MAX_CENTI_DBM: u16 = 3300;

#[derive(Debug)]
struct Streaming {
    report: InventoryReport,
    /// Index into the connected antennas, round-robin.
    next_antenna: usize,
    next_round: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Chainway {
    streaming: Option<Streaming>,
    /// Write power per antenna (centi-dBm); read power lives in the settings.
    write_power: Vec<u16>,
}

fn frame(r: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    encode_response(r, &mut out);
    out
}

fn record(read: &Read, report: InventoryReport, freq_khz: u32, phase: u16) -> TagRecord {
    let mut rec = TagRecord::new(
        read.epc,
        (read.rssi_dbm * 10.0).round().clamp(-1500.0, 0.0) as i16,
        read.antenna,
    );
    rec.pc = read.pc;
    match report {
        InventoryReport::Phase => rec.phase = Some(phase),
        InventoryReport::Frequency => rec.frequency_khz = Some(freq_khz),
        InventoryReport::PhaseAndFrequency => {
            rec.phase = Some(phase);
            rec.frequency_khz = Some(freq_khz);
        }
        InventoryReport::Normal | InventoryReport::Other(_) => {}
    }
    rec
}

fn select_of(filter: &TagFilter) -> Option<Select> {
    if filter.bit_length == 0 {
        return None;
    }
    Some(Select {
        bank: filter.bank,
        bit_ptr: usize::from(filter.bit_address),
        bit_len: usize::from(filter.bit_length),
        mask: filter.data.clone(),
    })
}

fn khz(index: u8) -> u32 {
    shared::protocol::r2000::frequency_khz(index).unwrap_or(920_125)
}

impl Chainway {
    fn reply(ctx: &mut Ctx, r: Response, now: Duration) {
        let bytes = frame(&r);
        ctx.reply(bytes, now);
    }

    fn fail(ctx: &mut Ctx, request: u8, error: DeviceError, now: Duration) {
        Self::reply(
            ctx,
            Response::Error {
                cmd: request.wrapping_add(1),
                error,
            },
            now,
        );
    }

    fn connected(ctx: &Ctx) -> Vec<u8> {
        (0..ctx.spec.antennas)
            .filter(|a| ctx.antenna_connected(*a))
            .collect()
    }

    fn tag_error(e: AccessError) -> DeviceError {
        DeviceError::Tag {
            code: match e {
                AccessError::NoTag | AccessError::MultipleTags | AccessError::MemoryOverrun => {
                    NO_TAG
                }
                AccessError::MemoryLocked | AccessError::WrongPassword => TAG_REFUSED,
            },
        }
    }

    fn execute(&mut self, command: Command, ctx: &mut Ctx, now: Duration) {
        ctx.counters.commands_received += 1;
        let request = command.code();
        let n = ctx.spec.antennas;
        if self.write_power.len() != usize::from(n) {
            self.write_power = ctx
                .settings
                .power_dbm
                .iter()
                .map(|p| (p * 100.0).round() as u16)
                .collect();
        }
        match command {
            Command::GetVersion => {
                let (major, minor, patch) = ctx.spec.firmware_version();
                Self::reply(
                    ctx,
                    Response::Version {
                        major,
                        minor,
                        patch,
                    },
                    now,
                );
            }
            Command::SetPower {
                save,
                antenna,
                read_centi_dbm,
                write_centi_dbm,
            } => {
                let range = MIN_CENTI_DBM..=MAX_CENTI_DBM;
                let ok = antenna >= 1
                    && antenna <= n
                    && range.contains(&read_centi_dbm)
                    && range.contains(&write_centi_dbm);
                if ok {
                    let i = usize::from(antenna - 1);
                    let dbm = f32::from(read_centi_dbm) / 100.0;
                    ctx.settings.power_dbm[i] = dbm;
                    if save {
                        ctx.settings.saved_power_dbm[i] = dbm;
                    }
                    self.write_power[i] = write_centi_dbm;
                }
                Self::reply(ctx, Response::SetPowerAck { ok }, now);
            }
            Command::GetPower => {
                let list = (0..n)
                    .map(|a| AntennaPower {
                        antenna: a + 1,
                        read_centi_dbm: (ctx.power(a) * 100.0).round() as u16,
                        write_centi_dbm: self.write_power[usize::from(a)],
                    })
                    .collect();
                Self::reply(ctx, Response::Power(list), now);
            }
            Command::SingleInventory { .. } => {
                let mut best: Option<Read> = None;
                for a in Self::connected(ctx) {
                    for r in ctx.round(a, ctx.spec.session, Target::A, now) {
                        if best.is_none_or(|b| r.rssi_dbm > b.rssi_dbm) {
                            best = Some(r);
                        }
                    }
                }
                let freq = khz(ctx.hop());
                let rec = best.map(|r| record(&r, InventoryReport::Normal, freq, 0));
                let bytes = frame(&Response::SingleTag(rec));
                let kind = match best {
                    Some(r) => FrameKind::Report {
                        antenna: r.antenna,
                        epc: r.epc,
                    },
                    None => FrameKind::Response,
                };
                let at = now + ctx.round_time();
                if ctx.faults.response_fate(&mut ctx.counters.faults).is_some() {
                    ctx.emit(bytes, kind, at);
                }
            }
            Command::StartInventory { report } => {
                // No acknowledgement: records start streaming (late, or
                // never, when a fault says so).
                if let Some(extra) = ctx.faults.response_fate(&mut ctx.counters.faults) {
                    self.streaming = Some(Streaming {
                        report,
                        next_antenna: 0,
                        next_round: now + extra,
                    });
                }
            }
            Command::StopInventory => {
                self.streaming = None;
                // Records not yet on the wire are never sent.
                ctx.outq
                    .retain(|f| !matches!(f.kind, FrameKind::Report { .. } | FrameKind::Stream));
                Self::reply(ctx, Response::StopAck { ok: true }, now);
            }
            Command::Read {
                password,
                filter,
                bank,
                word_address,
                word_count,
            } => {
                let tags = ctx.answering(select_of(&filter), now);
                let Some(&tag) = tags.first() else {
                    return Self::fail(ctx, request, Self::tag_error(AccessError::NoTag), now);
                };
                let result = ctx.with_field(|f| {
                    f.tags[tag].memory.read(
                        bank,
                        usize::from(word_address),
                        usize::from(word_count),
                        password,
                    )
                });
                match result {
                    Ok(data) => Self::reply(ctx, Response::ReadResult { data }, now),
                    Err(e) => Self::fail(ctx, request, Self::tag_error(e), now),
                }
            }
            Command::Write {
                password,
                filter,
                bank,
                word_address,
                data,
            } => {
                let result = ctx.single(select_of(&filter), now).and_then(|tag| {
                    ctx.with_field(|f| {
                        f.tags[tag]
                            .memory
                            .write(bank, usize::from(word_address), &data, password)
                    })
                });
                match result {
                    Ok(()) => Self::reply(ctx, Response::WriteResult, now),
                    Err(e) => Self::fail(ctx, request, Self::tag_error(e), now),
                }
            }
            Command::Lock {
                password,
                filter,
                lock_code,
            } => {
                let result = ctx.single(select_of(&filter), now).and_then(|tag| {
                    ctx.with_field(|f| {
                        let m = &mut f.tags[tag].memory;
                        let actions = shared::epc::gen2::locked_by(lock_code, |t| m.protection(t));
                        m.lock(&actions, password)
                    })
                });
                match result {
                    Ok(()) => Self::reply(ctx, Response::LockResult, now),
                    Err(e) => Self::fail(ctx, request, Self::tag_error(e), now),
                }
            }
            Command::Unknown { cmd, .. } => Self::fail(ctx, cmd, DeviceError::Unsupported, now),
        }
    }
}

impl Protocol for Chainway {
    fn on_bytes(&mut self, input: &mut Deframer, ctx: &mut Ctx, now: Duration) {
        let mut cmds = Vec::new();
        drain(input, ctx, decode_command, |c, _| cmds.push(c));
        for c in cmds {
            self.execute(c, ctx, now);
        }
    }

    fn generate(&mut self, ctx: &mut Ctx, now: Duration) -> Option<Duration> {
        let round_time = ctx.round_time();
        let s = self.streaming.as_mut()?;
        if now < s.next_round {
            return Some(s.next_round);
        }
        let antennas = Self::connected(ctx);
        if antennas.is_empty() {
            s.next_round = now + round_time;
            return Some(s.next_round);
        }
        let a = antennas[s.next_antenna % antennas.len()];
        s.next_antenna = (s.next_antenna + 1) % antennas.len();
        s.next_round = now + round_time;
        let report = s.report;
        let next = s.next_round;
        let reads = ctx.round(a, ctx.spec.session, Target::A, now);
        let freq = khz(ctx.hop());
        for r in &reads {
            let phase = ctx.rng.gen::<u16>();
            let bytes = frame(&Response::Tag(record(r, report, freq, phase)));
            ctx.emit(
                bytes,
                FrameKind::Report {
                    antenna: r.antenna,
                    epc: r.epc,
                },
                now,
            );
        }
        Some(next)
    }
}
