//! Words, not ids (issue 3/8 items 4 and 5): the pages a person reads
//! name units, people and shelves ("市财政局", "张三", "A01 一号库房"),
//! tell an asset's history in sentences, show a request with what it asks
//! for, every figure its steps recorded and who acts next; the forms take
//! asset numbers and location codes. Every page of the walk is checked for
//! raw ids (`#12`, `user:…`, `location:…`, `unit:…`) and English enum names
//! in its visible text. Real server, browser-style form posts.

use anyhow::{anyhow, ensure, Result};
use reqwest::StatusCode;

use crate::support::*;

/// The API names of states, stages, kinds, item statuses, roles, unit
/// levels, reader roles, conditions, and event and step actions: none may
/// show in a Chinese page's text.
const ENUM_WORDS: &[&str] = &[
    "in_stock",
    "allocated",
    "on_loan",
    "in_transit",
    "listed_idle",
    "under_repair",
    "disposal_pending",
    "lost",
    "disposed",
    "appraisal",
    "approval",
    "finance",
    "procurement",
    "receiving",
    "checkout",
    "receipt",
    "sale",
    "remittance",
    "cause",
    "payment",
    "completed",
    "rejected",
    "withdrawn",
    "purchase",
    "allocation",
    "loan",
    "transfer",
    "intake",
    "disposal",
    "damage",
    "requested",
    "checked_out",
    "received",
    "returned",
    "done",
    "released",
    "administrator",
    "approver",
    "keeper",
    "unit_staff",
    "province",
    "city",
    "county",
    "unit",
    "gate",
    "desk",
    "handheld",
    "new",
    "good",
    "worn",
    "damaged",
    "registered",
    "updated",
    "tag_bound",
    "check_out",
    "confirm_allocation",
    "confirm_loan",
    "hand_in",
    "list_idle",
    "submit",
    "approve",
    "reject",
    "procure",
    "receive",
    "fulfil",
    "system",
];

/// What a person sees of a page: the text between tags, with scripts and
/// styles dropped and the escapes read back.
pub(crate) fn visible_text(html: &str) -> String {
    let mut rest = html.to_owned();
    for tag in ["script", "style"] {
        while let Some(start) = rest.find(&format!("<{tag}")) {
            let end = rest[start..]
                .find(&format!("</{tag}>"))
                .map_or(rest.len(), |e| start + e + tag.len() + 3);
            rest.replace_range(start..end, " ");
        }
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in rest.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Everything in a page's visible text that reads as a raw id or an
/// English enum name; empty for a page in words.
pub(crate) fn raw_words(html: &str) -> Vec<String> {
    let text = visible_text(html);
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '#' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            let id: String = chars[i..].iter().take(6).collect();
            found.push(id);
        }
    }
    for label in ["user:", "location:", "unit:"] {
        if let Some(at) = text.find(label) {
            found.push(text[at..].chars().take(20).collect());
        }
    }
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        if ENUM_WORDS.contains(&word) {
            found.push(word.to_owned());
        }
    }
    found
}

#[test]
fn the_check_catches_raw_ids_and_english_names() {
    let bad = r#"<li><time>2026-03-01 10:00</time> registered system @ location:1</li>
        <li>confirm_allocation user:sim1-unit2 @ unit:2</li>
        <td>单位 #36</td><td>货位 #1</td><td>requested</td><td>received</td>"#;
    let found = raw_words(bad);
    for expected in [
        "registered",
        "system",
        "location:1",
        "confirm_allocation",
        "user:sim1-unit2",
        "unit:2",
        "#36",
        "#1",
        "requested",
        "received",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected} not caught in {found:?}"
        );
    }
    // Attributes, scripts and names that merely contain a word are fine.
    let good = r#"<a href="/assets/1" title="user:x" class="s-in_stock">张三 在 A01 一号库房 登记入库</a>
        <script>var state = 'in_stock'; // #1</script><style>a{color:#123}</style>
        <span>desk-1 · gate-2 · 市财政局 &amp; 主仓</span>"#;
    assert_eq!(raw_words(good), Vec::<String>::new());
}

pub(crate) fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// GETs a page as a browser session in `lang` ("zh" or "en").
pub(crate) async fn page(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    lang: &str,
) -> Result<(StatusCode, String)> {
    let resp = c
        .get(format!("{base}{path}"))
        .header("cookie", format!("wh_session={session}; lang={lang}"))
        .send()
        .await?;
    Ok((resp.status(), resp.text().await?))
}

/// POSTs a form as a browser session: status, `Location` and the page.
pub(crate) async fn post_form(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    form: &[(&str, &str)],
) -> Result<(StatusCode, String, String)> {
    let csrf = form_token(c, base, session).await?;
    let mut form = form.to_vec();
    form.push(("_csrf", &csrf));
    let resp = c
        .post(format!("{base}{path}"))
        .header("cookie", format!("wh_session={session}"))
        .form(&form)
        .send()
        .await?;
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((resp.status(), location, resp.text().await?))
}

/// A step posted on a request page must be taken (303).
pub(crate) async fn step(
    c: &reqwest::Client,
    base: &str,
    request: i64,
    session: &str,
    form: &[(&str, &str)],
) -> Result<()> {
    let (status, _, html) =
        post_form(c, base, &format!("/requests/{request}/step"), session, form).await?;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "step {form:?} refused ({status}): {}",
        visible_text(&html)
    );
    Ok(())
}

pub(crate) fn request_id(location: &str) -> Result<i64> {
    Ok(location
        .strip_prefix("/requests/")
        .ok_or_else(|| anyhow!("went to {location}"))?
        .parse()?)
}

/// A page in Chinese with each of `words` and no raw id or English name.
pub(crate) async fn check_page(
    c: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    words: &[&str],
) -> Result<String> {
    let (status, html) = page(c, base, path, session, "zh").await?;
    ensure!(status == StatusCode::OK, "{path}: {status}");
    let text = visible_text(&html);
    // Tags split the text where the page does not: compare without blanks.
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    for w in words {
        ensure!(
            squash(&text).contains(&squash(w)),
            "{path} does not say {w:?}:\n{text}"
        );
    }
    let raw = raw_words(&html);
    ensure!(raw.is_empty(), "{path} shows {raw:?}:\n{text}");
    Ok(text)
}

#[tokio::test]
async fn pages_name_units_people_and_shelves_and_requests_show_themselves() -> Result<()> {
    let s = Server::start()?;
    // The keeper has registered a chair on shelf A01 and one the unit holds.
    let NamedWorld {
        admin,
        chairs,
        keeper,
        approver,
        finance,
        staff,
        chair,
        ..
    } = NamedWorld::new(&s).await?;
    let c = client()?;
    let base = &s.base;

    // A loan names its chair by asset number. An unknown number is refused
    // beside the box, keeping what was typed; nothing is filed.
    let cat = chairs.to_string();
    let loan = |numbers: &'static str| {
        [
            ("category_id", cat.clone()),
            ("quantity", "1".to_owned()),
            ("asset_numbers", numbers.to_owned()),
            ("reason", "年终表彰大会".to_owned()),
            ("loan_start", "2099-12-01".to_owned()),
            ("loan_due", "2099-12-03".to_owned()),
        ]
    };
    let form = loan("1001，9999");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, html) = post_form(&c, base, "/requests/new/loan", &staff, &form).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(
        html.contains(
            r#"<span class="field-error" role="alert" data-field="asset_numbers">没有资产编号为“9999”的记录，请核对后重新填写</span>"#
        ),
        "no error beside the asset numbers:\n{}",
        visible_text(&html)
    );
    ensure!(html.contains("value=\"1001，9999\""), "typed numbers lost");
    let none = s.get_ok("/api/v1/requests", &staff).await?;
    ensure!(none["total"] == 0, "a refused form filed: {none}");
    let form = loan("1001");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, _) = post_form(&c, base, "/requests/new/loan", &staff, &form).await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let loan_id = request_id(&location)?;
    let api = s
        .get_ok(&format!("/api/v1/requests/{loan_id}"), &staff)
        .await?;
    ensure!(
        api["items"][0]["asset_id"] == chair,
        "the number named another asset: {api}"
    );

    // A purchase through every step, on the pages.
    let (status, location, _) = post_form(
        &c,
        base,
        "/requests/new/purchase",
        &staff,
        &[
            ("category_id", &cat),
            ("quantity", "2"),
            ("budget", "1500.00"),
            ("reason", "新增会议室座椅"),
            ("needed_by", "2099-12-20"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::SEE_OTHER, "{status}");
    let buy = request_id(&location)?;
    step(
        &c,
        base,
        buy,
        &approver,
        &[("action", "approve"), ("comment", "同意采购")],
    )
    .await?;
    step(
        &c,
        base,
        buy,
        &finance,
        &[("action", "approve"), ("comment", "预算已核")],
    )
    .await?;
    step(
        &c,
        base,
        buy,
        &approver,
        &[
            ("action", "procure"),
            ("supplier", "某某家具有限公司"),
            ("contract_number", "HT-2026-001"),
            ("unit_price", "600.00"),
        ],
    )
    .await?;
    // Receiving takes the shelf's code; an unknown code is refused beside
    // the box with what was typed, and no "must be a whole number".
    let (status, _, html) = post_form(
        &c,
        base,
        &format!("/requests/{buy}/step"),
        &keeper,
        &[
            ("action", "receive"),
            ("location_code", "B99"),
            ("received", "2"),
        ],
    )
    .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    ensure!(
        html.contains(r#"data-field="location_code">没有货位编号为“B99”的记录"#),
        "no error beside the location code:\n{}",
        visible_text(&html)
    );
    ensure!(html.contains("value=\"B99\""), "typed code lost");
    ensure!(!html.contains("应为整数"), "still asks for a whole number");
    step(
        &c,
        base,
        buy,
        &keeper,
        &[
            ("action", "receive"),
            ("location_code", "a01"),
            ("received", "2"),
        ],
    )
    .await?;
    let bought = s
        .get_ok(&format!("/api/v1/requests/{buy}"), &keeper)
        .await?;
    ensure!(bought["stage"] == "checkout", "{bought}");

    // The register and an asset's history, in words.
    check_page(
        &c,
        base,
        "/assets",
        &keeper,
        &["主仓 · A01 一号库房", "市财政局", "办公椅"],
    )
    .await?;
    check_page(
        &c,
        base,
        &format!("/assets/{chair}"),
        &keeper,
        &[
            "主仓 · A01 一号库房",
            "张三 在 A01 一号库房 登记入库",
            &format!("赵六 在 A01 一号库房 提出申请（申请编号 {loan_id}）：年终表彰大会"),
        ],
    )
    .await?;
    // The loan says what it asks for and whose turn it is.
    check_page(
        &c,
        base,
        &format!("/requests/{loan_id}"),
        &staff,
        &[
            &format!("借用申请 · 编号 {loan_id}"),
            "办公椅",
            "借用期限",
            "2099-12-01 至 2099-12-03",
            "赵六",
            "市财政局",
            "等待办理：审批人",
            "赵六 提交申请：年终表彰大会",
            "已申请",
        ],
    )
    .await?;
    // The purchase keeps every figure its steps recorded, with names.
    check_page(
        &c,
        base,
        &format!("/requests/{buy}"),
        &keeper,
        &[
            "办公椅",
            "1500.00",
            "某某家具有限公司",
            "HT-2026-001",
            "600.00",
            "1200.00",
            "300.00",
            "李四 同意：同意采购",
            "王五 同意：预算已核",
            "李四 登记采购结果",
            "张三 验收入库",
            "实收（件）：",
            "等待办理：仓管员",
            "出库",
        ],
    )
    .await?;
    // Lists and the inbox name units and applicants.
    for (path, session) in [
        ("/requests", &approver),
        ("/inbox", &approver),
        ("/requests", &staff),
    ] {
        check_page(&c, base, path, session, &["市财政局", "赵六"]).await?;
    }
    // People search for an applicant by the name they know.
    check_page(
        &c,
        base,
        "/requests?q=%E8%B5%B5%E5%85%AD", // 赵六
        &approver,
        &["共 2 条", "赵六"],
    )
    .await?;
    check_page(&c, base, "/dashboard", &keeper, &[]).await?;
    // Idle findings (闲置问责): the unit's page and the agency's, with its rules.
    check_page(
        &c,
        base,
        "/idle-findings",
        &staff,
        &["闲置问责", "标记闲置的资产"],
    )
    .await?;
    check_page(
        &c,
        base,
        "/idle-findings",
        &approver,
        &["闲置问责", "闲置规则"],
    )
    .await?;
    // The warnings and the audit log, in words.
    check_page(&c, base, "/warnings", &approver, &["预警", "借用逾期"]).await?;
    check_page(&c, base, "/warnings", &staff, &[]).await?;
    check_page(&c, base, "/audit-log", &admin, &["导出审计轨迹"]).await?;
    // Administration: people by name, units, shelves and readers in words.
    check_page(
        &c,
        base,
        "/admin",
        &admin,
        &[
            "张三 (zhangsan) · 仓管员",
            "赵六 (zhaoliu) · 单位资产管理员 · 市财政局",
            "市财政局 · 单位",
            "A01 一号库房",
            "desk-1 · 出库台 · 主仓 · A01 一号库房",
            "GS1 厂商识别代码",
        ],
    )
    .await?;

    // English mode reads in English from the same names.
    let (status, html) = page(&c, base, &format!("/requests/{loan_id}"), &staff, "en").await?;
    ensure!(status == StatusCode::OK);
    let text = visible_text(&html)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for w in [
        &format!("Loan request No. {loan_id}"),
        "Loan period",
        "2099-12-01 to 2099-12-03",
        "赵六 filed the request",
        "Waiting for: Approver",
    ] {
        ensure!(text.contains(w), "English page does not say {w:?}:\n{text}");
    }
    Ok(())
}
