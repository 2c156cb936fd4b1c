//! Photos of assets.

use super::*;

impl Store {
    /// Adds a photo of an asset (type and size checked by the caller with
    /// [`check_document`]); the event log records it.
    pub async fn add_asset_photo(
        &self,
        ctx: Ctx,
        asset_id: i64,
        content_type: String,
        data: Vec<u8>,
    ) -> AppResult<()> {
        self.write(move |tx| {
            let a = get_asset(tx, asset_id)?;
            authorize(&ctx.actor, Action::UpdateAsset, a.scope())?;
            tx.execute(
                "INSERT INTO asset_photos (asset_id, content_type, size, data, uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    asset_id,
                    content_type,
                    data.len() as i64,
                    data,
                    ctx.actor.label(),
                    now_ms()
                ],
            )?;
            let photo = tx.last_insert_rowid()?;
            note_event(
                tx,
                &ctx,
                &a,
                "photo_added",
                None,
                json!({ "photo_id": photo, "size": data.len() }),
            )
        })
        .await
    }

    /// The latest photo of an asset: (content type, bytes).
    pub async fn asset_photo(&self, asset_id: i64) -> AppResult<Option<(String, Vec<u8>)>> {
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT content_type, data FROM asset_photos WHERE asset_id = ?1
                 ORDER BY id DESC LIMIT 1",
                [asset_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await
    }
}
