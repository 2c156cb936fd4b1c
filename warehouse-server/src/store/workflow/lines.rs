//! A request's lines (申请明细): what it asks, category by category or
//! asset by asset. [`lines_of`] is the one reading of them: check-out,
//! procurement, receiving, the pick list, the stock check and the request
//! JSON all go through it; [`demand_by_category`] says what a request asks
//! of each category.

use super::*;

/// One line of a request as stored, with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub line_no: i64,
    pub category_id: Option<i64>,
    pub quantity: i64,
    pub notes: Option<String>,
    pub unit_price_fen: Option<i64>,
    /// Assets the line names that are still to be checked out.
    pub named: Vec<i64>,
    /// Every asset of the line (named, matched at the desk, bought).
    pub items: Vec<i64>,
    /// Items checked out (and those gone on: received, returned, done).
    pub checked_out: i64,
    pub returned: i64,
}

impl Line {
    /// A line asked by category with nothing held for it: any in-stock
    /// asset of its category fills it at the desk. (A line of named assets
    /// has no category of its own.)
    pub fn by_category(&self) -> bool {
        self.category_id.is_some() && self.named.is_empty()
    }

    /// How many more items the desk must check out for this line.
    /// Items held for the line (named at filing, bought, or chosen to
    /// fulfil a purchase) are what it needs; else its category's count.
    pub fn still_needed(&self) -> i64 {
        if !self.named.is_empty() || !self.by_category() {
            self.named.len() as i64
        } else {
            (self.quantity - self.checked_out).max(0)
        }
    }
}

/// The lines of a request, in order, with their items and progress.
pub fn lines_of(c: &Db<'_>, request_id: i64) -> AppResult<Vec<Line>> {
    let mut stmt = c.prepare_cached(
        "SELECT line_no, category_id, quantity, notes, unit_price_fen FROM request_lines
         WHERE request_id = ?1 ORDER BY line_no",
    )?;
    let mut lines: Vec<Line> = stmt
        .query_map([request_id], |r| {
            Ok(Line {
                line_no: r.get(0)?,
                category_id: r.get(1)?,
                quantity: r.get(2)?,
                notes: r.get(3)?,
                unit_price_fen: r.get(4)?,
                named: Vec::new(),
                items: Vec::new(),
                checked_out: 0,
                returned: 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = c.prepare_cached(
        "SELECT line_no, asset_id, status, active FROM request_items
         WHERE request_id = ?1 ORDER BY line_no, asset_id",
    )?;
    let items = stmt
        .query_map([request_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (line_no, asset, status, active) in items {
        let Some(line) = lines.iter_mut().find(|l| l.line_no == line_no) else {
            continue;
        };
        if status == "released" {
            continue;
        }
        line.items.push(asset);
        match status.as_str() {
            "requested" if active => line.named.push(asset),
            "checked_out" | "received" | "done" => line.checked_out += 1,
            "returned" => {
                line.checked_out += 1;
                line.returned += 1;
            }
            _ => {}
        }
    }
    Ok(lines)
}

/// What a request asks of each category, summed over its lines (a line
/// of named assets counts them under their own categories), in category
/// order.
pub fn demand_by_category(c: &Db<'_>, request_id: i64) -> AppResult<Vec<(i64, i64)>> {
    let mut demand: std::collections::BTreeMap<i64, i64> = Default::default();
    for line in lines_of(c, request_id)? {
        let mut counted = 0;
        for &asset in &line.items {
            let cat: i64 = c
                .prepare_cached("SELECT category_id FROM assets WHERE id = ?1")?
                .query_row([asset], |r| r.get(0))?;
            *demand.entry(cat).or_default() += 1;
            counted += 1;
        }
        // A line by category not yet (fully) checked out asks the rest of
        // its category.
        if let Some(cat) = line.category_id {
            let rest = line.quantity - counted;
            if rest > 0 {
                *demand.entry(cat).or_default() += rest;
            }
        }
    }
    Ok(demand.into_iter().collect())
}

/// Stores a new request's lines.
pub(super) fn insert_lines(tx: &Db<'_>, request_id: i64, lines: &[CheckedLine]) -> AppResult<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO request_lines (request_id, line_no, category_id, quantity, notes)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, l) in lines.iter().enumerate() {
        stmt.execute(rusqlite::params![
            request_id,
            i as i64 + 1,
            l.category_id,
            l.quantity,
            l.notes
        ])?;
    }
    Ok(())
}

/// The lines as the API shows them, each with its stock check while the
/// request waits for stock (`checks`: the stock of each category asked).
pub(super) fn request_lines(lines: &[Line], checks: &[StockCheck]) -> Vec<RequestLine> {
    lines
        .iter()
        .map(|l| RequestLine {
            line_no: l.line_no,
            category_id: l.category_id,
            quantity: l.quantity,
            notes: l.notes.clone(),
            checked_out: l.checked_out,
            returned: l.returned,
            items: l.items.clone(),
            unit_price_fen: l.unit_price_fen,
            total_fen: l.unit_price_fen.and_then(|p| p.checked_mul(l.quantity)),
            stock: l
                .by_category()
                .then(|| checks.iter().find(|c| Some(c.category_id) == l.category_id))
                .flatten()
                .copied(),
        })
        .collect()
}

impl Store {
    /// What a request asks of each category (`(category_id, quantity)`,
    /// summed over its lines): what a loan demands of the stock.
    pub async fn demand_by_category(&self, request_id: i64) -> AppResult<Vec<(i64, i64)>> {
        self.read(move |c| demand_by_category(c, request_id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loan of chairs ×4 (one out, one returned), tables ×2 (none out)
    /// and a named projector; and a purchase line with a price.
    #[test]
    fn lines_carry_their_items_progress_and_demand() -> AppResult<()> {
        let dir = tempfile::tempdir().map_err(|e| AppError::internal(e.to_string()))?;
        let store = Store::open(
            &dir.path().join("t.db"),
            1,
            crate::events::ChainKey::generate(),
        )?;
        store.write_blocking(|tx| {
            tx.execute_batch(
                "INSERT INTO categories (id, code, name) VALUES (1, 'c', '椅子'), (2, 't', '桌子'),
                     (3, 'p', '投影仪');
                 INSERT INTO units (id, name, level, created_at) VALUES (1, 'u', 'unit', 0);
                 INSERT INTO assets (id, asset_number, name, category_id, original_value_fen,
                     holder_unit_id, state, condition, created_at, updated_at)
                 VALUES (1, '1', 'a', 1, 0, 1, 'on_loan', 'good', 0, 0),
                        (2, '2', 'b', 1, 0, 1, 'allocated', 'good', 0, 0),
                        (3, '3', 'c', 3, 0, 1, 'allocated', 'good', 0, 0),
                        (4, '4', 'd', 1, 0, 1, 'allocated', 'good', 0, 0);
                 INSERT INTO requests (id, kind, stage, applicant, created_at, updated_at)
                 VALUES (1, 'loan', 'checkout', 'x', 0, 0);
                 INSERT INTO request_lines (request_id, line_no, category_id, quantity, notes)
                 VALUES (1, 1, 1, 4, '主席台'), (1, 2, 2, 2, NULL), (1, 3, NULL, 1, NULL);
                 INSERT INTO request_items (request_id, asset_id, status, active, line_no)
                 VALUES (1, 1, 'received', 1, 1), (1, 2, 'returned', 0, 1),
                        (1, 3, 'requested', 1, 3), (1, 4, 'released', 0, 1);",
            )?;
            Ok(())
        })?;
        let (lines, demand) =
            store.read_blocking(|c| Ok((lines_of(c, 1)?, demand_by_category(c, 1)?)))?;
        assert_eq!(lines.len(), 3);
        let chairs = &lines[0];
        assert_eq!(
            (chairs.items.clone(), chairs.checked_out, chairs.returned),
            (vec![1, 2], 2, 1),
            "a released item is no longer the line's"
        );
        assert!(chairs.by_category());
        assert_eq!(chairs.still_needed(), 2);
        assert_eq!(chairs.notes.as_deref(), Some("主席台"));
        assert_eq!(lines[1].still_needed(), 2);
        let projector = &lines[2];
        assert!(!projector.by_category());
        assert_eq!(
            (projector.named.clone(), projector.still_needed()),
            (vec![3], 1)
        );
        // Chairs: two out and two more; tables: two; the projector's
        // category: one.
        assert_eq!(demand, vec![(1, 4), (2, 2), (3, 1)]);
        Ok(())
    }
}
