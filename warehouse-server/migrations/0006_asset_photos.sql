-- warehouse-server schema, version 6: photos of assets (the asset page and
-- virtual-warehouse listings show the latest). Kept in the database so
-- backups carry them.
CREATE TABLE asset_photos (
    id           INTEGER PRIMARY KEY,
    asset_id     INTEGER NOT NULL REFERENCES assets(id),
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  INTEGER NOT NULL
);
CREATE INDEX asset_photos_asset ON asset_photos(asset_id, id);
