//! Accountability for idle assets (闲置问责): a unit's answer to a finding
//! (explain, list in the virtual warehouse, hand in), the agency's reclaim
//! order (收回), and the unit's mark that a held asset is unused. Each
//! runs in one transaction with what it sets off: a listing goes through
//! the virtual warehouse's own step, a hand-in and a reclaim file an
//! intake request on the one chain table (a reclaim is filed and approved
//! by the agency at once, so the unit has no step left to refuse it), and
//! the finding's step is recorded beside them.

use super::filing::{create_blocking, file_reclaim};
use super::idle::list_idle_blocking;
use super::steps::take;
use super::*;
use crate::idle_rules::{Answer, IdleFinding, IdleRule, Outcome, ReclaimOrder, UsageMark};
use crate::store::idle_findings::{load_finding, record_finding_step};

/// An open finding, or why it cannot be acted on.
fn open_finding(tx: &Db<'_>, id: i64) -> AppResult<IdleFinding> {
    let f = load_finding(tx, id)?;
    if let Some(o) = f.outcome.filter(|_| !f.open) {
        return Err(Reason::FindingClosed {
            finding_id: id,
            outcome: o.as_str().into(),
        }
        .into());
    }
    Ok(f)
}

/// Closes finding `id` with `outcome`, recording who answered, with what
/// text and request, and the step.
fn close(
    tx: &Db<'_>,
    ctx: &Ctx,
    id: i64,
    outcome: Outcome,
    text: Option<&str>,
    request: Option<i64>,
) -> AppResult<()> {
    let now = now_ms();
    tx.prepare_cached(
        "UPDATE idle_findings SET closed_at = ?2, outcome = ?3, answer = ?4, answered_by = ?5,
                answered_at = ?2, request_id = ?6
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        id,
        now,
        outcome.as_str(),
        text,
        ctx.actor.label(),
        request
    ])?;
    record_finding_step(tx, ctx, id, outcome.as_str(), text, request, now)
}

/// Listing and handing in are for an asset its unit holds: not for an
/// overdue loan (returned at the desk) nor warehouse stock.
fn held_by_its_unit(f: &IdleFinding, answer: &str) -> AppResult<i64> {
    match (f.rule, f.unit_id) {
        (IdleRule::OverdueLoan, _) | (_, None) => Err(Reason::AnswerNotFor {
            finding_id: f.id,
            answer: answer.into(),
            rule: f.rule.as_str().into(),
        }
        .into()),
        (_, Some(u)) => Ok(u),
    }
}

fn answer_blocking(tx: &Db<'_>, ctx: &Ctx, id: i64, answer: Answer) -> AppResult<IdleFinding> {
    let f = open_finding(tx, id)?;
    authorize(
        &ctx.actor,
        Action::AnswerIdleFinding,
        Scope::held(f.unit_id, f.region_id),
    )?;
    match answer {
        Answer::Explain { text } => {
            let text = required_text("text", &text, 1000)?;
            let a = get_asset(tx, f.asset_id)?;
            note_event(
                tx,
                ctx,
                &a,
                "idle_explained",
                Some(text.clone()),
                json!({ "finding": id, "rule": f.rule.as_str() }),
            )?;
            close(tx, ctx, id, Outcome::Explained, Some(&text), None)?;
        }
        Answer::List { notes } => {
            held_by_its_unit(&f, "list")?;
            let notes = optional_text("notes", notes.as_deref(), 1000)?;
            list_idle_blocking(tx, ctx, f.asset_id, notes.clone())?;
            close(tx, ctx, id, Outcome::Listed, notes.as_deref(), None)?;
        }
        Answer::HandIn { reason } => {
            let unit = held_by_its_unit(&f, "hand_in")?;
            let reason = optional_text("reason", reason.as_deref(), 1000)?
                .unwrap_or_else(|| "闲置资产交回".to_owned());
            let new = NewRequest {
                kind: RequestKind::Intake,
                category_id: None,
                quantity: None,
                asset_ids: Some(vec![f.asset_id]),
                kit_ids: None,
                budget_fen: None,
                reason: Some(reason.clone()),
                needed_by: None,
                loan_start: None,
                loan_due: None,
                disposal_method: None,
                loss: None,
                unit_id: Some(unit),
                destination: None,
                lines: None,
                event: None,
            };
            let request = create_blocking(tx, ctx, new, &shanghai_today())?;
            close(tx, ctx, id, Outcome::HandedIn, Some(&reason), Some(request))?;
        }
    }
    load_finding(tx, id)
}

fn reclaim_blocking(
    tx: &Db<'_>,
    ctx: &Ctx,
    id: i64,
    order: ReclaimOrder,
) -> AppResult<IdleFinding> {
    let f = open_finding(tx, id)?;
    authorize(
        &ctx.actor,
        Action::OrderReclaim,
        Scope::held(f.unit_id, f.region_id),
    )?;
    let reason = required_text("reason", &order.reason, 1000)?;
    let a = get_asset(tx, f.asset_id)?;
    let unit = match (f.rule, a.holder_unit_id) {
        (IdleRule::OverdueLoan, _) | (_, None) => {
            return Err(Reason::NotReclaimable {
                finding_id: id,
                rule: f.rule.as_str().into(),
            }
            .into())
        }
        (_, Some(u)) => u,
    };
    let request = file_reclaim(tx, ctx, unit, f.asset_id, &reason)?;
    take(
        tx,
        ctx,
        &load_row(tx, request)?,
        &StepBody::Approve {
            comment: Some(reason.clone()),
        },
        None,
    )?;
    note_event(
        tx,
        ctx,
        &a,
        "reclaim_ordered",
        Some(reason.clone()),
        json!({ "request": request, "finding": id }),
    )?;
    close(
        tx,
        ctx,
        id,
        Outcome::Reclaimed,
        Some(&reason),
        Some(request),
    )?;
    load_finding(tx, id)
}

fn mark_usage_blocking(tx: &Db<'_>, ctx: &Ctx, asset_id: i64, mark: UsageMark) -> AppResult<Asset> {
    let a = get_asset(tx, asset_id)?;
    authorize(&ctx.actor, Action::ListIdle, a.scope())?;
    let note = optional_text("note", mark.note.as_deref(), 1000)?;
    let (Some(unit), AssetState::Allocated) = (a.holder_unit_id, a.state) else {
        return Err(Reason::NotEligible {
            asset: a.asset_ref(),
            state: a.state.as_str().into(),
            rule: Eligibility::HeldOnly,
        }
        .into());
    };
    if mark.unused {
        // Marked again: the first mark's day stands (days idle count from it).
        let changed = tx
            .prepare_cached(
                "INSERT INTO asset_unused_marks (asset_id, unit_id, note, marked_by, marked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (asset_id) DO UPDATE SET unit_id = excluded.unit_id,
                     note = excluded.note, marked_by = excluded.marked_by,
                     marked_at = excluded.marked_at
                 WHERE asset_unused_marks.unit_id <> excluded.unit_id",
            )?
            .execute(rusqlite::params![
                asset_id,
                unit,
                note,
                ctx.actor.label(),
                now_ms()
            ])?;
        if changed > 0 {
            note_event(tx, ctx, &a, "marked_unused", note, json!({}))?;
        }
    } else {
        let changed = tx
            .prepare_cached("DELETE FROM asset_unused_marks WHERE asset_id = ?1")?
            .execute([asset_id])?;
        if changed > 0 {
            note_event(tx, ctx, &a, "marked_in_use", note, json!({}))?;
        }
    }
    Ok(a)
}

/// An asset a unit has marked unused.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UnusedMark {
    pub asset_id: i64,
    pub asset_number: String,
    pub asset_name: String,
    pub unit_id: i64,
    pub note: Option<String>,
    pub marked_by: String,
    pub marked_at: chrono::DateTime<chrono::Utc>,
}

impl Store {
    /// A unit answers one of its findings (keepers: warehouse stock's);
    /// the finding closes with the answer, and a listing or hand-in
    /// happens in the same transaction.
    pub async fn answer_idle_finding(
        &self,
        ctx: Ctx,
        id: i64,
        answer: Answer,
    ) -> AppResult<IdleFinding> {
        self.write(move |tx| answer_blocking(tx, &ctx, id, answer))
            .await
    }

    /// The agency orders an idle asset reclaimed (收回): an intake request
    /// filed on the unit's behalf and approved at once; the keeper
    /// receives it at the desk as any intake.
    pub async fn order_reclaim(
        &self,
        ctx: Ctx,
        id: i64,
        order: ReclaimOrder,
    ) -> AppResult<IdleFinding> {
        self.write(move |tx| reclaim_blocking(tx, &ctx, id, order))
            .await
    }

    /// A unit marks a held asset unused (闲置) or in use again.
    pub async fn mark_usage(&self, ctx: Ctx, asset_id: i64, mark: UsageMark) -> AppResult<Asset> {
        self.write(move |tx| mark_usage_blocking(tx, &ctx, asset_id, mark))
            .await
    }

    /// One finding with its steps, if the caller may see its unit's assets.
    pub async fn idle_finding(&self, ctx: Ctx, id: i64) -> AppResult<IdleFinding> {
        self.read(move |c| {
            let f = load_finding(c, id)?;
            // Another unit's finding answers as a missing one.
            authorize(
                &ctx.actor,
                Action::ViewAsset,
                Scope::held(f.unit_id, f.region_id),
            )
            .map_err(|_| AppError::not_found("idle finding", id))?;
            Ok(f)
        })
        .await
    }

    /// The assets marked unused that the caller may see (unit staff:
    /// their unit's), oldest mark first.
    pub async fn unused_marks(&self, ctx: Ctx) -> AppResult<Vec<UnusedMark>> {
        use crate::policy::Visibility;
        let within = match crate::policy::asset_visibility(&ctx.actor) {
            Visibility::UnitAndWarehouse(u) => format!("m.unit_id = {u}"),
            Visibility::Regions(r) if r.is_empty() => "1 = 0".to_owned(),
            Visibility::Regions(r) => {
                format!("u.region_id IN ({})", crate::store::assets::id_list(&r))
            }
            Visibility::All => "1 = 1".to_owned(),
            Visibility::Nothing => return Err(Reason::PeopleOnly.into()),
        };
        self.read(move |c| {
            let rows = c
                .prepare(&format!(
                    "SELECT m.asset_id, a.asset_number, a.name, m.unit_id, m.note, m.marked_by,
                            m.marked_at
                     FROM asset_unused_marks m JOIN assets a ON a.id = m.asset_id
                     JOIN units u ON u.id = m.unit_id
                     WHERE {within}
                     ORDER BY m.marked_at, m.asset_id LIMIT 5000"
                ))?
                .query_map((), |r| {
                    Ok(UnusedMark {
                        asset_id: r.get(0)?,
                        asset_number: r.get(1)?,
                        asset_name: r.get(2)?,
                        unit_id: r.get(3)?,
                        note: r.get(4)?,
                        marked_by: r.get(5)?,
                        marked_at: ts(r.get(6)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}
