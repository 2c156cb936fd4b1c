//! The reader-health panel the desk, stock-take and admin pages show: one
//! row per reader with its status (正常 / 无读数 / 离线 / 认证失败), when it
//! last read a tag, reads per second and its daemon's backlog. The view
//! comes from `Store::reader_health` (the same as `GET
//! /api/v1/health/readers`); the statuses are decided in `crate::health`,
//! this only renders them.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::Web;
use crate::health::{DaemonHealthView, HealthStatus, ReaderHealthRow, ReaderHealthView};
use crate::i18n::{t, Lang};
use crate::register::ReaderRole;
use crate::time::shanghai;

/// The word for a status.
pub fn status_word(lang: Lang, s: HealthStatus) -> &'static str {
    t(
        lang,
        match s {
            HealthStatus::Ok => "health_ok",
            HealthStatus::Stale => "health_stale",
            HealthStatus::Offline => "health_offline",
            HealthStatus::AuthFailing => "health_auth_failing",
        },
    )
}

/// "3 秒前", "5 分钟前", "2 小时前", else the Shanghai date and time;
/// "从未" for none. `now` is the view's time, so a page renders the same
/// words as the data it shows.
pub fn ago(lang: Lang, now: DateTime<Utc>, at: Option<DateTime<Utc>>) -> String {
    let Some(at) = at else {
        return t(lang, "health_never").to_owned();
    };
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs} {}", t(lang, "health_secs_ago")),
        60..3600 => format!("{} {}", secs / 60, t(lang, "health_mins_ago")),
        3600..86400 => format!("{} {}", secs / 3600, t(lang, "health_hours_ago")),
        _ => shanghai(at).format("%Y-%m-%d %H:%M").to_string(),
    }
}

fn clock(at: DateTime<Utc>) -> String {
    shanghai(at).format("%m-%d %H:%M:%S").to_string()
}

/// Why a reader is not `ok`, in words.
fn note(lang: Lang, view: &ReaderHealthView, d: &DaemonHealthView, r: &ReaderHealthRow) -> String {
    match r.status {
        HealthStatus::Ok => String::new(),
        HealthStatus::AuthFailing => {
            let mut s = format!(
                "{} {} {} {}",
                t(lang, "health_token_refused"),
                d.refused_tokens,
                t(lang, "health_times"),
                d.daemon_id
            );
            if let Some(first) = d.refused_since {
                s.push_str(&format!(
                    " ({} {})",
                    t(lang, "health_first_at"),
                    clock(first)
                ));
            }
            s
        }
        HealthStatus::Offline if d.status == HealthStatus::Offline => match d.last_contact {
            Some(at) => format!("{} {}", t(lang, "health_no_contact"), clock(at)),
            None => t(lang, "health_never_contacted").to_owned(),
        },
        HealthStatus::Offline => {
            let mut s = t(lang, "health_link_down").to_owned();
            if let Some(e) = &r.last_error {
                s.push_str(": ");
                s.push_str(e);
            }
            s
        }
        HealthStatus::Stale => format!(
            "{} {} {}",
            t(lang, "health_no_reads_for"),
            view.stale_after_secs,
            t(lang, "health_seconds")
        ),
    }
}

/// The panel: every reader (or only those of `only_role`) with its status.
/// Rows carry `data-reader` and `data-status` for scripts and tests.
pub fn reader_health_panel(
    w: &Web,
    view: &ReaderHealthView,
    only_role: Option<ReaderRole>,
) -> Markup {
    let lang = w.lang;
    let rows: Vec<_> = view
        .readers()
        .filter(|(_, r)| only_role.is_none_or(|role| r.role == role))
        .collect();
    html! {
        section.reader-health data-test="reader-health" {
            h3 { (t(lang, "reader_health")) }
            @if rows.is_empty() {
                p.empty { (t(lang, "health_none")) }
            } @else {
                table {
                    thead { tr {
                        th { (t(lang, "health_reader")) }
                        th { (t(lang, "health_status")) }
                        th { (t(lang, "health_last_read")) }
                        th { (t(lang, "reads_per_s")) }
                        th { (t(lang, "health_backlog")) }
                        th { (t(lang, "health_daemon")) }
                        th { (t(lang, "health_note")) }
                    } }
                    tbody {
                        @for (d, r) in &rows {
                            tr data-reader=(r.name) data-status=(r.status.as_str()) {
                                td { (r.name) }
                                td { span class=(format!("badge h-{}", r.status.as_str())) { (status_word(lang, r.status)) } }
                                td { (ago(lang, view.generated_at, r.last_read_at)) }
                                td { (format!("{:.1}", r.reads_per_s)) }
                                td { (d.backlog) }
                                td.mono { (d.daemon_id) }
                                td { (note(lang, view, d, r)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::health::{build_view, DaemonRow, ReaderRow, ReaderSeen, Thresholds};
    use crate::policy::{Actor, Ctx, Role};

    fn web(lang: Lang) -> Web {
        Web {
            ctx: Ctx {
                actor: Actor::System,
                request_id: None,
            },
            lang,
            username: "keeper".into(),
            display_name: "keeper".into(),
            role: Role::Keeper,
            unit_id: None,
            path: "/".into(),
            cookies: HashMap::new(),
            form_token: String::new(),
        }
    }

    const NOW: i64 = 1_780_000_000_000;

    /// One daemon per status: `up` reading, `quiet` up without reads,
    /// `gone` not heard of, `refused` with its token refused.
    fn view() -> ReaderHealthView {
        let th = Thresholds::from_secs(30, 60);
        let daemon = |id: i64, name: &str, reported: Option<i64>, refused: Option<i64>| DaemonRow {
            id,
            daemon_id: name.into(),
            reported_at: reported,
            backlog: 39_112 * i64::from(refused.is_some()),
            refused: i64::from(refused.is_some()) * 17,
            refused_first_at: refused.map(|r| r - 40_000),
            refused_last_at: refused,
            ..DaemonRow::default()
        };
        let reader = |id: i64, daemon: i64, name: &str, role, last_read: Option<i64>| ReaderRow {
            id,
            daemon,
            name: name.into(),
            role,
            location_id: None,
            seen: Some(ReaderSeen {
                reported_at: NOW - 1_000,
                connected: true,
                last_read_at: last_read,
            }),
            reads_per_s: if last_read.is_some() { 42.0 } else { 0.0 },
            reads_total: 10,
            errors: 0,
            last_error: None,
        };
        build_view(
            NOW,
            th,
            vec![
                daemon(1, "up", Some(NOW - 1_000), None),
                daemon(2, "quiet", Some(NOW - 1_000), None),
                daemon(3, "gone", Some(NOW - 600_000), None),
                daemon(4, "refused", None, Some(NOW - 2_000)),
            ],
            vec![
                reader(1, 1, "desk-1", ReaderRole::Desk, Some(NOW - 3_000)),
                reader(2, 2, "gate-1", ReaderRole::Gate, None),
                reader(3, 3, "gate-2", ReaderRole::Gate, Some(NOW - 600_000)),
                reader(4, 4, "hand-1", ReaderRole::Handheld, None),
            ],
            None,
        )
    }

    #[test]
    fn the_panel_renders_each_status_in_chinese_first() {
        let v = view();
        let html = reader_health_panel(&web(Lang::Zh), &v, None).into_string();
        for (reader, status, word) in [
            ("desk-1", "ok", "正常"),
            ("gate-1", "stale", "无读数"),
            ("gate-2", "offline", "离线"),
            ("hand-1", "auth_failing", "认证失败"),
        ] {
            let row = format!(r#"data-reader="{reader}" data-status="{status}""#);
            assert!(html.contains(&row), "{row} in {html}");
            assert!(html.contains(word), "{word} in {html}");
        }
        assert!(html.contains("3 秒前"), "{html}");
        assert!(html.contains("42.0"), "{html}");
        assert!(html.contains("39112"), "{html}");
        assert!(html.contains("令牌被服务器拒绝 17 次"), "{html}");
        assert!(html.contains("无读数已超过 30 秒"), "{html}");
        assert!(html.contains("无联系，最后联系"), "{html}");
        let en = reader_health_panel(&web(Lang::En), &v, None).into_string();
        assert!(
            en.contains("Auth failing") && en.contains("3 s ago"),
            "{en}"
        );
    }

    #[test]
    fn the_panel_shows_one_role_when_asked() {
        let v = view();
        let html = reader_health_panel(&web(Lang::Zh), &v, Some(ReaderRole::Desk)).into_string();
        assert!(html.contains(r#"data-reader="desk-1""#), "{html}");
        assert!(!html.contains("gate-1"), "{html}");
        let none = reader_health_panel(&web(Lang::Zh), &v, Some(ReaderRole::Handheld));
        assert!(none.into_string().contains("hand-1"));
        let empty = build_view(NOW, Thresholds::from_secs(1, 1), vec![], vec![], None);
        let html = reader_health_panel(&web(Lang::Zh), &empty, None).into_string();
        assert!(html.contains("没有登记的读写器"), "{html}");
    }

    #[test]
    fn ago_counts_seconds_minutes_hours_then_the_date() {
        let now = crate::time::ts(NOW);
        let at = |secs: i64| Some(crate::time::ts(NOW - secs * 1000));
        assert_eq!(ago(Lang::Zh, now, at(3)), "3 秒前");
        assert_eq!(ago(Lang::Zh, now, at(125)), "2 分钟前");
        assert_eq!(ago(Lang::En, now, at(7200)), "2 h ago");
        assert_eq!(ago(Lang::Zh, now, None), "从未");
        assert_eq!(ago(Lang::Zh, now, at(3 * 86400)).len(), 16);
    }
}
