//! A keeper records a donation (接受捐赠) in a browser: the donor, the
//! donation agreement uploaded with the form, two assets into stock at
//! A01. The acquisition's page lists them with the document; the asset's
//! page shows its source (来源) with the donor and the document's link.
//! Screenshot: `docs/screenshots/intake-donation.png` with
//! `UPDATE_SCREENSHOTS=1`.

use anyhow::Result;
use fantoccini::Locator;
use test_support::unreadable;

use super::*;

#[tokio::test]
async fn a_keeper_records_a_donation_with_its_document() -> Result<()> {
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
    ui.c.set_window_size(1280, 1000).await?;
    ui.login("keeper").await?;
    // The register leads to the form.
    ui.go("/assets").await?;
    ui.click("a[data-test=new-acquisition]").await?;
    ui.wait_text("h1", "接收入库登记").await?;
    ui.select("select[name=source]", "donation").await?;
    let dir = tempfile::tempdir()?;
    let pdf = dir.path().join("捐赠协议.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 donation agreement")?;
    let typed: &[(&str, &str)] = &[
        ("received_on", "2026-03-08"),
        ("location_code", "A01"),
        ("donor", "某科技有限公司"),
        ("document_number", "捐赠协议〔2026〕1号"),
        ("a0_number", "JZ-201"),
        ("a0_name", "投影仪"),
        ("a0_value", "3500.00"),
        ("a1_number", "JZ-202"),
        ("a1_name", "投影幕布"),
        ("a1_value", "800"),
    ];
    for (name, value) in typed {
        let field = ui.c.find(Locator::Css(&format!("[name={name}]"))).await?;
        if *name == "received_on" {
            // A date input takes the date through its value.
            ui.c.execute(
                "arguments[0].value = arguments[1];",
                vec![serde_json::to_value(&field)?, json!(value)],
            )
            .await?;
        } else {
            field.send_keys(value).await?;
        }
    }
    let cat = w.category.to_string();
    ui.select("select[name=a0_category]", &cat).await?;
    ui.select("select[name=a1_category]", &cat).await?;
    ui.c.find(Locator::Css("input[type=file][name=file]"))
        .await?
        .send_keys(&pdf.display().to_string())
        .await?;
    ui.click("[data-test=acq-submit]").await?;
    ui.wait_text("[data-test=acq-documents]", "捐赠协议.pdf")
        .await?;
    ui.wait_count("[data-test=acq-created] tbody tr", 2).await?;
    // The asset's page says where it came from.
    ui.click("[data-test=acq-created] tbody tr a").await?;
    ui.wait_text("[data-test=source]", "接受捐赠").await?;
    let source =
        ui.c.find(Locator::Css("[data-test=source]"))
            .await?
            .text()
            .await?;
    for want in [
        "接受捐赠",
        "捐赠人：某科技有限公司",
        "文号：捐赠协议〔2026〕1号",
        "来源凭证：捐赠协议.pdf",
    ] {
        if !source.contains(want) {
            bail!("the asset's source does not say {want}: {source}");
        }
    }
    let text = ui.c.find(Locator::Css("main")).await?.text().await?;
    let data = ["keeper", "Shelf 1", "A01", "主仓"].map(String::from);
    let bad = unreadable(&text, &data);
    if !bad.is_empty() {
        bail!("the asset page shows {bad:?}:\n{text}");
    }
    ui.shot("intake-donation").await?;
    // The document's link downloads the agreement.
    let href =
        ui.c.find(Locator::Css("a[data-test=source-document]"))
            .await?
            .attr("href")
            .await?
            .ok_or_else(|| anyhow!("no link to the document"))?;
    let got = s
        .http
        .get(format!("{}{href}", s.base))
        .bearer_auth(&w.keeper)
        .send()
        .await?
        .bytes()
        .await?;
    assert_eq!(&got[..], b"%PDF-1.4 donation agreement");
    let v = s.get_ok("/api/v1/assets?source=donation", &w.admin).await?;
    assert_eq!(v["total"], 2, "{v}");
    Ok(())
}
