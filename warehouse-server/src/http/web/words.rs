//! Words instead of ids: the one place that renders what the store keeps
//! as ids and labels (`unit:2`, `location:1`, `user:zhang3`, event and
//! step actions, item statuses) as what a person reads ("单位A",
//! "A01 一号库房", "张三", "2026-03-01 10:00 张三 在 A01 一号库房 登记入库"),
//! in the page's language. A page first collects every id it will show
//! into a [`NameQuery`] (`ask_*`), reads them in one go
//! ([`crate::store::Store::names`]), then renders with the functions here.
//! The stored labels themselves never change: they are chained in the
//! event log.

use serde_json::Value;

use crate::events::Event;
use crate::i18n::{t, tv, Lang};
use crate::store::{NameQuery, Names};
use crate::workflow::{RequestKind, Step};

/// Who acted, as the event log and request steps label them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who<'a> {
    User(&'a str),
    Reader(&'a str),
    Daemon(&'a str),
    System,
    Other(&'a str),
}

impl<'a> Who<'a> {
    pub fn parse(label: &'a str) -> Self {
        match label.split_once(':') {
            Some(("user", n)) => Who::User(n),
            Some(("reader", n)) => Who::Reader(n),
            Some(("daemon", n)) => Who::Daemon(n),
            None if label == "system" => Who::System,
            _ => Who::Other(label),
        }
    }
}

/// Where something happened, as events record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    Location(i64),
    Unit(i64),
    Reader(&'a str),
    Other(&'a str),
}

impl<'a> Place<'a> {
    pub fn parse(place: &'a str) -> Self {
        match place.split_once(':') {
            Some(("location", id)) => id.parse().map_or(Place::Other(place), Place::Location),
            Some(("unit", id)) => id.parse().map_or(Place::Other(place), Place::Unit),
            Some(("reader", n)) => Place::Reader(n),
            _ => Place::Other(place),
        }
    }
}

/// Adds the person behind an actor label to the query.
pub fn ask_who(q: &mut NameQuery, label: &str) {
    if let Who::User(n) = Who::parse(label) {
        q.user(Some(n));
    }
}

/// Adds the unit or location behind a place label to the query.
pub fn ask_place(q: &mut NameQuery, place: Option<&str>) {
    match place.map(Place::parse) {
        Some(Place::Location(l)) => {
            q.location(Some(l));
        }
        Some(Place::Unit(u)) => {
            q.unit(Some(u));
        }
        _ => {}
    }
}

/// Everything an event line names.
pub fn ask_event(q: &mut NameQuery, e: &Event) {
    ask_who(q, &e.actor);
    ask_place(q, e.place.as_deref());
}

/// A unit's name.
pub fn unit(lang: Lang, names: &Names, id: i64) -> String {
    names
        .units
        .get(&id)
        .cloned()
        .unwrap_or_else(|| t(lang, "w_unknown").to_owned())
}

/// A location as "A01 一号库房".
pub fn location(lang: Lang, names: &Names, id: i64) -> String {
    match names.locations.get(&id) {
        Some(l) => format!("{} {}", l.code, l.name),
        None => t(lang, "w_unknown").to_owned(),
    }
}

/// A location with its warehouse: "主仓 · A01 一号库房".
pub fn location_in_warehouse(lang: Lang, names: &Names, id: i64) -> String {
    match names.locations.get(&id) {
        Some(l) => format!("{} · {} {}", l.warehouse, l.code, l.name),
        None => t(lang, "w_unknown").to_owned(),
    }
}

/// Who holds an asset: its unit, else its location.
pub fn holder(lang: Lang, names: &Names, unit_id: Option<i64>, location_id: Option<i64>) -> String {
    match (unit_id, location_id) {
        (Some(u), _) => unit(lang, names, u),
        (_, Some(l)) => location_in_warehouse(lang, names, l),
        _ => String::new(),
    }
}

pub fn category(lang: Lang, names: &Names, id: i64) -> String {
    names
        .categories
        .get(&id)
        .cloned()
        .unwrap_or_else(|| t(lang, "w_unknown").to_owned())
}

/// A person by display name; readers and the system by what they are.
pub fn person(lang: Lang, names: &Names, label: &str) -> String {
    match Who::parse(label) {
        Who::User(n) => names.users.get(n).cloned().unwrap_or_else(|| n.to_owned()),
        Who::Reader(n) => t(lang, "w_reader").replace("{name}", n),
        Who::Daemon(n) => t(lang, "w_daemon").replace("{name}", n),
        Who::System => t(lang, "w_system").to_owned(),
        Who::Other(s) => s.to_owned(),
    }
}

/// A place label as words.
pub fn place(lang: Lang, names: &Names, place: &str) -> String {
    match Place::parse(place) {
        Place::Location(l) => location(lang, names, l),
        Place::Unit(u) => unit(lang, names, u),
        Place::Reader(n) => t(lang, "w_reader").replace("{name}", n),
        Place::Other(s) => s.to_owned(),
    }
}

/// A word from a namespaced key (`ev_check_out`), else the namespace's
/// catch-all (`ev_other`): a person never sees an English action name.
fn word(lang: Lang, prefix: &str, value: &str) -> &'static str {
    match t(lang, &format!("{prefix}_{value}")) {
        "?" => t(lang, &format!("{prefix}_other")),
        w => w,
    }
}

/// A request's number as people say it ("申请编号 12").
pub fn request_ref(lang: Lang, id: i64) -> String {
    t(lang, "w_for_request").replace("{n}", &id.to_string())
}

/// A request page's title: "借用申请 · 编号 12".
pub fn request_title(lang: Lang, kind: RequestKind, id: i64) -> String {
    t(lang, "request_title")
        .replace("{kind}", &tv(lang, kind.as_str()))
        .replace("{n}", &id.to_string())
}

/// An event as a sentence, without its time: "张三 在 A01 一号库房 登记入库
/// （申请编号 3）：事由".
pub fn event_sentence(lang: Lang, names: &Names, e: &Event) -> String {
    let who = person(lang, names, &e.actor);
    let at = e.place.as_deref().map(|p| place(lang, names, p));
    let action = match (e.action.as_str(), e.place.as_deref().map(Place::parse)) {
        ("registered", Some(Place::Unit(_))) => t(lang, "ev_registered_unit"),
        (a, _) => word(lang, "ev", a),
    };
    let mut s = match (lang, at) {
        (Lang::Zh, Some(at)) => format!("{who} {} {at} {action}", t(lang, "w_at")),
        (Lang::En, Some(at)) => format!("{who} {action} {} {at}", t(lang, "w_at")),
        (_, None) => format!("{who} {action}"),
    };
    let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
    // How it arrived (取得方式), on an acquisition's registration.
    if let Some(src) = details.get("source").and_then(Value::as_str) {
        let word = t(lang, &format!("src_{src}"));
        if word != "?" {
            s.push_str(&lang.parens(&format!("{}{}{word}", t(lang, "source"), lang.colon())));
        }
    }
    if let Some(r) = details.get("request").and_then(Value::as_i64) {
        s.push_str(&match lang {
            Lang::Zh => format!("（{}）", request_ref(lang, r)),
            Lang::En => format!(" ({})", request_ref(lang, r)),
        });
    }
    if let Some(reason) = e.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        s.push_str(lang.colon());
        s.push_str(reason);
    }
    s
}

/// A request step as a sentence, without its time: "李四 同意：可以借".
pub fn step_sentence(lang: Lang, names: &Names, s: &Step) -> String {
    let mut out = format!(
        "{} {}",
        person(lang, names, &s.actor),
        word(lang, "sa", &s.action)
    );
    if let Some(c) = s.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        out.push_str(lang.colon());
        out.push_str(c);
    }
    out
}

/// The figures a step recorded, in a fixed order, as (label, value):
/// money in yuan, lists as counts, decisions in words. Bookkeeping keys
/// (batch ids, request numbers) are left out.
pub fn step_figures(lang: Lang, details: &Value) -> Vec<(&'static str, String)> {
    const KEYS: &[&str] = &[
        "supplier",
        "contract_number",
        "unit_price_fen",
        "total_fen",
        "combined",
        "appraised_value_fen",
        "appraiser",
        "report_ref",
        "hammer_price_fen",
        "buyer",
        "fees_fen",
        "fees_document",
        "net_fen",
        "amount_fen",
        "original_value_fen",
        "amount_reason",
        "treasury_ref",
        "receipt_ref",
        "cause",
        "responsible",
        "remedy",
        "written_off",
        "residual_disposal",
        "damage_case",
        "disposal_method",
        "expected",
        "received",
        "matched",
        "shortfall",
        "extras",
        "returned",
        "still_out",
        "damage_cases",
        "asset_ids",
    ];
    KEYS.iter()
        .filter_map(|k| {
            let v = details.get(*k)?;
            let shown = match v {
                Value::Null => return None,
                Value::Number(n) if k.ends_with("_fen") => crate::money::fen_to_yuan(n.as_i64()?),
                Value::Number(n) => n.to_string(),
                Value::Array(a) => a.len().to_string(),
                Value::Bool(b) => t(lang, if *b { "rv_yes" } else { "rv_no" }).to_owned(),
                Value::String(s) if matches!(*k, "cause" | "remedy" | "disposal_method") => {
                    tv(lang, s)
                }
                Value::String(s) if s.trim().is_empty() => return None,
                Value::String(s) => s.clone(),
                Value::Object(_) => return None,
            };
            Some((t(lang, &format!("sd_{k}")), shown))
        })
        .collect()
}

/// A request item's status (`checked_out` → 已出库).
pub fn item_status(lang: Lang, status: &str) -> String {
    match t(lang, &format!("is_{status}")) {
        "?" => tv(lang, status),
        w => w.to_owned(),
    }
}

/// Why a scanned tag does not fit a check-out or intake.
pub fn extra_why(lang: Lang, why: &crate::workflow::ExtraWhy) -> String {
    use crate::workflow::ExtraWhy as X;
    match why {
        X::HeldBy { request_id } => t(lang, "why_held_by").replace("{n}", &request_id.to_string()),
        X::NotInStock { state } => {
            t(lang, "why_not_in_stock").replace("{state}", &tv(lang, state.as_str()))
        }
        X::UnknownTag => t(lang, "why_unknown_tag").to_owned(),
        X::NotPartOfRequest => t(lang, "why_not_part").to_owned(),
        X::AlreadyOut => t(lang, "why_already_out").to_owned(),
        X::WrongCategory => t(lang, "why_wrong_category").to_owned(),
        X::MoreThanNeeded => t(lang, "why_more_than_needed").to_owned(),
        X::NotHandedIn => t(lang, "why_not_handed_in").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LocationName, Names};
    use serde_json::json;

    fn names() -> Names {
        let mut n = Names::default();
        n.units.insert(2, "单位A".into());
        n.users.insert("zhang3".into(), "张三".into());
        n.locations.insert(
            1,
            LocationName {
                code: "A01".into(),
                name: "一号库房".into(),
                warehouse: "主仓".into(),
            },
        );
        n
    }

    fn event(actor: &str, place: Option<&str>, action: &str, details: Value) -> Event {
        Event {
            seq: 1,
            asset_id: 1,
            at: 0,
            actor: actor.into(),
            place: place.map(str::to_owned),
            action: action.into(),
            reason: None,
            request_id: None,
            details: details.to_string(),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }

    #[test]
    fn labels_become_names() {
        let n = names();
        assert_eq!(person(Lang::Zh, &n, "user:zhang3"), "张三");
        assert_eq!(person(Lang::Zh, &n, "reader:desk-1"), "读写器 desk-1");
        assert_eq!(person(Lang::Zh, &n, "system"), "系统");
        assert_eq!(place(Lang::Zh, &n, "location:1"), "A01 一号库房");
        assert_eq!(place(Lang::Zh, &n, "unit:2"), "单位A");
        assert_eq!(place(Lang::Zh, &n, "unit:99"), "（已删除）");
        assert_eq!(holder(Lang::Zh, &n, None, Some(1)), "主仓 · A01 一号库房");
        assert_eq!(Place::parse("location:x"), Place::Other("location:x"));
    }

    #[test]
    fn history_lines_read_as_sentences() {
        let n = names();
        let e = event("user:zhang3", Some("location:1"), "registered", json!({}));
        assert_eq!(
            event_sentence(Lang::Zh, &n, &e),
            "张三 在 A01 一号库房 登记入库"
        );
        assert_eq!(
            event_sentence(Lang::En, &n, &e),
            "张三 registered it at A01 一号库房"
        );
        let e = event(
            "user:zhang3",
            Some("unit:2"),
            "confirm_allocation",
            json!({"request": 7}),
        );
        assert_eq!(
            event_sentence(Lang::Zh, &n, &e),
            "张三 在 单位A 签收调配（申请编号 7）"
        );
        // An action nobody wrote words for still reads as Chinese.
        let e = event("system", None, "something_new", json!({}));
        assert_eq!(event_sentence(Lang::Zh, &n, &e), "系统 其他变更");
    }

    #[test]
    fn every_event_and_step_action_has_words() {
        use crate::lifecycle::AssetAction as A;
        let lifecycle = [
            A::CheckOut,
            A::ConfirmAllocation,
            A::ConfirmLoan,
            A::Return,
            A::ListIdle,
            A::Unlist,
            A::Transfer,
            A::HandIn,
            A::HoldForDisposal,
            A::ReleaseDisposal,
            A::Dispose,
            A::MarkLost,
            A::Found,
            A::StartRepair,
            A::FinishRepair,
        ];
        let others = [
            "registered",
            "updated",
            "emergency_pass",
            "tag_bound",
            "retagged",
            "gate_alarm",
            "gate_alarm_acknowledged",
            "relocated",
            "photo_added",
            "requested",
            "damage_reported",
            "loss_reported",
            "residual_appraisal",
        ];
        let actions = lifecycle.iter().map(|a| a.as_str()).chain(others);
        for a in actions {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(t(lang, &format!("ev_{a}")), "?", "event {a}");
            }
        }
        let steps = crate::workflow::StepKind::ALL
            .iter()
            .map(|s| s.as_str())
            .chain(["submit"]);
        for s in steps {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(t(lang, &format!("sa_{s}")), "?", "step {s}");
            }
        }
        for s in [
            "requested",
            "checked_out",
            "received",
            "returned",
            "done",
            "released",
        ] {
            assert_ne!(item_status(Lang::Zh, s), s, "item status {s}");
        }
    }

    #[test]
    fn step_figures_are_in_yuan_and_words() {
        let f = step_figures(
            Lang::Zh,
            &json!({"batch_id": 4, "supplier": "某公司", "contract_number": "HT-1",
                "unit_price_fen": 50000, "total_fen": 150000, "cause": "human",
                "asset_ids": [1, 2], "responsible": null}),
        );
        assert_eq!(
            f,
            [
                ("供应商", "某公司".to_owned()),
                ("合同号", "HT-1".to_owned()),
                ("单价（元）", "500.00".to_owned()),
                ("合计（元）", "1500.00".to_owned()),
                ("原因", "人为".to_owned()),
                ("资产（件）", "2".to_owned()),
            ]
        );
    }
}
