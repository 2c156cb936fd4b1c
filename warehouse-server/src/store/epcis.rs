//! Reading the EPCIS 2.0 events (`crate::epcis` maps them): one page of
//! the walk over the lifecycle events, kits, stock-take counts and reads,
//! by keyset (each source's own increasing key), limited to what the
//! caller may see. An event names the EPC of the tag bound to its asset
//! when it happened; an asset without a tag then has no event.

use rusqlite::types::Value as Sql;
use serde_json::Value;

use super::assets::{id_list, in_regions};
use super::db::{params_from_iter, Db};
use super::Store;
use crate::epcis::{self, Cursor, Places, Query, Source, SOURCES};
use crate::error::AppResult;
use crate::policy::Visibility;

/// The EPC bound to the asset `asset` at the time `at` (SQL expressions).
fn tag_at(asset: &str, at: &str) -> String {
    format!(
        "(SELECT t.epc FROM tags t WHERE t.asset_id = {asset} AND t.bound_at <= {at}
            AND (t.unbound_at IS NULL OR t.unbound_at > {at}) ORDER BY t.id DESC LIMIT 1)"
    )
}

/// The condition on the asset `a` that `vis` lets through.
fn visible(vis: &Visibility) -> String {
    match vis {
        Visibility::All => "1 = 1".into(),
        Visibility::Nothing => "1 = 0".into(),
        Visibility::Regions(r) => in_regions(r),
        Visibility::UnitAndWarehouse(u) => format!(
            "(a.holder_unit_id = {} OR a.holder_location_id IS NOT NULL)",
            id_list(&[*u])
        ),
    }
}

/// Arguments of a query, with the next `?N` for each.
#[derive(Default)]
struct Args(Vec<Sql>);

impl Args {
    fn push(&mut self, v: Sql) -> String {
        self.0.push(v);
        format!("?{}", self.0.len())
    }
}

/// `AND col >= ?` / `AND col < ?` for the time window.
fn window(q: &Query, col: &str, args: &mut Args) -> String {
    let mut s = String::new();
    if let Some(f) = q.from_ms {
        s += &format!(" AND {col} >= {}", args.push(Sql::Integer(f)));
    }
    if let Some(t) = q.to_ms {
        s += &format!(" AND {col} < {}", args.push(Sql::Integer(t)));
    }
    s
}

/// `AND col IN (…)` for the EPCs `MATCH_epc` names (`None`: no filter).
fn epc_filter(epcs: Option<&[Vec<u8>]>, col: &str, args: &mut Args) -> String {
    match epcs {
        None => String::new(),
        Some([]) => " AND 1 = 0".into(),
        Some(list) => {
            let ps: Vec<String> = list
                .iter()
                .map(|e| args.push(Sql::Blob(e.clone())))
                .collect();
            format!(" AND {col} IN ({})", ps.join(", "))
        }
    }
}

fn quoted(words: &[&str]) -> String {
    // Words from the mapping table (constants), never from a request.
    words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tag EPCs whose pure identity URI is one of `uris`.
fn matching_epcs(c: &Db<'_>, uris: &[String]) -> AppResult<Vec<Vec<u8>>> {
    let mut stmt = c.prepare("SELECT DISTINCT epc FROM tags")?;
    let mut rows = stmt.query(())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let epc: Vec<u8> = r.get(0)?;
        let uri = epcis::epc_uri(&epc);
        if uris.contains(&uri) {
            out.push(epc);
        }
    }
    Ok(out)
}

fn places(c: &Db<'_>) -> AppResult<Places> {
    let mut p = Places::default();
    let mut stmt = c.prepare("SELECT id, sgln FROM locations")?;
    for row in stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, s): (i64, Option<String>) = row?;
        p.locations.insert(id, s);
    }
    let mut stmt = c.prepare("SELECT id, sgln FROM warehouses")?;
    for row in stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, s): (i64, Option<String>) = row?;
        p.warehouses.insert(id, s);
    }
    let mut stmt = c.prepare("SELECT id, location_id FROM readers")?;
    for row in stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, l): (i64, Option<i64>) = row?;
        p.readers.insert(id, l);
    }
    Ok(p)
}

/// Rows of one source after `after`, at most `limit`, as (cursor, event);
/// `None` for a row that makes no event (a kit none of whose members had
/// a tag, or none named by `MATCH_epc`).
#[allow(clippy::too_many_arguments)]
fn fetch(
    c: &Db<'_>,
    q: &Query,
    vis: &Visibility,
    epcs: Option<&[Vec<u8>]>,
    places: &Places,
    after: &Cursor,
    limit: usize,
) -> AppResult<Vec<(Cursor, Option<Value>)>> {
    let mut args = Args::default();
    let vis = visible(vis);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    match after.source {
        Source::Lifecycle => {
            let key = args.push(Sql::Integer(after.key));
            let actions = quoted(&q.lifecycle_actions());
            let time = window(q, "e.at", &mut args);
            let match_epc = epc_filter(epcs, "x.epc", &mut args);
            // The assets ever bound to those EPCs first: their events by
            // the (asset_id, seq) index rather than the whole chain.
            let assets = match epc_filter(epcs, "t2.epc", &mut args) {
                f if f.is_empty() => f,
                f => format!(" AND e.asset_id IN (SELECT t2.asset_id FROM tags t2 WHERE 1 = 1{f})"),
            };
            let sql = format!(
                "SELECT x.seq, x.at, x.action, x.place, x.epc FROM (
                     SELECT e.seq, e.at, e.action, e.place, e.asset_id, {tag} AS epc
                     FROM asset_events e
                     WHERE e.seq > {key} AND e.action IN ({actions}){time}{assets}) x
                 JOIN assets a ON a.id = x.asset_id
                 WHERE x.epc IS NOT NULL AND {vis}{match_epc}
                 ORDER BY x.seq LIMIT {limit}",
                tag = tag_at("e.asset_id", "e.at"),
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args.0.iter()))?;
            while let Some(r) = rows.next()? {
                let (seq, at, action, place, epc): (i64, i64, String, Option<String>, Vec<u8>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                let event = epcis::lifecycle_step(&action)
                    .map(|s| epcis::lifecycle_event(s, seq, at, &epc, place.as_deref(), places));
                out.push((
                    Cursor {
                        source: Source::Lifecycle,
                        key: seq,
                        epc: Vec::new(),
                    },
                    event,
                ));
            }
        }
        Source::Kits => {
            let key = args.push(Sql::Integer(after.key));
            let actions = quoted(&q.kit_actions());
            let time = window(q, "k.at", &mut args);
            let sql = format!(
                "SELECT k.id, k.kit_id, k.action, k.at FROM kit_events k
                 WHERE k.id > {key} AND k.action IN ({actions}){time}
                   AND EXISTS (SELECT 1 FROM kit_event_members m JOIN assets a ON a.id = m.asset_id
                               WHERE m.event_id = k.id AND {vis})
                 ORDER BY k.id LIMIT {limit}"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows: Vec<(i64, i64, String, i64)> = stmt
                .query_map(params_from_iter(args.0.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut members = c.prepare_cached(&format!(
                "SELECT {tag} FROM kit_event_members m JOIN kit_events k ON k.id = m.event_id
                 WHERE m.event_id = ?1 ORDER BY m.asset_id",
                tag = tag_at("m.asset_id", "k.at")
            ))?;
            for (id, kit, action, at) in rows {
                let children: Vec<Vec<u8>> = members
                    .query_map([id], |r| r.get::<_, Option<Vec<u8>>>(0))?
                    .filter_map(Result::transpose)
                    .collect::<Result<_, _>>()?;
                let named = epcs.is_none_or(|e| children.iter().any(|c| e.contains(c)));
                let event = named
                    .then(|| epcis::kit_event(id, kit, &action, at, &children))
                    .flatten();
                out.push((
                    Cursor {
                        source: Source::Kits,
                        key: id,
                        epc: Vec::new(),
                    },
                    event,
                ));
            }
        }
        Source::StockTakes => {
            let key = args.push(Sql::Integer(after.key));
            let key_epc = args.push(Sql::Blob(after.epc.clone()));
            let time = window(q, "s.first_seen", &mut args);
            let match_epc = epc_filter(epcs, "s.epc", &mut args);
            let sql = format!(
                "SELECT s.stocktake_id, s.epc, s.first_seen, st.warehouse_id, st.location_id
                 FROM stocktake_scans s
                 JOIN stocktakes st ON st.id = s.stocktake_id
                 JOIN assets a ON a.id = (SELECT t.asset_id FROM tags t WHERE t.epc = s.epc
                                          ORDER BY t.id DESC LIMIT 1)
                 WHERE (s.stocktake_id > {key} OR (s.stocktake_id = {key} AND s.epc > {key_epc}))
                   {time}{match_epc} AND {vis}
                 ORDER BY s.stocktake_id, s.epc LIMIT {limit}"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args.0.iter()))?;
            while let Some(r) = rows.next()? {
                let (st, epc, at, w, l): (i64, Vec<u8>, i64, i64, Option<i64>) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                let where_ = match l {
                    Some(l) => places.location(l),
                    None => places.warehouse(w),
                };
                let event = epcis::stocktake_event(st, &epc, at, where_);
                out.push((
                    Cursor {
                        source: Source::StockTakes,
                        key: st,
                        epc,
                    },
                    Some(event),
                ));
            }
        }
        Source::Reads => {
            let key = args.push(Sql::Integer(after.key));
            let time = window(q, "s.first_seen", &mut args);
            let match_epc = epc_filter(epcs, "s.epc", &mut args);
            let sql = format!(
                "SELECT s.id, s.epc, s.first_seen, s.reader_id FROM sightings s
                 JOIN assets a ON a.id = s.asset_id
                 WHERE s.id > {key}{time}{match_epc} AND {vis}
                 ORDER BY s.id LIMIT {limit}"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(args.0.iter()))?;
            while let Some(r) = rows.next()? {
                let (id, epc, at, reader): (i64, Vec<u8>, i64, i64) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                let event = epcis::read_event(id, &epc, at, places.reader(reader));
                out.push((
                    Cursor {
                        source: Source::Reads,
                        key: id,
                        epc: Vec::new(),
                    },
                    Some(event),
                ));
            }
        }
    }
    Ok(out)
}

/// One page of events and the cursor to continue from (`None`: no more).
pub(crate) fn page(
    c: &Db<'_>,
    q: &Query,
    vis: &Visibility,
) -> AppResult<(Vec<Value>, Option<Cursor>)> {
    let epcs = match &q.epcs {
        Some(uris) => Some(matching_epcs(c, uris)?),
        None => None,
    };
    let places = places(c)?;
    let mut at = q.after.clone().unwrap_or(Cursor::start(Source::Lifecycle));
    // (cursor, event) of the events kept; one more than a page tells
    // whether another page follows.
    let mut kept: Vec<(Cursor, Value)> = Vec::new();
    let want = q.per_page + 1;
    loop {
        let exhausted = if q.wants(at.source) {
            let need = want - kept.len();
            let rows = fetch(c, q, vis, epcs.as_deref(), &places, &at, need)?;
            let short = rows.len() < need;
            for (cursor, event) in rows {
                at = cursor.clone();
                if let Some(e) = event {
                    kept.push((cursor, e));
                }
            }
            short
        } else {
            true
        };
        if kept.len() >= want {
            break;
        }
        if exhausted {
            match SOURCES.iter().find(|s| **s > at.source) {
                Some(next) => at = Cursor::start(*next),
                None => break,
            }
        }
    }
    let next = if kept.len() > q.per_page {
        kept.truncate(q.per_page);
        kept.last().map(|(c, _)| c.clone())
    } else {
        None
    };
    Ok((kept.into_iter().map(|(_, e)| e).collect(), next))
}

impl Store {
    /// One page of EPCIS events `vis` lets through.
    pub async fn epcis_page(
        &self,
        q: Query,
        vis: Visibility,
    ) -> AppResult<(Vec<Value>, Option<Cursor>)> {
        self.read(move |c| page(c, &q, &vis)).await
    }
}
