-- warehouse-server schema, version 18: kits (套装) — a named set of assets
-- (a meeting-room kit: projector, screen, four microphones) reserved,
-- checked out and returned as one. An asset is in at most one kit; a
-- retired kit lets its members go (its row stays for the requests that
-- named it).
CREATE TABLE kits (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    notes      TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE UNIQUE INDEX kits_name_live ON kits(name) WHERE retired_at IS NULL;

CREATE TABLE kit_members (
    kit_id   INTEGER NOT NULL REFERENCES kits(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    PRIMARY KEY (kit_id, asset_id)
);
CREATE UNIQUE INDEX kit_members_asset ON kit_members(asset_id);
