//! The one pager: every listing counts what matches and reads one page of
//! it with `LIMIT`/`OFFSET`, the same way. The page window is checked by
//! [`crate::paging::offset`], so an absurd page is a clear 422, never an
//! overflow.

use crate::store::db::Db;
use rusqlite::types::Value;

use crate::error::AppResult;
use crate::paging::{offset, Page};

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
    let total: i64 = c
        .prepare_cached(&format!("SELECT count(*) FROM {from}"))?
        .query_row(crate::store::db::params_from_iter(args.iter()), |r| {
            r.get(0)
        })?;
    let n = args.len();
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
        page,
        per_page,
    })
}
