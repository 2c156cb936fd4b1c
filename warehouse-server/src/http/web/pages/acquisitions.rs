//! Acquisitions (接收入库登记): the keeper's form for every way assets
//! arrive besides the purchase chain — transfer-in, donation, a dissolved
//! body's leftovers, confiscated and unclaimed property — with the source
//! document uploaded in the same submission, and the acquisition's page.

use super::*;
use crate::acquisition::{AcquiredAsset, Acquisition, AssetSource, NewAcquisition, NewDocument};

/// Asset rows on the form.
const ROWS: usize = 5;

/// The source's details as (label, value) lines, in the page's language.
pub(super) fn source_lines(w: &Web, names: &Names, a: &Acquisition) -> Vec<(String, String)> {
    let mut out = vec![(w.t("received_on").to_owned(), a.received_on.clone())];
    let mut add = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.push((w.t(key).to_owned(), v.clone()));
        }
    };
    add("from_agency", &a.from_agency);
    add("donor", &a.donor);
    add("body_name", &a.body_name);
    add("authority", &a.authority);
    add("document_number", &a.document_number);
    if let Some(u) = a.on_behalf_unit_id {
        out.push((
            w.t("on_behalf_unit").to_owned(),
            words::unit(w.lang, names, u),
        ));
    }
    out
}

pub(super) async fn acquisition_form(State(st): State<AppState>, w: Web) -> Response {
    render_form(&st, &w, &Form::new(), None).await
}

async fn render_form(st: &AppState, w: &Web, v: &Form, err: Option<&AppError>) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::CreateAsset, Scope::Warehouse)
    );
    let units = tryp!(w, st.store.list_units(1, 500).await).items;
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let val = |k: &str| v.get(k).cloned().unwrap_or_default();
    let chosen = val("source");
    let mut fields: Vec<String> = [
        "source",
        "received_on",
        "document_number",
        "from_agency",
        "donor",
        "body_name",
        "on_behalf_unit_id",
        "authority",
        "location_code",
        "location_id",
        "notes",
        "assets",
        "file",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for i in 0..ROWS {
        for f in [
            "asset_number",
            "name",
            "category_id",
            "original_value_fen",
            "model",
        ] {
            fields.push(format!("assets[{i}].{f}"));
        }
    }
    let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let body = html! {
        p.notice role="note" { (w.t("acq_rule")) }
        (form_error(w.lang, err, &field_refs))
        form.stack method="post" action=(with_form_token(w, "/acquisitions")) enctype="multipart/form-data" novalidate data-test="new-acquisition" {
            label { (w.t("source"))
                select name="source" required data-test="acq-source" {
                    @for s in AssetSource::ACQUIRED {
                        option value=(s.as_str()) selected[chosen == s.as_str()] { (w.t(&format!("src_{}", s.as_str()))) }
                    }
                }
                (field_error(w.lang, err, "source"))
            }
            label { (w.t("received_on")) input type="date" name="received_on" required value=(val("received_on")); (field_error(w.lang, err, "received_on")) }
            label { (w.t("location_code")) input name="location_code" required value=(val("location_code")); (field_error(w.lang, err, "location_code")) (field_error(w.lang, err, "location_id")) }
            fieldset {
                legend { (w.t("acq_details")) }
                p.hint { (w.t("acq_details_hint")) }
                label { (w.t("from_agency")) input name="from_agency" value=(val("from_agency")); (field_error(w.lang, err, "from_agency")) }
                label { (w.t("donor")) input name="donor" value=(val("donor")); (field_error(w.lang, err, "donor")) }
                label { (w.t("body_name")) input name="body_name" value=(val("body_name")); (field_error(w.lang, err, "body_name")) }
                label { (w.t("on_behalf_unit"))
                    select name="on_behalf_unit_id" {
                        option value="" { "—" }
                        @for u in &units { option value=(u.id) selected[val("on_behalf_unit_id") == u.id.to_string()] { (u.name) } }
                    }
                    (field_error(w.lang, err, "on_behalf_unit_id"))
                }
                label { (w.t("authority")) input name="authority" value=(val("authority")); (field_error(w.lang, err, "authority")) }
                label { (w.t("document_number")) input name="document_number" value=(val("document_number")); (field_error(w.lang, err, "document_number")) }
                label { (w.t("acq_document")) " (PDF / PNG / JPEG / WebP, ≤ 5 MB) "
                    input type="file" name="file" accept="application/pdf,image/png,image/jpeg,image/webp" data-test="acq-file";
                    (field_error(w.lang, err, "file"))
                }
            }
            fieldset {
                legend { (w.t("acq_assets")) }
                (field_error(w.lang, err, "assets"))
                div.scroll { table data-test="acq-assets" {
                    thead { tr {
                        th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("category")) }
                        th { (w.t("acq_value_yuan")) } th { (w.t("model")) }
                    } }
                    tbody { @for i in 0..ROWS {
                        @let k = |f: &str| format!("a{i}_{f}");
                        @let e = |f: &str| format!("assets[{i}].{f}");
                        tr {
                            td { input name=(k("number")) size="12" value=(val(&k("number"))); (field_error(w.lang, err, &e("asset_number"))) }
                            td { input name=(k("name")) value=(val(&k("name"))); (field_error(w.lang, err, &e("name"))) }
                            td {
                                select name=(k("category")) {
                                    option value="" { "—" }
                                    @for c in &cats { option value=(c.id) selected[val(&k("category")) == c.id.to_string()] { (c.name) } }
                                }
                                (field_error(w.lang, err, &e("category_id")))
                            }
                            td { input name=(k("value")) size="10" inputmode="decimal" value=(val(&k("value"))); (field_error(w.lang, err, &e("original_value_fen"))) }
                            td { input name=(k("model")) size="10" value=(val(&k("model"))); }
                        }
                    } }
                } }
            }
            label { (w.t("notes")) textarea name="notes" rows="2" { (val("notes")) } }
            button type="submit" data-test="acq-submit" { (w.t("submit")) }
        }
    };
    let mut resp = layout(w, w.t("acquisitions"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

/// The acquisition the form's fields describe (the location typed as a
/// code, values in yuan); every field's problem at once.
async fn from_form(st: &AppState, f: &Form) -> Result<NewAcquisition, AppError> {
    let mut errors: Vec<AppError> = Vec::new();
    let source = match text(f, "source").as_deref().map(AssetSource::parse) {
        Some(Some(s)) => s,
        Some(None) | None => {
            errors.push(
                Reason::Required {
                    field: "source".into(),
                }
                .into(),
            );
            AssetSource::Donation
        }
    };
    let location_id = match text(f, "location_code") {
        None => {
            errors.push(
                Reason::Required {
                    field: "location_code".into(),
                }
                .into(),
            );
            0
        }
        Some(code) => match st.store.location_by_code("location_code", code).await {
            Ok(id) => id,
            Err(e) => {
                errors.push(e);
                0
            }
        },
    };
    let on_behalf_unit_id = match text(f, "on_behalf_unit_id") {
        None => None,
        Some(s) => match s.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(
                    Reason::BadId {
                        field: "on_behalf_unit_id".into(),
                        value: s,
                    }
                    .into(),
                );
                None
            }
        },
    };
    let mut assets = Vec::new();
    for i in 0..ROWS {
        let k = |n: &str| format!("a{i}_{n}");
        let (number, name, category, value, model) = (
            text(f, &k("number")),
            text(f, &k("name")),
            text(f, &k("category")),
            text(f, &k("value")),
            text(f, &k("model")),
        );
        if number.is_none() && name.is_none() && category.is_none() && value.is_none() {
            continue;
        }
        let at = assets.len();
        let category_id = match category.as_deref().map(str::parse::<i64>) {
            Some(Ok(id)) => id,
            _ => {
                errors.push(
                    AppError::from(Reason::Required {
                        field: "category_id".into(),
                    })
                    .with_field(format!("assets[{at}].category_id")),
                );
                0
            }
        };
        let original_value_fen = match value {
            None => {
                errors.push(
                    AppError::from(Reason::Required {
                        field: "original_value_fen".into(),
                    })
                    .with_field(format!("assets[{at}].original_value_fen")),
                );
                0
            }
            Some(v) => match parse_yuan("original_value_fen", &v) {
                Ok(n) => n,
                Err(e) => {
                    errors.push(e.with_field(format!("assets[{at}].original_value_fen")));
                    0
                }
            },
        };
        assets.push(AcquiredAsset {
            asset_number: number.unwrap_or_default(),
            name: name.unwrap_or_default(),
            category_id,
            model,
            original_value_fen,
            condition: None,
            notes: None,
        });
    }
    AppError::collect(errors)?;
    Ok(NewAcquisition {
        source,
        received_on: text(f, "received_on").unwrap_or_default(),
        document_number: text(f, "document_number"),
        from_agency: text(f, "from_agency"),
        donor: text(f, "donor"),
        body_name: text(f, "body_name"),
        on_behalf_unit_id,
        authority: text(f, "authority"),
        location_id,
        notes: text(f, "notes"),
        assets,
    })
}

pub(super) async fn acquisition_submit(
    State(st): State<AppState>,
    w: Web,
    PageMultipart(mut multipart): PageMultipart,
) -> Response {
    let limit = crate::workflow::MAX_DOCUMENT_BYTES;
    let mut values = Form::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let ct = field.content_type().unwrap_or("").to_ascii_lowercase();
                match field.bytes().await {
                    // A file input left empty sends an empty part.
                    Ok(b) if b.is_empty() && name.is_empty() => {}
                    Ok(b) => file = Some((name, ct, b.to_vec())),
                    Err(e) => {
                        return render_form(&st, &w, &values, Some(&upload_failed(&e, limit))).await
                    }
                }
            }
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match field.text().await {
                    Ok(t) => {
                        values.insert(name, t);
                    }
                    Err(e) => {
                        return render_form(&st, &w, &values, Some(&upload_failed(&e, limit))).await
                    }
                }
            }
            Ok(None) => break,
            Err(e) => return render_form(&st, &w, &values, Some(&upload_failed(&e, limit))).await,
        }
    }
    let made = async {
        let doc = match file {
            None => None,
            Some((name, ct, data)) => {
                let filename =
                    crate::workflow::clean_filename(&name).map_err(|e| e.with_field("file"))?;
                crate::workflow::check_document(&ct, &data, limit)
                    .map_err(|e| e.with_field("file"))?;
                Some(NewDocument {
                    filename,
                    content_type: ct,
                    data,
                })
            }
        };
        let n = from_form(&st, &values).await?;
        st.store.create_acquisition(w.ctx.clone(), n, doc).await
    }
    .await;
    match made {
        Ok(a) => see_other_with(&format!("/acquisitions/{}", a.id), Done::Saved),
        Err(e) if e.kind == ErrorKind::Internal => fail(&w, e),
        Err(e) => render_form(&st, &w, &values, Some(&e)).await,
    }
}

pub(super) async fn acquisition_page(
    State(st): State<AppState>,
    w: Web,
    Path(id): Path<i64>,
) -> Response {
    let a = tryp!(w, st.store.acquisition(w.ctx.actor.clone(), id).await);
    let mut q = NameQuery::default();
    q.unit(a.on_behalf_unit_id).location(Some(a.location_id));
    let names = tryp!(w, st.store.names(q).await);
    let mut assets = Vec::new();
    for asset in &a.asset_ids {
        assets.push(tryp!(w, st.store.asset(*asset).await));
    }
    let body = html! {
        dl data-test="acquisition" {
            dt { (w.t("source")) } dd data-test="acq-source-word" { (w.t(&format!("src_{}", a.source.as_str()))) }
            @for (k, v) in source_lines(&w, &names, &a) { dt { (k) } dd { (v) } }
            dt { (w.t("location_code")) } dd { (words::location(w.lang, &names, a.location_id)) }
            @if let Some(n) = &a.notes { dt { (w.t("notes")) } dd { (n) } }
            dt { (w.t("acq_document")) }
            dd data-test="acq-documents" {
                @if a.documents.is_empty() { (w.t("acq_no_document")) }
                @for d in &a.documents {
                    a href=(format!("/api/v1/documents/{}", d.id)) { (d.filename) } " "
                }
            }
        }
        h2 { (w.t("acq_assets")) }
        div.scroll { table data-test="acq-created" {
            thead { tr { th { (w.t("asset_number")) } th { (w.t("name")) } th { (w.t("value")) } } }
            tbody { @for x in &assets {
                tr {
                    td { a href=(format!("/assets/{}", x.id)) { (x.asset_number) } }
                    td { (x.name) }
                    td.num { (yuan(x.original_value_fen)) }
                }
            } }
        } }
    };
    layout(
        &w,
        &format!(
            "{} · {}",
            w.t("acquisitions"),
            w.t(&format!("src_{}", a.source.as_str()))
        ),
        body,
    )
}
