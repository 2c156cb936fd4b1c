//! Reports for people (统计报表的阅读视图): a store [`Report`] (machine
//! shape: API column names, integer fen) turned into what a person reads —
//! column headings and values in their language, money in yuan with two
//! decimals, a totals row, and the bar chart a report is best seen as. The
//! report page and its CSV both render from [`PeopleReport`], so the screen
//! and the spreadsheet say the same thing.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::AppResult;
use crate::i18n::{t, tv, Lang};
use crate::money::fen_to_yuan;
use crate::spreadsheet::Sheet;
use crate::store::Report;

/// How a column's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Integer fen, shown as yuan with two decimals.
    Money,
    /// A percentage with one decimal.
    Percent,
    /// An enum value (state, stage, kind…) shown as its word.
    Word,
    /// 0/1 shown as yes/no.
    YesNo,
    /// A unit's id, shown as the unit's name.
    Unit,
    /// A region's name; none: in no region.
    Region,
    /// The unit a `by=unit` row is for; none: warehouse stock.
    RowUnit,
    /// An id that a name beside it already says: not shown.
    Hidden,
    /// Text or a number, as it is.
    Plain,
}

fn kind(column: &str) -> Kind {
    match column {
        c if c.ends_with("_fen") => Kind::Money,
        c if c.ends_with("_pct") => Kind::Percent,
        "state" | "holder_kind" | "kind" | "stage" | "cause" | "remedy" => Kind::Word,
        "overdue" => Kind::YesNo,
        "unit_id" => Kind::Unit,
        "region" => Kind::Region,
        "row_unit" => Kind::RowUnit,
        "holder_id" | "category_id" | "region_id" | "row_unit_id" => Kind::Hidden,
        _ => Kind::Plain,
    }
}

/// The heading of a report column (or totals entry) in `lang`.
pub fn heading(lang: Lang, column: &str) -> String {
    let word = t(lang, &format!("rc_{column}"));
    if word == "?" {
        column.to_owned()
    } else {
        word.to_owned()
    }
}

/// A report's title in `lang`.
pub fn title(lang: Lang, name: &str) -> String {
    let word = t(lang, &format!("rt_{name}"));
    if word == "?" {
        name.to_owned()
    } else {
        word.to_owned()
    }
}

/// A report as people read it.
#[derive(Debug, Clone)]
pub struct PeopleReport {
    pub title: String,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// "合计" and the column totals (empty where a column does not add).
    pub totals: Vec<String>,
    /// Totals that are no column of their own (e.g. 未收金额), as
    /// (heading, value).
    pub other_totals: Vec<(String, String)>,
    /// Bar chart rows (label, value) and the value's unit word.
    pub chart: Option<(Vec<(String, i64)>, String)>,
}

fn cell(lang: Lang, k: Kind, v: &Value, units: &HashMap<i64, String>) -> String {
    match (k, v) {
        (Kind::Region, Value::Null) => t(lang, "no_region").to_owned(),
        (Kind::RowUnit, Value::Null) => t(lang, "no_unit").to_owned(),
        (_, Value::Null) => String::new(),
        (Kind::Money, Value::Number(n)) => n.as_i64().map(fen_to_yuan).unwrap_or(n.to_string()),
        (Kind::Percent, Value::Number(n)) => format!("{n}%"),
        (Kind::Word, Value::String(s)) if s == "warehouse" => t(lang, "rv_warehouse").to_owned(),
        (Kind::Word, Value::String(s)) => tv(lang, s),
        (Kind::YesNo, v) => {
            let yes = v.as_i64().is_some_and(|n| n != 0) || v.as_bool() == Some(true);
            t(lang, if yes { "rv_yes" } else { "rv_no" }).to_owned()
        }
        (Kind::Unit, Value::Number(n)) => n
            .as_i64()
            .and_then(|id| units.get(&id).cloned())
            .unwrap_or_else(|| n.to_string()),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// Which report is best seen as which bars: (label column, value column).
fn chart_of(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "assets-by-state" => Some(("state", "count")),
        "utilisation" => Some(("category", "in_use")),
        "requests" => Some(("kind", "count")),
        "disposals" => Some(("month", "remitted_fen")),
        _ => None,
    }
}

/// Renders `r` for people in `lang`; `units` names units by id.
pub fn for_people(r: &Report, lang: Lang, units: &HashMap<i64, String>) -> PeopleReport {
    let kinds: Vec<Kind> = r.columns.iter().map(|c| kind(c)).collect();
    let shown: Vec<usize> = (0..r.columns.len())
        .filter(|i| kinds[*i] != Kind::Hidden)
        .collect();
    let headings = shown
        .iter()
        .map(|i| heading(lang, &r.columns[*i]))
        .collect();
    let rows = r
        .rows
        .iter()
        .map(|row| {
            shown
                .iter()
                .map(|i| {
                    row.get(*i)
                        .map_or(String::new(), |v| cell(lang, kinds[*i], v, units))
                })
                .collect()
        })
        .collect();
    let total_of = |col: &str| r.totals.get(col);
    let mut totals: Vec<String> = shown
        .iter()
        .map(|i| {
            total_of(&r.columns[*i])
                .map(|v| {
                    // Flags add up to a count, not to "yes".
                    let k = if kinds[*i] == Kind::YesNo {
                        Kind::Plain
                    } else {
                        kinds[*i]
                    };
                    cell(lang, k, v, units)
                })
                .unwrap_or_default()
        })
        .collect();
    if let Some(first) = totals.first_mut() {
        *first = t(lang, "rc_total_row").to_owned();
    }
    let other_totals = match &r.totals {
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| !r.columns.iter().any(|c| c == *k))
            .map(|(k, v)| (heading(lang, k), cell(lang, kind(k), v, units)))
            .collect(),
        _ => Vec::new(),
    };
    let chart = chart_of(&r.name).and_then(|(label, value)| {
        let li = r.columns.iter().position(|c| c == label)?;
        let vi = r.columns.iter().position(|c| c == value)?;
        let money = kinds[vi] == Kind::Money;
        // Rows with the same label (a state held by many) add up to one bar.
        let mut bars: Vec<(String, i64)> = Vec::new();
        for row in &r.rows {
            let l = row
                .get(li)
                .map_or(String::new(), |v| cell(lang, kinds[li], v, units));
            let v = row.get(vi).and_then(Value::as_i64).unwrap_or(0);
            let v = if money { v / 100 } else { v };
            match bars.iter_mut().find(|b| b.0 == l) {
                Some(b) => b.1 = b.1.saturating_add(v),
                None => bars.push((l, v)),
            }
        }
        let unit = if money { t(lang, "rv_yuan") } else { "" };
        Some((bars, unit.to_owned()))
    });
    PeopleReport {
        title: title(lang, &r.name),
        headings,
        rows,
        totals,
        other_totals,
        chart,
    }
}

impl PeopleReport {
    /// The same table as CSV ([`Sheet`]: BOM, CRLF, formulas neutralised),
    /// ending with the totals row and the totals that are no column.
    pub fn to_csv(&self) -> AppResult<Vec<u8>> {
        let mut s = Sheet::new(&self.headings)?;
        for row in &self.rows {
            s.row(row)?;
        }
        s.row(&self.totals)?;
        // A sheet keeps one width: each further total is a row of its own,
        // its heading first.
        for (k, v) in &self.other_totals {
            let mut row = vec![k.as_str(), v.as_str()];
            row.resize(self.headings.len().max(2), "");
            s.row(row)?;
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Report {
        Report {
            name: "compensation".into(),
            title: String::new(),
            columns: [
                "request_id",
                "unit_id",
                "cause",
                "remedy",
                "stage",
                "owed_fen",
                "paid_fen",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                vec![
                    json!(3),
                    json!(2),
                    json!("human"),
                    json!("compensate"),
                    json!("done"),
                    json!(150_005),
                    json!(0),
                ],
                vec![
                    json!(4),
                    json!(9),
                    json!("natural"),
                    Value::Null,
                    json!("done"),
                    json!(95),
                    json!(95),
                ],
            ],
            totals: json!({ "owed_fen": 150_100, "paid_fen": 95, "outstanding_fen": 150_005 }),
            period: None,
            dated_by: None,
        }
    }

    #[test]
    fn headings_values_and_totals_read_as_words_and_yuan() {
        let units = HashMap::from([(2, "财政局".to_owned())]);
        let p = for_people(&report(), Lang::Zh, &units);
        assert_eq!(p.title, "损坏赔偿应收与实收");
        assert_eq!(p.headings[0], "申请编号");
        assert_eq!(p.headings[5], "应收金额（元）");
        assert_eq!(p.rows[0][1], "财政局");
        assert_eq!(p.rows[1][1], "9", "an unknown unit keeps its number");
        assert_eq!(p.rows[0][2], "人为");
        assert_eq!(p.rows[0][5], "1500.05");
        assert_eq!(p.totals[0], "合计");
        assert_eq!(p.totals[5], "1501.00");
        assert_eq!(p.totals[6], "0.95");
        assert_eq!(
            p.other_totals,
            vec![("未收金额（元）".to_owned(), "1500.05".to_owned())]
        );
        let en = for_people(&report(), Lang::En, &units);
        assert_eq!(en.title, "Damage compensation owed and paid");
        assert_eq!(en.headings[5], "Owed (yuan)");
        assert_eq!(en.totals[0], "Total");
    }

    #[test]
    fn every_column_and_title_has_both_languages() {
        for (name, zh) in crate::store::REPORTS {
            assert_eq!(title(Lang::Zh, name), *zh);
            assert_ne!(title(Lang::En, name), *name, "{name} has no English title");
        }
        for col in [
            "state",
            "holder_kind",
            "holder_name",
            "count",
            "value_fen",
            "category",
            "total",
            "in_use",
            "idle",
            "utilisation_pct",
            "idle_pct",
            "request_id",
            "unit_id",
            "unit",
            "reason",
            "loan_start",
            "loan_due",
            "items_out",
            "overdue",
            "days_overdue",
            "event",
            "kind",
            "stage",
            "oldest_age_days",
            "average_age_days",
            "batch_code",
            "supplier",
            "quantity",
            "budget_fen",
            "spent_fen",
            "savings_fen",
            "overspent_fen",
            "contract_number",
            "purchased_on",
            "requests",
            "request_ids",
            "units",
            "month",
            "auctions",
            "hammer_fen",
            "fees_fen",
            "remitted_fen",
            "cause",
            "remedy",
            "owed_fen",
            "paid_fen",
            "loans",
            "assets_disposed",
            "outstanding_fen",
        ] {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(heading(lang, col), col, "{col} has no heading in {lang:?}");
            }
        }
    }

    #[test]
    fn the_csv_has_the_totals_row_and_keeps_cells_safe() -> AppResult<()> {
        let mut r = report();
        r.rows[0][4] = json!("=cmd");
        let csv = for_people(&r, Lang::Zh, &HashMap::new()).to_csv()?;
        let text = String::from_utf8_lossy(&csv);
        assert!(text.starts_with("\u{feff}申请编号,单位,"), "{text}");
        assert!(text.contains("'=cmd"), "{text}");
        assert!(text.contains("\r\n合计,,,,,1501.00,0.95\r\n"), "{text}");
        assert!(text.ends_with("未收金额（元）,1500.05,,,,,\r\n"), "{text}");
        Ok(())
    }
}
