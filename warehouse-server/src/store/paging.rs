//! The one pager: every listing counts what matches (up to
//! [`COUNT_AHEAD`] rows past the page) and reads one page of it with
//! `LIMIT`/`OFFSET`, the same way. The page window is checked by
//! [`crate::paging::offset`], so an absurd page is a clear 422, never an
//! overflow.

use crate::store::db::Db;
use rusqlite::types::Value;

use crate::error::AppResult;
use crate::paging::{offset, Page, COUNT_AHEAD};

/// `SELECT {columns} FROM {from} ORDER BY {order_by}`, page `page` of
/// `per_page` rows, with the count of all that match. `from` holds the
/// tables, joins and `WHERE` and refers to `args` as `?1..?n`; the pager
/// binds `LIMIT` and `OFFSET` after them.
pub(crate) fn page<T>(
    c: &Db<'_>,
    columns: &str,
    from: &str,
    order_by: &str,
    args: &[Value],
    (page, per_page): (i64, i64),
    map: impl FnMut(&crate::store::db::Row<'_>) -> rusqlite::Result<T>,
) -> AppResult<Page<T>> {
    let skip = offset(page, per_page)?;
    let n = args.len();
    // Counts one row past the cap, so "exactly the cap" and "more" differ.
    let cap = skip.saturating_add(COUNT_AHEAD);
    let counted: i64 = c
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} LIMIT ?{}) capped",
            n + 1
        ))?
        .query_row(
            crate::store::db::params_from_iter(
                args.iter().chain([&Value::Integer(cap.saturating_add(1))]),
            ),
            |r| r.get(0),
        )?;
    let total_exact = counted <= cap;
    let total = counted.min(cap);
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {columns} FROM {from} ORDER BY {order_by} LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    ))?;
    let window = [Value::Integer(per_page), Value::Integer(skip)];
    let items = stmt
        .query_map(
            crate::store::db::params_from_iter(args.iter().chain(&window)),
            map,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        total,
        total_exact,
        page,
        per_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;
    use crate::store::Store;

    #[test]
    fn counts_exactly_up_to_the_cap_and_a_lower_bound_past_it() -> AppResult<()> {
        let dir = tempfile::tempdir().map_err(|e| AppError::internal(e.to_string()))?;
        let store = Store::open(
            &dir.path().join("t.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        let rows = COUNT_AHEAD + 50;
        store.write_blocking(|tx| {
            tx.execute_batch("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")?;
            let mut insert = tx.prepare_cached("INSERT INTO numbers (n) VALUES (?1)")?;
            for n in 1..=rows {
                insert.execute([n])?;
            }
            Ok(())
        })?;
        let list = |filter: String, at: (i64, i64)| {
            store
                .read_blocking(move |c| page(c, "n", &filter, "n", &[], at, |r| r.get::<_, i64>(0)))
        };
        // Fewer than the cap match: exact.
        let few = list("numbers WHERE n <= 120".into(), (2, 50))?;
        assert_eq!((few.total, few.total_exact), (120, true));
        assert_eq!(few.items.first(), Some(&51));
        // Exactly the cap: still exact.
        let at_cap = list(format!("numbers WHERE n <= {COUNT_AHEAD}"), (1, 50))?;
        assert_eq!((at_cap.total, at_cap.total_exact), (COUNT_AHEAD, true));
        // More: a lower bound of the cap past the page's first row…
        let many = list("numbers".into(), (1, 50))?;
        assert_eq!((many.total, many.total_exact), (COUNT_AHEAD, false));
        assert_eq!(many.items.len(), 50);
        // …which moves on with the page, and is exact again near the end.
        let later = list("numbers".into(), (3, 50))?;
        assert_eq!((later.total, later.total_exact), (rows, true));
        assert_eq!(later.items.first(), Some(&101));
        Ok(())
    }
}
