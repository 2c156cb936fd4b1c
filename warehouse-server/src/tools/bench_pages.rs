//! `warehouse-server bench-pages`: how long the web UI's pages take with a
//! large register (target < 300 ms with 1,000,000 assets). Seeds the
//! register if it is smaller, serves on 127.0.0.1 with an OS-assigned
//! port and fetches each page over real HTTP as the roles that use it.
//! Not a test: run it by hand; figures go to docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{Config, PasswordCost};
use crate::policy::Role;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct BenchPagesArgs {
    /// Assets the register should hold (seeded if fewer).
    #[arg(long, default_value_t = 1_000_000)]
    pub assets: u64,
    /// Fetches of each page.
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
}

async fn session(
    store: &Store,
    name: &str,
    role: Role,
    unit: Option<i64>,
) -> anyhow::Result<String> {
    let user = match store.user_for_login(name.into()).await? {
        Some((u, _)) => u,
        None => {
            let hash = crate::accounts::hash_password(
                &crate::accounts::new_token("bench_"),
                PasswordCost::InsecureFastForTests,
            )?;
            store
                .create_user(name.into(), name.into(), hash, role, unit, None)
                .await?
        }
    };
    Ok(store.create_session(user, 3600).await?.token)
}

pub async fn run(args: BenchPagesArgs, config: Config) -> anyhow::Result<()> {
    let key = crate::events::ChainKey::read_or_create(&config.chain_key_path())?;
    let store = Store::open(&config.db, config.read_connections, key)
        .with_context(|| format!("opening {}", config.db.display()))?;
    let have = {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.asset_count_blocking())
            .await??
            .0 as u64
    };
    if have < args.assets {
        let r = super::seed::seed(&store, args.assets - have, true).await?;
        println!("seed: {} assets in {:.1?}", r.assets_added, r.elapsed);
    }
    // Some requests so the lists and reports are not empty.
    let requests = store
        .requests(
            crate::policy::Actor::System,
            crate::store::RequestQuery::default(),
        )
        .await?
        .total;
    if requests == 0 {
        super::simulate::simulate_year(&store, 424_242, 200, 0).await?;
    }
    let unit = store
        .list_units(1, 1)
        .await?
        .items
        .first()
        .map(|u| u.id)
        .context("no unit")?;
    let tokens = [
        (
            "administrator",
            session(&store, "bench-admin", Role::Administrator, None).await?,
        ),
        (
            "keeper",
            session(&store, "bench-keeper", Role::Keeper, None).await?,
        ),
        (
            "unit_staff",
            session(&store, "bench-unit", Role::UnitStaff, Some(unit)).await?,
        ),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = crate::http::router(crate::http::AppState {
        store: store.clone(),
        config: Arc::new(config.clone()),
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // Redirects are not followed: a 303 to /login would time the login page.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let pages: &[(&str, &str)] = &[
        ("administrator", "/dashboard"),
        ("keeper", "/dashboard"),
        ("unit_staff", "/dashboard"),
        ("keeper", "/inbox"),
        ("keeper", "/assets"),
        ("keeper", "/assets?page=10000"),
        ("keeper", "/assets?q=laptop"),
        ("keeper", "/assets?state=in_stock&category_id=2"),
        ("keeper", "/assets?q=300833B2DDD9014000000001"),
        ("keeper", "/assets/500000"),
        ("unit_staff", "/assets"),
        ("keeper", "/requests"),
        ("unit_staff", "/requests"),
        ("keeper", "/requests/1"),
        ("unit_staff", "/virtual-warehouse"),
        ("keeper", "/alarms"),
        ("keeper", "/stocktakes"),
        ("keeper", "/reports"),
        ("keeper", "/reports?name=utilisation"),
        ("administrator", "/admin"),
    ];
    println!(
        "# pages over HTTP on {addr}, {} fetches each (p50 / p95 / max, ms)",
        args.repeat
    );
    let mut worst = Duration::ZERO;
    for (role, path) in pages {
        let token = tokens
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let mut times = Vec::with_capacity(args.repeat);
        let mut status = 0;
        for _ in 0..args.repeat {
            let t = Instant::now();
            let resp = http
                .get(format!("http://{addr}{path}"))
                .bearer_auth(&token)
                .send()
                .await?;
            status = resp.status().as_u16();
            let _ = resp.bytes().await?;
            times.push(t.elapsed());
        }
        times.sort();
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        worst = worst.max(p(0.95));
        println!(
            "{role:>13} {path:<45} {status} {:>7.1} {:>7.1} {:>7.1}",
            p(0.5).as_secs_f64() * 1e3,
            p(0.95).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    println!(
        "worst p95: {:.1} ms (target < 300 ms)",
        worst.as_secs_f64() * 1e3
    );
    server.abort();
    Ok(())
}
