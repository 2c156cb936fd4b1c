//! One SQL text per query, two backends. A query is written once in the
//! portable subset both SQLite and PostgreSQL accept, and rendered per
//! backend by [`render`] (docs/ARCHITECTURE.md, "Two backends, one SQL
//! text"). The portable subset:
//!
//! - parameters are numbered, `?1` … `?N` (SQLite's form; rendered `$N` for
//!   PostgreSQL); a bare `?` is refused (PostgreSQL has no positional form);
//! - conflicts are `ON CONFLICT (…) DO NOTHING / DO UPDATE … excluded.…`,
//!   new ids come back with `RETURNING id` (both accept these);
//! - the scalar two-or-more-argument maximum and minimum are written
//!   `GREATEST(…)` / `LEAST(…)` (rendered `max(…)` / `min(…)` for SQLite,
//!   whose aggregates of the same name take one argument);
//! - sums that must stay integers are `CAST(SUM(x) AS BIGINT)`
//!   (PostgreSQL's `SUM(bigint)` is `numeric`);
//! - nothing only SQLite knows: `INSERT OR …`, `INDEXED BY`, `PRAGMA`,
//!   `last_insert_rowid()`, `json_extract`, `WITHOUT ROWID`, `GLOB` are
//!   refused by name, so a query that would work on one backend only
//!   fails its first render (every query is rendered in unit tests).
//!
//! String literals, quoted identifiers and comments are copied unchanged.

use std::borrow::Cow;

/// The backend a text is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Why a text is not portable SQL: the construct and where it starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not portable SQL at byte {at}: {what}")]
pub struct NotPortable {
    pub at: usize,
    pub what: String,
}

/// Constructs only SQLite accepts, matched as whole words outside
/// literals, case-insensitively; each with what to write instead.
const SQLITE_ONLY: &[(&[&str], &str)] = &[
    (
        &["INSERT", "OR"],
        "use INSERT … ON CONFLICT … DO NOTHING/UPDATE",
    ),
    (&["REPLACE", "INTO"], "use INSERT … ON CONFLICT … DO UPDATE"),
    (&["INDEXED", "BY"], "index hints are SQLite's only"),
    (&["NOT", "INDEXED"], "index hints are SQLite's only"),
    (&["PRAGMA"], "PRAGMA is SQLite's only"),
    (&["WITHOUT", "ROWID"], "WITHOUT ROWID is SQLite's only"),
    (&["last_insert_rowid"], "use RETURNING id"),
    (
        &["json_extract"],
        "JSON access differs: read the column and decode",
    ),
    (&["GLOB"], "use LIKE"),
    (&["ifnull"], "use COALESCE"),
];

/// Functions written in PostgreSQL's spelling, renamed for SQLite.
const RENAMED_FOR_SQLITE: &[(&str, &str)] = &[("GREATEST", "max"), ("LEAST", "min")];

/// Words written in SQLite's spelling, renamed for PostgreSQL (same
/// arguments, same meaning): `instr(haystack, needle)` is `strpos`, and
/// SQLite's `LIKE`, which ignores the case of ASCII letters, is `ILIKE`.
const RENAMED_FOR_POSTGRES: &[(&str, &str)] = &[("instr", "strpos"), ("LIKE", "ILIKE")];

/// Renders `sql` for `dialect`, or says what is not portable in it.
/// Borrows when nothing changes (SQLite with no renamed function).
pub fn render(sql: &str, dialect: Dialect) -> Result<Cow<'_, str>, NotPortable> {
    let tokens = tokenize(sql)?;
    check_portable(sql, &tokens)?;
    let changes = tokens.iter().any(|t| match t.kind {
        Kind::Param(_) => dialect == Dialect::Postgres,
        Kind::Word => renamed(&sql[t.start..t.end], dialect).is_some(),
        Kind::Other => false,
    });
    if !changes {
        return Ok(Cow::Borrowed(sql));
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    for t in &tokens {
        let replacement: Option<Cow<'_, str>> = match t.kind {
            Kind::Param(n) if dialect == Dialect::Postgres => Some(format!("${n}").into()),
            Kind::Word => renamed(&sql[t.start..t.end], dialect).map(Cow::Borrowed),
            _ => None,
        };
        if let Some(r) = replacement {
            out.push_str(&sql[copied..t.start]);
            out.push_str(&r);
            copied = t.end;
        }
    }
    out.push_str(&sql[copied..]);
    Ok(Cow::Owned(out))
}

/// The highest parameter number `sql` uses (0: none), after checking it is
/// portable. Both backends need the parameters bound to be exactly these.
pub fn parameter_count(sql: &str) -> Result<usize, NotPortable> {
    let tokens = tokenize(sql)?;
    check_portable(sql, &tokens)?;
    Ok(tokens
        .iter()
        .filter_map(|t| match t.kind {
            Kind::Param(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0))
}

fn renamed(word: &str, dialect: Dialect) -> Option<&'static str> {
    let table = match dialect {
        Dialect::Sqlite => RENAMED_FOR_SQLITE,
        Dialect::Postgres => RENAMED_FOR_POSTGRES,
    };
    table
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(word))
        .map(|(_, to)| *to)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `?N`.
    Param(usize),
    /// An unquoted identifier or keyword.
    Word,
    /// Punctuation outside literals (kept only for word adjacency).
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// The words, parameters and punctuation of `sql`; literals, quoted
/// identifiers and comments are skipped (they are copied unchanged).
fn tokenize(sql: &str) -> Result<Vec<Token>, NotPortable> {
    let b = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => {
                // A doubled quote inside is an escaped quote.
                let mut j = i + 1;
                loop {
                    match b.get(j) {
                        None => {
                            return Err(NotPortable {
                                at: i,
                                what: "unterminated quoted text".into(),
                            })
                        }
                        Some(&q) if q == c => {
                            if b.get(j + 1) == Some(&c) {
                                j += 2;
                            } else {
                                break;
                            }
                        }
                        Some(_) => j += 1,
                    }
                }
                if c == b'`' {
                    return Err(NotPortable {
                        at: i,
                        what: "backquoted identifiers are not portable: use \"…\"".into(),
                    });
                }
                i = j + 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match sql[i + 2..].find("*/") {
                Some(k) => i = i + 2 + k + 2,
                None => {
                    return Err(NotPortable {
                        at: i,
                        what: "unterminated comment".into(),
                    })
                }
            },
            b'?' => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: usize = sql[i + 1..j].parse().map_err(|_| NotPortable {
                    at: i,
                    what: "a bare `?`: number every parameter, ?1 … ?N".into(),
                })?;
                if n == 0 {
                    return Err(NotPortable {
                        at: i,
                        what: "parameters are numbered from ?1".into(),
                    });
                }
                tokens.push(Token {
                    kind: Kind::Param(n),
                    start: i,
                    end: j,
                });
                i = j;
            }
            b'$' | b'@' | b':' if b.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric()) => {
                // `::type` casts are PostgreSQL's only; `$1`, `:name`,
                // `@name` are another backend's parameters.
                return Err(NotPortable {
                    at: i,
                    what: format!(
                        "`{}` parameters or casts: write ?N and CAST(… AS …)",
                        c as char
                    ),
                });
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                return Err(NotPortable {
                    at: i,
                    what: "`::` casts are PostgreSQL's only: write CAST(… AS …)".into(),
                });
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                tokens.push(Token {
                    kind: Kind::Word,
                    start: i,
                    end: j,
                });
                i = j;
            }
            c if c.is_ascii_digit() => {
                // A number (kept whole so `1e5` is not a word).
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                tokens.push(Token {
                    kind: Kind::Other,
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
        }
    }
    Ok(tokens)
}

fn check_portable(sql: &str, tokens: &[Token]) -> Result<(), NotPortable> {
    for (k, t) in tokens.iter().enumerate() {
        for (words, advice) in SQLITE_ONLY {
            let matches = words.iter().enumerate().all(|(w, word)| {
                tokens.get(k + w).is_some_and(|t| {
                    t.kind == Kind::Word && sql[t.start..t.end].eq_ignore_ascii_case(word)
                })
            });
            if matches {
                return Err(NotPortable {
                    at: t.start,
                    what: format!("`{}` ({advice})", words.join(" ")),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        match render(sql, Dialect::Postgres) {
            Ok(s) => s.into_owned(),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn lite(sql: &str) -> String {
        match render(sql, Dialect::Sqlite) {
            Ok(s) => s.into_owned(),
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    fn refusal(sql: &str) -> String {
        match render(sql, Dialect::Postgres) {
            Ok(s) => panic!("{sql} rendered as {s}, expected a refusal"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn numbered_parameters_become_dollar_parameters_for_postgres_only() {
        let q = "SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?10) AND d = ?1";
        assert_eq!(
            pg(q),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $10) AND d = $1"
        );
        assert!(matches!(render(q, Dialect::Sqlite), Ok(Cow::Borrowed(_))));
        assert_eq!(parameter_count(q), Ok(10));
        assert_eq!(parameter_count("SELECT 1"), Ok(0));
    }

    #[test]
    fn literals_identifiers_and_comments_are_left_alone() {
        let q = "SELECT '?1 it''s', \"GREATEST?2\" -- ?3 GREATEST(\n FROM t /* ?4 */ WHERE x = ?5";
        assert_eq!(
            pg(q),
            "SELECT '?1 it''s', \"GREATEST?2\" -- ?3 GREATEST(\n FROM t /* ?4 */ WHERE x = $5"
        );
        assert_eq!(lite(q), q);
        assert_eq!(parameter_count(q), Ok(5));
    }

    #[test]
    fn instr_and_like_take_postgresql_spellings_there_only() {
        let sql = "SELECT 1 FROM a WHERE instr(name, ?1) > 0 OR code LIKE ?2 ESCAPE '\\'";
        assert_eq!(
            pg(sql),
            "SELECT 1 FROM a WHERE strpos(name, $1) > 0 OR code ILIKE $2 ESCAPE '\\'"
        );
        assert_eq!(lite(sql), sql);
        // Not inside literals or as part of a longer word.
        assert_eq!(
            pg("SELECT 'LIKE', likely FROM t"),
            "SELECT 'LIKE', likely FROM t"
        );
    }

    #[test]
    fn greatest_and_least_become_scalar_max_and_min_for_sqlite() {
        let q =
            "UPDATE g SET last_seen = GREATEST(last_seen, ?1), lo = least(lo, ?2) WHERE id = ?3";
        assert_eq!(
            lite(q),
            "UPDATE g SET last_seen = max(last_seen, ?1), lo = min(lo, ?2) WHERE id = ?3"
        );
        assert_eq!(
            pg(q),
            "UPDATE g SET last_seen = GREATEST(last_seen, $1), lo = least(lo, $2) WHERE id = $3"
        );
        // Only whole words: a column named greatest_x is a column.
        assert_eq!(lite("SELECT greatest_x FROM t"), "SELECT greatest_x FROM t");
    }

    #[test]
    fn the_ingest_upsert_is_portable() {
        let q =
            "INSERT INTO asset_last_seen_recent (asset_id, seen_at, reader_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (asset_id) DO UPDATE SET seen_at = excluded.seen_at,
             reader_id = excluded.reader_id
         WHERE excluded.seen_at >= asset_last_seen_recent.seen_at";
        assert!(pg(q).contains("VALUES ($1, $2, $3)"));
        assert_eq!(lite(q), q);
    }

    #[test]
    fn sqlite_only_constructs_are_refused_by_name() {
        for (q, named) in [
            ("INSERT OR IGNORE INTO t (a) VALUES (?1)", "INSERT OR"),
            ("insert or replace into t (a) values (?1)", "INSERT OR"),
            ("REPLACE INTO t (a) VALUES (?1)", "REPLACE INTO"),
            (
                "SELECT a FROM tags INDEXED BY tags_active_epc_asset WHERE epc = ?1",
                "INDEXED BY",
            ),
            ("PRAGMA foreign_keys = ON", "PRAGMA"),
            (
                "CREATE TABLE t (a INTEGER PRIMARY KEY) WITHOUT ROWID",
                "WITHOUT ROWID",
            ),
            ("SELECT last_insert_rowid()", "last_insert_rowid"),
            ("SELECT json_extract(d, '$.x') FROM e", "json_extract"),
            ("SELECT ifnull(a, 0) FROM t", "ifnull"),
        ] {
            let why = refusal(q);
            assert!(why.contains(named), "{q}: {why}");
        }
        // The same words inside a literal are only text.
        assert_eq!(
            pg("SELECT 'INSERT OR IGNORE' FROM t WHERE a = ?1"),
            "SELECT 'INSERT OR IGNORE' FROM t WHERE a = $1"
        );
    }

    #[test]
    fn other_backends_parameters_and_casts_are_refused() {
        for (q, named) in [
            ("SELECT a FROM t WHERE b = ?", "bare `?`"),
            ("SELECT a FROM t WHERE b = ?0", "from ?1"),
            ("SELECT a FROM t WHERE b = $1", "`$`"),
            ("SELECT a FROM t WHERE b = :name", "`:`"),
            ("SELECT a::bigint FROM t", "`::`"),
            ("SELECT `a` FROM t", "backquoted"),
            ("SELECT 'open FROM t", "unterminated quoted"),
            ("SELECT a /* open FROM t", "unterminated comment"),
        ] {
            let why = refusal(q);
            assert!(why.contains(named), "{q}: {why}");
        }
    }

    #[test]
    fn non_ascii_text_in_literals_survives() {
        let q = "SELECT '公物仓 ?1' FROM t WHERE name = ?1";
        assert_eq!(pg(q), "SELECT '公物仓 ?1' FROM t WHERE name = $1");
    }
}
