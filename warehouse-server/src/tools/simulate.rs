//! `admin simulate-year`: a year in the life of the warehouse, scripted.
//! Hundreds of requests of every kind run through the same store calls
//! the HTTP handlers make, each step by the role the chain names, with
//! rejections, withdrawals, partial returns, damage and auctions drawn at
//! random. At the end the hash chain must verify and the reports must add
//! up: asset counts per state against a replay of the event log, money
//! against the request trail and against what the script itself did.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::PasswordCost;
use crate::error::{AppError, AppResult, Reason};
use crate::policy::{Actor, Ctx, Role};
use crate::register::AssetState;
use crate::store::{ReportScope, SampleAsset, Store};
use crate::workflow::{Cause, DisposalMethod, NewRequest, Remedy, RequestKind, StepBody};

/// One check and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What the year did and whether everything adds up.
#[derive(Debug, Clone, Serialize)]
pub struct YearReport {
    pub requests: BTreeMap<String, i64>,
    pub outcomes: BTreeMap<String, i64>,
    pub steps: i64,
    pub skipped: i64,
    pub checks: Vec<Check>,
    pub ok: bool,
}

struct People {
    approver: Ctx,
    finance: Ctx,
    keeper: Ctx,
    /// (unit id, its staff).
    units: Vec<(i64, Ctx)>,
    /// On a network seed: a keeper placed in each region that has a
    /// warehouse, by region, and the region of each warehouse location.
    /// A disposal of stock is filed by its warehouse's keeper, so it
    /// counts in that region.
    regional_keepers: BTreeMap<i64, Ctx>,
    location_region: BTreeMap<i64, i64>,
}

fn ctx(u: &crate::register::User) -> Ctx {
    Ctx {
        actor: Actor::User {
            id: u.id,
            username: u.username.clone(),
            role: u.role,
            unit_id: u.unit_id,
            reach: crate::policy::Reach::Network,
        },
        request_id: Some("simulate-year".into()),
    }
}

async fn people(store: &Store, tag: &str) -> AppResult<People> {
    // Simulated people cannot log in: their password is random and unknown.
    let hash = crate::accounts::hash_password(
        &crate::accounts::new_token("sim_"),
        PasswordCost::InsecureFastForTests,
    )?;
    let mk = |name: String, role: Role, unit: Option<i64>| {
        let hash = hash.clone();
        async move {
            store
                .create_user(name.clone(), name, hash, role, unit, None)
                .await
                .map_err(|e| {
                    if e.code == "duplicate" {
                        AppError::from(Reason::SeedTaken {
                            seed: tag.to_string(),
                        })
                    } else {
                        e
                    }
                })
        }
    };
    let approver = ctx(&mk(format!("sim{tag}-approver"), Role::Approver, None).await?);
    let finance = ctx(&mk(format!("sim{tag}-finance"), Role::Finance, None).await?);
    let keeper = ctx(&mk(format!("sim{tag}-keeper"), Role::Keeper, None).await?);
    let mut units = Vec::new();
    let mut chosen = store.list_units(1, 8).await?.items;
    // On a network seed, a unit of every region files too: requests are
    // filed (and counted) across the regions.
    let mut placed = std::collections::HashSet::new();
    for page in 1.. {
        let p = store.list_units(page, 500).await?;
        let last = p.items.len() < 500;
        for u in p.items {
            if let Some(r) = u.region_id {
                if placed.insert(r) && !chosen.iter().any(|c| c.id == u.id) {
                    chosen.push(u);
                }
            }
        }
        if last {
            break;
        }
    }
    for u in chosen {
        let staff = mk(
            format!("sim{tag}-unit{}", u.id),
            Role::UnitStaff,
            Some(u.id),
        )
        .await?;
        units.push((u.id, ctx(&staff)));
    }
    if units.len() < 2 {
        return Err(Reason::SimulationNeedsUnits.into());
    }
    let mut regional_keepers = BTreeMap::new();
    let mut location_region = BTreeMap::new();
    for page in 1.. {
        let p = store.list_warehouses(page, 500).await?;
        let last = p.items.len() < 500;
        for w in p.items {
            let Some(region) = w.region_id else { continue };
            for l in store.list_locations(w.id, 1, 500).await?.items {
                location_region.insert(l.id, region);
            }
            if let std::collections::btree_map::Entry::Vacant(e) = regional_keepers.entry(region) {
                let u = store
                    .create_user(
                        format!("sim{tag}-keeper-r{region}"),
                        format!("sim{tag}-keeper-r{region}"),
                        hash.clone(),
                        Role::Keeper,
                        None,
                        Some(region),
                    )
                    .await?;
                let mut k = ctx(&u);
                if let Actor::User { reach, .. } = &mut k.actor {
                    // Keepers work their own region's warehouses only.
                    *reach = crate::policy::Reach::region(region, &[region]);
                }
                e.insert(k);
            }
        }
        if last {
            break;
        }
    }
    Ok(People {
        approver,
        finance,
        keeper,
        units,
        regional_keepers,
        location_region,
    })
}

struct Sim<'a> {
    store: &'a Store,
    p: People,
    rng: StdRng,
    /// The draws of the money rules (auction fees, residual disposals),
    /// apart from `rng`: a seed's year of requests is the same with them.
    money_rng: StdRng,
    /// Whether a request asks several lines, and what the second line
    /// is: drawn apart from `rng`, so the year's other decisions stay
    /// those of the seed.
    lines_rng: StdRng,
    location: i64,
    steps: i64,
    skipped: i64,
    requests: BTreeMap<String, i64>,
    outcomes: BTreeMap<String, i64>,
    remitted: i64,
    /// Auction fees deducted from the hammer prices.
    fees: i64,
    /// Residual-value disposals opened by compensated damage cases.
    residual: i64,
    compensation_paid: i64,
    savings: i64,
    bought: i64,
    /// Loans and allocations checked out (the activity report's batches).
    batches: std::collections::BTreeSet<i64>,
    /// Whether a kit loan follows a request, and which items make the
    /// kit: drawn apart from `rng`, so the seed's other decisions stay.
    kits_rng: StdRng,
    kits: i64,
    /// Whether an event loan's shortfall is rented, or several units'
    /// purchases are bought under one contract, and their figures: drawn
    /// apart from `rng`, so the seed's other decisions stay.
    events_rng: StdRng,
    /// The registered rental supplier (made at the first rental).
    supplier: Option<i64>,
    rentals: i64,
    rental_cost: i64,
    /// The temporary tags rented (never a registered asset's).
    rented_epcs: Vec<String>,
    /// Contract numbers of the combined procurements, with how many
    /// requests each bought.
    combined: Vec<(String, i64)>,
}

/// The simulated date the script files its requests on: its loans start
/// then (a loan may not start before the day it is filed), and those due
/// soon after are overdue today.
const FILED_ON: &str = "2026-01-10";

fn body(v: Value) -> AppResult<StepBody> {
    serde_json::from_value(v).map_err(|e| AppError::internal(format!("simulated step: {e}")))
}

impl Sim<'_> {
    async fn step(
        &mut self,
        who: &Ctx,
        id: i64,
        b: Value,
    ) -> AppResult<crate::workflow::StepOutcome> {
        self.steps += 1;
        self.store.take_step(who.clone(), id, body(b)?).await
    }

    async fn file(&mut self, who: &Ctx, new: Value) -> AppResult<i64> {
        let new: NewRequest = serde_json::from_value(new)
            .map_err(|e| AppError::internal(format!("simulated request: {e}")))?;
        *self.requests.entry(new.kind.as_str().into()).or_default() += 1;
        Ok(self
            .store
            .create_request_on(who.clone(), new, FILED_ON.into())
            .await?
            .id)
    }

    fn end(&mut self, kind: &str, how: &str) {
        *self.outcomes.entry(format!("{kind}:{how}")).or_default() += 1;
    }

    fn sample(
        &mut self,
        state: AssetState,
        unit: Option<i64>,
        not_unit: Option<i64>,
        n: i64,
    ) -> AppResult<Vec<SampleAsset>> {
        let shuffle = self.rng.gen_range(1..1_000_000);
        self.store
            .sample_assets_blocking(state, unit, not_unit, n, shuffle)
    }

    fn unit(&mut self) -> (i64, Ctx) {
        let i = self.rng.gen_range(0..self.p.units.len());
        self.p.units[i].clone()
    }

    /// Commissions a tag as the desk would: allocate, write, confirm.
    async fn tag(&mut self, asset_id: i64) -> AppResult<String> {
        let asset = self.store.asset(asset_id).await?;
        let epc = match self
            .store
            .get_setting(crate::commission::COMPANY_PREFIX_KEY)
            .await?
        {
            Some(prefix) => crate::commission::giai_for(&prefix, &asset.asset_number)?
                .bytes()
                .to_vec(),
            None => {
                let mut b = vec![0u8; 12];
                self.rng.fill(&mut b[..]);
                b
            }
        };
        let keeper = self.p.keeper.clone();
        let commission = self
            .store
            .start_commission(keeper.clone(), asset_id, epc.clone())
            .await?;
        self.store
            .confirm_commission(keeper, commission, epc.clone())
            .await?;
        Ok(shared::hex::Hex(&epc).to_string())
    }

    /// Approver's decision: approve mostly, sometimes reject.
    async fn decide(&mut self, id: i64, kind: &str) -> AppResult<bool> {
        let approver = self.p.approver.clone();
        if self.rng.gen_bool(0.1) {
            self.step(
                &approver,
                id,
                json!({"action": "reject", "comment": "不符合配置标准"}),
            )
            .await?;
            self.end(kind, "rejected");
            return Ok(false);
        }
        self.step(
            &approver,
            id,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
        Ok(true)
    }

    async fn checkout(&mut self, id: i64, epcs: Vec<String>) -> AppResult<()> {
        let keeper = self.p.keeper.clone();
        self.step(
            &keeper,
            id,
            json!({"action": "check_out", "epcs": epcs, "accept_shortfall": true}),
        )
        .await?;
        Ok(())
    }

    async fn loan_or_allocation(&mut self, loan: bool) -> AppResult<()> {
        let kind = if loan { "loan" } else { "allocation" };
        let stock = self.sample(AssetState::InStock, None, None, 40)?;
        let stock: Vec<SampleAsset> = stock.into_iter().filter(|a| a.epc.is_some()).collect();
        if stock.len() < 3 {
            self.skipped += 1;
            return Ok(());
        }
        let (unit, staff) = self.unit();
        // Half ask by category and quantity, half for specific items.
        let cat = stock[0].category_id;
        let same: Vec<&SampleAsset> = stock.iter().filter(|a| a.category_id == cat).collect();
        let n = self.rng.gen_range(1..=same.len().min(5));
        let by_category = self.rng.gen_bool(0.5);
        let past_due = self.rng.gen_bool(0.2);
        let mut new = json!({"kind": kind, "reason": "活动保障", "event": "年度工作会议"});
        // Some by category ask two categories in one request (two lines).
        let second: Vec<&SampleAsset> = match stock.iter().find(|a| a.category_id != cat) {
            Some(b) if by_category && self.lines_rng.gen_bool(0.4) => stock
                .iter()
                .filter(|a| a.category_id == b.category_id)
                .take(3)
                .collect(),
            _ => Vec::new(),
        };
        if !second.is_empty() {
            new["lines"] = json!([
                {"category_id": cat, "quantity": n, "notes": "主会场"},
                {"category_id": second[0].category_id, "quantity": second.len()},
            ]);
        } else if by_category {
            new["category_id"] = json!(cat);
            new["quantity"] = json!(n);
        } else {
            new["asset_ids"] = json!(same[..n].iter().map(|a| a.id).collect::<Vec<_>>());
        }
        if loan {
            new["loan_start"] = json!(FILED_ON);
            new["loan_due"] = json!(if past_due { "2026-01-12" } else { "2099-12-31" });
        }
        let id = self.file(&staff, new).await?;
        if self.rng.gen_bool(0.05) {
            self.step(
                &staff,
                id,
                json!({"action": "withdraw", "comment": "活动取消"}),
            )
            .await?;
            self.end(kind, "withdrawn");
            return Ok(());
        }
        if !self.decide(id, kind).await? {
            return Ok(());
        }
        let epcs: Vec<String> = same[..n]
            .iter()
            .chain(second.iter())
            .filter_map(|a| a.epc.clone())
            .collect();
        self.checkout(id, epcs).await?;
        self.batches.insert(id);
        self.step(&staff, id, json!({"action": "confirm_receipt"}))
            .await?;
        if !loan {
            self.end(kind, "completed");
            return Ok(());
        }
        // Returns: sometimes in two parts, sometimes one item damaged;
        // some overdue loans stay out.
        if past_due && self.rng.gen_bool(0.3) {
            self.end(kind, "still_out");
            return Ok(());
        }
        let out: Vec<i64> = self
            .store
            .request(staff.actor.clone(), id)
            .await?
            .items
            .iter()
            .filter(|i| i.status == "received")
            .map(|i| i.asset_id)
            .collect();
        let split = if out.len() > 1 && self.rng.gen_bool(0.3) {
            out.len() / 2
        } else {
            out.len()
        };
        let keeper = self.p.keeper.clone();
        for part in [&out[..split], &out[split..]] {
            if part.is_empty() {
                continue;
            }
            let items: Vec<Value> = part
                .iter()
                .map(|a| {
                    let damaged = self.rng.gen_bool(0.05);
                    json!({"asset_id": a, "condition": if damaged { "damaged" } else { "good" }})
                })
                .collect();
            let r = self
                .step(
                    &keeper,
                    id,
                    json!({"action": "return_items", "items": items}),
                )
                .await?;
            for case in r.opened {
                self.damage_decision(case, false).await?;
            }
        }
        let _ = unit;
        self.end(kind, "completed");
        Ok(())
    }

    /// A kit (套装) of two or three tagged in-stock items, lent for an
    /// event as one: filed by the kit, checked out and returned whole.
    async fn kit_loan(&mut self) -> AppResult<()> {
        let shuffle = self.kits_rng.gen_range(1..1_000_000);
        let stock: Vec<SampleAsset> = self
            .store
            .sample_assets_blocking(AssetState::InStock, None, None, 10, shuffle)?
            .into_iter()
            .filter(|a| a.epc.is_some())
            .collect();
        let n = self.kits_rng.gen_range(2..=3usize);
        if stock.len() < n {
            self.skipped += 1;
            return Ok(());
        }
        let members = &stock[..n];
        self.kits += 1;
        let keeper = self.p.keeper.clone();
        let kit = self
            .store
            .create_kit(
                keeper.clone(),
                crate::kits::NewKit {
                    name: format!("会议室套装{}", self.kits),
                    asset_ids: members.iter().map(|a| a.id).collect(),
                    notes: None,
                },
            )
            .await?;
        let i = self.kits_rng.gen_range(0..self.p.units.len());
        let (_, staff) = self.p.units[i].clone();
        let id = self
            .file(
                &staff,
                json!({"kind": "loan", "kit_ids": [kit.id], "reason": "会议保障",
                    "event": "专题会议", "loan_start": FILED_ON, "loan_due": "2026-01-12"}),
            )
            .await?;
        let approver = self.p.approver.clone();
        self.step(&approver, id, json!({"action": "approve"}))
            .await?;
        let epcs: Vec<String> = members.iter().filter_map(|a| a.epc.clone()).collect();
        self.checkout(id, epcs.clone()).await?;
        self.batches.insert(id);
        self.step(&staff, id, json!({"action": "confirm_receipt"}))
            .await?;
        let items: Vec<Value> = epcs
            .iter()
            .map(|e| json!({"epc": e, "condition": "good"}))
            .collect();
        self.step(
            &keeper,
            id,
            json!({"action": "return_items", "items": items}),
        )
        .await?;
        // Taken apart after the event: its members are single assets again.
        self.store.retire_kit(keeper, kit.id).await?;
        self.end("loan", "kit_returned");
        Ok(())
    }

    /// An event loan whose shortfall is rented (管理+租用): the unit asks
    /// for more items of a category than the keeper takes from stock; the
    /// keeper registers the rental (linked to the loan, covering its
    /// window) before the approval, so the approval counts the rented
    /// items; the stock items and the temporarily tagged rented ones go
    /// out and come back, and the rental goes back to its supplier.
    async fn rented_event(&mut self) -> AppResult<()> {
        let shuffle = self.events_rng.gen_range(1..1_000_000);
        let stock: Vec<SampleAsset> = self
            .store
            .sample_assets_blocking(AssetState::InStock, None, None, 20, shuffle)?
            .into_iter()
            .filter(|a| a.epc.is_some())
            .collect();
        let Some(first) = stock.first() else {
            self.skipped += 1;
            return Ok(());
        };
        let cat = first.category_id;
        let epcs: Vec<String> = stock
            .iter()
            .filter(|a| a.category_id == cat)
            .take(3)
            .filter_map(|a| a.epc.clone())
            .collect();
        let rented = self.events_rng.gen_range(1..=3usize);
        let i = self.events_rng.gen_range(0..self.p.units.len());
        let (_, staff) = self.p.units[i].clone();
        let due = "2026-01-12";
        let id = self
            .file(
                &staff,
                json!({"kind": "loan", "category_id": cat, "quantity": epcs.len() + rented,
                    "reason": "活动保障", "event": "庆典活动", "loan_start": FILED_ON, "loan_due": due}),
            )
            .await?;
        let keeper = self.p.keeper.clone();
        let supplier = match self.supplier {
            Some(s) => s,
            None => {
                let s = self
                    .store
                    .create_supplier(
                        keeper.clone(),
                        crate::rentals::NewSupplier {
                            name: "模拟会展租赁公司".into(),
                            contact: Some("王经理".into()),
                            phone: None,
                            notes: None,
                        },
                    )
                    .await?
                    .id;
                self.supplier = Some(s);
                s
            }
        };
        let tags: Vec<String> = (0..rented)
            .map(|_| {
                let mut b = [0u8; 12];
                self.events_rng.fill(&mut b[..]);
                // Not a GIAI header (0x34 or 0x38): never a register tag.
                b[0] = 0xE2;
                shared::hex::Hex(&b).to_string()
            })
            .collect();
        let cost = self.events_rng.gen_range(5_000..100_000i64);
        let rental = self
            .store
            .create_rental(
                keeper.clone(),
                crate::rentals::NewRental {
                    supplier_id: supplier,
                    request_id: Some(id),
                    contract_number: format!("ZL-SIM-{id}"),
                    starts: FILED_ON.into(),
                    ends: due.into(),
                    cost_fen: cost,
                    items: tags
                        .iter()
                        .map(|t| crate::rentals::NewRentalItem {
                            description: "租用物品".into(),
                            category_id: Some(cat),
                            epc: t.clone(),
                        })
                        .collect(),
                },
            )
            .await?;
        self.rentals += 1;
        self.rental_cost += cost;
        self.rented_epcs.extend(tags.iter().cloned());
        let approver = self.p.approver.clone();
        self.step(
            &approver,
            id,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
        // The stock items alone complete the check-out: the rented ones
        // count toward the loan (no shortfall accepted).
        if !epcs.is_empty() {
            self.step(&keeper, id, json!({"action": "check_out", "epcs": epcs}))
                .await?;
            self.batches.insert(id);
        }
        let scan = crate::rentals::RentalScan { epcs: tags.clone() };
        self.store
            .move_rental_items(
                keeper.clone(),
                rental.id,
                crate::rentals::RentalMove::Out,
                scan.clone(),
            )
            .await?;
        if !epcs.is_empty() {
            self.step(&staff, id, json!({"action": "confirm_receipt"}))
                .await?;
            let items: Vec<Value> = epcs
                .iter()
                .map(|e| json!({"epc": e, "condition": "good"}))
                .collect();
            self.step(
                &keeper,
                id,
                json!({"action": "return_items", "items": items}),
            )
            .await?;
        }
        self.store
            .move_rental_items(
                keeper.clone(),
                rental.id,
                crate::rentals::RentalMove::Back,
                scan,
            )
            .await?;
        self.store.return_rental(keeper, rental.id).await?;
        self.end("loan", "rented_shortfall");
        Ok(())
    }

    /// 集中采购: two or three units' purchases, each approved by the
    /// approver and finance, bought under one contract, each receiving
    /// its own share (its items, tagged and handed out).
    async fn central_purchase(&mut self) -> AppResult<()> {
        let cats = self.store.list_categories(1, 100).await?.items;
        if cats.is_empty() || self.p.units.is_empty() {
            self.skipped += 1;
            return Ok(());
        }
        let n = self.events_rng.gen_range(2..=3usize);
        let cat = cats[self.events_rng.gen_range(0..cats.len())].id;
        let price = self.events_rng.gen_range(10_000..100_000i64);
        let approver = self.p.approver.clone();
        let finance = self.p.finance.clone();
        // (request, its staff, quantity)
        let mut bought: Vec<(i64, Ctx, i64)> = Vec::new();
        for _ in 0..n {
            let i = self.events_rng.gen_range(0..self.p.units.len());
            let (_, staff) = self.p.units[i].clone();
            let qty = self.events_rng.gen_range(1..=3i64);
            let budget = price * qty + self.events_rng.gen_range(0..20_000i64);
            let id = self
                .file(
                    &staff,
                    json!({"kind": "purchase", "category_id": cat, "quantity": qty,
                        "budget_fen": budget, "reason": "集中采购"}),
                )
                .await?;
            self.step(&approver, id, json!({"action": "approve"}))
                .await?;
            self.step(&finance, id, json!({"action": "approve"}))
                .await?;
            self.savings += budget - price * qty;
            self.bought += qty;
            bought.push((id, staff, qty));
        }
        let contract = format!("JC-SIM-{}", bought[0].0);
        let steps = bought.len() as i64;
        self.store
            .procure_together(
                approver,
                crate::workflow::NewProcurement {
                    request_ids: bought.iter().map(|b| b.0).collect(),
                    supplier: "模拟集采供应商".into(),
                    contract_number: contract.clone(),
                    purchased_on: None,
                    lines: bought
                        .iter()
                        .map(|b| crate::workflow::ProcurementLine {
                            request_id: b.0,
                            unit_price_fen: price,
                        })
                        .collect(),
                    comment: None,
                },
            )
            .await?;
        self.steps += steps;
        self.combined.push((contract, steps));
        for (id, staff, _) in bought {
            self.receive_and_deliver(id, &staff).await?;
            self.end("purchase", "central_completed");
        }
        Ok(())
    }

    /// A loan of two tagged in-stock items, approved and left waiting for
    /// the keeper's check-out at the desk (for demos: `--waiting`).
    async fn waiting_loan(&mut self) -> AppResult<()> {
        let stock = self.sample(AssetState::InStock, None, None, 20)?;
        let ids: Vec<i64> = stock
            .iter()
            .filter(|a| a.epc.is_some())
            .take(2)
            .map(|a| a.id)
            .collect();
        if ids.is_empty() {
            self.skipped += 1;
            return Ok(());
        }
        // In a seeded tree the fourth unit is the first basic one (单位
        // 1-1-1, id 4), for which `scripts/run.sh` makes its `unit` login.
        let staff = match self.p.units.get(3).or(self.p.units.first()) {
            Some((_, staff)) => staff.clone(),
            None => return Err(Reason::SimulationNeedsUnits.into()),
        };
        let id = self
            .file(
                &staff,
                json!({"kind": "loan", "reason": "会议借用", "asset_ids": ids,
                    "loan_start": FILED_ON, "loan_due": "2099-12-31"}),
            )
            .await?;
        let approver = self.p.approver.clone();
        self.step(
            &approver,
            id,
            json!({"action": "approve", "comment": "同意"}),
        )
        .await?;
        self.end("loan", "waiting_for_check_out");
        Ok(())
    }

    async fn purchase(&mut self) -> AppResult<()> {
        let (_, staff) = self.unit();
        let cats = self.store.list_categories(1, 100).await?.items;
        let cat = cats[self.rng.gen_range(0..cats.len())].id;
        let qty = self.rng.gen_range(1..=4i64);
        let price = self.rng.gen_range(10_000..200_000i64);
        // Some purchases buy a second category too (a second line, its
        // own price).
        let second = if self.lines_rng.gen_bool(0.3) {
            let c2 = cats[self.lines_rng.gen_range(0..cats.len())].id;
            Some((
                c2,
                self.lines_rng.gen_range(1..=3i64),
                self.lines_rng.gen_range(10_000..100_000i64),
            ))
        } else {
            None
        };
        let spend = price * qty + second.map_or(0, |(_, q, p)| q * p);
        let budget = spend + self.rng.gen_range(0..50_000i64);
        let mut new = json!({"kind": "purchase", "budget_fen": budget, "reason": "新增配置"});
        match second {
            Some((c2, q2, _)) => {
                new["lines"] = json!([
                    {"category_id": cat, "quantity": qty},
                    {"category_id": c2, "quantity": q2, "notes": "配套"},
                ]);
            }
            None => {
                new["category_id"] = json!(cat);
                new["quantity"] = json!(qty);
            }
        }
        let id = self.file(&staff, new).await?;
        if !self.decide(id, "purchase").await? {
            return Ok(());
        }
        let finance = self.p.finance.clone();
        if self.rng.gen_bool(0.1) {
            self.step(
                &finance,
                id,
                json!({"action": "reject", "comment": "预算不足"}),
            )
            .await?;
            self.end("purchase", "rejected");
            return Ok(());
        }
        self.step(&finance, id, json!({"action": "approve"}))
            .await?;
        let approver = self.p.approver.clone();
        let contract = format!("SIM-{id}");
        let mut procure = json!({"action": "procure", "supplier": "模拟供应商",
            "contract_number": contract});
        match second {
            Some((_, _, p2)) => {
                procure["line_prices"] = json!([
                    {"line_no": 1, "unit_price_fen": price},
                    {"line_no": 2, "unit_price_fen": p2},
                ]);
            }
            None => procure["unit_price_fen"] = json!(price),
        }
        self.step(&approver, id, procure).await?;
        self.savings += budget - spend;
        self.bought += qty + second.map_or(0, |(_, q, _)| q);
        self.receive_and_deliver(id, &staff).await?;
        self.end("purchase", "completed");
        Ok(())
    }

    /// A purchase's goods received at the warehouse and tagged, scanned out
    /// by the keeper and their receipt confirmed by the unit's `staff`.
    async fn receive_and_deliver(&mut self, id: i64, staff: &Ctx) -> AppResult<()> {
        let keeper = self.p.keeper.clone();
        let r = self
            .step(
                &keeper,
                id,
                json!({"action": "receive", "location_id": self.location}),
            )
            .await?;
        // Tags are written at receiving; the keeper scans them out.
        let mut epcs = Vec::new();
        for item in &r.request.items {
            epcs.push(self.tag(item.asset_id).await?);
        }
        self.checkout(id, epcs).await?;
        self.step(staff, id, json!({"action": "confirm_receipt"}))
            .await?;
        Ok(())
    }

    async fn transfer(&mut self) -> AppResult<()> {
        let (giver, giver_staff) = self.unit();
        let held = self.sample(AssetState::Allocated, Some(giver), None, 1)?;
        let Some(a) = held.first() else {
            self.skipped += 1;
            return Ok(());
        };
        self.store
            .list_idle(giver_staff.clone(), a.id, Some("闲置可调剂".into()))
            .await?;
        let (taker, taker_staff) = self.unit();
        if taker == giver {
            // Nobody asked; the unit takes the listing back.
            self.store.unlist_idle(giver_staff, a.id).await?;
            self.end("transfer", "unlisted");
            return Ok(());
        }
        let id = self
            .file(
                &taker_staff,
                json!({"kind": "transfer", "asset_ids": [a.id], "reason": "调剂使用"}),
            )
            .await?;
        if self.decide(id, "transfer").await? {
            self.end("transfer", "completed");
        } else {
            self.store.unlist_idle(giver_staff, a.id).await?;
        }
        Ok(())
    }

    async fn intake(&mut self) -> AppResult<()> {
        let (unit, staff) = self.unit();
        let held = self.sample(AssetState::Allocated, Some(unit), None, 3)?;
        if held.is_empty() {
            self.skipped += 1;
            return Ok(());
        }
        let ids: Vec<i64> = held.iter().map(|a| a.id).collect();
        let id = self
            .file(
                &staff,
                json!({"kind": "intake", "asset_ids": ids, "reason": "机构撤并交回"}),
            )
            .await?;
        if !self.decide(id, "intake").await? {
            return Ok(());
        }
        let keeper = self.p.keeper.clone();
        self.step(
            &keeper,
            id,
            json!({"action": "receive", "location_id": self.location, "asset_ids": ids}),
        )
        .await?;
        self.end("intake", "completed");
        Ok(())
    }

    async fn disposal(&mut self) -> AppResult<()> {
        let stock = self.sample(AssetState::InStock, None, None, 2)?;
        if stock.is_empty() {
            self.skipped += 1;
            return Ok(());
        }
        let method = if self.rng.gen_bool(0.6) {
            DisposalMethod::Auction
        } else {
            DisposalMethod::Scrap
        };
        // The keeper of the first asset's warehouse files, for the assets
        // of that region.
        let mut regions = Vec::new();
        for a in &stock {
            let held = self.store.asset(a.id).await?.holder_location_id;
            regions.push(held.and_then(|l| self.p.location_region.get(&l).copied()));
        }
        let keeper = match regions[0].and_then(|r| self.p.regional_keepers.get(&r)) {
            Some(k) => k.clone(),
            None => self.p.keeper.clone(),
        };
        let ids: Vec<i64> = stock
            .iter()
            .zip(&regions)
            .filter(|(_, r)| **r == regions[0])
            .map(|(a, _)| a.id)
            .collect();
        let id = self
            .file(
                &keeper,
                json!({"kind": "disposal", "asset_ids": ids, "disposal_method": method.as_str(),
                    "reason": "超过最低使用年限"}),
            )
            .await?;
        self.dispose(&keeper, id, None).await
    }

    /// Drives a disposal from its appraisal to its end: `method` is what
    /// the appraisal settles (a residual value worth selling goes to
    /// auction). An auction pays fees, shown by a document, some of the
    /// time; the remittance is the hammer price less the fees.
    async fn dispose(
        &mut self,
        appraiser: &Ctx,
        id: i64,
        method: Option<DisposalMethod>,
    ) -> AppResult<()> {
        let appraised = self.rng.gen_range(0..50_000i64);
        let mut appraisal = json!({"action": "appraise", "appraised_value_fen": appraised,
            "appraiser": "模拟评估", "report_ref": format!("PG-{id}")});
        if let Some(m) = method {
            appraisal["disposal_method"] = json!(m.as_str());
        }
        let r = self.step(appraiser, id, appraisal).await?;
        if !self.decide(id, "disposal").await? {
            return Ok(());
        }
        let finance = self.p.finance.clone();
        self.step(&finance, id, json!({"action": "approve"}))
            .await?;
        if r.request.disposal_method == Some(DisposalMethod::Auction) {
            let hammer = appraised + self.rng.gen_range(0..20_000i64);
            let approver = self.p.approver.clone();
            let mut sale =
                json!({"action": "record_sale", "hammer_price_fen": hammer, "buyer": "竞买人"});
            let mut fees = 0;
            if self.money_rng.gen_bool(0.5) {
                fees = self.money_rng.gen_range(0..=hammer / 10);
                let doc = self
                    .store
                    .add_document(
                        approver.actor.clone(),
                        id,
                        format!("拍卖费用-{id}.pdf"),
                        "application/pdf".into(),
                        b"%PDF-1.4 auction fees".to_vec(),
                    )
                    .await?;
                sale["fees_fen"] = json!(fees);
                sale["fees_document_id"] = json!(doc.id);
            }
            self.step(&approver, id, sale).await?;
            self.step(
                &finance,
                id,
                json!({"action": "confirm_remittance", "amount_fen": hammer - fees,
                    "treasury_ref": format!("JK-{id}")}),
            )
            .await?;
            self.remitted += hammer - fees;
            self.fees += fees;
        }
        self.end("disposal", "completed");
        Ok(())
    }

    async fn damage(&mut self) -> AppResult<()> {
        let (unit, staff) = self.unit();
        let held = self.sample(AssetState::Allocated, Some(unit), None, 1)?;
        let Some(a) = held.first() else {
            self.skipped += 1;
            return Ok(());
        };
        let loss = self.rng.gen_bool(0.3);
        let id = self
            .file(
                &staff,
                json!({"kind": "damage", "asset_ids": [a.id], "loss": loss, "reason": "使用中损坏"}),
            )
            .await?;
        self.damage_decision(id, loss).await
    }

    async fn damage_decision(&mut self, id: i64, loss: bool) -> AppResult<()> {
        let approver = self.p.approver.clone();
        let finance = self.p.finance.clone();
        let roll = self.rng.gen_range(0..3);
        let decision = match (roll, loss) {
            (0, _) => json!({"action": "decide_cause", "cause": Cause::Natural.as_str()}),
            (1, false) => {
                json!({"action": "decide_cause", "cause": "human", "responsible": "使用人",
                "remedy": Remedy::Repair.as_str(), "amount_fen": self.rng.gen_range(1_000..20_000i64)})
            }
            _ => json!({"action": "decide_cause", "cause": "human", "responsible": "使用人",
                "remedy": Remedy::Compensate.as_str()}),
        };
        let r = self.step(&approver, id, decision).await?;
        let owed = r.request.compensation_fen.unwrap_or(0);
        let paid = self
            .step(
                &finance,
                id,
                json!({"action": "confirm_payment", "amount_fen": owed}),
            )
            .await?;
        self.compensation_paid += owed;
        // A compensated damaged item is appraised for its residual value
        // and disposed of by the disposal the payment opened.
        // Its draws come from the money generator, so that the rest of
        // the year stays the seed's year.
        for disposal in paid.opened {
            self.residual += 1;
            let keeper = self.p.keeper.clone();
            let method = if self.money_rng.gen_bool(0.5) {
                DisposalMethod::Auction
            } else {
                DisposalMethod::Scrap
            };
            std::mem::swap(&mut self.rng, &mut self.money_rng);
            let done = self.dispose(&keeper, disposal, Some(method)).await;
            std::mem::swap(&mut self.rng, &mut self.money_rng);
            done?;
        }
        if roll == 1 && !loss {
            let keeper = self.p.keeper.clone();
            for item in &r.request.items {
                self.store
                    .finish_repair(keeper.clone(), item.asset_id, None)
                    .await?;
            }
        }
        self.end("damage", "completed");
        Ok(())
    }
}

/// The books per region (三级联网): every report cut by region adds up to
/// the network's, and each region's report (the region and every region
/// below it) equals the sum of the rows of the regions in its subtree, per
/// column; the cockpit counts the same assets. Nothing to check without
/// regions.
async fn check_regions(store: &Store, checks: &mut Vec<Check>) -> AppResult<()> {
    let regions = store.all_regions().await?;
    if regions.is_empty() {
        return Ok(());
    }
    let parent: BTreeMap<i64, Option<i64>> = regions.iter().map(|r| (r.id, r.parent_id)).collect();
    // Whether `id` is `top` or below it.
    let under = |mut id: i64, top: i64| loop {
        if id == top {
            return true;
        }
        match parent.get(&id).copied().flatten() {
            Some(p) => id = p,
            None => return false,
        }
    };
    for (name, _) in crate::store::REPORTS {
        let net = store.report_blocking(name, &ReportScope::network())?;
        let cut = store.report_blocking(
            name,
            &ReportScope {
                by_region: true,
                ..ReportScope::default()
            },
        )?;
        check(
            checks,
            &format!("{name}: the rows per region add up to the network's totals"),
            cut.totals == net.totals,
            format!("per region {}, network {}", cut.totals, net.totals),
        );
        let mut wrong = Vec::new();
        for r in &regions {
            let one = store.report_blocking(
                name,
                &ReportScope {
                    region: Some(r.id),
                    ..ReportScope::default()
                },
            )?;
            for (i, col) in cut.columns.iter().enumerate() {
                let Some(want) = one.totals.get(col).and_then(Value::as_i64) else {
                    continue;
                };
                let got: i64 = cut
                    .rows
                    .iter()
                    .filter(|row| row[0].as_i64().is_some_and(|g| under(g, r.id)))
                    .filter_map(|row| row.get(i).and_then(Value::as_i64))
                    .sum();
                if got != want {
                    wrong.push(format!("{} {col}: report {want}, rows {got}", r.name));
                }
            }
        }
        check(
            checks,
            &format!("{name}: each region's report equals the sum of its regions' rows"),
            wrong.is_empty(),
            if wrong.is_empty() {
                format!("{} regions", regions.len())
            } else {
                wrong.join("; ")
            },
        );
    }
    let cockpit = store.cockpit(None, None, None).await?;
    let by_state = store.report_blocking("assets-by-state", &ReportScope::network())?;
    let counted = by_state.totals["count"].as_i64().unwrap_or(-1);
    check(
        checks,
        "the cockpit counts every asset of the register once",
        cockpit.total.assets + cockpit.total.assets_disposed == counted,
        format!(
            "cockpit {} + {} disposed, report {counted}",
            cockpit.total.assets, cockpit.total.assets_disposed
        ),
    );
    Ok(())
}

fn check(checks: &mut Vec<Check>, name: &str, ok: bool, detail: String) {
    checks.push(Check {
        name: name.into(),
        ok,
        detail,
    });
}

/// The rental cost the rentals report and the procurement report total
/// (-1 where a report has none).
fn rental_costs(store: &Store) -> anyhow::Result<(i64, i64)> {
    let total = |name: &str| -> anyhow::Result<i64> {
        Ok(
            store.report_blocking(name, &ReportScope::network())?.totals["rental_cost_fen"]
                .as_i64()
                .unwrap_or(-1),
        )
    };
    Ok((total("rentals")?, total("procurement")?))
}

/// Runs the year. `requests` is the number of requests filed (each runs to
/// its end or a rejection); then `waiting` more loans are approved and left
/// waiting for check-out.
pub async fn simulate_year(
    store: &Store,
    seed: u64,
    requests: u32,
    waiting: u32,
) -> anyhow::Result<YearReport> {
    if store.list_categories(1, 1).await?.total == 0 {
        super::seed::seed(store, 600, false).await?;
    }
    let p = people(store, &seed.to_string()).await?;
    let location = {
        let w = store.list_warehouses(1, 1).await?.items;
        let w = w.first().ok_or_else(|| anyhow::anyhow!("no warehouse"))?;
        let l = store.list_locations(w.id, 1, 1).await?.items;
        l.first().ok_or_else(|| anyhow::anyhow!("no location"))?.id
    };
    // Rentals made before the year (a deployment's own) are in the
    // reports too: the year's checks compare what the script added.
    let rental_cost_before = rental_costs(store)?;
    let mut sim = Sim {
        store,
        p,
        rng: StdRng::seed_from_u64(seed),
        money_rng: StdRng::seed_from_u64(seed.wrapping_add(0x6d6f_6e65)),
        lines_rng: StdRng::seed_from_u64(seed ^ 0x4c49_4e45),
        location,
        steps: 0,
        skipped: 0,
        requests: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        remitted: 0,
        fees: 0,
        residual: 0,
        compensation_paid: 0,
        savings: 0,
        bought: 0,
        batches: Default::default(),
        kits_rng: StdRng::seed_from_u64(seed ^ 0x4b49_5453),
        kits: 0,
        events_rng: StdRng::seed_from_u64(seed ^ 0x4556_454e_5453),
        supplier: None,
        rentals: 0,
        rental_cost: 0,
        rented_epcs: Vec::new(),
        combined: Vec::new(),
    };
    for _ in 0..requests {
        let roll = sim.rng.gen_range(0..100);
        let kind = match roll {
            0..=29 => RequestKind::Loan,
            30..=44 => RequestKind::Allocation,
            45..=59 => RequestKind::Purchase,
            60..=69 => RequestKind::Transfer,
            70..=77 => RequestKind::Intake,
            78..=89 => RequestKind::Disposal,
            _ => RequestKind::Damage,
        };
        let r = match kind {
            RequestKind::Loan => sim.loan_or_allocation(true).await,
            RequestKind::Allocation => sim.loan_or_allocation(false).await,
            RequestKind::Purchase => sim.purchase().await,
            RequestKind::Transfer => sim.transfer().await,
            RequestKind::Intake => sim.intake().await,
            RequestKind::Disposal => sim.disposal().await,
            RequestKind::Damage => sim.damage().await,
        };
        r.map_err(|e| anyhow::anyhow!("simulated {} failed: {e}", kind.as_str()))?;
        if sim.kits_rng.gen_bool(0.05) {
            sim.kit_loan()
                .await
                .map_err(|e| anyhow::anyhow!("simulated kit loan failed: {e}"))?;
        }
        if sim.events_rng.gen_bool(0.04) {
            sim.rented_event()
                .await
                .map_err(|e| anyhow::anyhow!("simulated rented event failed: {e}"))?;
        }
        if sim.events_rng.gen_bool(0.03) {
            sim.central_purchase()
                .await
                .map_err(|e| anyhow::anyhow!("simulated central purchase failed: {e}"))?;
        }
    }
    for _ in 0..waiting {
        sim.waiting_loan()
            .await
            .map_err(|e| anyhow::anyhow!("simulated waiting loan failed: {e}"))?;
    }

    let mut checks = Vec::new();
    let v = store.verify_log().await?;
    check(
        &mut checks,
        "hash chain verifies",
        v.ok,
        format!("{} events checked", v.checked),
    );
    let (replayed, register) = store.replay_states_blocking()?;
    check(
        &mut checks,
        "asset states replayed from the event log equal the register",
        replayed == register,
        format!("log {replayed:?} register {register:?}"),
    );
    let by_state = store.report_blocking("assets-by-state", &ReportScope::network())?;
    let mut reported: BTreeMap<String, i64> = BTreeMap::new();
    for row in &by_state.rows {
        let state = row[0].as_str().unwrap_or_default().to_owned();
        *reported.entry(state).or_default() += row[4].as_i64().unwrap_or(0);
    }
    check(
        &mut checks,
        "assets-by-state (trigger-kept summary) equals the register per state",
        reported == register,
        format!("report {reported:?}"),
    );
    let disposals = store.report_blocking("disposals", &ReportScope::network())?;
    let remitted = disposals.totals["remitted_fen"].as_i64().unwrap_or(-1);
    let trail = store.step_sum_blocking("confirm_remittance", "amount_fen")?;
    check(
        &mut checks,
        "proceeds remitted: report = request trail = script",
        remitted == trail && trail == sim.remitted,
        format!("report {remitted}, trail {trail}, script {}", sim.remitted),
    );
    let hammer = disposals.totals["hammer_fen"].as_i64().unwrap_or(-1);
    let fees = disposals.totals["fees_fen"].as_i64().unwrap_or(-1);
    check(
        &mut checks,
        "remitted = hammer price - auction fees (report); fees = script",
        remitted == hammer - fees && fees == sim.fees,
        format!(
            "hammer {hammer}, fees {fees}, remitted {remitted}, script fees {}",
            sim.fees
        ),
    );
    let residual = store.residual_disposals_blocking()?;
    check(
        &mut checks,
        "every compensated damaged item went to a residual appraisal",
        residual == sim.residual,
        format!(
            "disposals from damage cases {residual}, script {}",
            sim.residual
        ),
    );
    let comp = store.report_blocking("compensation", &ReportScope::network())?;
    let paid = comp.totals["paid_fen"].as_i64().unwrap_or(-1);
    let trail = store.step_sum_blocking("confirm_payment", "amount_fen")?;
    check(
        &mut checks,
        "compensation paid: report = request trail = script",
        paid == trail && trail == sim.compensation_paid,
        format!(
            "report {paid}, trail {trail}, script {}",
            sim.compensation_paid
        ),
    );
    let proc_ = store.report_blocking("procurement", &ReportScope::network())?;
    let savings = proc_.totals["savings_fen"].as_i64().unwrap_or(-1);
    check(
        &mut checks,
        "procurement savings: report = script",
        savings == sim.savings,
        format!("report {savings}, script {}", sim.savings),
    );
    let loans = store.report_blocking("loans", &ReportScope::network())?;
    let still_out = sim.outcomes.get("loan:still_out").copied().unwrap_or(0);
    check(
        &mut checks,
        "loans report lists the loans left out",
        loans.totals["loans"].as_i64() == Some(still_out),
        format!("report {}, script {still_out}", loans.totals["loans"]),
    );
    let reqs = store.report_blocking("requests", &ReportScope::network())?;
    let filed: i64 = sim.requests.values().sum();
    // Damage cases opened by returns are requests the script did not file.
    let opened = reqs.totals["count"].as_i64().unwrap_or(-1) - filed;
    check(
        &mut checks,
        "requests report counts every request",
        opened >= 0,
        format!("report {}, filed {filed}", reqs.totals["count"]),
    );
    let activity = store.report_blocking("activity", &ReportScope::network())?;
    let batches = activity.totals["batches"].as_i64().unwrap_or(-1);
    check(
        &mut checks,
        "activity report: batches = loans and allocations the script checked out",
        batches == sim.batches.len() as i64,
        format!("report {batches}, script {}", sim.batches.len()),
    );
    // Rentals (管理+租用): the rented items never entered the register,
    // and the reports' rental cost is the contracts' sum.
    let mut registered = Vec::new();
    for epc in &sim.rented_epcs {
        let bytes = shared::hex::decode(epc).map_err(|e| anyhow::anyhow!("{epc}: {e}"))?;
        if store.asset_by_epc(bytes).await.is_ok() {
            registered.push(epc.clone());
        }
    }
    check(
        &mut checks,
        "rented items never in the register",
        registered.is_empty(),
        format!(
            "{} rented tags, registered: {registered:?}",
            sim.rented_epcs.len()
        ),
    );
    let (rent_cost, compared) = {
        let (rentals, procurement) = rental_costs(store)?;
        (
            rentals - rental_cost_before.0,
            procurement - rental_cost_before.1,
        )
    };
    check(
        &mut checks,
        "rental cost: rentals report = procurement report = contracts' sum",
        rent_cost == sim.rental_cost && compared == sim.rental_cost,
        format!(
            "rentals report {rent_cost}, procurement report {compared}, script {} over {} rentals",
            sim.rental_cost, sim.rentals
        ),
    );
    let contracts = store.report_blocking("contracts", &ReportScope::network())?;
    let cols = &contracts.columns;
    let at = |name: &str| cols.iter().position(|c| c == name);
    let shown: Vec<(String, i64)> = match (at("contract_number"), at("requests")) {
        (Some(c), Some(n)) => contracts
            .rows
            .iter()
            .filter_map(|r| Some((r[c].as_str()?.to_owned(), r[n].as_i64()?)))
            .filter(|(c, _)| c.starts_with("JC-SIM-"))
            .collect(),
        _ => Vec::new(),
    };
    check(
        &mut checks,
        "contracts report: each combined procurement is one contract of its requests",
        shown == sim.combined,
        format!("report {shown:?}, script {:?}", sim.combined),
    );
    check_regions(store, &mut checks).await?;
    let ok = checks.iter().all(|c| c.ok);
    Ok(YearReport {
        requests: sim.requests,
        outcomes: sim.outcomes,
        steps: sim.steps,
        skipped: sim.skipped,
        checks,
        ok,
    })
}
