//! iCalendar (RFC 5545) for a loan's reservation: one all-day VEVENT, so
//! a unit can put its pick-up and return days in its own calendar. Only
//! what one event needs: text escaping (§3.3.11) and line folding at 75
//! octets (§3.1), CRLF line ends.

use chrono::{DateTime, NaiveDate, Utc};

/// One all-day event from `first` to `last`, both included (DTEND is the
/// day after `last`, as RFC 5545 counts all-day ends).
#[derive(Debug, Clone)]
pub struct AllDayEvent<'a> {
    /// Stable per request, so a re-import updates the same event.
    pub uid: &'a str,
    pub stamp: DateTime<Utc>,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub summary: &'a str,
    pub description: &'a str,
}

/// The text of a calendar holding `event`.
pub fn calendar(event: &AllDayEvent<'_>) -> String {
    let end = event.last.succ_opt().unwrap_or(event.last);
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//gongwucang//warehouse-server//ZH".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", escape(event.uid)),
        format!("DTSTAMP:{}", event.stamp.format("%Y%m%dT%H%M%SZ")),
        format!("DTSTART;VALUE=DATE:{}", event.first.format("%Y%m%d")),
        format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")),
        format!("SUMMARY:{}", escape(event.summary)),
        format!("DESCRIPTION:{}", escape(event.description)),
        "TRANSP:TRANSPARENT".to_owned(),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    lines.iter().map(|l| fold(l) + "\r\n").collect()
}

/// TEXT escaping: backslash, semicolon, comma and newlines.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line so that no line exceeds 75 octets, never inside a
/// UTF-8 character: continuation lines start with one space.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 60 * 3);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let table = [
            ("椅子 120 件", "椅子 120 件"),
            ("a,b;c", "a\\,b\\;c"),
            ("back\\slash", "back\\\\slash"),
            ("two\nlines", "two\\nlines"),
            ("crlf\r\nend", "crlf\\nend"),
            ("", ""),
        ];
        for (raw, want) in table {
            assert_eq!(escape(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let ascii = "S".repeat(200);
        let folded = fold(&ascii);
        let parts: Vec<&str> = folded.split("\r\n").collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= 75), "{parts:?}");
        assert_eq!(parts.concat().replace(' ', ""), ascii);
        // Three-byte characters never split: 25 fit on the first line.
        let han = format!("SUMMARY:{}", "椅".repeat(60));
        let folded = fold(&han);
        for part in folded.split("\r\n") {
            assert!(part.len() <= 75, "{} octets: {part}", part.len());
        }
        let unfolded = folded.replace("\r\n ", "");
        assert_eq!(unfolded, han);
        assert_eq!(fold("short"), "short");
    }

    #[test]
    fn an_all_day_event_ends_the_day_after_its_last() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let text = calendar(&AllDayEvent {
            uid: "request-17@gongwucang",
            stamp: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            first: d("2099-12-01"),
            last: d("2099-12-31"),
            summary: "借用：椅子 20 件, 桌子 2 件",
            description: "表彰大会",
        });
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        for want in [
            "BEGIN:VEVENT",
            "UID:request-17@gongwucang",
            "DTSTAMP:19700101T000000Z",
            "DTSTART;VALUE=DATE:20991201",
            "DTEND;VALUE=DATE:21000101",
            "SUMMARY:借用：椅子 20 件\\, 桌子 2 件",
        ] {
            assert!(lines.contains(&want), "{want} missing in {text}");
        }
    }
}
