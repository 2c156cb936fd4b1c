//! "Words, not ids": what a page's visible text must not show a person in
//! Chinese mode — raw database ids (`#12`, `user:unit`, `location:3`) and
//! English words. Names that are data (a category called
//! "办公椅 office chair", a reader called `desk-1`) are the register's own
//! and are taken out before the check.

/// Short technical words a Chinese page may show as they are.
const ALLOWED: &[&str] = &[
    "EPC", "RFID", "UHF", "GS1", "GIAI", "SGTIN", "SSCC", "GRAI", "TID", "URI", "URL", "API",
    "PDF", "PNG", "JPEG", "WebP", "CSV", "Excel", "XLSX", "English", "OpenAPI", "JSON", "SSE",
];

/// Prefixes of the server's internal actor and holder ids.
const RAW_PREFIXES: &[&str] = &[
    "user:",
    "unit:",
    "location:",
    "request:",
    "asset:",
    "system:",
];

/// What is wrong with `text` (empty: nothing). `data` holds names from the
/// register (categories, units, warehouses, locations, readers, users).
pub fn unreadable(text: &str, data: &[String]) -> Vec<String> {
    let mut data: Vec<&str> = data
        .iter()
        .map(String::as_str)
        .filter(|d| !d.is_empty())
        .collect();
    // Longest first, so "Unit 1-1-1" goes before "Unit 1".
    data.sort_by_key(|d| std::cmp::Reverse(d.len()));
    let mut t = text.to_owned();
    for d in data {
        t = t.replace(d, " ");
    }
    let mut found = Vec::new();
    let chars: Vec<char> = t.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '#' && chars.get(i + 1).is_some_and(char::is_ascii_digit) {
            found.push(format!("raw id `{}`", around(&chars, i)));
        }
    }
    for p in RAW_PREFIXES {
        let mut from = 0;
        while let Some(at) = t[from..].find(p) {
            let at = from + at;
            let next = t[at + p.len()..].chars().next();
            if next.is_some_and(|c| !c.is_whitespace()) {
                found.push(format!("raw id `{}`", snippet(&t, at)));
            }
            from = at + p.len();
        }
    }
    for run in t.split(|c: char| !c.is_ascii_alphanumeric()) {
        // An EPC or TID in hex is data, whatever letters it holds.
        if run.len() >= 8 && run.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        for word in run.split(|c: char| !c.is_ascii_alphabetic()) {
            if word.len() >= 3 && !ALLOWED.iter().any(|a| a.eq_ignore_ascii_case(word)) {
                found.push(format!("English word `{word}`"));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// Chinese in an English page's `text` outside the data names in `data`
/// (the register's names are data, in whatever language they were typed):
/// each run of CJK characters or CJK punctuation left, with a little
/// context. Empty for a page whose interface is all English.
pub fn chinese_outside(text: &str, data: &[String]) -> Vec<String> {
    let mut data: Vec<&str> = data
        .iter()
        .map(String::as_str)
        .filter(|d| !d.is_empty())
        .collect();
    data.sort_by_key(|d| std::cmp::Reverse(d.len()));
    let mut t = text.to_owned();
    for d in data {
        t = t.replace(d, " ");
    }
    let chars: Vec<char> = t.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_chinese(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_chinese(chars[i]) {
            i += 1;
        }
        let a = start.saturating_sub(12);
        let b = (i + 12).min(chars.len());
        let run: String = chars[start..i].iter().collect();
        let context: String = chars[a..b].iter().collect();
        found.push(format!(
            "`{run}` in `{}`",
            context.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    found.sort();
    found.dedup();
    found
}

/// A CJK ideograph, or punctuation only Chinese text uses (、，。「」（）…).
fn is_chinese(c: char) -> bool {
    matches!(c,
        '\u{2e80}'..='\u{2fdf}'
        | '\u{3000}'..='\u{303f}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{f900}'..='\u{faff}'
        | '\u{ff01}'..='\u{ff60}')
}

fn around(chars: &[char], i: usize) -> String {
    let a = i.saturating_sub(8);
    let b = (i + 12).min(chars.len());
    chars[a..b].iter().collect()
}

fn snippet(t: &str, at: usize) -> String {
    let chars: Vec<char> = t[at..].chars().take(24).collect();
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_english_are_found_data_names_are_not() {
        let data = vec!["办公椅 office chair".to_owned(), "desk-1".to_owned()];
        assert!(unreadable(
            "借用 3 件 办公椅 office chair，读写器 desk-1，状态 已批准",
            &data
        )
        .is_empty());
        let bad = unreadable(
            "单位 #36 申请人 user:unit registered system @ location:1 状态 requested",
            &data,
        );
        for want in [
            "#36",
            "user:unit",
            "location:1",
            "`registered`",
            "`requested`",
        ] {
            assert!(
                bad.iter().any(|b| b.contains(want)),
                "{want} not found in {bad:?}"
            );
        }
        assert!(!unreadable("原因 wrong category", &[]).is_empty());
        // English pages: Chinese outside the data is found, the data is not.
        let data = vec!["市财政局".to_owned(), "办公椅".to_owned()];
        assert!(chinese_outside("Unit 市财政局 · Category 办公椅 · 3 items", &data).is_empty());
        let bad = chinese_outside("Unit 市财政局 状态 已批准（2）", &data);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(
            bad[0].starts_with("`状态`") || bad[1].starts_with("`状态`"),
            "{bad:?}"
        );
        assert!(bad.iter().any(|b| b.starts_with("`已批准（`")), "{bad:?}");
        // Allowed technical words and plain numbers pass.
        assert!(unreadable("EPC 3034257BF400ABCDEF00 下载 CSV 共 12 条 第 2 页", &[]).is_empty());
    }
}
