//! The sources of warnings (预警): one function per kind, each reading the
//! open warnings of its kind across the whole network with who must act;
//! [`SOURCES`] lists them. Adding a source is one function here and one
//! line in [`SOURCES`]. Who sees which, the order and the counts are
//! `crate::warnings`'.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::db::{Db, Row};
use super::Store;
use crate::error::AppResult;
use crate::policy::Role;
use crate::time::{now_ms, shanghai_today, ts, SHANGHAI_OFFSET_SECS};
use crate::warnings::{Subject, SubjectKind, Warning, WarningKind, WhoActs};

/// Reads every open warning of one kind.
type Source = fn(&Db<'_>) -> AppResult<Vec<Warning>>;

/// Every source, in no particular order (the board orders them).
/// The idle-findings and configuration-standards work add
/// `idle_findings` and `over_standard_requests` here.
const SOURCES: &[Source] = &[
    chain_broken,
    gate_alarms,
    loss_cases,
    stocktake_missing,
    overdue_loans,
    idle_findings,
    over_standard,
];

/// The settings key of the last verification of the event chain.
pub(crate) const LAST_VERIFICATION: &str = "chain_last_verification";

/// What the last verification of the chain found (kept in `settings`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LastVerification {
    pub ok: bool,
    pub at: i64,
    pub first_broken_seq: Option<i64>,
    pub broken_asset_id: Option<i64>,
}

/// Columns naming a unit and a region: `unit.id, unit.name, region.id,
/// region.name` at `at`.
fn who(r: &Row<'_>, at: usize, role: Role) -> rusqlite::Result<WhoActs> {
    // Only a unit's staff act for their unit; the agency, finance and the
    // keepers act for the region.
    let for_unit = role == Role::UnitStaff;
    Ok(WhoActs {
        role,
        unit_id: if for_unit { r.get(at)? } else { None },
        unit_name: if for_unit { r.get(at + 1)? } else { None },
        region_id: r.get(at + 2)?,
        region_name: r.get(at + 3)?,
    })
}

/// The last verification of the event chain failed (`GET
/// /api/v1/events/verify` records each): the administrators must find
/// out why, network-wide.
fn chain_broken(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let Some(text) = super::register::get_setting(c, LAST_VERIFICATION)? else {
        return Ok(Vec::new());
    };
    let Ok(last) = serde_json::from_str::<LastVerification>(&text) else {
        return Ok(Vec::new());
    };
    if last.ok {
        return Ok(Vec::new());
    }
    Ok(vec![Warning {
        kind: WarningKind::ChainBroken,
        subject: Subject {
            kind: SubjectKind::Chain,
            id: last.first_broken_seq,
            label: last
                .first_broken_seq
                .map_or_else(|| "—".to_owned(), |s| s.to_string()),
        },
        since: ts(last.at),
        value_fen: None,
        note: last.broken_asset_id.map(|a| a.to_string()),
        unit_id: None,
        region_id: None,
        who_acts: WhoActs {
            role: Role::Administrator,
            unit_id: None,
            unit_name: None,
            region_id: None,
            region_name: None,
        },
    }])
}

/// Open exit-gate alarms: the keepers of the gate's region (the asset's
/// warehouse's when the gate is placed nowhere) must answer them.
fn gate_alarms(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let mut stmt = c.prepare(
        "SELECT g.id, g.asset_id, a.asset_number, g.raised_at, a.original_value_fen, rd.name,
                rg.id, rg.name
         FROM gate_alarms g
         JOIN assets a ON a.id = g.asset_id
         JOIN readers rd ON rd.id = g.reader_id
         LEFT JOIN locations rl ON rl.id = rd.location_id
         LEFT JOIN warehouses rw ON rw.id = rl.warehouse_id
         LEFT JOIN locations al ON al.id = a.holder_location_id
         LEFT JOIN warehouses aw ON aw.id = al.warehouse_id
         LEFT JOIN units au ON au.id = a.holder_unit_id
         LEFT JOIN regions rg ON rg.id = COALESCE(rw.region_id, aw.region_id, au.region_id)
         WHERE g.status = 'open'",
    )?;
    let rows = stmt.query_map((), |r| {
        let region: Option<i64> = r.get(6)?;
        Ok(Warning {
            kind: WarningKind::GateAlarm,
            subject: Subject {
                kind: SubjectKind::Asset,
                id: Some(r.get(1)?),
                label: r.get(2)?,
            },
            since: ts(r.get(3)?),
            value_fen: Some(r.get(4)?),
            note: Some(r.get(5)?),
            // The gate is the warehouse's business, not the holder's.
            unit_id: None,
            region_id: region,
            who_acts: WhoActs {
                role: Role::Keeper,
                unit_id: None,
                unit_name: None,
                region_id: region,
                region_name: r.get(7)?,
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Loss cases still open (an asset a stock-take did not find, or reported
/// lost): whoever the case waits for (the approver decides the cause,
/// finance confirms payment), in the case's region.
fn loss_cases(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let mut stmt = c.prepare(
        "SELECT r.id, r.stage, r.created_at,
                COALESCE((SELECT SUM(a.original_value_fen) FROM request_items i
                          JOIN assets a ON a.id = i.asset_id WHERE i.request_id = r.id), 0),
                (SELECT MIN(a.asset_number) FROM request_items i
                          JOIN assets a ON a.id = i.asset_id WHERE i.request_id = r.id),
                u.id, u.name, rg.id, rg.name
         FROM requests r
         LEFT JOIN units u ON u.id = r.unit_id
         LEFT JOIN regions rg ON rg.id = r.region_id
         WHERE r.kind = 'damage' AND r.loss = 1
           AND r.stage NOT IN ('completed', 'rejected', 'withdrawn')",
    )?;
    let rows = stmt.query_map((), |r| {
        let stage: String = r.get(1)?;
        let role = crate::workflow::Stage::parse(&stage)
            .and_then(crate::workflow::Stage::awaiting)
            .unwrap_or(Role::Approver);
        let who = who(r, 5, role)?;
        let unit_id: Option<i64> = r.get(5)?;
        Ok(Warning {
            kind: WarningKind::LossCase,
            subject: Subject {
                kind: SubjectKind::Request,
                id: Some(r.get(0)?),
                label: r.get::<_, i64>(0)?.to_string(),
            },
            since: ts(r.get(2)?),
            value_fen: Some(r.get(3)?),
            note: r.get(4)?,
            unit_id,
            region_id: who.region_id,
            who_acts: who,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The part of a closed stock-take's kept report the warnings read.
#[derive(Deserialize)]
struct KeptReport {
    counts: crate::stocktake::Counts,
}

/// Stock-takes closed with missing items nobody resolved (their kept
/// report says how many): the keepers of the warehouse's region must
/// open loss cases or account for them.
fn stocktake_missing(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let mut stmt = c.prepare(
        "SELECT s.id, s.closed_at, s.report, w.name, rg.id, rg.name
         FROM stocktakes s
         JOIN warehouses w ON w.id = s.warehouse_id
         LEFT JOIN regions rg ON rg.id = w.region_id
         WHERE s.status = 'closed' AND s.report IS NOT NULL",
    )?;
    let rows = stmt.query_map((), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, closed_at, report, warehouse, region, region_name) = row?;
        // Missing lines left without a resolution: what the report's
        // counts say of lines with no resolution, at most the missing ones.
        let counts = serde_json::from_str::<KeptReport>(&report)
            .map(|rec| rec.counts)
            .ok();
        let Some(counts) = counts else { continue };
        let unresolved_missing = counts.missing.min(counts.unresolved);
        if unresolved_missing == 0 {
            continue;
        }
        out.push(Warning {
            kind: WarningKind::StocktakeMissing,
            subject: Subject {
                kind: SubjectKind::Stocktake,
                id: Some(id),
                label: id.to_string(),
            },
            since: ts(closed_at.unwrap_or_else(now_ms)),
            value_fen: None,
            note: Some(format!("{warehouse} −{unresolved_missing}")),
            unit_id: None,
            region_id: region,
            who_acts: WhoActs {
                role: Role::Keeper,
                unit_id: None,
                unit_name: None,
                region_id: region,
                region_name,
            },
        });
    }
    Ok(out)
}

/// The first instant (unix ms) of the day after `due` in Asia/Shanghai:
/// when a loan due that day became overdue.
fn overdue_since(due: &str) -> i64 {
    NaiveDate::parse_from_str(due, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or_else(now_ms, |t| {
            t.and_utc().timestamp_millis() - SHANGHAI_OFFSET_SECS * 1000
        })
}

/// Loans past their due date with items still out (as the loans report
/// counts them): the borrowing unit's staff must return them.
fn overdue_loans(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let today = shanghai_today();
    let mut stmt = c.prepare(
        "SELECT r.id, r.loan_due,
                COALESCE((SELECT SUM(a.original_value_fen) FROM request_items i
                          JOIN assets a ON a.id = i.asset_id
                          WHERE i.request_id = r.id AND i.active = 1
                            AND i.status IN ('checked_out', 'received')), 0),
                (SELECT COUNT(*) FROM request_items i WHERE i.request_id = r.id AND i.active = 1
                            AND i.status IN ('checked_out', 'received')),
                u.id, u.name, rg.id, rg.name
         FROM requests r
         LEFT JOIN units u ON u.id = r.unit_id
         LEFT JOIN regions rg ON rg.id = r.region_id
         WHERE r.kind = 'loan' AND r.stage IN ('receipt', 'on_loan', 'checkout')
           AND r.loan_due < ?1
           AND EXISTS (SELECT 1 FROM request_items i WHERE i.request_id = r.id AND i.active = 1
                       AND i.status IN ('checked_out', 'received'))",
    )?;
    let rows = stmt.query_map([&today], |r| {
        let due: String = r.get(1)?;
        let who = who(r, 4, Role::UnitStaff)?;
        Ok(Warning {
            kind: WarningKind::OverdueLoan,
            subject: Subject {
                kind: SubjectKind::Request,
                id: Some(r.get(0)?),
                label: r.get::<_, i64>(0)?.to_string(),
            },
            since: ts(overdue_since(&due)),
            value_fen: Some(r.get(2)?),
            note: Some(format!("{}×{due}", r.get::<_, i64>(3)?)),
            unit_id: who.unit_id,
            region_id: who.region_id,
            who_acts: who,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Open idle findings (闲置发现, `store::idle_findings`): the holding unit
/// must answer by the deadline, the keepers for warehouse stock, and the
/// agency (approvers of the region) once a finding has escalated.
fn idle_findings(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let mut stmt = c.prepare(
        "SELECT a.id, f.opened_at, f.value_fen, f.rule, f.days_idle, a.asset_number,
                CASE WHEN f.escalated_at IS NULL THEN 0 ELSE 1 END, u.id, u.name, rg.id, rg.name
         FROM idle_findings f
         JOIN assets a ON a.id = f.asset_id
         LEFT JOIN units u ON u.id = f.unit_id
         LEFT JOIN regions rg ON rg.id = f.region_id
         WHERE f.closed_at IS NULL",
    )?;
    let rows = stmt.query_map((), |r| {
        let escalated = r.get::<_, i64>(6)? == 1;
        let unit_id: Option<i64> = r.get(7)?;
        let role = match (escalated, unit_id) {
            (true, _) => Role::Approver,
            (false, Some(_)) => Role::UnitStaff,
            (false, None) => Role::Keeper,
        };
        let who = who(r, 7, role)?;
        // The days idle (the kind already says it is an idle finding).
        let days: i64 = r.get(4)?;
        Ok(Warning {
            kind: WarningKind::IdleFinding,
            subject: Subject {
                kind: SubjectKind::Asset,
                id: Some(r.get(0)?),
                label: r.get(5)?,
            },
            since: ts(r.get(1)?),
            value_fen: Some(r.get(2)?),
            note: Some(days.to_string()),
            unit_id,
            region_id: who.region_id,
            who_acts: who,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Requests beyond the configuration standard (超标准配置,
/// `store::standards`) still waiting for the agency head's extra approval:
/// the region's approvers (the head among them) must act.
fn over_standard(c: &Db<'_>) -> AppResult<Vec<Warning>> {
    let mut stmt = c.prepare(
        "SELECT r.id, r.created_at, r.budget_fen,
                (SELECT COUNT(*) FROM request_over_standard o WHERE o.request_id = r.id),
                u.id, u.name, rg.id, rg.name
         FROM requests r
         LEFT JOIN units u ON u.id = r.unit_id
         LEFT JOIN regions rg ON rg.id = r.region_id
         WHERE r.stage = 'approval' AND r.standard_approved_at IS NULL
           AND EXISTS (SELECT 1 FROM request_over_standard o WHERE o.request_id = r.id)",
    )?;
    let rows = stmt.query_map((), |r| {
        let who = who(r, 4, Role::Approver)?;
        let unit_id: Option<i64> = r.get(4)?;
        Ok(Warning {
            kind: WarningKind::OverStandard,
            subject: Subject {
                kind: SubjectKind::Request,
                id: Some(r.get(0)?),
                label: r.get::<_, i64>(0)?.to_string(),
            },
            since: ts(r.get(1)?),
            value_fen: r.get(2)?,
            // How many categories go beyond their standard.
            note: Some(r.get::<_, i64>(3)?.to_string()),
            unit_id,
            region_id: who.region_id,
            who_acts: who,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// Every open warning of the network, from every source.
    pub async fn open_warnings(&self) -> AppResult<Vec<Warning>> {
        self.read(|c| {
            let mut all = Vec::new();
            for source in SOURCES {
                all.extend(source(c)?);
            }
            Ok(all)
        })
        .await
    }

    /// Keeps what a verification of the chain found, for the warnings.
    pub async fn record_verification(&self, v: &crate::events::Verification) -> AppResult<()> {
        let last = LastVerification {
            ok: v.ok,
            at: now_ms(),
            first_broken_seq: v.first_broken_seq,
            broken_asset_id: v.broken_asset_id,
        };
        let text = serde_json::to_string(&last)
            .map_err(|e| crate::error::AppError::internal(format!("verification: {e}")))?;
        self.set_settings(vec![(LAST_VERIFICATION.to_owned(), text)])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loan_is_overdue_from_the_shanghai_day_after_its_due_date() {
        // Due 2026-01-06: overdue from 2026-01-07 00:00 in Shanghai, which
        // is 2026-01-06 16:00 UTC.
        assert_eq!(
            ts(overdue_since("2026-01-06")).to_rfc3339(),
            "2026-01-06T16:00:00+00:00"
        );
    }
}
