//! 导入台账 (keepers and administrators): upload a register, see every
//! problem by row and column (a dry run), choose how columns map, import.
//! Works without JavaScript: the POST runs the dry run or the import and
//! renders the result on the same page (the import is one transaction;
//! the page answers when it is done, with its counts).

use super::*;
use crate::import::{Field, Mapping, Outcome};
use crate::store::ImportOptions;

/// What the form sent besides the file.
#[derive(Default)]
struct Sent {
    file_name: String,
    bytes: Vec<u8>,
    import: bool,
    warehouse_id: Option<i64>,
    /// Column heading → field key, from the selects ("" ignores; "auto"
    /// recognises by heading).
    mapping: Mapping,
}

pub(super) async fn import_page(State(st): State<AppState>, w: Web) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::CreateAsset, Scope::Warehouse)
    );
    render(&st, &w, &Sent::default(), None, None).await
}

async fn render(
    st: &AppState,
    w: &Web,
    sent: &Sent,
    outcome: Option<&Outcome>,
    error: Option<&AppError>,
) -> Response {
    let warehouses = tryp!(w, st.store.list_warehouses(1, 500).await).items;
    let lang = w.lang;
    let body = html! {
        p { (w.t("imp_intro")) }
        @if let Some(e) = error { p.error data-test="import-error" { (e.text(lang)) } }
        form.stack method="post" action=(with_form_token(w, "/assets/import")) enctype="multipart/form-data" data-test="import-form" {
            label { (w.t("imp_file")) input type="file" name="file" required accept=".xlsx,.xls,.ods,.csv"; }
            label { (w.t("imp_warehouse"))
                select name="warehouse_id" {
                    option value="" { (w.t("imp_any_warehouse")) }
                    @for wh in &warehouses {
                        option value=(wh.id) selected[sent.warehouse_id == Some(wh.id)] { (wh.name) }
                    }
                }
            }
            @if let Some(o) = outcome {
                fieldset data-test="mapping" {
                    legend { (w.t("imp_mapping")) }
                    @for (i, c) in o.columns.iter().enumerate() {
                        label {
                            (c.heading)
                            input type="hidden" name=(format!("heading_{i}")) value=(c.heading);
                            select name=(format!("map_{i}")) {
                                option value="" selected[c.field.is_none()] { (w.t("imp_ignore")) }
                                @for f in Field::ALL {
                                    option value=(f.key()) selected[c.field.as_deref() == Some(f.key())] { (f.label(lang)) }
                                }
                            }
                        }
                    }
                    p.hint { (w.t("imp_choose_again")) }
                }
            }
            div.actions {
                button type="submit" name="mode" value="dry" data-test="import-dry" { (w.t("imp_dry")) }
                button type="submit" name="mode" value="import" data-test="import-run" { (w.t("imp_run")) }
            }
        }
        @if let Some(o) = outcome { (result(lang, o)) }
    };
    layout(w, w.t("imp_title"), body)
}

/// What a dry run or import found: counts, stored or not, every problem.
fn result(lang: crate::i18n::Lang, o: &Outcome) -> Markup {
    let t = |k: &str| crate::i18n::t(lang, k);
    html! {
        section data-test="import-result" {
            p.summary {
                (t("imp_rows")) " " strong { (o.rows) } (lang.semicolon())
                (t("imp_created")) " " strong data-test="import-created" { (o.created) } (lang.semicolon())
                (t("imp_updated")) " " strong { (o.updated) } (lang.semicolon())
                (t("imp_unchanged")) " " strong { (o.unchanged) } (lang.semicolon())
                (t("imp_problems")) " " strong data-test="import-problems" { (o.problems.len()) }
            }
            p data-test="import-stored" {
                @if o.dry_run { (t("imp_not_stored")) } @else { (t("imp_stored")) }
            }
            @if !o.problems.is_empty() {
                div.scroll { table data-test="problems" {
                    thead { tr { th { (t("imp_row")) } th { (t("imp_column")) } th { (t("imp_value")) } th { (t("imp_problem")) } } }
                    tbody { @for p in &o.problems {
                        tr { td { (p.row) } td { (p.column) } td { (p.value) } td { (p.why.text(lang)) } }
                    } }
                } }
            }
            p { a href="/assets/import" { (t("imp_again")) } " " a href="/assets" { (t("register")) } }
        }
    }
}

/// The import itself, answered as it goes: the page's frame and a line
/// per twentieth of the rows stored are sent while the transaction runs
/// (a browser shows them as they arrive, no script needed), then the
/// result and the rest of the page.
async fn streamed_import(
    st: &AppState,
    w: &Web,
    sent: Sent,
    table: crate::import::Table,
) -> Response {
    const MARK: &str = "<!--import-progress-->";
    let lang = w.lang;
    let frame = layout(
        w,
        w.t("imp_title"),
        html! { p { (w.t("imp_running")) } (maud::PreEscaped(MARK)) },
    );
    let (parts, body) = frame.into_parts();
    let text = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return fail(w, AppError::internal(e.to_string())),
    };
    let Some((head, tail)) = text.split_once(MARK) else {
        return fail(w, AppError::internal("import page frame"));
    };
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(32);
    let store = st.store.clone();
    let ctx = w.ctx.clone();
    tokio::spawn(async move {
        let total = table.rows.len().max(1);
        let progress = tx.clone();
        let last = std::sync::atomic::AtomicUsize::new(0);
        let done = tokio::task::spawn_blocking(move || {
            store.import_register_blocking(
                &ctx,
                &table,
                &sent.mapping,
                &ImportOptions {
                    dry_run: false,
                    warehouse_id: sent.warehouse_id,
                },
                &move |n| {
                    let step = n * 20 / total;
                    if last.swap(step, std::sync::atomic::Ordering::Relaxed) != step {
                        let line = crate::i18n::t(lang, "imp_progress")
                            .replace("{n}", &n.to_string())
                            .replace("{total}", &total.to_string());
                        let _ = progress.try_send(
                            html! { p.progress data-test="import-progress" { (line) } }
                                .into_string(),
                        );
                    }
                },
            )
        })
        .await;
        let end = match done {
            Ok(Ok(o)) => result(lang, &o).into_string(),
            Ok(Err(e)) => {
                html! { p.error data-test="import-error" { (e.text(lang)) } }.into_string()
            }
            Err(e) => {
                html! { p.error { (AppError::internal(e.to_string()).text(lang)) } }.into_string()
            }
        };
        let _ = tx.send(end).await;
        let _ = tx.send(tail).await;
    });
    let stream = futures_util::stream::unfold((Some(head), rx), |(first, mut rx)| async move {
        if let Some(h) = first {
            return Some((
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(h)),
                (None, rx),
            ));
        }
        let next = rx.recv().await?;
        Some((Ok(axum::body::Bytes::from(next)), (None, rx)))
    });
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
}

pub(super) async fn import_submit(
    State(st): State<AppState>,
    w: Web,
    PageMultipart(mut multipart): PageMultipart,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::CreateAsset, Scope::Warehouse)
    );
    let limit = st.config.max_body_bytes;
    let mut sent = Sent::default();
    let mut headings: HashMap<String, String> = HashMap::new();
    let mut maps: HashMap<String, String> = HashMap::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "file" {
                    sent.file_name = field.file_name().unwrap_or("file").to_owned();
                    match field.bytes().await {
                        Ok(b) => sent.bytes = b.to_vec(),
                        Err(e) => return fail(&w, upload_failed(&e, limit)),
                    }
                    continue;
                }
                let text = match field.text().await {
                    Ok(t) => t,
                    Err(e) => return fail(&w, upload_failed(&e, limit)),
                };
                if name == "mode" {
                    sent.import = text == "import";
                } else if name == "warehouse_id" {
                    sent.warehouse_id = text.trim().parse().ok();
                } else if let Some(i) = name.strip_prefix("heading_") {
                    headings.insert(i.to_owned(), text);
                } else if let Some(i) = name.strip_prefix("map_") {
                    maps.insert(i.to_owned(), text);
                }
            }
            Ok(None) => break,
            Err(e) => return fail(&w, upload_failed(&e, limit)),
        }
    }
    for (i, h) in headings {
        if let Some(m) = maps.remove(&i) {
            sent.mapping.insert(h, m);
        }
    }
    if sent.bytes.is_empty() {
        return render(&st, &w, &sent, None, Some(&Reason::NoFile.into())).await;
    }
    let (name, bytes) = (sent.file_name.clone(), std::mem::take(&mut sent.bytes));
    let table =
        match tokio::task::spawn_blocking(move || crate::import::read_table(&name, &bytes)).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return render(&st, &w, &sent, None, Some(&e)).await,
            Err(e) => return fail(&w, AppError::internal(e.to_string())),
        };
    if sent.import {
        return streamed_import(&st, &w, sent, table).await;
    }
    let outcome = st
        .store
        .import_register(
            w.ctx.clone(),
            table,
            sent.mapping.clone(),
            ImportOptions {
                dry_run: !sent.import,
                warehouse_id: sent.warehouse_id,
            },
        )
        .await;
    match outcome {
        Ok(o) => render(&st, &w, &sent, Some(&o), None).await,
        Err(e) => render(&st, &w, &sent, None, Some(&e)).await,
    }
}
