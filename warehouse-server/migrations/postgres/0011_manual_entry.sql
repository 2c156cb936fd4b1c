-- warehouse-server schema, version 11: manual entry (手工录入). When a tag
-- will not read, a keeper types the asset number; the entry counts like a
-- read and says who typed it. Each entry is also an event in the chain
-- (`manual_entry`), so the record of who typed what cannot be edited away.

-- At the desk: typed entries belong to the request being checked out or
-- returned (a reader's scans belong to the reader, `desk_scans`).
CREATE TABLE desk_manual_entries (
    request_id BIGINT NOT NULL REFERENCES requests(id),
    asset_id   BIGINT NOT NULL REFERENCES assets(id),
    -- The asset's tag when typed: the check-out matches EPCs.
    epc        BYTEA NOT NULL,
    entered_by TEXT NOT NULL,
    entered_at BIGINT NOT NULL,
    PRIMARY KEY (request_id, asset_id)
);

-- In a stock-take: a typed entry is a scan row with who typed it (NULL:
-- read by a reader).
ALTER TABLE stocktake_scans ADD COLUMN entered_by TEXT;
