//! Auditors (审计/纪检): what their reads are recorded as, and the trail
//! they export. The role itself (read-only, in its reach) is
//! `crate::policy`'s; recording happens where every request is
//! authenticated (`http::extract`), so no handler can forget it. Here:
//! the subject a read path names, the audit-log row, the trail's entries
//! and its workbook (pure), and [`export_trail`], the one use case both
//! the API and the page call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::spreadsheet::{xlsx, XCell};

/// What a path names, as `kind:id` (`asset:12`, `request:7`…): the first
/// collection segment followed by a number, or an `asset_id=`/`unit_id=`
/// query parameter (the trail export). None for lists and pages of many.
pub fn subject_of(path_and_query: &str) -> Option<String> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    const NAMES: [(&str, &str); 8] = [
        ("assets", "asset"),
        ("requests", "request"),
        ("units", "unit"),
        ("stocktakes", "stocktake"),
        ("warehouses", "warehouse"),
        ("regions", "region"),
        ("users", "user"),
        ("kits", "kit"),
    ];
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for pair in segments.windows(2) {
        if let Some((_, kind)) = NAMES.iter().find(|(c, _)| *c == pair[0]) {
            if let Ok(id) = pair[1].parse::<i64>() {
                return Some(format!("{kind}:{id}"));
            }
        }
    }
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        let id = v.parse::<i64>().ok()?;
        match k {
            "asset_id" => Some(format!("asset:{id}")),
            "unit_id" => Some(format!("unit:{id}")),
            _ => None,
        }
    })
}

/// One read by an auditor: who, when, what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRead {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub at: DateTime<Utc>,
    pub method: String,
    /// The path and query read.
    pub path: String,
    /// What the path names (`asset:12`), if one thing.
    pub subject: Option<String>,
}

/// The trail of an asset or of a unit over a period (both dates
/// included, days in Asia/Shanghai; either may be left out).
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrailQuery {
    /// The asset whose trail (its events, and the steps of every request
    /// that named it). Exactly one of `asset_id` and `unit_id`.
    pub asset_id: Option<i64>,
    /// The unit whose trail: the events of every asset it holds or any of
    /// its requests named, and its requests' steps.
    pub unit_id: Option<i64>,
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<String>,
}

/// Whose trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailOf {
    Asset(i64),
    Unit(i64),
}

impl TrailQuery {
    /// The one subject asked, or 422 naming `asset_id`.
    pub fn subject(&self) -> AppResult<TrailOf> {
        match (self.asset_id, self.unit_id) {
            (Some(a), None) => Ok(TrailOf::Asset(a)),
            (None, Some(u)) => Ok(TrailOf::Unit(u)),
            _ => Err(crate::error::Reason::TrailSubject.into()),
        }
    }
}

/// One entry of a trail: an event of the asset chain or a request step
/// (both are links of the one keyed chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEntry {
    pub at: i64,
    /// `event` (资产事件) or `step` (申请步骤).
    pub source: &'static str,
    /// The chain's sequence number (events) or the step's id.
    pub seq: i64,
    pub asset_number: Option<String>,
    pub asset_name: Option<String>,
    pub request_id: Option<i64>,
    pub action: String,
    pub actor: String,
    pub place: Option<String>,
    pub note: Option<String>,
}

/// The trail as a workbook: Chinese headings, one row per entry in time
/// order, the time as Asia/Shanghai wall-clock text, and a count row.
pub fn trail_xlsx(title: &str, entries: &[TrailEntry]) -> AppResult<Vec<u8>> {
    let headings: Vec<String> = [
        "时间",
        "类别",
        "序号",
        "资产编号",
        "资产名称",
        "申请编号",
        "动作",
        "操作人",
        "地点",
        "说明",
    ]
    .iter()
    .map(|h| (*h).to_owned())
    .collect();
    let text = |v: &Option<String>| v.clone().map_or(XCell::Empty, XCell::Text);
    let rows: Vec<Vec<XCell>> = entries
        .iter()
        .map(|e| {
            vec![
                XCell::Text(
                    crate::time::shanghai(crate::time::ts(e.at))
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                ),
                XCell::Text(
                    if e.source == "event" {
                        "资产事件"
                    } else {
                        "申请步骤"
                    }
                    .into(),
                ),
                XCell::Int(e.seq),
                text(&e.asset_number),
                text(&e.asset_name),
                e.request_id.map_or(XCell::Empty, XCell::Int),
                XCell::Text(crate::i18n::tv(crate::i18n::Lang::Zh, &e.action)),
                XCell::Text(e.actor.clone()),
                text(&e.place),
                text(&e.note),
            ]
        })
        .collect();
    let totals = vec![vec![
        XCell::Text("合计".into()),
        XCell::Text(format!("{} 条", entries.len())),
    ]];
    xlsx(title, &headings, &rows, &totals)
}

/// The trail `q` asks for as a workbook, if `actor` may export it (its
/// subject in their reach): the file name and the bytes.
pub async fn export_trail(
    store: &crate::store::Store,
    actor: &crate::policy::Actor,
    q: &TrailQuery,
) -> AppResult<(String, Vec<u8>)> {
    use crate::policy::{authorize, Action, Scope};
    let of = q.subject()?;
    let period = crate::store::parse_period(q.from.as_deref(), q.to.as_deref(), None, None)?;
    let scope = match of {
        TrailOf::Asset(id) => store.asset_detail(id).await?.asset.scope(),
        TrailOf::Unit(id) => {
            let unit = store.get_unit(id).await?;
            Scope::Unit {
                unit: unit.id,
                region: unit.region_id,
            }
        }
    };
    authorize(actor, Action::ExportTrail, scope)?;
    let entries = store.trail(of, period).await?;
    let (title, file) = match of {
        TrailOf::Asset(id) => ("资产轨迹", format!("资产轨迹-{id}.xlsx")),
        TrailOf::Unit(id) => ("单位轨迹", format!("单位轨迹-{id}.xlsx")),
    };
    Ok((file, trail_xlsx(title, &entries)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_names_its_subject() {
        assert_eq!(subject_of("/api/v1/assets/12").as_deref(), Some("asset:12"));
        assert_eq!(
            subject_of("/requests/7?lang=zh").as_deref(),
            Some("request:7")
        );
        assert_eq!(
            subject_of("/api/v1/audit/trail.xlsx?unit_id=3&from=2026-01-01").as_deref(),
            Some("unit:3")
        );
        assert_eq!(subject_of("/api/v1/assets?page=2"), None);
        assert_eq!(subject_of("/api/v1/assets/by-epc/3034"), None);
    }

    #[test]
    fn a_trail_needs_exactly_one_subject() {
        let q = |asset_id, unit_id| TrailQuery {
            asset_id,
            unit_id,
            from: None,
            to: None,
        };
        assert_eq!(q(Some(1), None).subject().ok(), Some(TrailOf::Asset(1)));
        assert_eq!(q(None, Some(2)).subject().ok(), Some(TrailOf::Unit(2)));
        assert!(q(None, None).subject().is_err());
        assert!(q(Some(1), Some(2)).subject().is_err());
    }
}
