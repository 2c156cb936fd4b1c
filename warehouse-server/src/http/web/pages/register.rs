//! The register: the asset list, one asset, its photo, and the virtual warehouse of idle assets.

use super::*;

pub(super) const COLUMNS: &[&str] = &[
    "asset_number",
    "name",
    "category",
    "model",
    "state",
    "condition",
    "holder",
    "value",
    "purchase_date",
    "epc",
    "last_seen",
    "region",
    "source",
];
pub(super) const DEFAULT_COLUMNS: &[&str] = &[
    "asset_number",
    "name",
    "category",
    "state",
    "holder",
    "value",
];

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AssetFilter {
    q: Option<String>,
    region: Option<String>,
    state: Option<String>,
    category_id: Option<String>,
    source: Option<String>,
    page: Option<i64>,
    cols: Option<String>,
}

pub(super) async fn assets(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<AssetFilter>,
) -> Response {
    let q = f.q.clone().filter(|s| !s.trim().is_empty());
    // A hex string of EPC length is searched as an EPC too.
    let epc = q
        .as_ref()
        .filter(|s| s.len() >= 24 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned();
    let state = f.state.as_deref().and_then(AssetState::parse);
    let source = f
        .source
        .as_deref()
        .and_then(crate::acquisition::AssetSource::parse);
    let category = f.category_id.as_deref().and_then(|c| c.parse().ok());
    let region: Option<i64> = f.region.as_deref().and_then(|r| r.parse().ok());
    let regions = tryp!(w, regions_in_scope(&st, &w).await);
    let page = tryp!(
        w,
        st.store
            .search_assets(
                AssetQuery {
                    q: if epc.is_some() { None } else { q.clone() },
                    epc,
                    state,
                    category_id: category,
                    region,
                    source,
                    page: f.page,
                    per_page: Some(50),
                    ..AssetQuery::default()
                },
                asset_visibility(&w.ctx.actor),
            )
            .await
    );
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let mut q = NameQuery::default();
    for a in &page.items {
        q.unit(a.holder_unit_id).location(a.holder_location_id);
    }
    let names = tryp!(w, st.store.names(q).await);
    let cat_name = |id: i64| {
        cats.iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    // Column choice: the form's, else the remembered cookie, else default.
    let chosen: Vec<String> = f
        .cols
        .clone()
        .or_else(|| w.cookies.get("cols_assets").cloned())
        .map(|c| {
            c.split(['.', ','])
                .filter(|c| COLUMNS.contains(c))
                .map(str::to_owned)
                .collect()
        })
        .filter(|v: &Vec<String>| !v.is_empty())
        .unwrap_or_else(|| {
            // The region column by default once the network has regions.
            DEFAULT_COLUMNS
                .iter()
                .copied()
                .chain((!regions.is_empty()).then_some("region"))
                .map(str::to_owned)
                .collect()
        });
    let show = |c: &str| chosen.iter().any(|x| x == c);
    let link = |p: i64| {
        let mut qs = vec![format!("page={p}")];
        if let Some(q) = &f.q {
            qs.push(format!("q={}", percent_encode(q)));
        }
        if let Some(s) = &f.state {
            qs.push(format!("state={s}"));
        }
        if let Some(c) = &f.category_id {
            qs.push(format!("category_id={c}"));
        }
        if let Some(s) = source {
            qs.push(format!("source={}", s.as_str()));
        }
        if let Some(r) = region {
            qs.push(format!("region={r}"));
        }
        format!("/assets?{}", qs.join("&"))
    };
    // The workbook keeps the list's filters.
    let xlsx_link = link(1).replacen("/assets?page=1", "/api/v1/assets/export.xlsx?page=1", 1);
    let body = html! {
        form.filters method="get" action="/assets" {
            input name="q" value=(f.q.clone().unwrap_or_default()) placeholder=(format!("{} / {} / {}", w.t("name"), w.t("asset_number"), w.t("epc")));
            select name="state" {
                option value="" { (w.t("state")) ": " (w.t("all")) }
                @for s in AssetState::ALL {
                    option value=(s.as_str()) selected[state == Some(*s)] { (w.tv(s.as_str())) }
                }
            }
            select name="category_id" {
                option value="" { (w.t("category")) ": " (w.t("all")) }
                @for c in &cats {
                    option value=(c.id) selected[category == Some(c.id)] { (c.name) }
                }
            }
            select name="source" data-test="source-filter" {
                option value="" { (w.t("source")) (w.lang.colon()) (w.t("all")) }
                @for s in crate::acquisition::AssetSource::ALL {
                    option value=(s.as_str()) selected[source == Some(*s)] { (w.t(&format!("src_{}", s.as_str()))) }
                }
            }
            (region_select(&w, &regions, region))
            button type="submit" { (w.t("search")) }
            a href="/assets" { (w.t("reset")) }
            @if authorize(&w.ctx.actor, Action::CreateAsset, Scope::Warehouse).is_ok() {
                a href="/acquisitions/new" data-test="new-acquisition" { (w.t("acquisitions")) }
            }
            a href="/api/v1/assets/export.csv" { (w.t("export_csv")) }
            a href=(xlsx_link) data-test="register-xlsx" { (w.t("export_xlsx")) }
            @if authorize(&w.ctx.actor, Action::CreateAsset, Scope::Warehouse).is_ok() {
                a href="/assets/import" data-test="register-import" { (w.t("imp_link")) }
            }
        }
        details.columns {
            summary { (w.t("columns")) }
            form method="get" action="/assets" data-remember="cols_assets" {
                @for c in COLUMNS {
                    label { input type="checkbox" name="col" value=(c) checked[show(c)]; (w.t(c)) }
                }
                input type="hidden" name="cols" value=(chosen.join("."));
                button type="submit" { (w.t("apply")) }
            }
        }
        p.summary { (w.t("total")) " " strong data-test="asset-total" { (crate::http::web::total_text(&page)) } }
        @if page.items.is_empty() {
            p.empty { (w.t("empty")) }
        } @else {
            form method="get" action="/requests/new/disposal" id="bulk" {
                p.bulk { (w.t("selected")) ": " span data-selected-count { "0" } " "
                    @for k in [RequestKind::Disposal, RequestKind::Damage, RequestKind::Intake] {
                        @if may_file(w.role, k) {
                            " "
                            button type="submit" formaction=(format!("/requests/new/{}", k.as_str())) data-bulk { (w.tv(k.as_str())) }
                        }
                    }
                }
            }
            div.scroll { table.assets {
                thead { tr {
                    th { input type="checkbox" data-select-all; }
                    @for c in COLUMNS { @if show(c) { th { (w.t(c)) } } }
                } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td { input type="checkbox" name="number" value=(a.asset_number) form="bulk" data-select; }
                            @if show("asset_number") { td { a href=(format!("/assets/{}", a.id)) { (a.asset_number) } } }
                            @if show("name") { td { (a.name) } }
                            @if show("category") { td { (cat_name(a.category_id)) } }
                            @if show("model") { td { (a.model.clone().unwrap_or_default()) } }
                            @if show("state") { td { (state_badge(&w, a.state.as_str())) } }
                            @if show("condition") { td { (w.tv(a.condition.as_str())) } }
                            @if show("holder") { td { (holder(&w, &names, a.holder_unit_id, a.holder_location_id)) } }
                            @if show("value") { td.num { (yuan(a.original_value_fen)) } }
                            @if show("purchase_date") { td { (a.purchase_date.clone().unwrap_or_default()) } }
                            @if show("epc") { td.mono { (a.epc.clone().unwrap_or_default()) } }
                            @if show("last_seen") { td { (a.last_seen_at.as_ref().map(when).unwrap_or_default()) } }
                            @if show("region") { td data-test="asset-region" { (region_name(&regions, a.region_id)) } }
                            @if show("source") { td data-test="asset-source" { (w.t(&format!("src_{}", a.source.as_str()))) } }
                        }
                    }
                }
            } }
            (pager(&w, &page, link))
        }
    };
    let resp = layout(&w, w.t("register"), body);
    if f.cols.is_some() {
        set_cookie(
            resp,
            &format!(
                "cols_assets={}; SameSite=Lax; Path=/; Max-Age=31536000",
                chosen.join(".")
            ),
        )
    } else {
        resp
    }
}

pub(super) async fn asset_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    let d = tryp!(w, st.store.asset_detail(id).await);
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ViewAsset, d.asset.scope())
    );
    let a = &d.asset;
    let can_list = a.state == AssetState::Allocated
        && authorize(&w.ctx.actor, Action::ListIdle, a.scope()).is_ok();
    let can_photo = authorize(&w.ctx.actor, Action::UpdateAsset, a.scope()).is_ok();
    let has_photo = tryp!(w, st.store.asset_photo(id).await).is_some();
    let mut q = NameQuery::default();
    q.unit(a.holder_unit_id)
        .location(a.holder_location_id)
        .category(Some(a.category_id));
    for e in &d.timeline {
        words::ask_event(&mut q, e);
    }
    // Where it came from: the acquisition's details for those who see the
    // register (others see the word).
    let acquisition = match a.acquisition_id {
        Some(acq) => st.store.acquisition(w.ctx.actor.clone(), acq).await.ok(),
        None => None,
    };
    if let Some(acq) = &acquisition {
        q.unit(acq.on_behalf_unit_id);
    }
    let names = tryp!(w, st.store.names(q).await);
    let idle = tryp!(w, asset_idle_panel(&st, &w, a).await);
    let body = html! {
        div.asset {
            @if has_photo {
                img.photo src=(format!("/assets/{id}/photo")) alt=(a.name) data-test="asset-photo";
            } @else {
                div.photo aria-hidden="true" { "📦" }
            }
            dl {
                dt { (w.t("asset_number")) } dd { (a.asset_number) }
                dt { (w.t("name")) } dd { (a.name) }
                dt { (w.t("category")) } dd { (words::category(w.lang, &names, a.category_id)) }
                dt { (w.t("state")) } dd { (state_badge(&w, a.state.as_str())) }
                dt { (w.t("condition")) } dd { (w.tv(a.condition.as_str())) }
                dt { (w.t("model")) } dd { (a.model.clone().unwrap_or_default()) }
                dt { (w.t("value")) } dd { (yuan(a.original_value_fen)) }
                dt { (w.t("purchase_date")) } dd { (a.purchase_date.clone().unwrap_or_default()) }
                dt { (w.t("source")) }
                dd data-test="source" {
                    (w.t(&format!("src_{}", a.source.as_str())))
                    @if let Some(acq) = &acquisition {
                        @for (k, v) in source_lines(&w, &names, acq) {
                            br; span { (k) (w.lang.colon()) (v) }
                        }
                        @for d in &acq.documents {
                            br; a href=(format!("/api/v1/documents/{}", d.id)) data-test="source-document" { (w.t("acq_document")) (w.lang.colon()) (d.filename) }
                        }
                        br; a href=(format!("/acquisitions/{}", acq.id)) { (w.t("acq_record")) }
                    }
                }
                dt { (w.t("holder")) } dd data-test="holder" { (holder(&w, &names, a.holder_unit_id, a.holder_location_id)) }
                dt { (w.t("epc")) } dd.mono { @match &a.epc { Some(e) => { (e) }, None => { (no_tag_badge(&w, a.id)) } } }
                dt { (w.t("last_seen")) } dd { (a.last_seen_at.as_ref().map(when).unwrap_or_default()) }
            }
        }
        @if can_photo {
            form.inline method="post" action=(with_form_token(&w, &format!("/assets/{id}/photo"))) enctype="multipart/form-data" {
                label { (w.t("photo")) " (PNG / JPEG / WebP, ≤ 5 MB) " input type="file" name="file" accept="image/png,image/jpeg,image/webp" required; }
                button type="submit" data-test="upload-photo" { (w.t("upload")) }
            }
        }
        @if can_list {
            form method="post" action=(format!("/assets/{id}/idle")) {
                (csrf_field(&w))
                label { (w.t("notes")) input name="notes"; }
                button type="submit" { (w.t("list_idle")) }
            }
        }
        (idle)
        h2 { (w.t("timeline")) }
        ol.timeline data-test="timeline" {
            @for e in &d.timeline {
                li {
                    time { (when(&crate::time::ts(e.at))) }
                    " " (words::event_sentence(w.lang, &names, e))
                }
            }
        }
    };
    layout(&w, &format!("{} {}", a.asset_number, a.name), body)
}

pub(super) async fn asset_list_idle(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    tryp!(
        w,
        st.store
            .list_idle(w.ctx.clone(), id, text(&f, "notes"))
            .await
    );
    see_other_with(&format!("/assets/{id}"), Done::Listed)
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ListingFilter {
    q: Option<String>,
    page: Option<i64>,
}

pub(super) async fn virtual_warehouse(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<ListingFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::BrowseVirtualWarehouse, Scope::Global)
    );
    let page = tryp!(
        w,
        st.store
            .virtual_warehouse(
                None,
                f.q.clone(),
                crate::policy::home_region(&w.ctx.actor),
                Paging {
                    page: f.page,
                    per_page: Some(50)
                }
            )
            .await
    );
    // Nearness is only told to a person placed in a region.
    let placed = crate::policy::home_region(&w.ctx.actor).is_some();
    let body = html! {
        (search_box(&w, "/virtual-warehouse", f.q.as_deref(), w.t("search_listings"), &[]))
        @if page.items.is_empty() { p.empty { (w.t("empty")) } } @else {
            div.scroll { table data-test="listings" {
                thead { tr {
                    th {} th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("unit")) }
                    th { (w.t("listing_region")) } th { (w.t("condition")) } th { (w.t("value")) } th { (w.t("notes")) } th {}
                } }
                tbody {
                    @for l in &page.items {
                        tr {
                            td { @if l.has_photo { img.thumb src=(format!("/assets/{}/photo", l.asset_id)) alt=(l.name); } }
                            td { a href=(format!("/assets/{}", l.asset_id)) data-test="listing-link" { (l.asset_number) } }
                            td { a href=(format!("/assets/{}", l.asset_id)) { (l.name) } }
                            td { (l.unit_name) }
                            td data-test="listing-region" {
                                (l.region_name.clone().unwrap_or_default())
                                @match (l.region_id.filter(|_| placed), l.nearness) {
                                    (Some(_), 0) => { " " span.badge { (w.t("near_own")) } }
                                    (Some(_), 1) => { " " span.badge { (w.t("near_city")) } }
                                    _ => {}
                                }
                            }
                            td { (w.tv(l.condition.as_str())) } td.num { (yuan(l.original_value_fen)) }
                            td { (l.notes.clone().unwrap_or_default()) }
                            td { @if may_file(w.role, RequestKind::Transfer) && w.unit_id != Some(l.unit_id) {
                                @if l.requested { span.badge { (w.t("asked_for")) } } @else {
                                    a.button href=(format!("/requests/new/transfer?id={}", l.asset_id)) data-test="ask-for-it" { (w.t("ask_for_it")) }
                                }
                            } }
                        }
                    }
                }
            } }
        }
        (pager(&w, &page, |p| list_url("/virtual-warehouse", &[("q", f.q.as_deref())], p)))
    };
    layout(&w, w.t("virtual_warehouse"), body)
}

pub(super) async fn asset_photo(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    let a = tryp!(w, st.store.asset(id).await);
    tryp!(w, authorize(&w.ctx.actor, Action::ViewAsset, a.scope()));
    match tryp!(w, st.store.asset_photo(id).await) {
        Some((ct, data)) => (
            [
                (axum::http::header::CONTENT_TYPE, ct),
                (
                    axum::http::header::X_CONTENT_TYPE_OPTIONS,
                    "nosniff".to_owned(),
                ),
            ],
            data,
        )
            .into_response(),
        None => fail(&w, AppError::not_found("photo of asset", id)),
    }
}

pub(super) async fn asset_photo_upload(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
    PageMultipart(mut multipart): PageMultipart,
) -> Response {
    let limit = crate::workflow::MAX_DOCUMENT_BYTES;
    let mut file = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let ct = field.content_type().unwrap_or("").to_ascii_lowercase();
                match field.bytes().await {
                    Ok(b) => file = Some((ct, b.to_vec())),
                    Err(e) => return fail(&w, upload_failed(&e, limit)),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return fail(&w, upload_failed(&e, limit)),
        }
    }
    let Some((ct, data)) = file else {
        return fail(&w, Reason::NoFile.into());
    };
    if !ct.starts_with("image/") {
        return fail(
            &w,
            Reason::UnsupportedFileType {
                content_type: ct,
                accepted: vec!["image/png", "image/jpeg", "image/webp"],
            }
            .into(),
        );
    }
    tryp!(
        w,
        crate::workflow::check_document(&ct, &data, crate::workflow::MAX_DOCUMENT_BYTES)
    );
    tryp!(
        w,
        st.store.add_asset_photo(w.ctx.clone(), id, ct, data).await
    );
    see_other_with(&format!("/assets/{id}"), Done::Uploaded)
}
