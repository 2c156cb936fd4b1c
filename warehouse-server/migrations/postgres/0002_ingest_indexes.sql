-- warehouse-server schema, version 2: what scan ingest needs to keep up
-- with a large register.

-- Last seen per asset, out of the wide `assets` row, in two narrow tables.
-- A batch of 10,000 observations names ~10,000 random assets; upserting
-- them into a table of every asset dirties (and writes to the WAL) nearly
-- all of its pages, every batch. So ingest upserts into the small
-- `asset_last_seen_recent`, and folds it into `asset_last_seen` once it
-- holds many assets (see store/ingest.rs); the latest of the two rows is
-- the asset's last seen. No foreign keys, like `sightings`: ingest takes
-- asset ids from `tags` and reader ids from `readers` in the same
-- transaction, and a key check per row would be a random read of the wide
-- table. `assets.last_seen_at` / `last_seen_reader_id` are no longer
-- written; their values are copied here.
CREATE TABLE asset_last_seen (
    asset_id  BIGINT PRIMARY KEY,
    seen_at   BIGINT NOT NULL,
    reader_id BIGINT NOT NULL
);
CREATE TABLE asset_last_seen_recent (
    asset_id  BIGINT PRIMARY KEY,
    seen_at   BIGINT NOT NULL,
    reader_id BIGINT NOT NULL
);
INSERT INTO asset_last_seen (asset_id, seen_at, reader_id)
    SELECT id, last_seen_at, last_seen_reader_id FROM assets
    WHERE last_seen_at IS NOT NULL AND last_seen_reader_id IS NOT NULL;

-- EPC → asset of the active binding answered from the index alone (no seek
-- into `tags`): ingest and stock-take reconciliation look up every EPC.
CREATE INDEX tags_active_epc_asset ON tags(epc, asset_id) WHERE unbound_at IS NULL;
