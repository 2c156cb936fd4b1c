//! Requests: the list, the new-request forms, one request with the step forms its reader may act on, documents.

use super::*;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct RequestFilter {
    kind: Option<String>,
    stage: Option<String>,
    q: Option<String>,
    region: Option<String>,
    page: Option<i64>,
}

pub(super) async fn requests(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<RequestFilter>,
) -> Response {
    let region: Option<i64> = f.region.as_deref().and_then(|r| r.parse().ok());
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let page = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    kind: f.kind.clone().filter(|s| !s.is_empty()),
                    stage: f.stage.clone().filter(|s| !s.is_empty()),
                    q: f.q.clone().filter(|s| !s.trim().is_empty()),
                    region,
                    page: f.page,
                    per_page: Some(50),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let mut q = NameQuery::default();
    ask_requests(&mut q, &page.items);
    let names = tryp!(w, st.store.names(q).await);
    // The forms this person may submit (transfers are asked for from the
    // virtual warehouse's rows).
    let kinds: Vec<RequestKind> = [
        RequestKind::Loan,
        RequestKind::Allocation,
        RequestKind::Purchase,
        RequestKind::Intake,
        RequestKind::Disposal,
        RequestKind::Damage,
    ]
    .into_iter()
    .filter(|k| may_file(w.role, *k))
    .collect();
    let body = html! {
        @if !kinds.is_empty() {
            p.actions { (w.t("new_request")) ": "
                @for k in kinds { a.button href=(format!("/requests/new/{}", k.as_str())) { (w.tv(k.as_str())) } " " }
            }
        }
        form.filters role="search" method="get" action="/requests" {
            input type="search" name="q" value=(f.q.clone().unwrap_or_default()) placeholder=(w.t("search_requests")) aria-label=(w.t("list_search"));
            select name="kind" {
                option value="" { (w.t("kind")) ": " (w.t("all")) }
                @for k in RequestKind::ALL { option value=(k.as_str()) selected[f.kind.as_deref() == Some(k.as_str())] { (w.tv(k.as_str())) } }
            }
            select name="stage" {
                option value="" { (w.t("stage")) ": " (w.t("all")) }
                @for s in Stage::ALL { option value=(s.as_str()) selected[f.stage.as_deref() == Some(s.as_str())] { (stage_word(&w, *s)) } }
            }
            (region_select(&w, &regions, region))
            button type="submit" { (w.t("search")) }
            a href="/requests" { (w.t("reset")) }
        }
        (request_table(&w, &names, &regions, &page.items))
        (pager(&w, &page, |p| list_url("/requests", &[("q", f.q.as_deref()), ("kind", f.kind.as_deref()), ("stage", f.stage.as_deref()), ("region", f.region.as_deref())], p)))
    };
    layout(&w, w.t("requests"), body)
}

/// Fields of the new-request form per kind.
pub(super) fn request_fields(kind: RequestKind) -> &'static [&'static str] {
    match kind {
        RequestKind::Loan => &[
            "lines",
            "asset_numbers",
            "event",
            "kit_id",
            "reason",
            "loan_start",
            "loan_due",
        ],
        RequestKind::Allocation => &["lines", "asset_numbers", "kit_id", "event", "reason"],
        RequestKind::Purchase => &["lines", "budget", "reason", "needed_by", "destination"],
        RequestKind::Transfer | RequestKind::Intake => &["asset_numbers", "reason"],
        RequestKind::Disposal => &["asset_numbers", "disposal_method", "reason"],
        RequestKind::Damage => &["asset_numbers", "loss", "reason"],
    }
}

pub(super) async fn render_new_request(
    st: &AppState,
    w: &Web,
    kind: RequestKind,
    values: &Form,
    err: Option<&AppError>,
) -> Response {
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let fields = request_fields(kind);
    let kits = if fields.contains(&"kit_id") {
        tryp!(w, st.store.kits().await)
    } else {
        Vec::new()
    };
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let word = |k: &str| match k {
        "budget" => w.t("budget"),
        "asset_numbers" => w.t("asset_numbers"),
        "category_id" => w.t("category"),
        "event" => w.t("event_name"),
        "kit_id" => w.t("kit"),
        other => w.t(other),
    };
    let rows = line_rows(values);
    let mut shown: Vec<String> = [
        "category_id",
        "quantity",
        "asset_ids",
        "asset_numbers",
        "budget_fen",
        "reason",
        "needed_by",
        "loan_start",
        "loan_due",
        "disposal_method",
        "loss",
        "event",
    ]
    .iter()
    .map(|f| (*f).to_owned())
    .collect();
    if fields.contains(&"lines") {
        for i in 0..rows {
            for f in ["category_id", "quantity", "notes"] {
                shown.push(format!("lines[{i}].{f}"));
            }
        }
    }
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    let body = html! {
        (form_error(w.lang, err, &shown))
        form.stack method="post" action=(format!("/requests/new/{}", kind.as_str())) novalidate {
            (csrf_field(w))
            @for f in fields {
                @let api_field = match *f { "budget" => "budget_fen", "kit_id" => "kit_ids", f => f };
                @if *f == "lines" {
                    (line_rows_form(w, &cats, values, err, rows))
                } @else {
                label {
                    (word(f))
                    @match *f {
                        "category_id" => {
                            select name="category_id" {
                                option value="" { "—" }
                                @for c in &cats { option value=(c.id) selected[v("category_id") == c.id.to_string()] { (c.name) } }
                            }
                        }
                        "kit_id" => {
                            select name="kit_id" {
                                option value="" { "—" }
                                @for k in &kits {
                                    option value=(k.id) selected[v("kit_id") == k.id.to_string()] disabled[!k.available] {
                                        (k.name) " (" (k.members.len()) ")"
                                        @if !k.available { " · " (w.t("kit_unavailable")) }
                                    }
                                }
                            }
                        }
                        "reason" => { textarea name="reason" rows="2" { (v("reason")) } }
                        "loan_start" | "loan_due" | "needed_by" => { input type="date" name=(f) value=(v(f)); }
                        "quantity" => { input type="number" min="1" name="quantity" value=(v("quantity")); }
                        "disposal_method" => {
                            select name="disposal_method" {
                                @for m in ["scrap", "auction", "transfer_out"] { option value=(m) selected[v("disposal_method") == m] { (w.tv(m)) } }
                            }
                        }
                        "loss" => { input type="checkbox" name="loss" value="1" checked[v("loss") == "1"]; }
                        "destination" => {
                            // A keeper buys for the warehouse's stock; unit staff choose.
                            select name="destination" {
                                @for d in Destination::ALL {
                                    @if w.role == Role::UnitStaff || *d == Destination::Warehouse {
                                        option value=(d.as_str()) selected[v("destination") == d.as_str()] { (w.t(&format!("dest_{}", d.as_str()))) }
                                    }
                                }
                            }
                        }
                        _ => { input name=(f) value=(v(f)); }
                    }
                    (field_error(w.lang, err, api_field))
                    // The box takes numbers; the store names the ids it refuses.
                    @if *f == "asset_numbers" { (field_error(w.lang, err, "asset_ids")) }
                }
                }
            }
            button type="submit" { (w.t("submit")) }
        }
    };
    let mut resp = layout(
        w,
        &format!("{} · {}", w.t("new_request"), w.tv(kind.as_str())),
        body,
    );
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

/// How many line rows the filing form shows (`line_rows`, one more after
/// "添加一行").
fn line_rows(values: &Form) -> usize {
    values
        .get("line_rows")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, crate::workflow::MAX_LINES)
}

/// The form's name of a line row's field: the first row keeps the
/// one-line names (`category_id`, `quantity`), the others the API's path
/// (`lines[2].quantity`), so a refusal lands beside its row.
fn line_field(i: usize, f: &str) -> String {
    match (i, f) {
        (0, "category_id" | "quantity") => f.to_owned(),
        _ => format!("lines[{i}].{f}"),
    }
}

/// The line rows of the filing form (category, quantity, notes) and the
/// "添加一行" button, which posts the form back with one more row (no
/// script needed).
fn line_rows_form(
    w: &Web,
    cats: &[crate::register::Category],
    values: &Form,
    err: Option<&AppError>,
    rows: usize,
) -> Markup {
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    html! {
        fieldset.lines data-test="request-lines" {
            legend { (w.t("request_lines")) }
            table {
                thead { tr { th { (w.t("line_no")) } th { (w.t("category")) } th { (w.t("quantity")) } th { (w.t("line_notes")) } } }
                tbody {
                    @for i in 0..rows {
                        @let cat = line_field(i, "category_id");
                        @let qty = line_field(i, "quantity");
                        @let notes = line_field(i, "notes");
                        tr {
                            td { (i + 1) }
                            td {
                                select name=(cat) aria-label=(w.t("category")) {
                                    option value="" { "—" }
                                    @for c in cats { option value=(c.id) selected[v(&cat) == c.id.to_string()] { (c.name) } }
                                }
                                (field_error(w.lang, err, &cat))
                                @if i == 0 { (field_error(w.lang, err, "lines[0].category_id")) }
                            }
                            td {
                                input type="number" min="1" name=(qty) value=(v(&qty)) aria-label=(w.t("quantity"));
                                (field_error(w.lang, err, &qty))
                                @if i == 0 { (field_error(w.lang, err, "lines[0].quantity")) }
                            }
                            td {
                                input name=(notes) value=(v(&notes)) aria-label=(w.t("line_notes"));
                                (field_error(w.lang, err, &notes))
                            }
                        }
                    }
                }
            }
            input type="hidden" name="line_rows" value=(rows);
            button type="submit" name="add_line" value="1" formnovalidate data-test="add-line" { (w.t("add_line")) }
        }
    }
}

pub(super) async fn new_request(
    State(st): State<AppState>,
    w: Web,
    Path(kind): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let Some(kind) = RequestKind::parse(&kind) else {
        return fail(&w, AppError::not_found("request kind", kind));
    };
    if !may_file(w.role, kind) {
        return fail(&w, kind.not_filed_by());
    }
    let mut values = Form::new();
    // Bulk selection from the register (?number=1001&number=1002) or a
    // virtual-warehouse row (?id=5) pre-fills the asset numbers.
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
        .unwrap_or_default();
    let mut q = NameQuery::default();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "id") {
        q.asset(v.trim().parse().ok());
    }
    let names = tryp!(w, st.store.names(q).await);
    let numbers: Vec<String> = pairs
        .into_iter()
        .filter_map(|(k, v)| match k.as_str() {
            "number" => Some(v.trim().to_owned()),
            "id" => v
                .trim()
                .parse()
                .ok()
                .and_then(|id| names.assets.get(&id))
                .map(|a| a.number.clone()),
            _ => None,
        })
        .filter(|n| !n.is_empty())
        .collect();
    if !numbers.is_empty() {
        values.insert("asset_numbers".into(), numbers.join(","));
    }
    render_new_request(&st, &w, kind, &values, None).await
}

/// The web forms take what people know: asset numbers (`asset_numbers`)
/// and location codes (`location_code`). This turns them into the ids the
/// request and step bodies carry (`asset_ids`, `location_id`), so the rest
/// is the API's path; a number or code that names nothing is refused on
/// the field the person typed it in.
pub(super) async fn ids_from_words(st: &AppState, f: &Form) -> Result<Form, AppError> {
    let mut f = f.clone();
    if let Some(numbers) = text(&f, "asset_numbers") {
        let ids = st
            .store
            .asset_ids_by_number("asset_numbers", crate::store::split_numbers(&numbers))
            .await?;
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        f.insert("asset_ids".into(), ids.join(","));
    }
    if let Some(code) = text(&f, "location_code") {
        let id = st.store.location_by_code("location_code", code).await?;
        f.insert("location_id".into(), id.to_string());
    }
    Ok(f)
}

pub(super) fn parse_ids(field: &str, s: &str) -> Result<Vec<i64>, AppError> {
    s.split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse().map_err(|_| {
                Reason::BadId {
                    field: field.into(),
                    value: p.into(),
                }
                .into()
            })
        })
        .collect()
}

/// The request a form describes, and the values it could not read (each
/// blamed on its field; the field is left out of the request).
pub(super) fn request_from_form(kind: RequestKind, f: &Form) -> (NewRequest, Vec<AppError>) {
    fn keep<T>(problems: &mut Vec<AppError>, r: Result<Option<T>, AppError>) -> Option<T> {
        r.unwrap_or_else(|e| {
            problems.push(e);
            None
        })
    }
    let mut problems = Vec::new();
    let p = &mut problems;
    let ids = keep(
        p,
        text(f, "asset_ids")
            .map(|s| parse_ids("asset_ids", &s))
            .transpose(),
    );
    let budget = keep(
        p,
        text(f, "budget")
            .map(|b| parse_yuan("budget_fen", &b))
            .transpose(),
    );
    let mut category_id = keep(p, get_i64(f, "category_id"));
    let mut quantity = keep(p, get_i64(f, "quantity"));
    let kit = keep(p, get_i64(f, "kit_id"));
    let mut ids = ids;
    // Several rows (or a note on the first) file as lines; one plain row
    // is the one-line shorthand, as before. Empty rows are skipped.
    let mut rows: Vec<NewLine> = Vec::new();
    for i in 1..line_rows(f) {
        let line = NewLine {
            category_id: keep(p, get_i64(f, &line_field(i, "category_id"))),
            quantity: keep(p, get_i64(f, &line_field(i, "quantity"))),
            asset_ids: None,
            notes: text(f, &line_field(i, "notes")),
        };
        if line.category_id.is_some() || line.quantity.is_some() || line.notes.is_some() {
            rows.push(line);
        }
    }
    let first_notes = text(f, &line_field(0, "notes"));
    let lined = matches!(
        kind,
        RequestKind::Purchase | RequestKind::Allocation | RequestKind::Loan
    );
    let lines = if lined && (!rows.is_empty() || first_notes.is_some()) {
        let mut lines = Vec::new();
        if category_id.is_some() || quantity.is_some() || first_notes.is_some() {
            lines.push(NewLine {
                category_id: category_id.take(),
                quantity: quantity.take(),
                asset_ids: None,
                notes: first_notes,
            });
        }
        lines.extend(rows);
        // Named assets typed in the numbers box are one more line.
        if let Some(named) = ids.take().filter(|n| !n.is_empty()) {
            lines.push(NewLine {
                asset_ids: Some(named),
                ..NewLine::default()
            });
        }
        Some(lines)
    } else {
        None
    };
    let new = NewRequest {
        kind,
        category_id,
        quantity,
        asset_ids: ids,
        kit_ids: kit.map(|k| vec![k]),
        budget_fen: budget,
        reason: text(f, "reason"),
        needed_by: text(f, "needed_by"),
        loan_start: text(f, "loan_start"),
        loan_due: text(f, "loan_due"),
        disposal_method: text(f, "disposal_method")
            .as_deref()
            .and_then(crate::workflow::DisposalMethod::parse),
        loss: Some(f.get("loss").is_some()),
        unit_id: None,
        lines,
        event: text(f, "event"),
        destination: text(f, "destination")
            .as_deref()
            .and_then(Destination::parse),
    };
    (new, problems)
}

/// Every problem of a new-request form at once: the values that could not
/// be read, and what the request itself lacks in the other fields.
fn form_problems(new: &NewRequest, unreadable: Vec<AppError>) -> Result<(), AppError> {
    let blamed: Vec<String> = unreadable
        .iter()
        .flat_map(|e| e.field_problems())
        .map(|(f, _)| f.to_owned())
        .collect();
    let mut all = unreadable;
    if let Err(e) = new.check_on(&crate::time::shanghai_today()) {
        if e.kind != ErrorKind::Invalid {
            return Err(e);
        }
        for (field, reason) in e.field_problems() {
            if !blamed.iter().any(|b| b == field) {
                all.push(AppError::from(reason.clone()).with_field(field));
            }
        }
    }
    AppError::collect(all)
}

pub(super) async fn new_request_submit(
    State(st): State<AppState>,
    w: Web,
    Path(kind): Path<String>,
    Body(body): Body,
) -> Response {
    let Some(kind) = RequestKind::parse(&kind) else {
        return fail(&w, AppError::not_found("request kind", kind));
    };
    if !may_file(w.role, kind) {
        return fail(&w, kind.not_filed_by());
    }
    let mut f = form(&body);
    // "添加一行": the same form again with one more row, nothing filed.
    if f.contains_key("add_line") {
        let rows = (line_rows(&f) + 1).min(crate::workflow::MAX_LINES);
        f.insert("line_rows".into(), rows.to_string());
        return render_new_request(&st, &w, kind, &f, None).await;
    }
    // Numbers and codes people type become ids first; a number that names
    // nothing is one more problem beside the others.
    let (f, by_words) = match ids_from_words(&st, &f).await {
        Ok(resolved) => (resolved, None),
        Err(e) => (f.clone(), Some(e)),
    };
    let (new, mut unreadable) = request_from_form(kind, &f);
    unreadable.extend(by_words);
    let result = match form_problems(&new, unreadable) {
        Ok(()) => st.store.create_request(w.ctx.clone(), new).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => see_other_with(&format!("/requests/{}", r.id), Done::Filed(r.id)),
        Err(e) if e.kind == ErrorKind::Forbidden => fail(&w, e),
        Err(e) => render_new_request(&st, &w, kind, &f, Some(&e)).await,
    }
}

/// 超标准: where the request goes beyond the configuration standard, with
/// the numbers, and whether the agency head's extra approval is given.
fn over_standard_note(w: &Web, names: &Names, r: &Request) -> Markup {
    if r.over_standard.is_empty() {
        return html! {};
    }
    let num = |v: Option<i64>| v.map_or("—".to_owned(), |n| n.to_string());
    let money = |v: Option<i64>| v.map_or("—".to_owned(), yuan);
    html! {
        section.warning role="alert" data-test="over-standard" {
            p { strong { (w.t("over_standard")) } " · "
                @if let (Some(by), Some(at)) = (&r.standard_approved_by, &r.standard_approved_at) {
                    (w.t("os_approved")) (w.lang.colon()) (words::person(w.lang, names, by)) " " (when(at))
                } @else { (w.t("os_waiting")) }
            }
            div.scroll { table {
                thead { tr { th { (w.t("category")) } th { (w.t("os_held")) } th { (w.t("os_asked")) }
                    th { (w.t("os_limit")) } th { (w.t("os_price")) } th { (w.t("os_ceiling")) } } }
                tbody { @for e in &r.over_standard { tr {
                    td { (words::category(w.lang, names, e.category_id)) } td { (e.held) } td { (e.asked) }
                    td { (num(e.limit)) } td { (money(e.price_fen)) } td { (money(e.ceiling_fen)) }
                } } }
            } }
        }
    }
}

/// Which step forms this person sees on this request. `typed` is what the
/// person last posted (kept in the boxes when a step is refused);
/// `locations` are the (code, "code name · warehouse") the receiving form
/// suggests.
pub(super) fn step_forms(
    w: &Web,
    r: &Request,
    err: Option<&AppError>,
    typed: &Form,
    locations: &[(String, String)],
) -> Markup {
    use crate::workflow::step as chain;
    let can = |a: crate::workflow::StepKind| chain(r.kind, r.stage, a, w.role, r.route()).is_ok();
    use crate::workflow::StepKind as K;
    let action = format!("/requests/{}/step", r.id);
    let v = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let comment = html! { label { (w.t("comment")) input name="comment" value=(v("comment")); (field_error(w.lang, err, "comment")) } };
    html! {
        (form_error(w.lang, err, &["comment", "new_due", "amount_fen", "appraised_value_fen", "appraiser", "report_ref", "hammer_price_fen", "buyer", "fees_fen", "fees_document_id", "disposal_method", "treasury_ref", "responsible", "remedy", "amount_reason", "supplier", "contract_number", "unit_price_fen", "location_id", "location_code", "received", "asset_ids", "asset_numbers"]))
        div.steps {
            @if can(K::Approve) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="approve";
                    (comment)
                    button type="submit" data-test="approve" { (w.t("approve")) }
                }
            }
            @if can(K::ApproveOverStandard) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="approve_over_standard";
                    (comment)
                    button type="submit" data-test="approve-over-standard" { (w.t("approve_over_standard")) }
                }
            }
            @if can(K::Reject) {
                form.stack method="post" action=(action) data-confirm=(w.t("confirm_delete")) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="reject";
                    label { (w.t("comment")) input name="comment" required; (field_error(w.lang, err, "comment")) }
                    button.danger type="submit" { (w.t("reject")) }
                }
            }
            @if can(K::Withdraw) && r.origin_request_id.is_none() && (w.role == Role::UnitStaff || r.applicant.ends_with(&format!(":{}", w.username))) {
                form method="post" action=(action) data-confirm=(w.t("confirm_delete")) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="withdraw";
                    button.danger type="submit" { (w.t("withdraw")) }
                }
            }
            @if can(K::ConfirmReceipt) {
                form method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="confirm_receipt";
                    button type="submit" data-test="confirm-receipt" { (w.t("confirm_receipt")) }
                }
            }
            @if can(K::CheckOut) || can(K::ReturnItems) {
                p {
                    a.button href=(format!("/requests/{}/desk", r.id)) data-test="open-desk" { (w.t("desk")) }
                    @if can(K::CheckOut) { " " a href=(format!("/requests/{}/pick-list", r.id)) data-test="pick-list-link" { (w.t("pick_list")) } }
                }
            }
            @if can(K::Appraise) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="appraise";
                    label { (w.t("appraised_value")) input name="appraised_value" value=(v("appraised_value")) required; (field_error(w.lang, err, "appraised_value_fen")) }
                    label { (w.t("appraiser")) input name="appraiser" value=(v("appraiser")) required; (field_error(w.lang, err, "appraiser")) }
                    label { (w.t("report_ref")) input name="report_ref" value=(v("report_ref")) required; (field_error(w.lang, err, "report_ref")) }
                    label { (w.t("disposal_method")) select name="disposal_method" data-test="appraise-method" {
                        option value="" { (w.t("keep_method")) }
                        @for m in crate::workflow::DisposalMethod::ALL { option value=(m.as_str()) selected[v("disposal_method") == m.as_str()] { (w.tv(m.as_str())) } }
                    } (field_error(w.lang, err, "disposal_method")) }
                    button type="submit" { (w.t("appraise")) }
                }
            }
            @if can(K::RecordSale) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="record_sale";
                    label { (w.t("hammer_price")) input name="hammer_price" value=(v("hammer_price")) required; (field_error(w.lang, err, "hammer_price_fen")) }
                    label { (w.t("buyer")) input name="buyer" value=(v("buyer")) required; (field_error(w.lang, err, "buyer")) }
                    label { (w.t("auction_fees")) input name="fees" value=(v("fees")) data-test="fees"; (field_error(w.lang, err, "fees_fen")) }
                    label { (w.t("fees_document")) select name="fees_document_id" data-test="fees-document" {
                        option value="" { (w.t("fees_document_none")) }
                        @for d in &r.documents { option value=(d.id) selected[v("fees_document_id") == d.id.to_string()] { (d.filename) } }
                    } (field_error(w.lang, err, "fees_document_id")) }
                    p.hint { (w.t("fees_document_hint")) }
                    button type="submit" { (w.t("record_sale")) }
                }
            }
            @if can(K::ConfirmRemittance) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="confirm_remittance";
                    label { (w.t("amount")) input name="amount" value=(typed.get("amount").cloned().or(r.net_fen.map(yuan)).unwrap_or_default()) required; (field_error(w.lang, err, "amount_fen")) }
                    label { (w.t("treasury_ref")) input name="treasury_ref" value=(v("treasury_ref")) required; (field_error(w.lang, err, "treasury_ref")) }
                    button type="submit" { (w.t("confirm_remittance")) }
                }
            }
            @if can(K::DecideCause) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="decide_cause";
                    label { (w.t("cause")) select name="cause" { option value="human" { (w.t("human")) } option value="natural" selected[v("cause") == "natural"] { (w.t("natural")) } } }
                    label { (w.t("responsible")) input name="responsible" value=(v("responsible")); (field_error(w.lang, err, "responsible")) }
                    label { (w.t("remedy")) select name="remedy" { option value="compensate" { (w.t("compensate")) } option value="repair" selected[v("remedy") == "repair"] { (w.t("repair")) } } (field_error(w.lang, err, "remedy")) }
                    p.hint data-test="compensation-rule" { (w.t("compensation_rule")) }
                    label { (w.t("amount")) input name="amount" value=(v("amount")); (field_error(w.lang, err, "amount_fen")) }
                    label { (w.t("amount_reason")) input name="amount_reason" value=(v("amount_reason")); (field_error(w.lang, err, "amount_reason")) }
                    (comment)
                    button type="submit" { (w.t("decide_cause")) }
                }
            }
            @if can(K::ConfirmPayment) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="confirm_payment";
                    label { (w.t("amount")) input name="amount" value=(typed.get("amount").cloned().or(r.compensation_fen.map(yuan)).unwrap_or_default()) required; (field_error(w.lang, err, "amount_fen")) }
                    label { (w.t("treasury_ref")) input name="receipt_ref" value=(v("receipt_ref")); }
                    button type="submit" data-test="confirm-payment" { (w.t("confirm_payment")) }
                }
            }
            @if can(K::Extend) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="extend";
                    label { (w.t("new_due")) input type="date" name="new_due" value=(v("new_due")) required; (field_error(w.lang, err, "new_due")) }
                    (comment)
                    button type="submit" data-test="extend" { (w.t("extend")) }
                }
            }
            @if can(K::Procure) {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="procure";
                    label { (w.t("supplier")) input name="supplier" value=(v("supplier")) required; (field_error(w.lang, err, "supplier")) }
                    label { (w.t("contract_number")) input name="contract_number" value=(v("contract_number")) required; (field_error(w.lang, err, "contract_number")) }
                    @if r.lines.len() > 1 {
                        @for (i, l) in r.lines.iter().enumerate() {
                            @let name = format!("line_price_{}", l.line_no);
                            label { (w.t("unit_price")) " · " (w.t("line_no")) " " (l.line_no) input name=(name) value=(v(&name)) required; (field_error(w.lang, err, &format!("line_prices[{i}].unit_price_fen"))) }
                        }
                        (field_error(w.lang, err, "line_prices"))
                    } @else {
                        label { (w.t("unit_price")) input name="unit_price" value=(v("unit_price")) required; (field_error(w.lang, err, "unit_price_fen")) }
                    }
                    button type="submit" data-test="procure" { (w.t("procure")) }
                }
            }
            @if can(K::Receive) && r.kind == RequestKind::Purchase {
                form.stack method="post" action=(action) {
                    (csrf_field(w))
                    input type="hidden" name="action" value="receive";
                    label { (w.t("location_code"))
                        input name="location_code" value=(v("location_code")) list="location-codes" required autocomplete="off";
                        (field_error(w.lang, err, "location_code")) (field_error(w.lang, err, "location_id"))
                    }
                    datalist id="location-codes" { @for (code, label) in locations { option value=(code) { (label) } } }
                    @if r.lines.len() > 1 {
                        // How many arrived of each line (`received_line_<line_no>`).
                        @for (i, l) in r.lines.iter().enumerate() {
                            @let name = format!("received_line_{}", l.line_no);
                            label { (w.t("received")) " · " (w.t("line_no")) " " (l.line_no) input type="number" min="0" name=(name) value=(typed.get(&name).cloned().unwrap_or_else(|| l.quantity.to_string())); (field_error(w.lang, err, &format!("received_lines[{i}].received"))) }
                        }
                        (field_error(w.lang, err, "received"))
                    } @else {
                        label { (w.t("received")) input name="received" value=(typed.get("received").cloned().unwrap_or_else(|| r.quantity.unwrap_or(0).to_string())); (field_error(w.lang, err, "received")) }
                    }
                    button type="submit" data-test="receive" { (w.t("receive")) }
                }
            }
        }
    }
}

/// Who the request waits for (a role, and the unit when it is a unit's
/// turn) and what they can do next, in words.
fn next_action(w: &Web, names: &Names, r: &Request) -> Option<(String, Vec<String>)> {
    use crate::workflow::StepKind as K;
    let role = r.awaiting?;
    let who = match (role, r.unit_id) {
        (Role::UnitStaff, Some(u)) => format!(
            "{} · {}",
            words::unit(w.lang, names, u),
            w.tv(role.as_str())
        ),
        _ => w.tv(role.as_str()),
    };
    let actions = K::ALL
        .iter()
        .filter(|k| !matches!(k, K::Reject | K::Withdraw))
        .filter(|k| crate::workflow::step(r.kind, r.stage, **k, role, r.route()).is_ok())
        .map(|k| w.t(&format!("sa_{}", k.as_str())).to_owned())
        .collect();
    Some((who, actions))
}

/// 申请明细: each line's category (or its named assets), quantity, how
/// many are out and back, notes, and for a purchase its price.
pub(super) fn lines_table(w: &Web, names: &Names, r: &Request) -> Markup {
    let purchase = r.kind == RequestKind::Purchase;
    html! {
        @if !r.lines.is_empty() && matches!(r.kind, RequestKind::Purchase | RequestKind::Allocation | RequestKind::Loan) {
            h2 { (w.t("request_lines")) }
            div.scroll { table data-test="lines" {
                thead { tr {
                    th { (w.t("line_no")) } th { (w.t("category")) } th { (w.t("quantity")) }
                    th { (w.t("line_checked_out")) } th { (w.t("line_returned")) } th { (w.t("line_notes")) }
                    @if purchase { th { (w.t("unit_price")) } th { (w.t("line_total")) } }
                } }
                tbody {
                    @for l in &r.lines {
                        tr data-line=(l.line_no) {
                            td { (l.line_no) }
                            td {
                                @match l.category_id {
                                    Some(c) => { (words::category(w.lang, names, c)) }
                                    None => {
                                        (w.t("line_named")) (w.lang.colon())
                                        @for (k, i) in r.items.iter().filter(|i| i.line_no == l.line_no).enumerate() {
                                            @if k > 0 { (w.lang.comma()) }
                                            a href=(format!("/assets/{}", i.asset_id)) { (i.asset_number) }
                                        }
                                    }
                                }
                            }
                            td { (l.quantity) }
                            td data-test="line-out" { (l.checked_out) }
                            td data-test="line-back" { (l.returned) }
                            td { (l.notes.clone().unwrap_or_default()) }
                            @if purchase {
                                td { (l.unit_price_fen.map(yuan).unwrap_or_else(|| "—".into())) }
                                td { (l.total_fen.map(yuan).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            } }
        }
    }
}

pub(super) async fn render_request(
    st: &AppState,
    w: &Web,
    id: i64,
    err: Option<&AppError>,
    typed: &Form,
) -> Response {
    let r = tryp!(w, st.store.request(w.ctx.actor.clone(), id).await);
    let money = |v: Option<i64>| v.map(yuan).unwrap_or_else(|| "—".into());
    // For a purchase awaiting the approver: what could fulfil it instead.
    let matches = if r.kind == RequestKind::Purchase
        && crate::workflow::step(
            r.kind,
            r.stage,
            crate::workflow::StepKind::Fulfil,
            w.role,
            Default::default(),
        )
        .is_ok()
    {
        Some(tryp!(
            w,
            st.store.purchase_matches(w.ctx.actor.clone(), id).await
        ))
    } else {
        None
    };
    // Receiving suggests every location by code.
    let receiving = r.kind == RequestKind::Purchase
        && crate::workflow::step(
            r.kind,
            r.stage,
            crate::workflow::StepKind::Receive,
            w.role,
            r.route(),
        )
        .is_ok();
    let mut locations = Vec::new();
    if receiving {
        for wh in tryp!(w, st.store.list_warehouses(1, 100).await).items {
            for l in tryp!(w, st.store.list_locations(wh.id, 1, 500).await).items {
                locations.push((
                    l.code.clone(),
                    format!("{} {} · {}", l.code, l.name, wh.name),
                ));
            }
        }
    }
    let mut q = NameQuery::default();
    ask_requests(&mut q, std::slice::from_ref(&r));
    for s in &r.steps {
        words::ask_who(&mut q, &s.actor);
    }
    if let Some(m) = &matches {
        for a in m.listed_idle.iter().chain(&m.in_stock) {
            q.asset(Some(*a));
        }
    }
    let names = tryp!(w, st.store.names(q).await);
    let can_upload = authorize(
        &w.ctx.actor,
        Action::ActOnRequest,
        Scope::held(r.unit_id, r.region_id),
    )
    .is_ok()
        && !r.stage.is_terminal();
    let next = next_action(w, &names, &r);
    let figures: Vec<(&crate::workflow::Step, Vec<(&str, String)>)> = r
        .steps
        .iter()
        .map(|s| (s, words::step_figures(w.lang, &s.details)))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    let body = html! {
        (stock_note(w, &r))
        (over_budget_note(w, &r))
        (over_standard_note(w, &names, &r))
        dl.request data-test="request" {
            dt { (w.t("kind")) } dd { (w.tv(r.kind.as_str())) }
            dt { (w.t("stage")) } dd data-test="stage" { (stage_word(w, r.stage)) @if r.overdue { " " span.badge.s-lost { (w.t("overdue")) } } }
            dt { (w.t("next_step")) } dd data-test="next-step" {
                @match &next {
                    Some((who, actions)) => { (w.t("waiting_for")) (w.lang.colon()) strong { (who) } @if !actions.is_empty() { " · " (actions.join(w.lang.comma())) } }
                    None => { (w.t("nothing_next")) }
                }
            }
            dt { (w.t("applicant")) } dd data-test="applicant" { (words::person(w.lang, &names, &r.applicant)) }
            dt { (w.t("unit")) } dd data-test="unit" { (r.unit_id.map(|u| words::unit(w.lang, &names, u)).unwrap_or_default()) }
            @if let Some(o) = r.other_unit_id { dt { (w.t("giving_unit")) } dd { (words::unit(w.lang, &names, o)) } }
            dt { (w.t("created")) } dd { (when(&r.created_at)) }
        }
        h2 { (w.t("what_is_asked")) }
        dl.request data-test="asked" {
            @if r.lines.len() <= 1 {
                @if let Some(c) = r.category_id { dt { (w.t("category")) } dd data-test="category" { (words::category(w.lang, &names, c)) } }
                @if let Some(q) = r.quantity { dt { (w.t("quantity")) } dd data-test="quantity" { (q) } }
            }
            @if let Some(e) = &r.event { dt { (w.t("event_name")) } dd data-test="event" { (e) } }
            @if r.budget_fen.is_some() { dt { (w.t("budget")) } dd { (money(r.budget_fen)) } }
            @if let Some(d) = &r.needed_by { dt { (w.t("needed_by")) } dd { (d) } }
            @if r.kind == RequestKind::Purchase { dt { (w.t("destination")) } dd data-test="destination" { (w.t(&format!("dest_{}", r.destination.as_str()))) } }
            @if let (Some(a), Some(b)) = (&r.loan_start, &r.loan_due) { dt { (w.t("loan_period")) } dd data-test="loan-period" { (a) " " (w.t("period_to")) " " (b)
                " " a href=(format!("/api/v1/requests/{}/reservation.ics", r.id)) data-test="ics" { (w.t("add_to_calendar")) }
                " " a href=(format!("/calendar?month={}", a.get(..7).unwrap_or_default())) { (w.t("calendar")) } } }
            @if let Some(m) = r.disposal_method { dt { (w.t("disposal_method")) } dd { (w.tv(m.as_str())) } }
            @if let Some(o) = r.origin_request_id { dt { (w.t("residual_of")) } dd data-test="origin" { a href=(format!("/requests/{o}")) { "#" (o) } } }
            @if r.kind == RequestKind::Damage { dt { (w.t("kind")) } dd { (w.t(if r.loss { "loss" } else { "damaged" })) } }
            dt { (w.t("reason")) } dd { (r.reason.clone().unwrap_or_default()) }
            @if !r.items.is_empty() { dt { (w.t("items")) } dd { (r.items.len()) } }
        }
        (lines_table(w, &names, &r))
        @if !figures.is_empty() || r.spent_fen.is_some() || r.overspent_fen.is_some() || r.compensation_fen.is_some() || r.remitted_fen.is_some() {
            h2 { (w.t("figures")) }
            dl.request data-test="totals" {
                @if r.spent_fen.is_some() { dt { (w.t("spent")) } dd data-test="spent" { (money(r.spent_fen)) } }
                (spending_rows(w, &r))
                @if r.appraised_fen.is_some() { dt { (w.t("appraised_value")) } dd { (money(r.appraised_fen)) } }
                @if r.hammer_fen.is_some() { dt { (w.t("hammer_price")) } dd { (money(r.hammer_fen)) } }
                @if r.fees_fen.is_some() {
                    dt { (w.t("auction_fees")) } dd data-test="fees" { (money(r.fees_fen)) }
                    dt { (w.t("net_proceeds")) } dd data-test="net" { (money(r.net_fen)) }
                }
                @if r.remitted_fen.is_some() { dt { (w.t("remitted")) } dd { (money(r.remitted_fen)) } }
                @if r.compensation_fen.is_some() {
                    dt { (w.t("owed")) } dd data-test="owed" { (money(r.compensation_fen)) }
                    dt { (w.t("paid")) } dd { (money(r.compensation_paid_fen)) }
                }
            }
            @if !figures.is_empty() {
                div.scroll { table data-test="figures" {
                    thead { tr { th { (w.t("stage")) } th { (w.t("applicant")) } th { (w.t("created")) } th { (w.t("notes")) } } }
                    tbody {
                        @for (s, f) in &figures {
                            tr {
                                td { (w.t(&format!("sa_{}", s.action))) }
                                td { (words::person(w.lang, &names, &s.actor)) }
                                td { (when(&s.at)) }
                                td { @for (i, (label, value)) in f.iter().enumerate() { @if i > 0 { (w.lang.semicolon()) } (label) (w.lang.colon()) strong { (value) } } }
                            }
                        }
                    }
                } }
            }
        }
        @if let Some(m) = &matches {
            section.matches {
                h2 { (w.t("reuse_first")) }
                p { (w.t("in_stock")) ": " (m.in_stock.len()) " · " (w.t("virtual_warehouse")) ": " (m.listed_idle.len()) }
                @if !(m.in_stock.is_empty() && m.listed_idle.is_empty()) {
                    @let want = r.quantity.unwrap_or(1).max(1) as usize;
                    @let pick: Vec<String> = m.listed_idle.iter().chain(m.in_stock.iter()).take(want).filter_map(|i| names.assets.get(i)).map(|a| a.number.clone()).collect();
                    form.stack method="post" action=(format!("/requests/{}/step", r.id)) {
                        (csrf_field(w))
                        input type="hidden" name="action" value="fulfil";
                        label { (w.t("asset_numbers")) input name="asset_numbers" value=(typed.get("asset_numbers").cloned().unwrap_or_else(|| pick.join(","))); (field_error(w.lang, err, "asset_numbers")) (field_error(w.lang, err, "asset_ids")) }
                        button type="submit" data-test="fulfil" { (w.t("fulfil")) }
                    }
                }
            }
        }
        (step_forms(w, &r, err, typed, &locations))
        h2 { (w.t("items")) " (" (r.items.len()) ")" }
        @if r.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="items" {
                thead { tr {
                    th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("state")) } th { (w.t("item_status")) }
                    th { (w.t("epc")) } th { (w.t("condition")) }
                } }
                tbody {
                    @for i in &r.items {
                        tr {
                            td { a href=(format!("/assets/{}", i.asset_id)) { (i.asset_number) } }
                            td { (i.name) } td { (state_badge(w, &i.asset_state)) } td { (words::item_status(w.lang, &i.status)) }
                            td.mono { @match &i.epc { Some(e) => { (e) }, None => { (no_tag_badge(w, i.asset_id)) } } }
                            td { (i.return_condition.clone().map(|c| w.tv(&c)).unwrap_or_default()) }
                        }
                    }
                }
            } }
        }
        h2 { (w.t("history")) }
        ol.timeline data-test="history" {
            @for s in &r.steps {
                li { time { (when(&s.at)) } " " (words::step_sentence(w.lang, &names, s)) }
            }
        }
        h2 { (w.t("documents")) }
        @if r.documents.is_empty() { p.empty { (w.t("empty")) } }
        ul {
            @for d in &r.documents {
                li { a href=(format!("/api/v1/documents/{}", d.id)) { (d.filename) } " (" (d.size) " B)" }
            }
        }
        @if can_upload {
            form.stack method="post" action=(with_form_token(w, &format!("/requests/{}/documents", r.id))) enctype="multipart/form-data" {
                label { (w.t("documents")) " (PDF / PNG / JPEG / WebP, ≤ 5 MB)" input type="file" name="file" required; (field_error(w.lang, err, "content-type")) (field_error(w.lang, err, "body")) }
                button type="submit" { (w.t("upload")) }
            }
        }
    };
    let mut resp = layout(w, &words::request_title(w.lang, r.kind, r.id), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

pub(super) async fn request_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    render_request(&st, &w, id, None, &Form::new()).await
}

pub(super) fn money_field(f: &Form, form_field: &str, api_field: &str) -> Result<i64, AppError> {
    match text(f, form_field) {
        Some(v) => parse_yuan(api_field, &v),
        None => Err(Reason::Required {
            field: api_field.into(),
        }
        .into()),
    }
}

/// The step a form posts. An amount missing or unreadable is blamed on its
/// field and the step's other problems are found too (`StepBody::check`),
/// so the form shows them all at once.
pub(super) fn step_from_form(f: &Form) -> Result<StepBody, AppError> {
    let mut problems: Vec<AppError> = Vec::new();
    let mut money = |form_field: &str, api_field: &str| -> i64 {
        money_field(f, form_field, api_field).unwrap_or_else(|e| {
            problems.push(e);
            0
        })
    };
    let action = text(f, "action").unwrap_or_default();
    let mut v = json!({ "action": action });
    if let Some(c) = text(f, "comment") {
        v["comment"] = json!(c);
    }
    match action.as_str() {
        "reject" => {
            v["comment"] = json!(f.get("comment").cloned().unwrap_or_default());
        }
        "appraise" => {
            v["appraised_value_fen"] = json!(money("appraised_value", "appraised_value_fen"));
            v["appraiser"] = json!(f.get("appraiser").cloned().unwrap_or_default());
            v["report_ref"] = json!(f.get("report_ref").cloned().unwrap_or_default());
            v["disposal_method"] = json!(text(f, "disposal_method"));
        }
        "record_sale" => {
            v["hammer_price_fen"] = json!(money("hammer_price", "hammer_price_fen"));
            v["buyer"] = json!(f.get("buyer").cloned().unwrap_or_default());
            if text(f, "fees").is_some() {
                v["fees_fen"] = json!(money("fees", "fees_fen"));
            }
            v["fees_document_id"] = json!(get_i64(f, "fees_document_id")?);
        }
        "confirm_remittance" => {
            v["amount_fen"] = json!(money("amount", "amount_fen"));
            v["treasury_ref"] = json!(f.get("treasury_ref").cloned().unwrap_or_default());
        }
        "decide_cause" => {
            let cause = text(f, "cause").unwrap_or_default();
            v["cause"] = json!(cause);
            if cause == "human" {
                v["responsible"] = json!(text(f, "responsible"));
                v["remedy"] = json!(text(f, "remedy"));
                if let Some(a) = text(f, "amount") {
                    v["amount_fen"] = json!(parse_yuan("amount_fen", &a)?);
                }
                v["amount_reason"] = json!(text(f, "amount_reason"));
            }
        }
        "extend" => {
            v["new_due"] = json!(f.get("new_due").cloned().unwrap_or_default());
        }
        "confirm_payment" => {
            v["amount_fen"] = json!(money("amount", "amount_fen"));
            v["receipt_ref"] = json!(text(f, "receipt_ref"));
        }
        "procure" => {
            v["supplier"] = json!(f.get("supplier").cloned().unwrap_or_default());
            v["contract_number"] = json!(f.get("contract_number").cloned().unwrap_or_default());
            // A purchase of several lines has a price box per line
            // (`line_price_<line_no>`).
            let mut boxes: Vec<(i64, String)> = f
                .iter()
                .filter_map(|(k, val)| {
                    let n = k.strip_prefix("line_price_")?.parse().ok()?;
                    Some((n, val.clone()))
                })
                .collect();
            boxes.sort();
            if boxes.is_empty() {
                v["unit_price_fen"] = json!(money("unit_price", "unit_price_fen"));
            } else {
                let mut prices = Vec::new();
                for (i, (line_no, typed)) in boxes.iter().enumerate() {
                    let field = format!("line_prices[{i}].unit_price_fen");
                    let price = parse_yuan(&field, typed.trim()).unwrap_or_else(|e| {
                        problems.push(e);
                        0
                    });
                    prices.push(json!({ "line_no": line_no, "unit_price_fen": price }));
                }
                v["line_prices"] = json!(prices);
            }
        }
        "fulfil" => {
            v["asset_ids"] = json!(parse_ids(
                "asset_ids",
                &f.get("asset_ids").cloned().unwrap_or_default()
            )?);
        }
        "receive" => {
            v["location_id"] =
                json!(get_i64(f, "location_id")?.ok_or_else(|| required("location_id"))?);
            v["received"] = json!(get_i64(f, "received")?);
            let mut counts: Vec<(i64, String)> = f
                .iter()
                .filter_map(|(k, val)| {
                    let n = k.strip_prefix("received_line_")?.parse().ok()?;
                    Some((n, val.clone()))
                })
                .collect();
            counts.sort();
            if !counts.is_empty() {
                let mut lines = Vec::new();
                for (i, (line_no, typed)) in counts.iter().enumerate() {
                    let field = format!("received_lines[{i}].received");
                    let mut one = Form::new();
                    one.insert(field.clone(), typed.clone());
                    let received = get_i64(&one, &field)?.unwrap_or(0);
                    lines.push(json!({ "line_no": line_no, "received": received }));
                }
                v["received_lines"] = json!(lines);
            }
        }
        _ => {}
    }
    let body: StepBody = serde_json::from_value(v).map_err(|e| not_understood("action", e))?;
    if problems.is_empty() {
        return Ok(body);
    }
    let blamed: Vec<String> = problems
        .iter()
        .flat_map(|e| e.field_problems())
        .map(|(f, _)| f.to_owned())
        .collect();
    if let Err(e) = body.check() {
        for (field, reason) in e.field_problems() {
            if !blamed.iter().any(|b| b == field) {
                problems.push(AppError::from(reason.clone()).with_field(field));
            }
        }
    }
    AppError::collect(problems).map(|()| body)
}

pub(super) async fn request_step(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let result = match ids_from_words(&st, &f)
        .await
        .and_then(|ids| step_from_form(&ids))
    {
        Ok(b) => st.store.take_step(w.ctx.clone(), id, b).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other_with(
            &format!("/requests/{id}"),
            Done::step(f.get("action").map_or("", |a| a.trim())),
        ),
        Err(e) if e.kind == ErrorKind::Internal => fail(&w, e),
        Err(e) => render_request(&st, &w, id, Some(&e), &f).await,
    }
}

pub(super) async fn upload_document(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    PageMultipart(mut multipart): PageMultipart,
) -> Response {
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let ct = field.content_type().unwrap_or("").to_ascii_lowercase();
                match field.bytes().await {
                    Ok(b) => file = Some((name, ct, b.to_vec())),
                    Err(e) => {
                        let err = upload_failed(&e, crate::workflow::MAX_DOCUMENT_BYTES);
                        return render_request(&st, &w, id, Some(&err), &Form::new()).await;
                    }
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                let err = upload_failed(&e, crate::workflow::MAX_DOCUMENT_BYTES);
                return render_request(&st, &w, id, Some(&err), &Form::new()).await;
            }
        }
    }
    let result = match file {
        None => Err(Reason::NoFile.into()),
        Some((name, ct, data)) => match crate::workflow::clean_filename(&name).and_then(|n| {
            crate::workflow::check_document(&ct, &data, crate::workflow::MAX_DOCUMENT_BYTES)
                .map(|()| n)
        }) {
            Ok(n) => st
                .store
                .add_document(w.ctx.actor.clone(), id, n, ct, data)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => see_other_with(&format!("/requests/{id}"), Done::Uploaded),
        Err(e) => render_request(&st, &w, id, Some(&e), &Form::new()).await,
    }
}

/// 集中采购: the purchases awaiting procurement in the approver's reach,
/// each with a box to pick it and its unit price, and the one contract's
/// supplier, number and date.
pub(super) async fn procurements_page(State(st): State<AppState>, w: Web) -> Response {
    render_procurements(&st, &w, &Form::new(), None).await
}

async fn render_procurements(
    st: &AppState,
    w: &Web,
    typed: &Form,
    err: Option<&AppError>,
) -> Response {
    let page = tryp!(
        w,
        st.store
            .requests(
                w.ctx.actor.clone(),
                RequestQuery {
                    kind: Some(RequestKind::Purchase.as_str().into()),
                    stage: Some(Stage::Procurement.as_str().into()),
                    per_page: Some(200),
                    ..RequestQuery::default()
                },
            )
            .await
    );
    let mut q = NameQuery::default();
    ask_requests(&mut q, &page.items);
    let names = tryp!(w, st.store.names(q).await);
    let v = |k: &str| typed.get(k).cloned().unwrap_or_default();
    let picked = |id: i64| typed.is_empty() || typed.contains_key(&format!("pick_{id}"));
    let body = html! {
        p { (w.t("central_procurement_hint")) }
        (form_error(w.lang, err, &["supplier", "contract_number", "purchased_on"]))
        @if page.items.is_empty() {
            p.empty { (w.t("none_at_procurement")) }
        } @else {
            form.stack method="post" action="/procurements" {
                (csrf_field(w))
                table data-test="at-procurement" {
                    thead { tr {
                        th { (w.t("pick")) } th { (w.t("rc_request_id")) } th { (w.t("unit")) }
                        th { (w.t("destination")) } th { (w.t("quantity")) } th { (w.t("budget")) }
                        th { (w.t("reason")) } th { (w.t("unit_price")) }
                    } }
                    tbody {
                        @for r in &page.items {
                            tr {
                                td { input type="checkbox" name=(format!("pick_{}", r.id)) value="1" checked[picked(r.id)] aria-label=(format!("{} {}", w.t("pick"), r.id)); }
                                td { a href=(format!("/requests/{}", r.id)) { (r.id) } }
                                td { (r.unit_id.map(|u| words::unit(w.lang, &names, u)).unwrap_or_default()) }
                                td { (w.t(&format!("dest_{}", r.destination.as_str()))) }
                                td { (r.quantity.unwrap_or(0)) }
                                td { (r.budget_fen.map(yuan).unwrap_or_default()) }
                                td { (r.reason.clone().unwrap_or_default()) }
                                td { input name=(format!("price_{}", r.id)) value=(v(&format!("price_{}", r.id))) inputmode="decimal" aria-label=(format!("{} {}", w.t("unit_price"), r.id)); }
                            }
                        }
                    }
                }
                label { (w.t("supplier")) input name="supplier" value=(v("supplier")) required; (field_error(w.lang, err, "supplier")) }
                label { (w.t("contract_number")) input name="contract_number" value=(v("contract_number")) required; (field_error(w.lang, err, "contract_number")) }
                label { (w.t("purchased_on")) input type="date" name="purchased_on" value=(v("purchased_on")); (field_error(w.lang, err, "purchased_on")) }
                label { (w.t("comment")) input name="comment" value=(v("comment")); }
                button type="submit" data-test="procure-together" { (w.t("procure_together")) }
            }
        }
    };
    let mut resp = layout(w, w.t("central_procurement"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

/// The procurement a 集中采购 form describes: the picked requests (boxes
/// `pick_{id}`) with their prices in yuan (`price_{id}`); an unreadable
/// price is blamed on `lines`.
fn procurement_from_form(f: &Form) -> Result<NewProcurement, AppError> {
    let mut ids: Vec<i64> = f
        .keys()
        .filter_map(|k| k.strip_prefix("pick_"))
        .map(|id| parse_ids("request_ids", id))
        .collect::<Result<Vec<Vec<i64>>, AppError>>()?
        .into_iter()
        .flatten()
        .collect();
    ids.sort_unstable();
    let mut lines = Vec::with_capacity(ids.len());
    for &id in &ids {
        if let Some(p) = text(f, &format!("price_{id}")) {
            lines.push(ProcurementLine {
                request_id: id,
                unit_price_fen: parse_yuan("lines", &p)?,
            });
        }
    }
    Ok(NewProcurement {
        request_ids: ids,
        supplier: f.get("supplier").cloned().unwrap_or_default(),
        contract_number: f.get("contract_number").cloned().unwrap_or_default(),
        purchased_on: text(f, "purchased_on"),
        lines,
        comment: text(f, "comment"),
    })
}

pub(super) async fn procurements_submit(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let result = match procurement_from_form(&f) {
        Ok(p) => st.store.procure_together(w.ctx.clone(), p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => see_other_with("/procurements", Done::Procured(p.requests.len() as i64)),
        Err(e) if e.kind == ErrorKind::Internal => fail(&w, e),
        Err(e) => render_procurements(&st, &w, &f, Some(&e)).await,
    }
}
