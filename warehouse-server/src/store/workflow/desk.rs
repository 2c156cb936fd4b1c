//! The keeper's desk check-out screen: what desk readers saw.

use super::*;

impl Store {
    /// Records what desk readers saw (by the reader name in each
    /// observation; other readers are ignored), at server receive time.
    pub async fn record_desk_scans(&self, scans: Vec<(String, Vec<u8>)>) -> AppResult<()> {
        if scans.is_empty() {
            return Ok(());
        }
        // Most batches come from gates and handhelds: find out on a read
        // connection, so they cost no second write transaction.
        let desks: Vec<String> = self
            .read(|c| {
                let mut stmt = c.prepare_cached("SELECT name FROM readers WHERE role = 'desk'")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        let scans: Vec<(String, Vec<u8>)> = scans
            .into_iter()
            .filter(|(reader, _)| desks.contains(reader))
            .collect();
        if scans.is_empty() {
            return Ok(());
        }
        self.write(move |tx| {
            let now = now_ms();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO desk_scans (reader_id, epc, first_seen, last_seen)
                 SELECT r.id, ?2, ?3, ?3 FROM readers r WHERE r.name = ?1 AND r.role = 'desk'
                 ON CONFLICT (reader_id, epc) DO UPDATE SET last_seen = excluded.last_seen",
            )?;
            for (reader, epc) in scans {
                stmt.execute(rusqlite::params![reader, epc, now])?;
            }
            Ok(())
        })
        .await
    }

    /// EPCs (hex) a desk reader saw since `since_ms`, with the asset each
    /// is bound to, in scan order.
    pub async fn desk_scans(
        &self,
        reader_id: i64,
        since_ms: i64,
    ) -> AppResult<Vec<(String, Option<i64>)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.epc, t.asset_id FROM desk_scans d
                 LEFT JOIN tags t ON t.epc = d.epc AND t.unbound_at IS NULL
                 WHERE d.reader_id = ?1 AND d.last_seen >= ?2
                 ORDER BY d.first_seen, d.epc LIMIT 10000",
            )?;
            let rows = stmt.query_map((reader_id, since_ms), |r| {
                let epc: Vec<u8> = r.get(0)?;
                Ok((shared::hex::Hex(&epc).to_string(), r.get(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
