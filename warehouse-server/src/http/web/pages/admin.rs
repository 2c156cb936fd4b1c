//! Administration: units, users, categories, daemons, warehouses, locations, settings; one's own password.

use super::*;

/// The admin page's one search (over users, units and daemons) and each
/// list's page.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AdminFilter {
    q: Option<String>,
    users_page: Option<i64>,
    units_page: Option<i64>,
    daemons_page: Option<i64>,
}

const ADMIN_PER_PAGE: i64 = 20;

pub(super) async fn admin(
    State(st): State<AppState>,
    w: Web,
    Query(f): Query<AdminFilter>,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    // Every unit for the new-user form; the list shows one page of the search.
    let units = tryp!(w, st.store.list_units(1, 500).await).items;
    let unit_page = tryp!(
        w,
        st.store
            .search_units(f.q.clone(), f.units_page.unwrap_or(1), ADMIN_PER_PAGE)
            .await
    );
    let cats = tryp!(w, st.store.list_categories(1, 500).await).items;
    let standards = tryp!(w, st.store.standards().await);
    let daemon_page = tryp!(
        w,
        st.store
            .search_daemons(f.q.clone(), f.daemons_page.unwrap_or(1), ADMIN_PER_PAGE)
            .await
    );
    let user_page = tryp!(
        w,
        st.store
            .search_users(f.q.clone(), f.users_page.unwrap_or(1), ADMIN_PER_PAGE)
            .await
    );
    // A list's link keeps the search and the other lists' pages.
    let link = |which: &str, p: i64| {
        let pages = [
            ("users_page", f.users_page),
            ("units_page", f.units_page),
            ("daemons_page", f.daemons_page),
        ];
        let mut qs: Vec<String> = pages
            .iter()
            .filter(|(k, _)| *k != which)
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
            qs.insert(0, format!("q={}", percent_encode(q)));
        }
        qs.push(format!("{which}={p}"));
        format!("/admin?{}", qs.join("&"))
    };
    let token = w.cookies.get("new_reader_token").cloned();
    let warehouses = tryp!(w, st.store.list_warehouses(1, 100).await).items;
    let mut locations = Vec::new();
    for wh in &warehouses {
        locations.push(tryp!(w, st.store.list_locations(wh.id, 1, 500).await).items);
    }
    let org = tryp!(w, st.store.get_setting("org.name").await).unwrap_or_default();
    let reuse = tryp!(w, st.store.get_setting(crate::store::REUSE_REACH_KEY).await)
        .unwrap_or_else(|| "network".into());
    // The region tree (三级联网), parents before children.
    let regions = tryp!(w, st.store.list_regions(1, 500).await).items;
    let region_name = |id: Option<i64>| {
        id.and_then(|id| regions.iter().find(|r| r.id == id))
            .map(|r| r.name.clone())
    };
    let depth = |r: &crate::register::Region| match r.level {
        crate::register::RegionLevel::Province => "",
        crate::register::RegionLevel::City => "\u{a0}\u{a0}",
        crate::register::RegionLevel::County => "\u{a0}\u{a0}\u{a0}\u{a0}",
    };
    let region_select = html! {
        label { (w.t("region")) select name="region_id" {
            option value="" { (w.t("whole_network")) }
            @for r in &regions { option value=(r.id) { (depth(r)) (r.name) } }
        } }
    };
    // Users' units and readers' locations by name.
    let mut q = NameQuery::default();
    for u in &user_page.items {
        q.unit(u.unit_id);
    }
    for d in &daemon_page.items {
        for r in &d.readers {
            q.location(r.location_id);
        }
    }
    let names = tryp!(w, st.store.names(q).await);
    let prefix = tryp!(
        w,
        st.store
            .get_setting(crate::commission::COMPANY_PREFIX_KEY)
            .await
    )
    .unwrap_or_default();
    let health = tryp!(
        w,
        st.store
            .reader_health(st.config.health_thresholds(), None)
            .await
    );
    let body = html! {
        @if let Some(t) = token { p.notice { (w.t("token_once")) ": " code { (t) } } }
        (crate::http::web::health::reader_health_panel(&w, &health, None))
        h2 { (w.t("settings")) }
        form.stack method="post" action="/admin/settings" {
            (csrf_field(&w))
            label { (w.t("org_name")) input name="org_name" value=(org) required; }
            label { (w.t("reuse_reach")) select name="reuse_reach" data-test="reuse-reach" {
                @for (v, k) in [("network", "reuse_network"), ("city", "reuse_city"), ("region", "reuse_region")] {
                    option value=(v) selected[reuse == v] { (w.t(k)) }
                }
            } }
            p { (w.t("company_prefix")) (w.lang.colon()) code { (prefix) } " " small.hint { (w.t("prefix_fixed")) } }
            button type="submit" { (w.t("save")) }
        }
        (search_box(&w, "/admin", f.q.as_deref(), w.t("search_admin"), &[]))
        h2 { (w.t("regions")) }
        ul data-test="regions" { @for r in &regions { li {
            (depth(r)) strong { (r.name) } " · " (w.tv(r.level.as_str())) " · " (r.agency)
        } } }
        form.stack method="post" action="/admin/regions" data-test="new-region" {
            (csrf_field(&w))
            label { (w.t("name")) input name="name" required; }
            label { (w.t("region_level")) select name="level" {
                @for l in [crate::register::RegionLevel::Province, crate::register::RegionLevel::City, crate::register::RegionLevel::County] {
                    option value=(l.as_str()) { (w.tv(l.as_str())) }
                }
            } }
            label { (w.t("region_parent")) select name="parent_id" {
                option value="" { "—" }
                @for r in regions.iter().filter(|r| r.level != crate::register::RegionLevel::County) {
                    option value=(r.id) { (depth(r)) (r.name) }
                }
            } }
            label { (w.t("region_agency")) input name="agency" placeholder=(w.t("region_agency_hint")); }
            button type="submit" { (w.t("create")) }
        }
        section.grid {
            div {
                h2 { (w.t("warehouses")) }
                @for (wh, locs) in warehouses.iter().zip(&locations) {
                    p { strong { (wh.name) } @if let Some(r) = region_name(wh.region_id) { " · " (r) } }
                    ul data-test="locations" { @for l in locs { li { (l.code) " " (l.name) } } }
                }
                form.stack method="post" action="/admin/warehouses" {
                    (csrf_field(&w))
                    label { (w.t("name")) input name="name" required; }
                    (region_select)
                    label { (w.t("sgln_optional")) input name="sgln"; }
                    button type="submit" { (w.t("create")) }
                }
                form.stack method="post" action="/admin/locations" {
                    (csrf_field(&w))
                    label { (w.t("warehouses")) select name="warehouse_id" { @for wh in &warehouses { option value=(wh.id) { (wh.name) } } } }
                    label { (w.t("code")) input name="code" required; }
                    label { (w.t("name")) input name="name" required; }
                    label { (w.t("sgln_optional")) input name="sgln"; }
                    button type="submit" { (w.t("location")) " · " (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("units")) }
                ul data-test="units" { @for u in &unit_page.items { li {
                    (u.name) " · " (w.tv(u.level.as_str()))
                    @if let Some(r) = region_name(u.region_id) { " · " (r) }
                    @if let Some(n) = u.staff_count { " · " (w.t("staff_count")) (w.lang.colon()) (n) }
                } } }
                (pager(&w, &unit_page, |p| link("units_page", p)))
                form.stack method="post" action="/admin/units" {
                    (csrf_field(&w))
                    label { (w.t("name")) input name="name" required; }
                    (region_select)
                    label { (w.t("sgln_optional")) input name="sgln"; }
                    button type="submit" { (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("users")) }
                ul data-test="users" { @for u in &user_page.items { li {
                    strong { (u.display_name) } " (" (u.username) ") · " (w.tv(u.role.as_str()))
                    @if let Some(unit) = u.unit_id { " · " (words::unit(w.lang, &names, unit)) }
                    @if let Some(r) = region_name(u.region_id) { " · " (r) }
                    @if !u.active { " · " span.badge { (w.t("inactive")) } }
                    @if u.agency_head { " · " span.badge data-test="agency-head" { (w.t("agency_head")) } }
                    @if u.role == Role::Approver {
                        form.inline method="post" action=(format!("/admin/users/{}/agency-head", u.id)) {
                            (csrf_field(&w))
                            input type="hidden" name="agency_head" value=(if u.agency_head { "false" } else { "true" });
                            button.link type="submit" { (w.t(if u.agency_head { "unset_agency_head" } else { "set_agency_head" })) }
                        }
                    }
                    form.inline method="post" action=(format!("/admin/users/{}/active", u.id)) data-confirm=(w.t("confirm_delete")) {
                        (csrf_field(&w))
                        input type="hidden" name="active" value=(if u.active { "false" } else { "true" });
                        button.link type="submit" { (w.t(if u.active { "deactivate" } else { "reactivate" })) }
                    }
                    form.inline method="post" action=(format!("/admin/users/{}/password", u.id)) {
                        (csrf_field(&w))
                        input name="password" type="password" autocomplete="new-password" required aria-label=(w.t("new_password"));
                        button.link type="submit" { (w.t("reset_password")) }
                    }
                } } }
                (pager(&w, &user_page, |p| link("users_page", p)))
                form.stack method="post" action="/admin/users" {
                    (csrf_field(&w))
                    label { (w.t("username")) input name="username" required; }
                    label { (w.t("display_name")) input name="display_name"; }
                    label { (w.t("password")) input name="password" type="password" required; }
                    label { (w.t("role")) select name="role" { @for r in ["unit_staff", "keeper", "approver", "finance", "administrator", "auditor"] { option value=(r) { (w.tv(r)) } } } }
                    label { (w.t("unit")) select name="unit_id" { option value="" { "—" } @for u in &units { option value=(u.id) { (u.name) } } } }
                    (region_select)
                    button type="submit" { (w.t("create")) }
                }
            }
            div {
                h2 { (w.t("categories")) }
                ul { @for c in &cats { li { (c.code) " " (c.name) } } }
                form.stack method="post" action="/admin/categories" {
                    (csrf_field(&w))
                    label { (w.t("code")) input name="code" required; }
                    label { (w.t("name")) input name="name" required; }
                    button type="submit" { (w.t("create")) }
                }
            }
            (standards_section(&w, &standards, &cats, &units))
            div {
                h2 { (w.t("daemons")) }
                ul data-test="daemons" {
                    @for d in &daemon_page.items {
                        li {
                            strong { (d.daemon_id) }
                            @if d.revoked_at.is_some() { " · " (w.t("revoked")) }
                            ul { @for r in &d.readers { li {
                                (r.name) " · " (w.tv(r.role.as_str()))
                                @if let Some(l) = r.location_id { " · " (words::location_in_warehouse(w.lang, &names, l)) }
                            } } }
                        }
                    }
                }
                (pager(&w, &daemon_page, |p| link("daemons_page", p)))
                form.stack method="post" action="/admin/daemons" {
                    (csrf_field(&w))
                    label { (w.t("daemon_id")) input name="daemon_id" required; }
                    label { (w.t("daemon_readers"))
                        textarea name="readers" rows="3" required placeholder=(w.t("daemon_readers_example")) {}
                    }
                    button type="submit" { (w.t("create")) }
                }
            }
        }
    };
    set_cookie(
        layout(&w, w.t("admin"), body),
        "new_reader_token=; Path=/admin; Max-Age=0",
    )
}

pub(super) async fn admin_post<T: serde::de::DeserializeOwned>(
    w: &Web,
    body: &Bytes,
) -> Result<T, AppError> {
    authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)?;
    let f = form(body);
    let v: serde_json::Map<String, Value> = f
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let num = (k.ends_with("_id"))
                .then(|| v.parse::<i64>().ok())
                .flatten();
            (k, num.map(Value::from).unwrap_or(Value::String(v)))
        })
        .collect();
    serde_json::from_value(Value::Object(v)).map_err(|e| not_understood("form", e))
}

pub(super) async fn admin_unit(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    let u: crate::register::NewUnit = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_unit(u).await);
    see_other_with("/admin", Done::Saved)
}

pub(super) async fn admin_user(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    let u: crate::register::NewUser = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, u.validate());
    let hash = tryp!(
        w,
        crate::accounts::hash_password_bounded(u.password.clone(), st.config.password_cost).await
    );
    let display = u.display_name.clone().unwrap_or_else(|| u.username.clone());
    tryp!(
        w,
        st.store
            .create_user(u.username, display, hash, u.role, u.unit_id, u.region_id)
            .await
    );
    see_other_with("/admin", Done::Saved)
}

#[derive(serde::Deserialize)]
pub(super) struct UserChange {
    /// `true`/`false`: reactivate or deactivate.
    active: Option<String>,
    /// A new password set by the administrator.
    password: Option<String>,
    /// `true`/`false`: mark an approver as the agency head (局长), or not.
    agency_head: Option<String>,
}

/// Deactivate/reactivate (`active`) or reset the password (`password`) of a
/// user from the admin page.
pub(super) async fn admin_user_change(
    State(st): State<AppState>,
    w: Web,
    Path((id, what)): Path<(i64, String)>,
    Body(body): Body,
) -> Response {
    let change: UserChange = tryp!(w, admin_post(&w, &body).await);
    match (what.as_str(), change) {
        (
            "active",
            UserChange {
                active: Some(a), ..
            },
        ) => {
            tryp!(w, st.store.set_user_active(id, a == "true").await);
        }
        (
            "agency-head",
            UserChange {
                agency_head: Some(h),
                ..
            },
        ) => {
            tryp!(
                w,
                st.store
                    .set_agency_head(w.ctx.clone(), id, h == "true")
                    .await
            );
        }
        ("password", UserChange { password, .. }) => {
            let password = password.unwrap_or_default();
            tryp!(
                w,
                crate::login::reset_password(&st.store, &st.config, id, password).await
            );
        }
        _ => return fail(&w, Reason::NoRoute.into()),
    }
    see_other_with("/admin", Done::Saved)
}

pub(super) fn own_password_form(w: &Web, err: Option<&AppError>, done: bool) -> Response {
    let fields = ["old_password", "password"];
    let body = html! {
        @if done { p.notice { (w.t("password_changed")) } }
        (form_error(w.lang, err, &fields))
        form.stack method="post" action="/account/password" {
            (csrf_field(w))
            label { (w.t("old_password")) input name="old_password" type="password" autocomplete="current-password" required; (field_error(w.lang, err, "old_password")) }
            label { (w.t("new_password")) input name="new_password" type="password" autocomplete="new-password" required; (field_error(w.lang, err, "password")) }
            button type="submit" { (w.t("change_password")) }
        }
    };
    let mut resp = layout(w, w.t("change_password"), body);
    if let Some(e) = err {
        *resp.status_mut() = crate::http::error::status_of(e.kind);
    }
    resp
}

pub(super) async fn own_password_page(w: Web) -> Response {
    own_password_form(&w, None, false)
}

pub(super) async fn own_password_submit(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let f = form(&body);
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let keep = w.cookies.get(crate::http::respond::SESSION_COOKIE).cloned();
    match crate::login::change_own_password(
        &st.store,
        &st.config,
        w.username.clone(),
        field("old_password"),
        field("new_password"),
        keep,
    )
    .await
    {
        Ok(()) => own_password_form(&w, None, true),
        Err(e) => own_password_form(&w, Some(&e), false),
    }
}

pub(super) async fn admin_category(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let c: crate::register::NewCategory = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_category(c).await);
    see_other_with("/admin", Done::Saved)
}

/// Registers a daemon from the form: its id and one reader a line, in the
/// command line's `NAME:ROLE[:LOCATION_ID]` form.
pub(super) async fn admin_daemon(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    let f = form(&body);
    let text = |k: &str| f.get(k).cloned().unwrap_or_default();
    // People type a reader's use in words ("出库台") and its location by
    // code ("desk-1:出库台:A01"); the command line's spec takes the role's
    // API name and the location id.
    let role_of = |word: &str| {
        crate::register::ReaderRole::ALL
            .iter()
            .find(|r| w.tv(r.as_str()) == word || crate::i18n::tv(Lang::Zh, r.as_str()) == word)
            .map_or_else(|| word.to_owned(), |r| r.as_str().to_owned())
    };
    let mut lines = Vec::new();
    for line in text("readers").lines().filter(|l| !l.trim().is_empty()) {
        let line = line.replace('：', ":");
        let parts: Vec<&str> = line.split(':').map(str::trim).collect();
        match parts.as_slice() {
            [name, role] => lines.push(format!("{name}:{}", role_of(role))),
            [name, role, code] if code.parse::<i64>().is_err() => {
                let l = tryp!(
                    w,
                    st.store
                        .location_by_code("readers", (*code).to_owned())
                        .await
                );
                lines.push(format!("{name}:{}:{l}", role_of(role)));
            }
            [name, role, id] => lines.push(format!("{name}:{}:{id}", role_of(role))),
            _ => lines.push(line.clone()),
        }
    }
    let readers = tryp!(
        w,
        lines
            .iter()
            .map(|l| crate::daemons::parse_reader_spec(l))
            .collect::<Result<Vec<_>, _>>()
    );
    let created = tryp!(
        w,
        st.store
            .register_daemon(crate::daemons::NewDaemon {
                daemon_id: text("daemon_id"),
                readers,
                expires_at: None,
            })
            .await
    );
    set_cookie(
        see_other_with("/admin", Done::Saved),
        &format!(
            "new_reader_token={}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=60",
            created.token
        ),
    )
}

pub(super) async fn admin_region(State(st): State<AppState>, w: Web, Body(body): Body) -> Response {
    let n: crate::register::NewRegion = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_region(n).await);
    see_other_with("/admin", Done::Saved)
}

pub(super) async fn admin_warehouse(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let n: crate::register::NewWarehouse = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_warehouse(n).await);
    see_other_with("/admin", Done::Saved)
}

pub(super) async fn admin_location(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    let mut f = form(&body);
    let warehouse = tryp!(w, get_i64(&f, "warehouse_id")).unwrap_or(-1);
    f.remove("warehouse_id");
    let body = Bytes::from(serde_urlencoded::to_string(&f).unwrap_or_default());
    let n: crate::register::NewLocation = tryp!(w, admin_post(&w, &body).await);
    tryp!(w, st.store.create_location(warehouse, n).await);
    see_other_with("/admin", Done::Saved)
}

pub(super) async fn admin_settings(
    State(st): State<AppState>,
    w: Web,
    Body(body): Body,
) -> Response {
    tryp!(
        w,
        authorize(&w.ctx.actor, Action::ManageRegister, Scope::Global)
    );
    let f = form(&body);
    let name = tryp!(
        w,
        crate::input::required_text(
            "org_name",
            f.get("org_name").map(String::as_str).unwrap_or(""),
            200
        )
    );
    let mut settings = vec![("org.name".to_owned(), name)];
    match f.get("reuse_reach").map(String::as_str) {
        None | Some("") => {}
        Some(v @ ("network" | "city" | "region")) => {
            settings.push((crate::store::REUSE_REACH_KEY.to_owned(), v.to_owned()));
        }
        Some(other) => {
            return fail(
                &w,
                Reason::Unknown {
                    field: "reuse_reach".into(),
                    value: other.into(),
                }
                .into(),
            )
        }
    }
    tryp!(w, st.store.set_settings(settings).await);
    see_other_with("/admin", Done::Saved)
}
