//! Browser tests: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/test.sh`) driven over WebDriver
//! against the real server on 127.0.0.1. They walk what people do in the
//! web UI and save a screenshot of each role's dashboard.
//!
//! Without chromedriver the tests fail and say how to install it; set
//! `WAREHOUSE_SKIP_BROWSER=1` to skip them deliberately.

#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use support::*;

mod cockpit;
mod idle;
mod intake;
mod loan_lines;
mod walk;
mod warnings;
use test_support::{wait_until, Daemon, DaemonConfig, Process, SimProcess};

/// The smallest PNG (1×1).
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c,
    0x02, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0x00, 0x00,
    0x00, 0x06, 0x00, 0x02, 0x30, 0x81, 0xd0, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// A chromedriver process; killed on drop.
struct Driver {
    _process: Process,
    url: String,
}

fn skip() -> bool {
    std::env::var("WAREHOUSE_SKIP_BROWSER").is_ok_and(|v| v == "1")
}

fn driver() -> Result<Driver> {
    let bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or_else(|| {
            anyhow!(
                "chromedriver not found: run ./scripts/test.sh (it installs Debian's chromium and \
                 chromium-driver) or `apt-get install chromium chromium-driver`; \
                 WAREHOUSE_SKIP_BROWSER=1 skips these tests"
            )
        })?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let process = Process::spawn(
        Command::new(bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "chromedriver",
    )?;
    if !wait_until(Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }) {
        bail!("chromedriver did not listen on {port}");
    }
    Ok(Driver {
        _process: process,
        url: format!("http://127.0.0.1:{port}"),
    })
}

async fn browser(d: &Driver) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=zh-CN"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&d.url)
        .await
        .context("opening a Chromium session")?;
    Ok(client)
}

/// Where screenshots go: `docs/screenshots/` with `UPDATE_SCREENSHOTS=1`
/// (to refresh the ones the user guide links), else the target directory.
fn shots_dir() -> Result<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        root.join("docs/screenshots")
    } else {
        root.join("target/ui-screenshots")
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

struct Ui<'a> {
    c: Client,
    base: &'a str,
}

impl Ui<'_> {
    async fn go(&self, path: &str) -> Result<()> {
        self.c.goto(&format!("{}{path}", self.base)).await?;
        Ok(())
    }

    async fn login(&self, user: &str) -> Result<()> {
        self.login_as(user, PASSWORD).await
    }

    async fn login_as(&self, user: &str, password: &str) -> Result<()> {
        self.go("/login").await?;
        self.c.delete_all_cookies().await?;
        self.go("/login").await?;
        self.c
            .find(Locator::Css("input[name=username]"))
            .await?
            .send_keys(user)
            .await?;
        self.c
            .find(Locator::Css("input[name=password]"))
            .await?
            .send_keys(password)
            .await?;
        self.click("button[type=submit]").await?;
        // The header shows the display name; the login name is its
        // `data-user`.
        let who = format!("header.top .who[data-user=\"{user}\"]");
        if let Err(e) = self.wait_text(&who, "").await {
            let src = self.c.source().await.unwrap_or_default();
            let url = self
                .c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let cookies = self.c.get_all_cookies().await.unwrap_or_default();
            let cookies: Vec<String> = cookies
                .iter()
                .map(|c| format!("{}={} path={:?}", c.name(), c.value(), c.path()))
                .collect();
            return Err(e.context(format!(
                "login as {user} ended at {url} with cookies {cookies:?}:\n{src}"
            )));
        }
        Ok(())
    }

    async fn click(&self, css: &str) -> Result<()> {
        self.c
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("finding {css}"))?
            .click()
            .await?;
        Ok(())
    }

    /// Chooses an option; retried while live updates replace the element.
    async fn select(&self, css: &str, value: &str) -> Result<()> {
        let mut last = None;
        for _ in 0..20 {
            let attempt = async {
                self.c
                    .find(Locator::Css(css))
                    .await?
                    .select_by_value(value)
                    .await?;
                let now = self.c.find(Locator::Css(css)).await?.prop("value").await?;
                anyhow::Ok(now.as_deref() == Some(value))
            };
            match attempt.await {
                Ok(true) => return Ok(()),
                Ok(false) => last = Some(anyhow!("{css} did not keep `{value}`")),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| anyhow!("could not choose {value} in {css}")))
    }

    /// Waits (bounded) until the element's text contains `want`.
    async fn wait_text(&self, css: &str, want: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await {
                if let Ok(t) = e.text().await {
                    if t.contains(want) {
                        return Ok(());
                    }
                    if Instant::now() > deadline {
                        bail!("{css} shows `{t}`, not `{want}`");
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("{css} never showed `{want}`");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits (bounded) until `css` matches exactly `n` elements.
    async fn wait_count(&self, css: &str, n: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.c.find_all(Locator::Css(css)).await?.len();
            if got == n {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{css}: {got} elements, not {n}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// A number the page's script computes.
    async fn number(&self, script: &str) -> Result<f64> {
        let v = self.c.execute(script, vec![]).await?;
        v.as_f64()
            .ok_or_else(|| anyhow!("`{script}` gave {v}, not a number"))
    }

    async fn shot(&self, name: &str) -> Result<()> {
        let png = self.c.screenshot().await?;
        std::fs::write(shots_dir()?.join(format!("{name}.png")), png)?;
        Ok(())
    }

    async fn path(&self) -> Result<String> {
        Ok(self.c.current_url().await?.path().to_owned())
    }
}

/// The request id in a `/requests/{id}` URL.
fn id_in(path: &str) -> Result<i64> {
    path.trim_start_matches("/requests/")
        .split('/')
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no request id in {path}"))
}

/// An emulated reader (`hardware-sim run --control`) and the real
/// `reader-daemon run` driving it, syncing to the server: the simulated
/// reader the keeper's pages listen to. Both are stopped on drop.
struct SimulatedReader {
    _daemon: Daemon,
    sim: SimProcess,
    name: String,
}

impl SimulatedReader {
    /// `populations`: (name, first GIAI-96 serial = asset number, count),
    /// all out of the field at first.
    fn start(
        dir: &std::path::Path,
        server: &str,
        token: &str,
        name: &str,
        role: &'static str,
        populations: &[(&str, u64, usize)],
    ) -> Result<Self> {
        let link = dir.join(format!("tty-{name}"));
        let mut scenario = format!(
            "seed = 3\n\n[[reader]]\nname = {name:?}\nprotocol = \"r2000\"\nlink = {:?}\nrole = {role:?}\n",
            link.display().to_string()
        );
        for (pop, first, count) in populations {
            scenario.push_str(&format!(
                "\n[[population]]\nname = {pop:?}\nkind = \"giai96\"\ncompany_prefix = {COMPANY_PREFIX:?}\nfirst_serial = {first}\ncount = {count}\n"
            ));
        }
        let sim = SimProcess::start(dir, &scenario, 1)?;
        let mut config = DaemonConfig::new(server, dir).reader(name, &link, "r2000", role);
        config.token = token.to_owned();
        // `POST /readers` registered the reader as a daemon named after it.
        config.daemon_id = name.to_owned();
        config.journal = dir.join(format!("{name}-journal.db"));
        config.batch_max = 500;
        let config_path = dir.join(format!("{name}-daemon.toml"));
        config.write(&config_path)?;
        Ok(Self {
            _daemon: Daemon::start(&config_path)?,
            sim,
            name: name.to_owned(),
        })
    }

    /// Brings tags of a population into the reader's field.
    fn place(&mut self, population: &str, first: usize, count: usize) -> Result<()> {
        let reader = self.name.clone();
        self.sim.place(population, first, count, &reader, 0.2)?;
        Ok(())
    }

    /// Takes every tag of a population out of the field.
    fn clear(&mut self, population: &str, count: usize) -> Result<()> {
        self.sim.take_away(population, 0, count)?;
        Ok(())
    }
}

async fn fill_loan(ui: &Ui<'_>, chairs: i64, quantity: &str) -> Result<()> {
    ui.c.find(Locator::Css("select[name=category_id]"))
        .await?
        .select_by_value(&chairs.to_string())
        .await?;
    let qty = ui.c.find(Locator::Css("input[name=quantity]")).await?;
    qty.clear().await?;
    qty.send_keys(quantity).await?;
    for (name, v) in [
        ("reason", "年终表彰大会"),
        ("loan_start", "2099-12-01"),
        ("loan_due", "2099-12-03"),
    ] {
        let e = ui.c.find(Locator::Css(&format!("[name={name}]"))).await?;
        // Set through script: date inputs are locale-dependent to type into.
        ui.c.execute(
            "arguments[0].value = arguments[1];",
            vec![serde_json::to_value(&e)?, json!(v)],
        )
        .await?;
    }
    ui.click("form.stack button[type=submit]:not([name=add_line])")
        .await
}

#[tokio::test]
async fn a_unit_borrows_twenty_chairs_and_returns_one_damaged() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    let chairs = id(&s
        .post_ok(
            "/api/v1/categories",
            &w.admin,
            json!({"code": "0202", "name": "会议椅"}),
            201,
        )
        .await?)?;
    let (_, desk_token) = s.add_reader(&w.admin, "desk-1", "desk", None).await?;
    let dir = tempfile::tempdir()?;
    let mut reader = SimulatedReader::start(
        dir.path(),
        &s.base,
        &desk_token,
        "desk-1",
        "desk",
        &[("chairs", 60_001, 20)],
    )?;
    let mut epcs = Vec::new();
    for i in 0..20 {
        let a = id(&s
            .post_ok(
                "/api/v1/assets",
                &w.admin,
                json!({"asset_number": format!("{}", 60_001 + i), "name": "会议椅", "category_id": chairs,
                    "original_value_fen": 32000, "holder_location_id": w.loc_1}),
                201,
            )
            .await?)?;
        epcs.push(w.tag(a).await?);
    }
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };

    // Unit staff: a photo of one of the unit's assets, shown on its page.
    ui.login("staff_a").await?;
    ui.shot("dashboard-unit").await?;
    let photo_dir = tempfile::tempdir()?;
    let png = photo_dir.path().join("desk.png");
    std::fs::write(&png, PNG_1X1)?;
    ui.go(&format!("/assets/{}", w.asset_a)).await?;
    ui.c.find(Locator::Css("input[type=file]"))
        .await?
        .send_keys(&png.display().to_string())
        .await?;
    ui.click("[data-test=upload-photo]").await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let loaded = ui
            .c
            .execute(
                "const i = document.querySelector('[data-test=asset-photo]'); return i ? (i.complete ? i.naturalWidth : 0) : -1;",
                vec![],
            )
            .await?;
        if loaded == json!(1) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the photo did not load on the asset page ({loaded})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A bad quantity is refused next to the field; nothing saved.
    ui.go("/requests/new/loan").await?;
    fill_loan(&ui, chairs, "-3").await?;
    ui.wait_text("[data-field=quantity]", "数量须在 1 到 100000 之间")
        .await?;
    let none = s.get_ok("/api/v1/requests", &w.staff_a).await?;
    assert_eq!(none["total"], 0, "a refused form saved something");
    fill_loan(&ui, chairs, "20").await?;
    ui.wait_text("[data-test=stage]", "审批").await?;
    let rid = id_in(&ui.path().await?)?;
    // Attach the event notice: a PDF is taken, an HTML file is refused next
    // to the field.
    let pdf = dir.path().join("活动通知.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 event notice")?;
    let html = dir.path().join("page.html");
    std::fs::write(&html, b"<html>")?;
    for (file, ok) in [(&html, false), (&pdf, true)] {
        ui.c.find(Locator::Css("input[type=file]"))
            .await?
            .send_keys(&file.display().to_string())
            .await?;
        ui.click("form[enctype] button[type=submit]").await?;
        if ok {
            ui.wait_text("main ul", "活动通知.pdf").await?;
        } else {
            ui.wait_text("[data-field=content-type]", "只接受 PDF")
                .await?;
        }
    }

    // Approver approves from the inbox.
    ui.login("approver").await?;
    ui.shot("dashboard-approver").await?;
    ui.go("/inbox").await?;
    ui.click(&format!("a[href='/requests/{rid}']")).await?;
    ui.click("[data-test=approve]").await?;
    ui.wait_text("[data-test=stage]", "出库").await?;

    // Keeper checks out at the desk page while the desk reader scans.
    ui.login("keeper").await?;
    ui.shot("dashboard-keeper").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=open-desk]").await?;
    ui.click("[data-test=start-scan]").await?;
    ui.wait_text("[data-test=matched]", "0").await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The simulated desk reader sees eight chairs, then all twenty; the
    // daemon syncs its reads and the page counts up live.
    reader.place("chairs", 0, 8)?;
    ui.wait_text("[data-test=matched]", "8").await?;
    reader.place("chairs", 8, 12)?;
    ui.wait_text("[data-test=matched]", "20").await?;
    ui.wait_text("[data-test=shortfall]", "0").await?;
    // A plain reload shows the same truth.
    ui.c.refresh().await?;
    ui.wait_text("[data-test=matched]", "20").await?;
    ui.click("[data-test=check-out]").await?;
    ui.wait_text("[data-test=stage]", "签收").await?;
    reader.clear("chairs", 20)?;

    // The unit confirms receipt.
    ui.login("staff_a").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=confirm-receipt]").await?;
    ui.wait_text("[data-test=stage]", "借出").await?;

    // Returns: all twenty scanned, one marked damaged.
    ui.login("keeper").await?;
    ui.go(&format!("/requests/{rid}")).await?;
    ui.click("[data-test=open-desk]").await?;
    ui.click("[data-test=start-scan]").await?;
    reader.place("chairs", 0, 20)?;
    ui.wait_text("[data-test=matched]", "20").await?;
    // The return form's rows (with a condition select each) arrived live.
    let damaged_asset = s
        .get_ok(&format!("/api/v1/assets/by-epc/{}", epcs[3]), &w.keeper)
        .await?;
    let damaged = damaged_asset["id"]
        .as_i64()
        .or(damaged_asset["asset"]["id"].as_i64())
        .ok_or_else(|| anyhow!("no id in {damaged_asset}"))?;
    ui.select(&format!("[data-test=condition-{damaged}]"), "damaged")
        .await?;
    ui.click("[data-test=record-returns]").await?;
    ui.wait_text("[data-test=stage]", "已办结").await?;

    // The approver decides the cause; finance sees the compensation case.
    let cases = s.get_ok("/api/v1/requests?kind=damage", &w.finance).await?;
    assert_eq!(cases["total"], 1, "{cases}");
    let case = cases["items"][0]["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no case"))?;
    ui.login("approver").await?;
    ui.go(&format!("/requests/{case}")).await?;
    ui.c.find(Locator::Css("input[name=responsible]"))
        .await?
        .send_keys("单位A")
        .await?;
    ui.click("form.stack:has(input[value=decide_cause]) button[type=submit]")
        .await?;
    ui.wait_text("[data-test=stage]", "缴款").await?;
    ui.login("finance").await?;
    ui.shot("dashboard-finance").await?;
    ui.go("/requests?kind=damage").await?;
    ui.click(&format!("a[href='/requests/{case}']")).await?;
    ui.wait_text("[data-test=owed]", "320.00").await?;
    ui.click("[data-test=confirm-payment]").await?;
    ui.wait_text("[data-test=stage]", "已办结").await?;

    ui.login(ADMIN).await?;
    ui.shot("dashboard-admin").await?;
    // Organisation settings: the name can change, the prefix cannot.
    ui.go("/admin").await?;
    let org = ui.c.find(Locator::Css("input[name=org_name]")).await?;
    org.clear().await?;
    org.send_keys("市机关事务管理局公物仓").await?;
    ui.click("form[action='/admin/settings'] button[type=submit]")
        .await?;
    // The saved name comes back in the reloaded form (the old page may
    // still be there for a moment, hence the bounded retry).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let saved = match ui.c.find(Locator::Css("input[name=org_name]")).await {
            Ok(e) => e.prop("value").await.ok().flatten(),
            Err(_) => None,
        };
        if saved.as_deref() == Some("市机关事务管理局公物仓") {
            break;
        }
        if Instant::now() > deadline {
            bail!("organisation name not saved: {saved:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // English is a switch away.
    ui.click("a.lang").await?;
    ui.wait_text("header.top nav", "Dashboard").await?;
    ui.c.clone().close().await?;
    Ok(())
}

#[tokio::test]
async fn the_stocktake_page_counts_up_as_the_handheld_scans() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    let mut epcs = vec![w.tag(w.asset_wh).await?];
    for i in 0..29 {
        let a = id(&s
            .post_ok(
                "/api/v1/assets",
                &w.admin,
                json!({"asset_number": format!("{}", 70_001 + i), "name": "文件柜", "category_id": w.category,
                    "original_value_fen": 120000, "holder_location_id": w.loc_1}),
                201,
            )
            .await?)?;
        epcs.push(w.tag(a).await?);
    }
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    let dir = tempfile::tempdir()?;
    let mut handheld = SimulatedReader::start(
        dir.path(),
        &s.base,
        &w.handheld_token,
        "handheld-1",
        "handheld",
        &[
            ("desk", 1003, 1),
            ("cabinets", 70_001, 29),
            ("visitor", 99_001, 1),
        ],
    )?;
    ui.login("keeper").await?;
    // The keeper opens the stock-take of shelf A01 on the page.
    ui.go("/stocktakes").await?;
    ui.c.find(Locator::Css("select[name=location_id]"))
        .await?
        .select_by_value(&w.loc_1.to_string())
        .await?;
    ui.click("[data-test=open-stocktake]").await?;
    ui.wait_text("h1", "编号").await?;
    let sid = ui
        .path()
        .await?
        .trim_start_matches("/stocktakes/")
        .parse::<i64>()?;
    ui.wait_text("[data-test=found]", "0").await?;
    // The differences list starts with all 30 not yet found.
    let missing_rows = "[data-test=differences] tr[data-outcome=missing]";
    ui.wait_count(missing_rows, 30).await?;
    // A comment typed into a line that stays is kept while the list updates.
    let last = format!(
        "[data-test=differences] tr[data-line='asset:{}'] input[name=comment]",
        w.asset_wh
    );
    ui.c.find(Locator::Css(&last))
        .await?
        .send_keys("再找找")
        .await?;
    // The keeper walks the shelf: 10, 20, then all 30 in the handheld's
    // field; the page counts up live, without a reload, and the list of
    // differences shrinks with the counts.
    handheld.place("cabinets", 0, 10)?;
    ui.wait_text("[data-test=found]", "10").await?;
    ui.wait_count(missing_rows, 20).await?;
    let kept = ui.c.find(Locator::Css(&last)).await?.prop("value").await?;
    assert_eq!(
        kept.as_deref(),
        Some("再找找"),
        "the typed comment was lost"
    );
    handheld.place("cabinets", 10, 10)?;
    ui.wait_text("[data-test=found]", "20").await?;
    ui.wait_count(missing_rows, 10).await?;
    handheld.place("desk", 0, 1)?;
    handheld.place("cabinets", 20, 9)?;
    ui.wait_text("[data-test=found]", "30").await?;
    ui.wait_count(missing_rows, 0).await?;
    ui.wait_count("[data-test=differences] tr", 0).await?;
    assert_eq!(epcs.len(), 30);
    // A visitor's tag shows as foreign; the keeper settles it and closes.
    handheld.place("visitor", 0, 1)?;
    ui.wait_text("[data-live-key=foreign]", "1").await?;
    // The new foreign line arrives in the list, live.
    ui.wait_count("[data-test=differences] tr[data-outcome=foreign]", 1)
        .await?;
    ui.shot("stocktake-live").await?;
    ui.c.refresh().await?;
    ui.c.find(Locator::Css("input[name=comment]"))
        .await?
        .send_keys("来访人员")
        .await?;
    ui.click("main form.inline button[type=submit]").await?;
    ui.wait_text("main", "来访人员").await?;
    ui.click("[data-test=close-stocktake]").await?;
    ui.c.accept_alert().await?;
    ui.wait_text("main", "30").await?;
    let closed = s
        .get_ok(&format!("/api/v1/stocktakes/{sid}"), &w.keeper)
        .await?;
    assert_eq!(closed["stocktake"]["status"], "closed", "{closed}");
    assert_eq!(closed["counts"]["found"], 30);
    assert_eq!(closed["counts"]["foreign"], 1);
    // Without JavaScript, the page itself says the same.
    let html = s
        .http
        .get(format!("{}/stocktakes/{sid}", s.base))
        .bearer_auth(&w.keeper)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        html.contains("data-test=\"found\">30<"),
        "plain page: {html}"
    );
    ui.c.clone().close().await?;
    Ok(())
}

/// The register on a tablet: remembered column choice, bulk selection into
/// a request, and no page wider than the screen.
#[tokio::test]
async fn the_register_remembers_columns_and_selects_in_bulk_on_a_tablet() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    // A tablet held upright.
    ui.c.set_window_size(820, 1180).await?;
    ui.login("keeper").await?;
    for page in [
        "/dashboard",
        "/assets",
        "/requests",
        "/requests/new/disposal",
        "/stocktakes",
    ] {
        ui.go(page).await?;
        let fits =
            ui.c.execute(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await?;
        assert_eq!(fits, json!(true), "{page} is wider than a tablet screen");
    }
    // Columns: hide the category, show the EPC; the choice is remembered.
    ui.go("/assets").await?;
    ui.click("details.columns summary").await?;
    ui.click("input[name=col][value=category]").await?;
    ui.click("input[name=col][value=epc]").await?;
    ui.click("details.columns button[type=submit]").await?;
    ui.wait_text("table.assets thead", "电子标签").await?;
    ui.go("/assets").await?;
    let head =
        ui.c.find(Locator::Css("table.assets thead"))
            .await?
            .text()
            .await?;
    assert!(
        head.contains("电子标签") && !head.contains("分类"),
        "columns not remembered: {head}"
    );
    ui.shot("tablet-register").await?;
    // Bulk: two rows selected start one disposal request for both.
    let boxes = ui.c.find_all(Locator::Css("input[data-select]")).await?;
    assert!(boxes.len() >= 2, "too few rows");
    let mut numbers = Vec::new();
    for b in boxes.iter().take(2) {
        b.click().await?;
        numbers.push(b.attr("value").await?.unwrap_or_default());
    }
    ui.wait_text("[data-selected-count]", "2").await?;
    ui.click("button[data-bulk][formaction='/requests/new/disposal']")
        .await?;
    ui.wait_text("h1", "处置").await?;
    let prefilled =
        ui.c.find(Locator::Css("input[name=asset_numbers]"))
            .await?
            .prop("value")
            .await?
            .unwrap_or_default();
    assert_eq!(prefilled, numbers.join(","));
    ui.c.clone().close().await?;
    Ok(())
}

/// A keeper's phone (390×844): the menu folds behind ☰, the desk's
/// counters and the stock-take's counts are on the first screen, and a
/// number typed on the phone counts.
#[tokio::test]
async fn the_desk_and_the_stocktake_work_on_a_phone() -> Result<()> {
    if skip() {
        eprintln!("WAREHOUSE_SKIP_BROWSER=1: browser test skipped");
        return Ok(());
    }
    let d = driver()?;
    let w = World::new().await?;
    let s = &w.server;
    w.tag(w.asset_wh).await?;
    let rid = id(&s
        .post_ok(
            "/api/v1/requests",
            &w.staff_a,
            json!({"kind": "loan", "category_id": w.category, "quantity": 1, "reason": "培训",
                   "loan_start": "2030-01-10", "loan_due": "2030-01-12"}),
            201,
        )
        .await?)?;
    s.post_ok(
        &format!("/api/v1/requests/{rid}/steps"),
        &w.approver,
        json!({"action": "approve"}),
        200,
    )
    .await?;
    let sid = id(&s
        .post_ok(
            "/api/v1/stocktakes",
            &w.keeper,
            json!({"warehouse_id": w.warehouse, "location_id": w.loc_1, "reader_ids": [w.handheld]}),
            201,
        )
        .await?)?;
    let ui = Ui {
        c: browser(&d).await?,
        base: &s.base,
    };
    ui.login("keeper").await?;
    ui.c.set_window_size(390, 844).await?;
    // The header is one short line; its menu opens from ☰.
    ui.go(&format!("/requests/{rid}/desk")).await?;
    let header = "return document.querySelector('header.top').getBoundingClientRect().height;";
    let h = ui.number(header).await?;
    assert!(h < 120.0, "the header is {h} px tall on a phone");
    let nav = "return document.querySelector('header.top nav').getBoundingClientRect().height;";
    assert_eq!(ui.number(nav).await?, 0.0, "the menu is open before ☰");
    ui.click("[data-test=menu-button]").await?;
    assert!(ui.number(nav).await? > 100.0, "☰ did not open the menu");
    ui.click("[data-test=menu-button]").await?;
    // The desk without a reader: numbers typed on the phone.
    ui.select("select[name=reader]", "0").await?;
    ui.click("[data-test=start-scan]").await?;
    ui.wait_text("[data-test=matched]", "0").await?;
    let bottom = |css: &str| {
        format!("return document.querySelector('{css}').getBoundingClientRect().bottom;")
    };
    let screen = ui.number("return window.innerHeight;").await?;
    let counts = ui.number(&bottom("[data-test=desk-counts]")).await?;
    assert!(
        counts <= screen,
        "desk counters end at {counts} px, below the first screen ({screen} px)"
    );
    assert!(ui.number(header).await? < 120.0);
    ui.c.find(Locator::Css("input[name=asset_number]"))
        .await?
        .send_keys("1003")
        .await?;
    ui.click("[data-test=manual-submit]").await?;
    ui.wait_text("[data-test=matched]", "1").await?;
    ui.wait_text("[data-test=shortfall]", "0").await?;
    ui.wait_text("main", "手工录入").await?;
    let fits =
        ui.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await?;
    assert_eq!(fits, json!(true), "the desk is wider than a phone");
    ui.shot("phone-desk").await?;

    // The stock-take: counts on the first screen, a typed number found.
    ui.go(&format!("/stocktakes/{sid}")).await?;
    ui.wait_text("[data-test=found]", "0").await?;
    let counts = ui.number(&bottom("[data-test=stocktake-counts]")).await?;
    assert!(counts <= screen, "stock-take counts end at {counts} px");
    ui.c.find(Locator::Css("input[name=asset_number]"))
        .await?
        .send_keys("1003")
        .await?;
    ui.click("[data-test=manual-submit]").await?;
    ui.wait_text("[data-test=found]", "1").await?;
    ui.wait_count("[data-test=differences] tr", 0).await?;
    let fits =
        ui.c.execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
            vec![],
        )
        .await?;
    assert_eq!(fits, json!(true), "the stock-take is wider than a phone");
    ui.shot("phone-stocktake").await?;
    ui.c.clone().close().await?;
    Ok(())
}
