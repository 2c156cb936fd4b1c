//! Idle detection (闲置发现): the agency's rules (`idle_rules`, one row)
//! and the scan that records findings (`idle_findings`). The decision per
//! asset is [`crate::idle_rules::judge`]; this module gathers the facts,
//! keeps one open finding per asset and rule (a re-scan updates its days,
//! never duplicates it), closes a finding its asset no longer breaks and
//! escalates one left unanswered past its deadline. Every step on a
//! finding is a row of `idle_finding_steps`. The answers and the reclaim
//! order, which move assets and file requests, are in
//! `store::workflow::findings`.

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
    /// Only this asset's findings.
    pub asset_id: Option<i64>,
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
    "marked_unused",
];

/// The setting that holds when the last scan recorded its findings (unix
/// milliseconds): the daily scan in `serve` runs when a day has passed.
pub const LAST_SCAN_KEY: &str = "idle.last_scan_ms";

/// Most findings one list returns (newest first).
pub const MAX_LISTED: i64 = 5000;

pub(crate) fn load_rules(c: &Db<'_>) -> AppResult<IdleRules> {
    Ok(c.prepare_cached(
        "SELECT held_unseen_days, stock_unseen_days, listed_days, overdue_loans, unused_days,
                answer_days
         FROM idle_rules WHERE id = 1",
    )?
    .query_row((), |r| {
        Ok(IdleRules {
            held_unseen_days: r.get(0)?,
            stock_unseen_days: r.get(1)?,
            listed_days: r.get(2)?,
            overdue_loans: r.get::<_, i64>(3)? != 0,
            unused_days: r.get(4)?,
            answer_days: r.get(5)?,
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
                (SELECT u2.region_id FROM units u2 WHERE u2.id = q.unit_id),
                (SELECT m.marked_at FROM asset_unused_marks m
                  WHERE m.asset_id = a.id AND m.unit_id = a.holder_unit_id),
                EXISTS (SELECT 1 FROM request_items pi JOIN requests pr ON pr.id = pi.request_id
                         WHERE pi.asset_id = a.id AND pi.active = 1 AND pr.kind <> 'loan'
                           AND pr.closed_at IS NULL)
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
        let unused_since: Option<i64> = r.get(11)?;
        // An open request (a hand-in, a reclaim, a transfer, a disposal)
        // is already dealing with the asset: only an overdue loan counts.
        let pending: bool = r.get(12)?;
        let loan = stage.as_deref().and_then(Stage::parse).zip(due.as_deref());
        let facts = AssetFacts {
            held_by_unit: holder.is_some(),
            state: &state,
            last_seen_ms: last_seen,
            listed_at_ms: listed_at,
            loan,
            unused_since_ms: unused_since,
        };
        for b in judge(rules, &facts, now, today) {
            if pending && b.rule != IdleRule::OverdueLoan {
                continue;
            }
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

/// Appends a step to a finding's record: who (`ctx`), when (`now`), what.
pub(crate) fn record_finding_step(
    tx: &Db<'_>,
    ctx: &Ctx,
    finding: i64,
    action: &str,
    note: Option<&str>,
    request: Option<i64>,
    now: i64,
) -> AppResult<()> {
    tx.prepare_cached(
        "INSERT INTO idle_finding_steps (finding_id, action, actor, taken_at, note, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(rusqlite::params![
        finding,
        action,
        ctx.actor.label(),
        now,
        note,
        request
    ])?;
    Ok(())
}

/// The latest explanation given for each (asset, rule).
fn explanations(tx: &Db<'_>) -> AppResult<BTreeMap<(i64, IdleRule), i64>> {
    let rows: Vec<(i64, String, i64)> = tx
        .prepare_cached(
            "SELECT asset_id, rule, max(answered_at) FROM idle_findings
             WHERE outcome = 'explained' GROUP BY asset_id, rule",
        )?
        .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(a, rule, at)| IdleRule::parse(&rule).map(|rule| ((a, rule), at)))
        .collect())
}

/// Records `found` as findings at `now`: open ones not found again close
/// (resolved), open ones found again are brought up to date and escalate
/// when unanswered past their deadline, new ones open with a deadline
/// unless an explanation still answers for them.
fn record(
    tx: &Db<'_>,
    ctx: &Ctx,
    rules: &IdleRules,
    mut found: BTreeMap<(i64, IdleRule), Found>,
    now: i64,
) -> AppResult<ScanSummary> {
    let open: Vec<(i64, i64, String, i64, Option<i64>)> = tx
        .prepare_cached(
            "SELECT id, asset_id, rule, due_at, escalated_at FROM idle_findings
             WHERE closed_at IS NULL",
        )?
        .query_map((), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut summary = ScanSummary::default();
    for (id, asset, rule, due, escalated) in open {
        let still = IdleRule::parse(&rule).and_then(|rule| found.remove(&(asset, rule)));
        match still {
            Some(f) => {
                if escalated.is_none() && escalates(due, now) {
                    tx.prepare_cached("UPDATE idle_findings SET escalated_at = ?1 WHERE id = ?2")?
                        .execute(rusqlite::params![now, id])?;
                    record_finding_step(tx, ctx, id, "escalated", None, None, now)?;
                    summary.escalated += 1;
                }
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
                    "UPDATE idle_findings SET closed_at = ?1, scanned_at = ?1, outcome = 'resolved'
                     WHERE id = ?2",
                )?
                .execute(rusqlite::params![now, id])?;
                record_finding_step(tx, ctx, id, "resolved", None, None, now)?;
                summary.closed += 1;
            }
        }
    }
    let explained = explanations(tx)?;
    for ((asset, rule), f) in found {
        if explained
            .get(&(asset, rule))
            .is_some_and(|&at| explanation_holds(rules, rule, at, now))
        {
            continue;
        }
        tx.prepare_cached(
            "INSERT INTO idle_findings (asset_id, unit_id, region_id, rule, days_idle, value_fen,
                                        opened_at, due_at, scanned_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7)",
        )?
        .execute(rusqlite::params![
            asset,
            f.unit_id,
            f.region_id,
            rule.as_str(),
            f.days,
            f.value_fen,
            now,
            due_at(rules, now)
        ])?;
        let id = tx.last_insert_rowid()?;
        record_finding_step(tx, ctx, id, "opened", None, None, now)?;
        summary.opened += 1;
    }
    tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(rusqlite::params![LAST_SCAN_KEY, now.to_string()])?;
    Ok(summary)
}

/// The columns [`finding_row`] reads, over `idle_findings f`, `assets a`
/// and `units u` (the finding's unit).
pub(crate) const FINDING_COLUMNS: &str =
    "f.id, f.asset_id, a.asset_number, a.name, f.unit_id, u.name, f.region_id,
     f.rule, f.days_idle, f.value_fen, f.opened_at, f.closed_at, f.due_at, f.escalated_at,
     f.outcome, f.answer, f.answered_by, f.answered_at, f.request_id";

pub(crate) fn finding_row(r: &crate::store::db::Row<'_>) -> rusqlite::Result<IdleFinding> {
    let rule: String = r.get(7)?;
    let closed: Option<i64> = r.get(11)?;
    let escalated: Option<i64> = r.get(13)?;
    let outcome: Option<String> = r.get(14)?;
    let unit_id: Option<i64> = r.get(4)?;
    Ok(IdleFinding {
        id: r.get(0)?,
        asset_id: r.get(1)?,
        asset_number: r.get(2)?,
        asset_name: r.get(3)?,
        unit_id,
        unit: r.get(5)?,
        region_id: r.get(6)?,
        rule: IdleRule::parse(&rule).unwrap_or(IdleRule::UnseenHeld),
        days_idle: r.get(8)?,
        value_fen: r.get(9)?,
        opened_at: ts(r.get(10)?),
        due_at: ts(r.get(12)?),
        escalated_at: escalated.map(ts),
        closed_at: closed.map(ts),
        open: closed.is_none(),
        must_act: MustAct::of(closed.is_none(), escalated.is_some(), unit_id),
        outcome: outcome.as_deref().and_then(Outcome::parse),
        answer: r.get(15)?,
        answered_by: r.get(16)?,
        answered_at: r.get::<_, Option<i64>>(17)?.map(ts),
        request_id: r.get(18)?,
        steps: Vec::new(),
    })
}

/// One finding with every step taken on it, oldest first.
pub(crate) fn load_finding(c: &Db<'_>, id: i64) -> AppResult<IdleFinding> {
    let mut f = c
        .prepare_cached(&format!(
            "SELECT {FINDING_COLUMNS} FROM idle_findings f JOIN assets a ON a.id = f.asset_id
             LEFT JOIN units u ON u.id = f.unit_id WHERE f.id = ?1"
        ))?
        .query_row([id], finding_row)
        .optional()?
        .ok_or_else(|| AppError::not_found("idle finding", id))?;
    f.steps = c
        .prepare_cached(
            "SELECT action, actor, taken_at, note, request_id FROM idle_finding_steps
             WHERE finding_id = ?1 ORDER BY id",
        )?
        .query_map([id], |r| {
            Ok(FindingStep {
                action: r.get(0)?,
                actor: r.get(1)?,
                at: ts(r.get(2)?),
                note: r.get(3)?,
                request_id: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(f)
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
                                         overdue_loans, updated_by, updated_at, unused_days,
                                         answer_days)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET held_unseen_days = excluded.held_unseen_days,
                     stock_unseen_days = excluded.stock_unseen_days,
                     listed_days = excluded.listed_days, overdue_loans = excluded.overdue_loans,
                     updated_by = excluded.updated_by, updated_at = excluded.updated_at,
                     unused_days = excluded.unused_days, answer_days = excluded.answer_days",
            )?
            .execute(rusqlite::params![
                rules.held_unseen_days,
                rules.stock_unseen_days,
                rules.listed_days,
                i64::from(rules.overdue_loans),
                by,
                now_ms(),
                rules.unused_days,
                rules.answer_days
            ])?;
            load_rules(tx)
        })
        .await
    }

    /// Judges every asset under the rules and records the findings (the
    /// agency, or the server's daily task as `System`). Idempotent: a
    /// re-scan opens nothing already open. The judging reads every asset
    /// in a read snapshot, so writers (ingest, the desk) are not held up
    /// by it; only the findings' changes take the write transaction. A
    /// fact that changes in between is seen by the next scan.
    pub async fn scan_idle(&self, ctx: Ctx) -> AppResult<ScanSummary> {
        authorize(&ctx.actor, Action::SetIdleRules, Scope::Global)?;
        let (rules, now, found) = self
            .read(|c| {
                let rules = load_rules(c)?;
                let now = now_ms();
                let found = judge_all(c, &rules, now, &shanghai_today())?;
                Ok((rules, now, found))
            })
            .await?;
        self.write(move |tx| record(tx, &ctx, &rules, found, now))
            .await
    }

    /// The daily scan, if a day has passed since the last one (or there
    /// was none); `None` when it is not due yet.
    pub async fn scan_idle_if_due(&self, ctx: Ctx) -> AppResult<Option<ScanSummary>> {
        let last = self
            .read(|c| crate::store::register::get_setting(c, LAST_SCAN_KEY))
            .await?
            .and_then(|v| v.parse::<i64>().ok());
        if last.is_some_and(|at| days_between(at, now_ms()) < 1) {
            return Ok(None);
        }
        self.scan_idle(ctx).await.map(Some)
    }

    /// The open findings the caller may see, each with who must act now
    /// (`must_act`: the unit, the keepers, or the agency once escalated):
    /// what the warnings page (预警) lists for idle assets.
    pub async fn open_idle_findings(&self, ctx: Ctx) -> AppResult<Vec<IdleFinding>> {
        self.idle_findings(
            ctx,
            FindingQuery {
                open: Some(true),
                ..FindingQuery::default()
            },
        )
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
            if let Some(a) = q.asset_id {
                arg(Value::Integer(a), "f.asset_id = ?", &mut clauses);
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
                "SELECT {FINDING_COLUMNS}
                 FROM idle_findings f JOIN assets a ON a.id = f.asset_id
                 LEFT JOIN units u ON u.id = f.unit_id
                 {filter}
                 ORDER BY f.closed_at IS NULL DESC, f.escalated_at IS NULL, f.days_idle DESC,
                          f.id DESC
                 LIMIT {MAX_LISTED}"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), finding_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daily scan runs when none ran, then not again until a day has
    /// passed since the last (as recorded in the database).
    #[tokio::test]
    async fn the_daily_scan_runs_once_a_day() -> AppResult<()> {
        let dir = tempfile::tempdir().map_err(|e| AppError::internal(e.to_string()))?;
        let store = Store::open(
            &dir.path().join("t.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        let ctx = || Ctx::system("test");
        assert!(store.scan_idle_if_due(ctx()).await?.is_some(), "never ran");
        assert!(
            store.scan_idle_if_due(ctx()).await?.is_none(),
            "ran just now"
        );
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE settings SET value = ?1 WHERE key = ?2",
                    rusqlite::params![(now_ms() - DAY_MS).to_string(), LAST_SCAN_KEY],
                )?;
                Ok(())
            })
            .await?;
        assert!(store.scan_idle_if_due(ctx()).await?.is_some(), "a day ago");
        Ok(())
    }
}
