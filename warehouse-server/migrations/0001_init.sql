-- warehouse-server schema, version 1.
-- Times are INTEGER unix milliseconds (UTC); money is INTEGER fen; EPCs are
-- BLOBs of the EPC bank's identifier bytes; dates are TEXT 'YYYY-MM-DD'.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE units (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    parent_id  INTEGER REFERENCES units(id),
    level      TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'unit')),
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'approver', 'finance', 'keeper', 'unit_staff')),
    unit_id       INTEGER REFERENCES units(id),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    CHECK (role <> 'unit_staff' OR unit_id IS NOT NULL)
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE warehouses (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    address    TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE locations (
    id           INTEGER PRIMARY KEY,
    warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    UNIQUE (warehouse_id, code)
);

CREATE TABLE categories (
    id        INTEGER PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    parent_id INTEGER REFERENCES categories(id)
);

CREATE TABLE procurement_batches (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    supplier     TEXT,
    purchased_on TEXT,
    total_fen    INTEGER CHECK (total_fen IS NULL OR total_fen >= 0),
    notes        TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE readers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('gate', 'desk', 'handheld')),
    location_id INTEGER REFERENCES locations(id),
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE assets (
    id                  INTEGER PRIMARY KEY,
    asset_number        TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    category_id         INTEGER NOT NULL REFERENCES categories(id),
    model               TEXT,
    original_value_fen  INTEGER NOT NULL CHECK (original_value_fen >= 0),
    purchase_date       TEXT,
    funding_source      TEXT,
    batch_id            INTEGER REFERENCES procurement_batches(id),
    holder_location_id  INTEGER REFERENCES locations(id),
    holder_unit_id      INTEGER REFERENCES units(id),
    custodian           TEXT,
    state               TEXT NOT NULL CHECK (state IN ('in_stock', 'allocated', 'on_loan', 'in_transit',
                            'listed_idle', 'under_repair', 'disposal_pending', 'lost', 'disposed')),
    condition           TEXT NOT NULL CHECK (condition IN ('new', 'good', 'worn', 'damaged')),
    notes               TEXT,
    checkout_approved   INTEGER NOT NULL DEFAULT 0,
    last_seen_at        INTEGER,
    last_seen_reader_id INTEGER REFERENCES readers(id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CHECK ((holder_location_id IS NULL) <> (holder_unit_id IS NULL))
);
CREATE INDEX assets_name ON assets(name);
CREATE INDEX assets_category ON assets(category_id);
CREATE INDEX assets_state ON assets(state);
CREATE INDEX assets_holder_unit ON assets(holder_unit_id) WHERE holder_unit_id IS NOT NULL;
CREATE INDEX assets_holder_location ON assets(holder_location_id) WHERE holder_location_id IS NOT NULL;

-- Tag bindings: one row per (tag, asset) binding; the active one has
-- unbound_at NULL. Old rows are the history (re-tagging keeps them).
CREATE TABLE tags (
    id            INTEGER PRIMARY KEY,
    epc           BLOB NOT NULL,
    asset_id      INTEGER NOT NULL REFERENCES assets(id),
    bound_at      INTEGER NOT NULL,
    unbound_at    INTEGER,
    unbind_reason TEXT
);
CREATE UNIQUE INDEX tags_active_epc ON tags(epc) WHERE unbound_at IS NULL;
CREATE UNIQUE INDEX tags_active_asset ON tags(asset_id) WHERE unbound_at IS NULL;
CREATE INDEX tags_asset ON tags(asset_id);

-- An EPC allocated for an asset, waiting for the daemon to confirm the write.
CREATE TABLE tag_commissions (
    id           INTEGER PRIMARY KEY,
    asset_id     INTEGER NOT NULL REFERENCES assets(id),
    epc          BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'superseded')),
    requested_by TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    confirmed_by TEXT,
    confirmed_at INTEGER
);
CREATE INDEX tag_commissions_asset ON tag_commissions(asset_id);

-- The lifetime event log: append-only, each row's hash covers the previous
-- row's hash (see src/events.rs).
CREATE TABLE asset_events (
    seq        INTEGER PRIMARY KEY,
    asset_id   INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    place      TEXT,
    action     TEXT NOT NULL,
    reason     TEXT,
    request_id TEXT,
    details    TEXT NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL
);
CREATE INDEX asset_events_asset ON asset_events(asset_id, seq);
CREATE TRIGGER asset_events_no_update BEFORE UPDATE ON asset_events
BEGIN SELECT RAISE(ABORT, 'asset_events is append-only'); END;
CREATE TRIGGER asset_events_no_delete BEFORE DELETE ON asset_events
BEGIN SELECT RAISE(ABORT, 'asset_events is append-only'); END;

-- Exactly-once sync: the highest batch sequence applied per daemon.
CREATE TABLE sync_daemons (
    daemon_id       TEXT PRIMARY KEY,
    applied_through INTEGER NOT NULL,
    reader_id       INTEGER REFERENCES readers(id),
    updated_at      INTEGER NOT NULL
) WITHOUT ROWID;

-- Every observation received; asset_id NULL = foreign (unknown EPC).
CREATE TABLE sightings (
    id         INTEGER PRIMARY KEY,
    epc        BLOB NOT NULL,
    asset_id   INTEGER,
    reader_id  INTEGER NOT NULL,
    antenna    INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    peak_rssi  INTEGER,
    kind       TEXT NOT NULL,
    daemon_id  TEXT NOT NULL,
    sequence   INTEGER NOT NULL
);
CREATE INDEX sightings_foreign ON sightings(id) WHERE asset_id IS NULL;

CREATE TABLE stocktakes (
    id           INTEGER PRIMARY KEY,
    warehouse_id INTEGER NOT NULL REFERENCES warehouses(id),
    location_id  INTEGER REFERENCES locations(id),
    status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by    TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    closed_by    TEXT,
    closed_at    INTEGER,
    report       TEXT
);
CREATE TABLE stocktake_readers (
    stocktake_id INTEGER NOT NULL REFERENCES stocktakes(id),
    reader_id    INTEGER NOT NULL REFERENCES readers(id),
    PRIMARY KEY (stocktake_id, reader_id)
) WITHOUT ROWID;
CREATE INDEX stocktake_readers_reader ON stocktake_readers(reader_id);
-- What the register placed in scope when the stock-take opened.
CREATE TABLE stocktake_expected (
    stocktake_id INTEGER NOT NULL,
    asset_id     INTEGER NOT NULL,
    PRIMARY KEY (stocktake_id, asset_id)
) WITHOUT ROWID;
CREATE TABLE stocktake_scans (
    stocktake_id INTEGER NOT NULL,
    epc          BLOB NOT NULL,
    first_seen   INTEGER NOT NULL,
    PRIMARY KEY (stocktake_id, epc)
) WITHOUT ROWID;
CREATE TABLE stocktake_resolutions (
    stocktake_id INTEGER NOT NULL REFERENCES stocktakes(id),
    subject      TEXT NOT NULL,
    action       TEXT NOT NULL,
    comment      TEXT,
    resolved_by  TEXT NOT NULL,
    resolved_at  INTEGER NOT NULL,
    PRIMARY KEY (stocktake_id, subject)
) WITHOUT ROWID;

CREATE TABLE gate_alarms (
    id              INTEGER PRIMARY KEY,
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    reader_id       INTEGER NOT NULL REFERENCES readers(id),
    epc             BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged')),
    raised_at       INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    sightings       INTEGER NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at INTEGER,
    comment         TEXT
);
CREATE UNIQUE INDEX gate_alarms_open ON gate_alarms(asset_id, reader_id) WHERE status = 'open';
