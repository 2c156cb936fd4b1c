//! `admin import-register FILE` (台账导入 from the command line, with a
//! progress bar) and `bench-import` (the 100,000-row figure in
//! docs/performance.md). Both go through `Store::import_register_blocking`,
//! the same checks and transaction as the API and the page.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::import::{Mapping, Outcome};
use crate::policy::Ctx;
use crate::register::{NewCategory, NewLocation, NewUnit, NewWarehouse};
use crate::spreadsheet::XCell;
use crate::store::{ImportOptions, Store};

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The register: .xlsx, .xls, .ods or CSV (UTF-8, or GBK).
    pub file: PathBuf,
    /// Check only: list every problem, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Column overrides as JSON: {"file heading": "field", …} (fields:
    /// asset_number, name, category, model, original_value, purchase_date,
    /// unit, location, custodian, funding_source, notes; "" ignores).
    #[arg(long)]
    pub mapping: Option<String>,
    /// The warehouse whose locations 存放地点 names.
    #[arg(long)]
    pub warehouse: Option<i64>,
}

fn bar(len: u64, show: bool, what: &str) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{pos}}/{{len}} rows ({{per_sec}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Reads `args.file` and runs the dry run or the import, printing every
/// problem (row, column, value, why) in Chinese and a summary.
pub async fn import_register(
    store: &Store,
    args: ImportArgs,
    show_progress: bool,
) -> anyhow::Result<Outcome> {
    let mapping: Mapping = match &args.mapping {
        Some(m) => serde_json::from_str(m).context("--mapping is not a JSON object of strings")?,
        None => Mapping::new(),
    };
    let store = store.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
        let bytes = std::fs::read(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?;
        let name = args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let table = crate::import::read_table(&name, &bytes)?;
        let bar = bar(
            table.rows.len() as u64,
            show_progress && !args.dry_run,
            "importing",
        );
        let opts = ImportOptions {
            dry_run: args.dry_run,
            warehouse_id: args.warehouse,
        };
        let ctx = Ctx::system("import-register");
        let b = bar.clone();
        let outcome = store.import_register_blocking(&ctx, &table, &mapping, &opts, &move |n| {
            b.set_position(n as u64)
        })?;
        bar.finish_and_clear();
        for p in &outcome.problems {
            println!(
                "第 {} 行「{}」「{}」：{}",
                p.row, p.column, p.value, p.message
            );
        }
        println!(
            "{} 行：新增 {}，更新 {}，不变 {}，问题 {}{}",
            outcome.rows,
            outcome.created,
            outcome.updated,
            outcome.unchanged,
            outcome.problems.len(),
            if outcome.dry_run {
                "（未保存）"
            } else {
                "（已保存）"
            }
        );
        Ok(outcome)
    })
    .await?
}

#[derive(Debug, clap::Args)]
pub struct BenchImportArgs {
    /// Rows in the generated register.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
}

/// A generated register of `n` rows, as the e2e test and the bench write
/// it: every tenth held by `unit`, the rest at `location`.
pub fn generated_register(
    n: usize,
    prefix: &str,
    category: &str,
    unit: &str,
    location: &str,
) -> anyhow::Result<Vec<u8>> {
    let headings: Vec<String> = [
        "资产编号",
        "资产名称",
        "分类",
        "规格型号",
        "原值（元）",
        "取得日期",
        "使用单位",
        "存放地点",
        "保管人",
        "经费来源",
        "备注",
    ]
    .map(String::from)
    .to_vec();
    let day0 = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).context("date")?;
    let rows: Vec<Vec<XCell>> = (0..n)
        .map(|i| {
            let held = i % 10 == 0;
            vec![
                XCell::Text(format!("{prefix}{i:06}")),
                XCell::Text(format!("办公椅 {i}")),
                XCell::Text(category.into()),
                XCell::Text(format!("型号-{}", i % 37)),
                XCell::Money(10_000 + (i as i64 * 137) % 500_000),
                day0.checked_add_days(chrono::Days::new((i % 3000) as u64))
                    .map_or(XCell::Empty, XCell::Date),
                if held {
                    XCell::Text(unit.into())
                } else {
                    XCell::Empty
                },
                if held {
                    XCell::Empty
                } else {
                    XCell::Text(location.into())
                },
                XCell::Text(format!("保管员{}", i % 50)),
                XCell::Text("财政拨款".into()),
                XCell::Empty,
            ]
        })
        .collect();
    Ok(crate::spreadsheet::xlsx("台账", &headings, &rows, &[])?)
}

/// Imports a generated register of `--rows` rows into the configured
/// database (its own unit, warehouse, location and category, made once)
/// and prints: the workbook's write, read, dry run, import and re-import
/// times.
pub async fn bench_import(args: BenchImportArgs, config: Config) -> anyhow::Result<()> {
    let key = crate::events::ChainKey::read_or_create(&config.chain_key_path())?;
    let store = Store::open(&config.db, config.read_connections, key)
        .with_context(|| format!("opening {}", config.db.display()))?;
    let unit = "导入测试单位";
    let cat = "BENCH-IMPORT";
    if !store
        .list_units(1, 500)
        .await?
        .items
        .iter()
        .any(|u| u.name == unit)
    {
        store
            .create_unit(NewUnit {
                name: unit.into(),
                parent_id: None,
                level: None,
                region_id: None,
            })
            .await?;
        let w = store
            .create_warehouse(NewWarehouse {
                name: "导入测试仓".into(),
                address: None,
                region_id: None,
                sgln: None,
            })
            .await?;
        store
            .create_location(
                w.id,
                NewLocation {
                    code: "BI-01".into(),
                    name: "导入测试库位".into(),
                    sgln: None,
                },
            )
            .await?;
        store
            .create_category(NewCategory {
                code: cat.into(),
                name: "导入测试分类".into(),
                parent_id: None,
            })
            .await?;
    }
    let prefix = format!("BI{}-", crate::time::now_ms() % 1_000_000_000);
    let t = Instant::now();
    let bytes = generated_register(args.rows, &prefix, cat, unit, "BI-01")?;
    let write_s = t.elapsed().as_secs_f64();
    let s2 = store.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let t = Instant::now();
        let table = crate::import::read_table("bench.xlsx", &bytes)?;
        let read_s = t.elapsed().as_secs_f64();
        let ctx = Ctx::system("bench-import");
        let none = Mapping::new();
        let mut opts = ImportOptions {
            dry_run: true,
            warehouse_id: None,
        };
        let t = Instant::now();
        let dry = s2.import_register_blocking(&ctx, &table, &none, &opts, &|_| {})?;
        let dry_s = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            dry.problems.is_empty(),
            "problems: {:?}",
            &dry.problems[..1]
        );
        opts.dry_run = false;
        let t = Instant::now();
        let done = s2.import_register_blocking(&ctx, &table, &none, &opts, &|_| {})?;
        let import_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let again = s2.import_register_blocking(&ctx, &table, &none, &opts, &|_| {})?;
        let again_s = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            done.created == args.rows && again.unchanged == args.rows,
            "import created {}, re-import left {} unchanged",
            done.created,
            again.unchanged
        );
        let n = args.rows as f64;
        println!("register import, {} rows ({}):", args.rows, s2.location());
        println!("  write workbook   {write_s:>7.2} s");
        println!("  read workbook    {read_s:>7.2} s");
        println!("  dry run          {dry_s:>7.2} s");
        println!(
            "  import           {import_s:>7.2} s  ({:.0} rows/s)",
            n / import_s
        );
        println!("  re-import (none) {again_s:>7.2} s");
        println!(
            "  read + import    {:>7.2} s  (target: under 60 s)",
            read_s + import_s
        );
        Ok(())
    })
    .await?
}
