//! `admin export-scenario`: a `hardware-sim` scenario built from the
//! register, so the simulated readers of a demo read the register's own
//! tags. Three readers: a **desk** whose field holds a shelf of in-stock
//! assets — first those that the loans and allocations waiting for
//! check-out would take — and a few visitors' (foreign) tags; an exit
//! **gate** that one of those assets passes now and then (an alarm until it
//! is checked out); and a **handheld** that sees the tagged assets one
//! location holds but one (a stock-take finds it missing). The format is
//! hardware-sim's (`docs/hardware-sim.md`); `hardware-sim check` validates
//! a written file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::store::{FieldAsset, FieldPlan, Store};

/// The reader names a written scenario uses (the daemon config and
/// `admin register-daemon` must use the same).
pub const DESK: &str = "desk-1";
pub const GATE: &str = "gate-1";
pub const HANDHELD: &str = "handheld-1";

/// What to put in the field.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// Where to write the scenario (TOML).
    #[arg(long)]
    pub out: PathBuf,
    /// Directory for the readers' PTY links (`<dir>/desk-1.tty`, …).
    #[arg(long)]
    pub link_dir: PathBuf,
    /// Protocol every simulated reader speaks: r2000 or chainway.
    #[arg(long, default_value = "r2000")]
    pub protocol: String,
    /// Waiting loans/allocations whose assets go on the desk shelf.
    #[arg(long, default_value_t = 3)]
    pub requests: usize,
    /// Further in-stock assets on the desk shelf.
    #[arg(long, default_value_t = 10)]
    pub shelf: usize,
    /// And this many more free in-stock assets of every category, so a
    /// loan filed during the demo finds its category on the shelf.
    #[arg(long, default_value_t = 3)]
    pub per_category: usize,
    /// Visitors' tags (not in the register) at the desk.
    #[arg(long, default_value_t = 3)]
    pub visitors: usize,
    /// Seconds between two passes of the shelf's first asset through the
    /// exit gate (the first pass 20 s after the simulator starts).
    #[arg(long, default_value_t = 120)]
    pub gate_every_s: u32,
    /// How many passes the timeline holds.
    #[arg(long, default_value_t = 30)]
    pub gate_passes: u32,
    /// Most assets the handheld sees at the stock-take location (0: no
    /// handheld).
    #[arg(long, default_value_t = 60)]
    pub stock: usize,
    /// Seed for the simulator's random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A TOML basic string.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn link(dir: &Path, reader: &str) -> anyhow::Result<String> {
    let path = dir.join(format!("{reader}.tty"));
    let text = path
        .to_str()
        .with_context(|| format!("--link-dir {} is not valid UTF-8", dir.display()))?;
    Ok(q(text))
}

fn epc_list(assets: &[&FieldAsset]) -> String {
    let mut s = String::from("[\n");
    for a in assets {
        let _ = writeln!(
            s,
            "  {}, # {} {}",
            q(&a.epc),
            a.number,
            a.name.replace('\n', " ")
        );
    }
    s.push(']');
    s
}

fn numbers(assets: &[FieldAsset]) -> String {
    assets
        .iter()
        .map(|a| format!("{} {}", a.number, a.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario text and the guide (what to try) for a plan.
pub fn render(plan: &FieldPlan, a: &ScenarioArgs) -> anyhow::Result<(String, String)> {
    if !matches!(a.protocol.as_str(), "r2000" | "chainway") {
        bail!("--protocol {:?} is not r2000 or chainway", a.protocol);
    }
    let mut shelf: Vec<&FieldAsset> = plan.waiting.iter().flat_map(|w| &w.assets).collect();
    shelf.extend(&plan.shelf);
    if shelf.is_empty() {
        bail!(
            "the register has no tagged asset in stock to put on the desk: \
             run `admin seed` (and `admin simulate-year --waiting 2`) first"
        );
    }
    let stock = plan
        .stock
        .as_ref()
        .filter(|s| a.stock > 0 && !s.assets.is_empty());
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `warehouse-server admin export-scenario` from the register:\n\
         # every asset tag below is bound to an asset in it. Run with\n\
         # `hardware-sim run --scenario THIS_FILE`; format: docs/hardware-sim.md.\n\
         seed = {}\n",
        a.seed
    );
    let mut readers = vec![(DESK, "desk", 1), (GATE, "gate", 2)];
    if stock.is_some() {
        readers.push((HANDHELD, "handheld", 1));
    }
    for (name, role, antennas) in &readers {
        let _ = writeln!(
            t,
            "[[reader]]\nname = {}\nprotocol = {}\nlink = {}\nrole = \"{role}\"\nantennas = {antennas}\n",
            q(name),
            q(&a.protocol),
            link(&a.link_dir, name)?
        );
    }
    let _ = writeln!(
        t,
        "# The desk shelf: first the assets of the requests waiting for check-out.\n\
         [[population]]\nname = \"desk-shelf\"\nkind = \"explicit\"\nepcs = {}\n\n\
         [[population.placement]]\nreader = \"{DESK}\"\ndistance_m = 0.2\nspread_m = 0.1\n",
        epc_list(&shelf)
    );
    if a.visitors > 0 {
        let _ = writeln!(
            t,
            "# Visitors' tags: not in the register (foreign sightings).\n\
             [[population]]\nname = \"visitors\"\nkind = \"foreign\"\ncount = {}\n\n\
             [[population.placement]]\nreader = \"{DESK}\"\ndistance_m = 0.3\nspread_m = 0.1\n",
            a.visitors
        );
    }
    if let Some(s) = stock {
        // One asset stays away: the stock-take finds it missing.
        let seen: Vec<&FieldAsset> = s.assets.iter().take(s.assets.len() - 1).collect();
        if !seen.is_empty() {
            let _ = writeln!(
                t,
                "# Assets held at {} ({}), for a stock-take with the handheld.\n\
                 [[population]]\nname = \"stock\"\nkind = \"explicit\"\nepcs = {}\n\n\
                 [[population.placement]]\nreader = \"{HANDHELD}\"\ndistance_m = 1.0\nspread_m = 0.6\n",
                s.code.replace('\n', " "),
                s.warehouse_name.replace('\n', " "),
                epc_list(&seen)
            );
        }
    }
    for k in 0..a.gate_passes {
        let at = 20.0 + f64::from(k) * f64::from(a.gate_every_s.max(1));
        let _ = writeln!(
            t,
            "[[event]]\nat_s = {at:.1}\nkind = \"gate_pass\"\nreader = \"{GATE}\"\n\
             tags = {{ population = \"desk-shelf\", first = 0, count = 1 }}\n\
             antennas = [1, 2]\nduration_s = 3.0\n"
        );
    }

    let mut g = String::new();
    let _ = writeln!(g, "Simulated readers (hardware-sim, {}):", a.protocol);
    let _ = writeln!(
        g,
        "  {DESK:<11} desk: {} in-stock assets on the shelf, {} visitors' tags",
        shelf.len(),
        a.visitors
    );
    let walker = shelf[0];
    if a.gate_passes > 0 {
        let _ = writeln!(
            g,
            "  {GATE:<11} exit gate: asset {} passes every {} s from 20 s",
            walker.number, a.gate_every_s
        );
    }
    if let Some(s) = stock {
        let _ = writeln!(
            g,
            "  {HANDHELD:<11} handheld: {} of the {} assets the register holds at {} ({})",
            s.assets.len() - 1,
            s.held,
            s.code,
            s.warehouse_name
        );
    }
    let _ = writeln!(g, "Try:");
    match plan.waiting.iter().find(|w| !w.assets.is_empty()) {
        Some(w) => {
            let _ = writeln!(
                g,
                "  - Check-out at the desk: log in as keeper, open request {id} ({kind}, {unit}: {items})\n    \
                 → /requests/{id}/desk, reader {DESK}: its items are on the desk shelf; check them out.",
                id = w.request_id,
                kind = w.kind,
                unit = w.unit_name.as_deref().unwrap_or("-"),
                items = numbers(&w.assets),
            );
            if a.gate_passes > 0 && w.assets.iter().any(|x| x.id == walker.id) {
                let _ = writeln!(
                    g,
                    "  - Exit-gate alarm: asset {} passes {GATE}; until request {} is checked out each\n    \
                     pass raises an alarm (/alarms); after the check-out it passes without one.",
                    walker.number, w.request_id
                );
            }
        }
        None => {
            let _ = writeln!(
                g,
                "  - No loan or allocation is waiting for check-out; file one (as a unit user) for\n    \
                 assets on the desk shelf, approve it (approver), then check it out at the desk (keeper)."
            );
            if a.gate_passes > 0 {
                let _ = writeln!(
                    g,
                    "  - Exit-gate alarm: asset {} is in stock; each pass through {GATE} raises an alarm (/alarms).",
                    walker.number
                );
            }
        }
    }
    if let Some(s) = stock {
        let _ = writeln!(
            g,
            "  - Stock-take: as keeper, open one for {} location {} with reader {HANDHELD}\n    \
             (/stocktakes); the handheld finds {} of the {} assets expected there.",
            s.warehouse_name,
            s.code,
            s.assets.len() - 1,
            s.held
        );
    }
    Ok((t, g))
}

/// Writes the scenario for the register in `store`; returns the guide.
pub async fn export(store: &Store, a: &ScenarioArgs) -> anyhow::Result<String> {
    let store2 = store.clone();
    let (requests, shelf, per_category, stock) = (a.requests, a.shelf, a.per_category, a.stock);
    let plan = tokio::task::spawn_blocking(move || {
        store2.field_plan_blocking(requests, shelf, per_category, stock.saturating_add(1))
    })
    .await??;
    let (text, guide) = render(&plan, a)?;
    std::fs::write(&a.out, text).with_context(|| format!("writing {}", a.out.display()))?;
    Ok(guide)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StockLocation, WaitingCheckout};
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ScenarioArgs,
    }

    fn args(extra: &[&str]) -> ScenarioArgs {
        let mut argv = vec!["x", "--out", "/tmp/f.toml", "--link-dir", "/tmp/run \"q\""];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).args
    }

    fn asset(id: i64) -> FieldAsset {
        FieldAsset {
            id,
            number: format!("1000{id:04}"),
            name: "笔记本电脑 laptop".into(),
            epc: format!("3414257BF4000000009896{id:02X}"),
        }
    }

    fn plan() -> FieldPlan {
        FieldPlan {
            waiting: vec![WaitingCheckout {
                request_id: 7,
                kind: "loan".into(),
                unit_id: Some(4),
                unit_name: Some("单位 Unit 1-1-1".into()),
                assets: vec![asset(1), asset(2)],
            }],
            shelf: vec![asset(3)],
            stock: Some(StockLocation {
                location_id: 1,
                code: "A01".into(),
                name: "货架 Shelf A01".into(),
                warehouse_id: 1,
                warehouse_name: "公物仓 Warehouse 1".into(),
                held: 5,
                assets: vec![asset(10), asset(11), asset(12)],
            }),
        }
    }

    #[test]
    fn the_desk_shelf_starts_with_the_waiting_requests_assets() -> anyhow::Result<()> {
        let (text, guide) = render(&plan(), &args(&["--gate-passes", "2"]))?;
        let v: toml::Value = toml::from_str(&text)?;
        let pops = v["population"].as_array().context("populations")?;
        let epcs = |name: &str| -> Vec<String> {
            pops.iter()
                .find(|p| p["name"].as_str() == Some(name))
                .and_then(|p| p["epcs"].as_array())
                .map(|e| {
                    e.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            epcs("desk-shelf"),
            [asset(1).epc, asset(2).epc, asset(3).epc]
        );
        // One held asset stays away from the handheld: the stock-take misses it.
        assert_eq!(epcs("stock"), [asset(10).epc, asset(11).epc]);
        let readers: Vec<&str> = v["reader"]
            .as_array()
            .context("readers")?
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(readers, [DESK, GATE, HANDHELD]);
        assert_eq!(
            v["reader"][0]["link"].as_str(),
            Some("/tmp/run \"q\"/desk-1.tty")
        );
        let events = v["event"].as_array().context("events")?;
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["at_s"].as_float(), Some(140.0));
        assert!(guide.contains("open request 7 "), "{guide}");
        assert!(guide.contains("/requests/7/desk"), "{guide}");
        assert!(guide.contains("2 of the 5 assets"), "{guide}");
        Ok(())
    }

    #[test]
    fn an_empty_register_and_an_unknown_protocol_are_refused() {
        let empty = FieldPlan {
            waiting: vec![],
            shelf: vec![],
            stock: None,
        };
        let e = render(&empty, &args(&[])).err().map(|e| e.to_string());
        assert!(
            e.as_deref().is_some_and(|e| e.contains("admin seed")),
            "{e:?}"
        );
        let e = render(&plan(), &args(&["--protocol", "llrp"]))
            .err()
            .map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("llrp")), "{e:?}");
    }

    #[test]
    fn without_a_waiting_request_the_guide_says_how_to_make_one() -> anyhow::Result<()> {
        let mut p = plan();
        p.waiting.clear();
        p.stock = None;
        let (text, guide) = render(&p, &args(&[]))?;
        assert!(!text.contains(HANDHELD));
        assert!(
            guide.contains("No loan or allocation is waiting"),
            "{guide}"
        );
        Ok(())
    }
}
