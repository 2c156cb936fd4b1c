//! The queries behind reservations (预约与档期): what a request asks for
//! ([`demand_of`], the one seam), the bookings and pool of a category,
//! the overbooking check run inside an approval's or extension's write
//! transaction, and the availability calendar. The counting rule itself is
//! [`crate::reserve`] (pure).
//!
//! **The pool** is a category's items across the whole network: every
//! in-stock item of the category, those under repair in a warehouse, and
//! those out on open loans. One pool per category because the desk hands
//! out any in-stock item of the category wherever it stands
//! (`steps::check_out` matches by category, not by warehouse) and the
//! stock figure every page shows (`stock::free_stock`) is network-wide; a
//! pool per region would let two overlapping regions each promise the
//! same chairs. The calendar can narrow to one warehouse: then the pool is
//! that warehouse's items, *out* the items checked out from it, and
//! *reserved* only reservations naming its items (a reservation by
//! category is not yet tied to a warehouse and shows in the network view).

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::*;
use crate::reserve::{self, Booking, DayCount, Hold, Pool};

/// What a request asks for of one category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Demand {
    pub category_id: i64,
    pub quantity: i64,
    /// The named items asked for (empty for a request by category).
    pub asset_ids: Vec<i64>,
}

/// What a request asks for, per category: **the one place a request's
/// demand is read** for reservations. A request's lines (`request_lines`,
/// read by [`super::lines::lines_of`]) ask either for named items — the
/// `request_items` filed with the request, which carry the state they had
/// (`prev_state`), grouped here by their category — or for a quantity of a
/// category. The approval check, extensions, the calendar and the `.ics`
/// summary all ask here.
pub(crate) fn demand_of(c: &Db<'_>, request_id: i64) -> AppResult<Vec<Demand>> {
    let named: Vec<(i64, i64)> = c
        .prepare_cached(
            "SELECT a.category_id, i.asset_id FROM request_items i
               JOIN assets a ON a.id = i.asset_id
              WHERE i.request_id = ?1 AND i.prev_state IS NOT NULL AND i.status <> 'released'
              ORDER BY a.category_id, i.asset_id",
        )?
        .query_map([request_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out: Vec<Demand> = Vec::new();
    for (category_id, asset) in named {
        match out.last_mut() {
            Some(d) if d.category_id == category_id => {
                d.quantity += 1;
                d.asset_ids.push(asset);
            }
            _ => out.push(Demand {
                category_id,
                quantity: 1,
                asset_ids: vec![asset],
            }),
        }
    }
    // Lines by category (a line of named assets has no category).
    for line in super::lines::lines_of(c, request_id)? {
        let Some(category_id) = line.category_id else {
            continue;
        };
        match out.iter_mut().find(|d| d.category_id == category_id) {
            Some(d) => d.quantity += line.quantity,
            None => out.push(Demand {
                category_id,
                quantity: line.quantity,
                asset_ids: Vec::new(),
            }),
        }
    }
    out.sort_by_key(|d| d.category_id);
    Ok(out)
}

/// How many rented items of each category count toward a loan over
/// `first..=last`: the items (not yet back with their supplier) of open
/// rentals linked to the loan whose window covers it
/// ([`reserve::rental_covers`]). Read by the approval and extension check,
/// the calendar's bookings and the desk's check-out, so all three take
/// the same items off what stock must give ([`reserve::from_stock`]).
pub(crate) fn rented_for(
    c: &Db<'_>,
    request_id: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> AppResult<std::collections::BTreeMap<i64, i64>> {
    let rows: Vec<(i64, String, String, i64)> = c
        .prepare_cached(
            "SELECT i.category_id, r.starts, r.ends, COUNT(*) FROM rentals r
               JOIN rental_items i ON i.rental_id = r.id
              WHERE r.request_id = ?1 AND r.status = 'open' AND i.status <> 'returned'
                AND i.category_id IS NOT NULL
              GROUP BY i.category_id, r.id, r.starts, r.ends",
        )?
        .query_map([request_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = std::collections::BTreeMap::new();
    for (category, starts, ends, n) in rows {
        let (Some(s), Some(e)) = (date("starts", Some(&starts))?, date("ends", Some(&ends))?)
        else {
            continue;
        };
        if reserve::rental_covers(s, e, first, last) {
            *out.entry(category).or_insert(0) += n;
        }
    }
    Ok(out)
}

fn date(field: &str, v: Option<&str>) -> AppResult<Option<NaiveDate>> {
    Ok(parse_date(field, v)?.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()))
}

pub(crate) fn today() -> NaiveDate {
    NaiveDate::parse_from_str(&shanghai_today(), "%Y-%m-%d").unwrap_or_default()
}

/// A booking as the calendar lists it: which request, how it holds, how
/// many, which days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingView {
    pub request_id: i64,
    pub kind: RequestKind,
    pub stage: Stage,
    pub hold: Hold,
    pub quantity: i64,
    /// YYYY-MM-DD.
    #[schema(value_type = String)]
    pub first: NaiveDate,
    /// YYYY-MM-DD; absent: until returned (an overdue loan) or taken (an
    /// approved allocation).
    #[schema(value_type = Option<String>)]
    pub last: Option<NaiveDate>,
}

impl BookingView {
    fn booking(&self) -> Booking {
        Booking {
            request_id: self.request_id,
            hold: self.hold,
            quantity: self.quantity,
            first: self.first,
            last: self.last,
        }
    }
}

/// An open request that holds items by date: id, kind, stage, and its
/// window as stored (`loan_start`, `loan_due`).
type Booker<K, S> = (i64, K, S, Option<String>, Option<String>);

/// The open requests that hold items by date: loans approved, out or
/// being received, and allocations approved but not yet checked out.
fn open_bookers(c: &Db<'_>) -> AppResult<Vec<Booker<RequestKind, Stage>>> {
    let rows: Vec<Booker<String, String>> = c
        .prepare_cached(
            "SELECT id, kind, stage, loan_start, loan_due FROM requests
              WHERE (kind = 'loan' AND stage IN ('checkout', 'receipt', 'on_loan'))
                 OR (kind = 'allocation' AND stage = 'checkout')
              ORDER BY id",
        )?
        .query_map((), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, k, s, start, due)| {
            Some((id, RequestKind::parse(&k)?, Stage::parse(&s)?, start, due))
        })
        .collect())
}

/// One item a request holds: category, status, and the warehouse it
/// stands in or was checked out from.
type ItemRow = (i64, String, Option<i64>);

fn items_of(c: &Db<'_>, request_id: i64) -> AppResult<Vec<ItemRow>> {
    Ok(c.prepare_cached(
        "SELECT a.category_id, i.status, l.warehouse_id FROM request_items i
               JOIN assets a ON a.id = i.asset_id
               LEFT JOIN locations l ON l.id = COALESCE(i.from_location_id, a.holder_location_id)
              WHERE i.request_id = ?1 AND i.active = 1",
    )?
    .query_map([request_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
    .collect::<Result<_, _>>()?)
}

/// The bookings on `category` (in `warehouse`, or across the network),
/// each open request's reservation and items out as separate bookings.
fn bookings(
    c: &Db<'_>,
    category: i64,
    warehouse: Option<i64>,
    today: NaiveDate,
) -> AppResult<Vec<BookingView>> {
    Ok(bookings_by_category(c, warehouse, today)?
        .remove(&category)
        .unwrap_or_default())
}

/// Every open request's bookings, by category: each request and its items
/// read once, whatever the number of categories shown.
fn bookings_by_category(
    c: &Db<'_>,
    warehouse: Option<i64>,
    today: NaiveDate,
) -> AppResult<std::collections::BTreeMap<i64, Vec<BookingView>>> {
    let mut out: std::collections::BTreeMap<i64, Vec<BookingView>> = Default::default();
    for (id, kind, stage, start, due) in open_bookers(c)? {
        let demands = demand_of(c, id)?;
        if demands.is_empty() {
            continue;
        }
        let all_items = items_of(c, id)?;
        let (first, last) = match kind {
            RequestKind::Loan => {
                let first = date("loan_start", start.as_deref())?.unwrap_or(today);
                (first, date("loan_due", due.as_deref())?)
            }
            _ => (today, None),
        };
        // Rented items covering the loan are not asked of stock.
        let rented = match (kind, last) {
            (RequestKind::Loan, Some(l)) => rented_for(c, id, first, l)?,
            _ => Default::default(),
        };
        for demand in demands {
            let from_stock = reserve::from_stock(
                demand.quantity,
                rented.get(&demand.category_id).copied().unwrap_or(0),
            );
            let items: Vec<&ItemRow> = all_items
                .iter()
                .filter(|i| i.0 == demand.category_id)
                .collect();
            let here = |i: &&&ItemRow| warehouse.is_none() || i.2 == warehouse;
            let is_out = |i: &&&ItemRow| matches!(i.1.as_str(), "checked_out" | "received");
            let out_total = items.iter().filter(is_out).count() as i64;
            let out_here = items.iter().filter(is_out).filter(here).count() as i64;
            // Reserved: what is asked and not yet out. In one warehouse's
            // view only named items standing there count.
            let reserved = if stage == Stage::Checkout {
                match warehouse {
                    None => (from_stock - out_total).max(0),
                    Some(_) if !demand.asset_ids.is_empty() => items
                        .iter()
                        .filter(|i| i.1 == "requested")
                        .filter(here)
                        .count()
                        as i64,
                    Some(_) => 0,
                }
            } else {
                0
            };
            let view = |hold, quantity, last| BookingView {
                request_id: id,
                kind,
                stage,
                hold,
                quantity,
                first,
                last,
            };
            let list = out.entry(demand.category_id).or_default();
            if reserved > 0 {
                list.push(view(Hold::Reserved, reserved, last));
            }
            // Allocated items are gone for good and not in the pool; a
            // loan's items out are, until returned (an overdue loan holds
            // them on).
            if kind == RequestKind::Loan && out_here > 0 {
                list.push(view(Hold::Out, out_here, last.filter(|l| *l >= today)));
            }
        }
    }
    Ok(out)
}

/// The pool of `category` (in `warehouse`, or across the network): in
/// stock and under repair in a warehouse, plus the items out on loans.
fn pool(
    c: &Db<'_>,
    category: i64,
    warehouse: Option<i64>,
    bookings: &[BookingView],
) -> AppResult<Pool> {
    let rows: Vec<(String, Option<i64>, i64)> = c
        .prepare_cached(
            "SELECT a.state, l.warehouse_id, COUNT(*) FROM assets a
               JOIN locations l ON l.id = a.holder_location_id
              WHERE a.category_id = ?1 AND a.state IN ('in_stock', 'under_repair')
              GROUP BY a.state, l.warehouse_id",
        )?
        .query_map([category], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let count = |state: &str| -> i64 {
        rows.iter()
            .filter(|(s, w, _)| s == state && (warehouse.is_none() || *w == warehouse))
            .map(|r| r.2)
            .sum()
    };
    let out: i64 = bookings
        .iter()
        .filter(|b| b.hold == Hold::Out)
        .map(|b| b.quantity)
        .sum();
    let under_repair = count("under_repair");
    Ok(Pool {
        items: count("in_stock") + under_repair + out,
        under_repair,
    })
}

fn category_name(c: &Db<'_>, category: i64) -> AppResult<String> {
    Ok(
        c.prepare_cached("SELECT name FROM categories WHERE id = ?1")?
            .query_row([category], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
    )
}

/// Refuses (409 `overbooked`) a loan whose items would not be free on
/// every day of `first..=last`: for each category it asks for, the pool
/// less every other request's bookings must leave `asked` free each day.
/// `asked` per category defaults to the request's demand; an extension
/// asks for what the loan still holds. Runs inside the step's write
/// transaction (SQLite's one writer, PostgreSQL's writers' lock), so two
/// approvals of the last items cannot both pass.
pub(super) fn check_window(
    tx: &Db<'_>,
    request_id: i64,
    first: NaiveDate,
    last: NaiveDate,
    holding: bool,
) -> AppResult<()> {
    let today = today();
    let mut shortages = Vec::new();
    let mut by_category = bookings_by_category(tx, None, today)?;
    // Rented items covering these days count toward the need; an
    // extension past the rental's end asks stock for them again.
    let rented = rented_for(tx, request_id, first, last)?;
    let rented_before = match window_of(tx, request_id)? {
        Some((s, e)) if holding => rented_for(tx, request_id, s, e)?,
        _ => Default::default(),
    };
    for d in demand_of(tx, request_id)? {
        let all = by_category.remove(&d.category_id).unwrap_or_default();
        let here =
            |m: &std::collections::BTreeMap<i64, i64>| m.get(&d.category_id).copied().unwrap_or(0);
        let asked = if holding {
            let held: i64 = all
                .iter()
                .filter(|b| b.request_id == request_id)
                .map(|b| b.quantity)
                .sum();
            (held + here(&rented_before) - here(&rented)).max(0)
        } else {
            reserve::from_stock(d.quantity, here(&rented))
        };
        let pool = pool(tx, d.category_id, None, &all)?;
        let others: Vec<Booking> = all
            .iter()
            .filter(|b| b.request_id != request_id)
            .map(BookingView::booking)
            .collect();
        if let Some(s) = reserve::shortage(pool, &others, asked, first, last) {
            shortages.push(crate::error::CategoryShortage {
                category_id: d.category_id,
                category: category_name(tx, d.category_id)?,
                asked: s.asked,
                free: s.free,
                short: s.short,
                first_short: s.first_short.to_string(),
                last_short: s.last_short.to_string(),
                days_short: s.days_short,
            });
        }
    }
    if shortages.is_empty() {
        Ok(())
    } else {
        Err(Reason::Overbooked {
            request_id,
            shortages,
        }
        .into())
    }
}

/// A loan's window as stored (pick-up and return day).
pub(super) fn window_of(tx: &Db<'_>, request_id: i64) -> AppResult<Option<(NaiveDate, NaiveDate)>> {
    let (start, due): (Option<String>, Option<String>) = tx
        .prepare_cached("SELECT loan_start, loan_due FROM requests WHERE id = ?1")?
        .query_row([request_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(
        match (
            date("loan_start", start.as_deref())?,
            date("loan_due", due.as_deref())?,
        ) {
            (Some(s), Some(d)) => Some((s, d)),
            _ => None,
        },
    )
}

/// Availability of one category over days (`GET /availability`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Availability {
    pub category_id: i64,
    pub category: String,
    /// The warehouse the counts are narrowed to; absent: the network.
    pub warehouse_id: Option<i64>,
    pub days: Vec<DayCount>,
    /// The reservations and loans occupying any of the days.
    pub bookings: Vec<BookingView>,
}

/// Longest span one availability query covers.
pub const MAX_AVAILABILITY_DAYS: i64 = 366;

impl Store {
    /// Per-day counts of `category` from `from` to `to` (both included).
    pub async fn availability(
        &self,
        category: i64,
        warehouse: Option<i64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Availability> {
        self.read(move |c| availability(c, category, warehouse, from, to))
            .await
    }

    /// Availability of every category that has items in the pool or
    /// bookings (the calendar's table of days × categories).
    pub async fn availability_all(
        &self,
        warehouse: Option<i64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> AppResult<Vec<Availability>> {
        self.read(move |c| {
            let ids: Vec<i64> = c
                .prepare_cached("SELECT id FROM categories ORDER BY id")?
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            if let Some(w) = warehouse {
                require_exists(c, "warehouses", "warehouse_id", w)?;
            }
            let mut by_category = bookings_by_category(c, warehouse, today())?;
            let mut out = Vec::new();
            for id in ids {
                let all = by_category.remove(&id).unwrap_or_default();
                let a = availability_of(c, id, warehouse, from, to, all)?;
                if a.days.iter().any(|d| d.pool > 0) || !a.bookings.is_empty() {
                    out.push(a);
                }
            }
            Ok(out)
        })
        .await
    }

    /// What a request asks for, per category, with the category's name
    /// (the `.ics` summary): `(name, quantity)`.
    pub async fn demand_names(&self, request_id: i64) -> AppResult<Vec<(String, i64)>> {
        self.read(move |c| {
            demand_of(c, request_id)?
                .into_iter()
                .map(|d| Ok((category_name(c, d.category_id)?, d.quantity)))
                .collect()
        })
        .await
    }
}

fn availability(
    c: &Db<'_>,
    category: i64,
    warehouse: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Availability> {
    require_exists(c, "categories", "category_id", category)?;
    if let Some(w) = warehouse {
        require_exists(c, "warehouses", "warehouse_id", w)?;
    }
    let all = bookings(c, category, warehouse, today())?;
    availability_of(c, category, warehouse, from, to, all)
}

fn availability_of(
    c: &Db<'_>,
    category: i64,
    warehouse: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
    all: Vec<BookingView>,
) -> AppResult<Availability> {
    let pool = pool(c, category, warehouse, &all)?;
    let list: Vec<Booking> = all.iter().map(BookingView::booking).collect();
    let days = reserve::days(pool, &list, from, to);
    let bookings = all
        .into_iter()
        .filter(|b| b.first <= to && b.last.is_none_or(|l| l >= from))
        .collect();
    Ok(Availability {
        category_id: category,
        category: category_name(c, category)?,
        warehouse_id: warehouse,
        days,
        bookings,
    })
}
