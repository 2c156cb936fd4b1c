//! Reading requests: one request, filtered listings (the inbox is
//! `mine`), and what could fulfil a purchase.

use super::*;

// ---------------------------------------------------------------------------
// Reading requests.

pub(super) const REQUEST_COLUMNS: &str =
    "id, kind, stage, unit_id, other_unit_id, applicant, category_id,
    quantity, budget_fen, reason, needed_by, loan_start, loan_due, disposal_method, loss,
    batch_id, spent_fen, appraised_fen, hammer_fen, remitted_fen, compensation_fen,
    compensation_paid_fen, created_at, updated_at, closed_at, region_id, fees_fen,
    origin_request_id, event, destination, standard_approved_by, standard_approved_at";

pub(super) fn row_to_request(r: &crate::store::db::Row<'_>) -> rusqlite::Result<Request> {
    let kind: String = r.get(1)?;
    let stage: String = r.get(2)?;
    let method: Option<String> = r.get(13)?;
    let stage = Stage::parse(&stage).unwrap_or(Stage::Rejected);
    let budget: Option<i64> = r.get(8)?;
    let spent: Option<i64> = r.get(16)?;
    let loan_due: Option<String> = r.get(12)?;
    let hammer: Option<i64> = r.get(18)?;
    let fees: Option<i64> = r.get(26)?;
    let overdue = loan_overdue(stage, loan_due.as_deref(), &shanghai_today());
    Ok(Request {
        id: r.get(0)?,
        kind: RequestKind::parse(&kind).unwrap_or(RequestKind::Damage),
        stage,
        awaiting: stage.awaiting(),
        unit_id: r.get(3)?,
        other_unit_id: r.get(4)?,
        applicant: r.get(5)?,
        category_id: r.get(6)?,
        quantity: r.get(7)?,
        event: r.get(28)?,
        budget_fen: budget,
        reason: r.get(9)?,
        needed_by: r.get(10)?,
        loan_start: r.get(11)?,
        loan_due,
        overdue,
        disposal_method: method.as_deref().and_then(DisposalMethod::parse),
        loss: r.get(14)?,
        batch_id: r.get(15)?,
        spent_fen: spent,
        savings_fen: budget
            .zip(spent)
            .filter(|(b, s)| b >= s)
            .map(|(b, s)| b - s),
        overspent_fen: budget.zip(spent).filter(|(b, s)| s > b).map(|(b, s)| s - b),
        appraised_fen: r.get(17)?,
        hammer_fen: hammer,
        fees_fen: fees,
        net_fen: hammer.map(|h| h - fees.unwrap_or(0)),
        remitted_fen: r.get(19)?,
        compensation_fen: r.get(20)?,
        compensation_paid_fen: r.get(21)?,
        created_at: ts(r.get(22)?),
        updated_at: ts(r.get(23)?),
        closed_at: r.get::<_, Option<i64>>(24)?.map(ts),
        region_id: r.get(25)?,
        origin_request_id: r.get(27)?,
        lines: Vec::new(),
        destination: Destination::parse(&r.get::<_, String>(29)?).unwrap_or(Destination::Unit),
        items: Vec::new(),
        steps: Vec::new(),
        documents: Vec::new(),
        stock: None,
        over_standard: Vec::new(),
        standard_approved_by: r.get(30)?,
        standard_approved_at: r.get::<_, Option<i64>>(31)?.map(ts),
    })
}

pub(super) fn get_request(c: &Db<'_>, id: i64) -> AppResult<Request> {
    let mut req = c
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"
        ))?
        .query_row([id], row_to_request)
        .optional()?
        .ok_or_else(|| AppError::not_found("request", id))?;
    let mut stmt = c.prepare_cached(
        "SELECT i.asset_id, a.asset_number, a.name, i.status, a.state, i.return_condition,
                (SELECT t.epc FROM tags t WHERE t.asset_id = a.id AND t.unbound_at IS NULL),
                i.line_no
         FROM request_items i JOIN assets a ON a.id = i.asset_id
         WHERE i.request_id = ?1 ORDER BY i.asset_id",
    )?;
    req.items = stmt
        .query_map([id], |r| {
            let epc: Option<Vec<u8>> = r.get(6)?;
            Ok(RequestItem {
                asset_id: r.get(0)?,
                asset_number: r.get(1)?,
                name: r.get(2)?,
                status: r.get(3)?,
                asset_state: r.get(4)?,
                return_condition: r.get(5)?,
                epc: epc.map(|e| shared::hex::Hex(&e).to_string()),
                line_no: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT stage, action, actor, at, comment, details FROM request_steps
         WHERE request_id = ?1 ORDER BY id",
    )?;
    req.steps = stmt
        .query_map([id], |r| {
            let details: String = r.get(5)?;
            Ok(Step {
                stage: r.get(0)?,
                action: r.get(1)?,
                actor: r.get(2)?,
                at: ts(r.get(3)?),
                comment: r.get(4)?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })?
        .collect::<Result<_, _>>()?;
    req.documents = list_documents(c, id)?;
    req.over_standard = crate::store::standards::excesses_of(c, id)?;
    attach_lines(c, &mut req)?;
    Ok(req)
}

/// Filters for request listings.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    pub kind: Option<String>,
    pub stage: Option<String>,
    pub unit_id: Option<i64>,
    /// Only loans past due with items out.
    pub overdue: Option<bool>,
    /// Only requests waiting on the caller's role (the inbox).
    pub mine: Option<bool>,
    /// Words in the reason, the event (活动名称) or the applicant's username or display name,
    /// or the request number.
    pub q: Option<String>,
    /// Only this region's requests and those of the regions below it; a
    /// region outside the caller's reach is not found.
    pub region: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub(super) fn list_requests(
    c: &Db<'_>,
    actor: &Actor,
    q: &RequestQuery,
) -> AppResult<Page<Request>> {
    let (page, per_page) = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let mut filter = vec!["1 = 1".to_owned()];
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    // `sql` uses `?` for the one new argument (repeated as often as needed).
    fn arg(
        filter: &mut Vec<String>,
        args: &mut Vec<rusqlite::types::Value>,
        sql: &str,
        v: rusqlite::types::Value,
    ) {
        args.push(v);
        filter.push(sql.replace('?', &format!("?{}", args.len())));
    }
    if let Some(k) = &q.kind {
        let k = RequestKind::parse(k).ok_or_else(|| unknown("kind", k))?;
        arg(
            &mut filter,
            &mut args,
            "kind = ?",
            k.as_str().to_owned().into(),
        );
    }
    if let Some(s) = &q.stage {
        let s = Stage::parse(s).ok_or_else(|| unknown("stage", s))?;
        arg(
            &mut filter,
            &mut args,
            "stage = ?",
            s.as_str().to_owned().into(),
        );
    }
    if let Some(u) = q.unit_id {
        arg(&mut filter, &mut args, "unit_id = ?", u.into());
    }
    if q.overdue == Some(true) {
        arg(
            &mut filter,
            &mut args,
            "stage = 'on_loan' AND loan_due < ?",
            shanghai_today().into(),
        );
    }
    if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        let number = words.trim_start_matches('#').parse::<i64>().unwrap_or(-1);
        args.push(number.into());
        args.push(words.to_owned().into());
        let (n, w) = (args.len() - 1, args.len());
        filter.push(format!(
            "(id = ?{n} OR instr(COALESCE(reason, ''), ?{w}) > 0 OR instr(applicant, ?{w}) > 0
              OR instr(COALESCE(event, ''), ?{w}) > 0
              OR applicant_user_id IN (SELECT u.id FROM users u WHERE instr(u.display_name, ?{w}) > 0))"
        ));
    }
    // Unit staff see their own unit's requests (and transfers asking them);
    // everyone else those of the regions they reach, and those asking a
    // unit of theirs (a transfer across regions).
    let of_regions = |ids: &[i64]| {
        let ids = crate::store::assets::id_list(ids);
        format!(
            "(region_id IN ({ids}) OR other_unit_id IN
               (SELECT u.id FROM units u WHERE u.region_id IN ({ids}))
              OR (kind IN ('loan', 'allocation') AND id IN
               (SELECT i.request_id FROM request_items i
                  JOIN assets a ON a.id = i.asset_id
                  JOIN locations l ON l.id = COALESCE(i.from_location_id, a.holder_location_id)
                  JOIN warehouses w ON w.id = l.warehouse_id
                 WHERE w.region_id IN ({ids}))))"
        )
    };
    let reach = crate::policy::regions_in_reach(actor);
    if authorize(actor, Action::ViewRequests, Scope::Global).is_err() {
        let u = unit_of(actor).ok_or_else(|| AppError::from(Reason::NoUnit))?;
        arg(
            &mut filter,
            &mut args,
            "(unit_id = ? OR other_unit_id = ?)",
            u.into(),
        );
    } else if let Some(regions) = &reach {
        filter.push(of_regions(regions));
    }
    // A region chosen from those in reach, with the regions below it.
    if let Some(ids) = crate::store::assets::region_filter(c, q.region, reach.as_deref())? {
        filter.push(of_regions(&ids));
    }
    if q.mine == Some(true) {
        let role = role_of(actor)?;
        let stages: Vec<String> = Stage::ALL
            .iter()
            .filter(|s| s.awaiting() == Some(role))
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        if stages.is_empty() {
            filter.push("0 = 1".into());
        } else {
            filter.push(format!("stage IN ({})", stages.join(", ")));
        }
        if role == Role::UnitStaff {
            let u = unit_of(actor).unwrap_or(-1);
            arg(&mut filter, &mut args, "unit_id = ?", u.into());
        }
    }
    let mut found = crate::store::paging::page(
        c,
        REQUEST_COLUMNS,
        &format!("requests WHERE {}", filter.join(" AND ")),
        "id DESC",
        &args,
        (page, per_page),
        row_to_request,
    )?;
    for r in &mut found.items {
        r.over_standard = crate::store::standards::excesses_of(c, r.id)?;
        attach_lines(c, r)?;
    }
    Ok(found)
}

impl Store {
    pub async fn request(&self, actor: Actor, id: i64) -> AppResult<Request> {
        self.read(move |c| {
            let r = load_row(c, id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", id));
            }
            get_request(c, id)
        })
        .await
    }

    pub fn request_blocking(&self, id: i64) -> AppResult<Request> {
        self.read_blocking(|c| get_request(c, id))
    }

    pub async fn requests(&self, actor: Actor, q: RequestQuery) -> AppResult<Page<Request>> {
        self.read(move |c| list_requests(c, &actor, &q)).await
    }

    /// For a purchase: in-stock items and other units' listings of the
    /// requested category, shown to the approver before buying.
    pub async fn purchase_matches(&self, actor: Actor, id: i64) -> AppResult<PurchaseMatches> {
        self.read(move |c| {
            let r = load_row(c, id)?;
            if !may_view(&actor, &r) {
                return Err(AppError::not_found("request", id));
            }
            let cats: Vec<i64> = lines_of(c, id)?
                .iter()
                .filter_map(|l| l.category_id)
                .collect();
            let cats = crate::store::assets::id_list(&cats);
            // Nearest first: the request's own region, then its city, then
            // the network, as far as the agencies let re-use look.
            let limit = if r.region_id.is_some() {
                super::idle::reuse_limit(c)?
            } else {
                2
            };
            let ids = |state: &str, region: &str, holder: &str| -> AppResult<Vec<i64>> {
                let near = super::idle::nearness_sql(region, "?3");
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT id FROM (SELECT a.id, {near} AS nearness FROM assets a
                       WHERE a.category_id IN ({cats}) AND ?1 = ?1
                         AND a.state = '{state}' AND {holder}
                         AND NOT EXISTS (SELECT 1 FROM request_items i
                                         WHERE i.asset_id = a.id AND i.active = 1)) AS m
                     WHERE nearness <= ?4 ORDER BY nearness, id LIMIT 200"
                ))?;
                let rows = stmt.query_map(
                    rusqlite::params![0, r.unit_id.unwrap_or(-1), r.region_id, limit],
                    |row| row.get(0),
                )?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            let in_stock = ids(
                "in_stock",
                "(SELECT w.region_id FROM locations l JOIN warehouses w ON w.id = l.warehouse_id
                   WHERE l.id = a.holder_location_id)",
                "?2 = ?2",
            )?;
            let listed = ids(
                "listed_idle",
                "(SELECT u.region_id FROM units u WHERE u.id = a.holder_unit_id)",
                "a.holder_unit_id <> ?2",
            )?;
            Ok(PurchaseMatches {
                request_id: id,
                category_id: r.category_id,
                quantity: r.quantity,
                in_stock,
                listed_idle: listed,
            })
        })
        .await
    }
}

/// What could fulfil a purchase instead of buying.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PurchaseMatches {
    pub request_id: i64,
    pub category_id: Option<i64>,
    pub quantity: Option<i64>,
    /// In-stock assets of the category, not held by another request.
    pub in_stock: Vec<i64>,
    /// Other units' idle listings of the category.
    pub listed_idle: Vec<i64>,
}

/// A filter word that names no kind or stage.
fn unknown(field: &str, value: &str) -> AppError {
    Reason::Unknown {
        field: field.into(),
        value: value.into(),
    }
    .into()
}
