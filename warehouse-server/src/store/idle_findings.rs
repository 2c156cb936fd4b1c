//! Idle detection (闲置发现): the agency's rules (`idle_rules`, one row)
//! and the scan that records findings (`idle_findings`). The decision per
//! asset is [`crate::idle_rules::judge`]; this module gathers the facts,
//! keeps one open finding per asset and rule (a re-scan updates its days,
//! never duplicates it) and closes a finding its asset no longer breaks.

use std::collections::BTreeMap;

use crate::store::db::{params_from_iter, Db, OptionalExtension};

use super::Store;
use crate::error::{AppError, AppResult, Reason};
use crate::idle_rules::*;
use crate::policy::{asset_visibility, authorize, Action, Actor, Ctx, Scope, Visibility};
use crate::time::{now_ms, shanghai_today, ts};
use crate::workflow::Stage;

/// A finding list's filters.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Only this holding unit's findings.
    pub unit_id: Option<i64>,
    /// Only findings under this rule (`unseen_held`, `unseen_stock`,
    /// `overdue_loan`, `listed_untaken`).
    pub rule: Option<String>,
    /// `true`: open findings only; `false`: closed only; absent: both.
    pub open: Option<bool>,
}

/// The rules' names, as a filter accepts them.
const RULE_NAMES: &[&str] = &[
    "unseen_held",
    "unseen_stock",
    "overdue_loan",
    "listed_untaken",
];

/// Most findings one list returns (newest first).
pub const MAX_LISTED: i64 = 5000;

pub(crate) fn load_rules(c: &Db<'_>) -> AppResult<IdleRules> {
    Ok(c.prepare_cached(
        "SELECT held_unseen_days, stock_unseen_days, listed_days, overdue_loans
         FROM idle_rules WHERE id = 1",
    )?
    .query_row((), |r| {
        Ok(IdleRules {
            held_unseen_days: r.get(0)?,
            stock_unseen_days: r.get(1)?,
            listed_days: r.get(2)?,
            overdue_loans: r.get::<_, i64>(3)? != 0,
        })
    })
    .optional()?
    .unwrap_or_default())
}

/// One open breach as the scan found it.
struct Found {
    unit_id: Option<i64>,
    region_id: Option<i64>,
    days: i64,
    value_fen: i64,
}

/// Every asset's facts, judged: (asset, rule) → what was found.
fn judge_all(
    c: &Db<'_>,
    rules: &IdleRules,
    now: i64,
    today: &str,
) -> AppResult<BTreeMap<(i64, IdleRule), Found>> {
    let mut stmt = c.prepare_cached(
        "SELECT a.id, a.holder_unit_id, a.state,
                COALESCE((SELECT max(seen_at) FROM (SELECT seen_at FROM asset_last_seen WHERE asset_id = a.id
                    UNION ALL SELECT seen_at FROM asset_last_seen_recent WHERE asset_id = a.id) AS ls),
                    a.created_at),
                a.original_value_fen,
                COALESCE((SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id),
                         (SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
                          WHERE l.id = a.holder_location_id)),
                (SELECT il.listed_at FROM idle_listings il WHERE il.asset_id = a.id),
                q.stage, q.loan_due, q.unit_id,
                (SELECT u2.region_id FROM units u2 WHERE u2.id = q.unit_id)
         FROM assets a
         LEFT JOIN request_items i ON i.asset_id = a.id AND i.active = 1
              AND i.status IN ('checked_out', 'received')
         LEFT JOIN requests q ON q.id = i.request_id AND q.kind = 'loan'
         WHERE a.state NOT IN ('lost', 'disposed')",
    )?;
    let mut rows = stmt.query(())?;
    let mut found = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let asset: i64 = r.get(0)?;
        let holder: Option<i64> = r.get(1)?;
        let state: String = r.get(2)?;
        let last_seen: i64 = r.get(3)?;
        let value_fen: i64 = r.get(4)?;
        let region: Option<i64> = r.get(5)?;
        let listed_at: Option<i64> = r.get(6)?;
        let stage: Option<String> = r.get(7)?;
        let due: Option<String> = r.get(8)?;
        let borrower: Option<i64> = r.get(9)?;
        let borrower_region: Option<i64> = r.get(10)?;
        let loan = stage.as_deref().and_then(Stage::parse).zip(due.as_deref());
        let facts = AssetFacts {
            held_by_unit: holder.is_some(),
            state: &state,
            last_seen_ms: last_seen,
            listed_at_ms: listed_at,
            loan,
        };
        for b in judge(rules, &facts, now, today) {
            // An overdue loan is the borrowing unit's to answer for.
            let (unit_id, region_id) = match (b.rule, borrower) {
                (IdleRule::OverdueLoan, Some(u)) => (Some(u), borrower_region),
                _ => (holder, region),
            };
            found.insert(
                (asset, b.rule),
                Found {
                    unit_id,
                    region_id,
                    days: b.days,
                    value_fen,
                },
            );
        }
    }
    Ok(found)
}

/// Records `found` as findings at `now`: open ones not found again close,
/// open ones found again are brought up to date, new ones open.
fn record(
    tx: &Db<'_>,
    mut found: BTreeMap<(i64, IdleRule), Found>,
    now: i64,
) -> AppResult<ScanSummary> {
    let open: Vec<(i64, i64, String)> = tx
        .prepare_cached("SELECT id, asset_id, rule FROM idle_findings WHERE closed_at IS NULL")?
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut summary = ScanSummary::default();
    for (id, asset, rule) in open {
        let still = IdleRule::parse(&rule).and_then(|rule| found.remove(&(asset, rule)));
        match still {
            Some(f) => {
                tx.prepare_cached(
                    "UPDATE idle_findings SET days_idle = ?1, value_fen = ?2, unit_id = ?3,
                            region_id = ?4, scanned_at = ?5
                     WHERE id = ?6",
                )?
                .execute(rusqlite::params![
                    f.days,
                    f.value_fen,
                    f.unit_id,
                    f.region_id,
                    now,
                    id
                ])?;
                summary.still_open += 1;
            }
            None => {
                tx.prepare_cached(
                    "UPDATE idle_findings SET closed_at = ?1, scanned_at = ?1 WHERE id = ?2",
                )?
                .execute(rusqlite::params![now, id])?;
                summary.closed += 1;
            }
        }
    }
    for ((asset, rule), f) in found {
        tx.prepare_cached(
            "INSERT INTO idle_findings (asset_id, unit_id, region_id, rule, days_idle, value_fen,
                                        opened_at, scanned_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        )?
        .execute(rusqlite::params![
            asset,
            f.unit_id,
            f.region_id,
            rule.as_str(),
            f.days,
            f.value_fen,
            now
        ])?;
        summary.opened += 1;
    }
    Ok(summary)
}

impl Store {
    /// The rules in force (the defaults until the agency sets them).
    pub async fn idle_rules(&self, ctx: Ctx) -> AppResult<IdleRules> {
        if !matches!(ctx.actor, Actor::User { .. } | Actor::System) {
            return Err(Reason::PeopleOnly.into());
        }
        self.read(load_rules).await
    }

    /// Sets the rules (administrators and approvers); days below one are
    /// refused naming the field. Takes effect at the next scan.
    pub async fn set_idle_rules(&self, ctx: Ctx, rules: IdleRules) -> AppResult<IdleRules> {
        authorize(&ctx.actor, Action::SetIdleRules, Scope::Global)?;
        rules.check()?;
        let by = ctx.actor.label();
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO idle_rules (id, held_unseen_days, stock_unseen_days, listed_days,
                                         overdue_loans, updated_by, updated_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET held_unseen_days = excluded.held_unseen_days,
                     stock_unseen_days = excluded.stock_unseen_days,
                     listed_days = excluded.listed_days, overdue_loans = excluded.overdue_loans,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )?
            .execute(rusqlite::params![
                rules.held_unseen_days,
                rules.stock_unseen_days,
                rules.listed_days,
                i64::from(rules.overdue_loans),
                by,
                now_ms()
            ])?;
            load_rules(tx)
        })
        .await
    }

    /// Judges every asset under the rules and records the findings (the
    /// agency, or the server's daily task as `System`). Idempotent: a
    /// re-scan opens nothing already open.
    pub async fn scan_idle(&self, ctx: Ctx) -> AppResult<ScanSummary> {
        authorize(&ctx.actor, Action::SetIdleRules, Scope::Global)?;
        self.write(|tx| {
            let rules = load_rules(tx)?;
            let now = now_ms();
            let found = judge_all(tx, &rules, now, &shanghai_today())?;
            record(tx, found, now)
        })
        .await
    }

    /// Findings the caller may see: unit staff their own unit's, others
    /// those of the regions they reach (all of them network-wide).
    pub async fn idle_findings(&self, ctx: Ctx, q: FindingQuery) -> AppResult<Vec<IdleFinding>> {
        let rule = match q.rule.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => Some(IdleRule::parse(r).ok_or_else(|| {
                AppError::from(Reason::NotOneOf {
                    field: "rule".into(),
                    value: r.into(),
                    allowed: RULE_NAMES,
                })
            })?),
        };
        let vis = asset_visibility(&ctx.actor);
        if let (Visibility::UnitAndWarehouse(_), Some(u)) = (&vis, q.unit_id) {
            // Another unit's findings are that unit's business.
            authorize(
                &ctx.actor,
                Action::ViewAsset,
                Scope::Unit {
                    unit: u,
                    region: None,
                },
            )?;
        }
        if vis == Visibility::Nothing {
            return Err(Reason::PeopleOnly.into());
        }
        self.read(move |c| {
            use rusqlite::types::Value;
            let mut clauses: Vec<String> = Vec::new();
            let mut args: Vec<Value> = Vec::new();
            let mut arg = |v: Value, clause: &str, clauses: &mut Vec<String>| {
                args.push(v);
                clauses.push(clause.replace('?', &format!("?{}", args.len())));
            };
            match vis {
                Visibility::All | Visibility::Nothing => {}
                Visibility::Regions(r) if r.is_empty() => clauses.push("1 = 0".into()),
                Visibility::Regions(r) => clauses.push(format!(
                    "f.region_id IN ({})",
                    r.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                )),
                Visibility::UnitAndWarehouse(u) => {
                    arg(Value::Integer(u), "f.unit_id = ?", &mut clauses)
                }
            }
            if let Some(u) = q.unit_id {
                arg(Value::Integer(u), "f.unit_id = ?", &mut clauses);
            }
            if let Some(rule) = rule {
                arg(
                    Value::Text(rule.as_str().into()),
                    "f.rule = ?",
                    &mut clauses,
                );
            }
            match q.open {
                Some(true) => clauses.push("f.closed_at IS NULL".into()),
                Some(false) => clauses.push("f.closed_at IS NOT NULL".into()),
                None => {}
            }
            let filter = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let sql = format!(
                "SELECT f.id, f.asset_id, a.asset_number, a.name, f.unit_id, u.name, f.region_id,
                        f.rule, f.days_idle, f.value_fen, f.opened_at, f.closed_at
                 FROM idle_findings f JOIN assets a ON a.id = f.asset_id
                 LEFT JOIN units u ON u.id = f.unit_id
                 {filter}
                 ORDER BY f.closed_at IS NULL DESC, f.days_idle DESC, f.id DESC
                 LIMIT {MAX_LISTED}"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
                let rule: String = r.get(7)?;
                let closed: Option<i64> = r.get(11)?;
                Ok(IdleFinding {
                    id: r.get(0)?,
                    asset_id: r.get(1)?,
                    asset_number: r.get(2)?,
                    asset_name: r.get(3)?,
                    unit_id: r.get(4)?,
                    unit: r.get(5)?,
                    region_id: r.get(6)?,
                    rule: IdleRule::parse(&rule).unwrap_or(IdleRule::UnseenHeld),
                    days_idle: r.get(8)?,
                    value_fen: r.get(9)?,
                    opened_at: ts(r.get(10)?),
                    closed_at: closed.map(ts),
                    open: closed.is_none(),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
