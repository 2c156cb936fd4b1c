-- warehouse-server schema, version 3: lifecycle requests and their chains.
-- Money is INTEGER fen; times INTEGER unix ms; dates TEXT 'YYYY-MM-DD'.

CREATE TABLE requests (
    id                    INTEGER PRIMARY KEY,
    kind                  TEXT NOT NULL CHECK (kind IN ('purchase', 'allocation', 'loan',
                              'transfer', 'intake', 'disposal', 'damage')),
    stage                 TEXT NOT NULL CHECK (stage IN ('appraisal', 'approval', 'finance',
                              'procurement', 'receiving', 'checkout', 'receipt', 'on_loan',
                              'sale', 'remittance', 'cause', 'payment',
                              'completed', 'rejected', 'withdrawn')),
    unit_id               INTEGER REFERENCES units(id),
    other_unit_id         INTEGER REFERENCES units(id),
    applicant             TEXT NOT NULL,
    applicant_user_id     INTEGER REFERENCES users(id),
    category_id           INTEGER REFERENCES categories(id),
    quantity              INTEGER CHECK (quantity IS NULL OR quantity > 0),
    budget_fen            INTEGER CHECK (budget_fen IS NULL OR budget_fen >= 0),
    reason                TEXT,
    needed_by             TEXT,
    loan_start            TEXT,
    loan_due              TEXT,
    disposal_method       TEXT CHECK (disposal_method IN ('scrap', 'auction', 'transfer_out')),
    loss                  INTEGER NOT NULL DEFAULT 0,
    cause                 TEXT CHECK (cause IN ('human', 'natural')),
    remedy                TEXT CHECK (remedy IN ('repair', 'compensate')),
    batch_id              INTEGER REFERENCES procurement_batches(id),
    spent_fen             INTEGER CHECK (spent_fen IS NULL OR spent_fen >= 0),
    appraised_fen         INTEGER CHECK (appraised_fen IS NULL OR appraised_fen >= 0),
    hammer_fen            INTEGER CHECK (hammer_fen IS NULL OR hammer_fen >= 0),
    remitted_fen          INTEGER CHECK (remitted_fen IS NULL OR remitted_fen >= 0),
    remitted_at           INTEGER,
    compensation_fen      INTEGER CHECK (compensation_fen IS NULL OR compensation_fen >= 0),
    compensation_paid_fen INTEGER CHECK (compensation_paid_fen IS NULL OR compensation_paid_fen >= 0),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    closed_at             INTEGER
);
CREATE INDEX requests_stage ON requests(stage, kind);
CREATE INDEX requests_unit ON requests(unit_id);
CREATE INDEX requests_other_unit ON requests(other_unit_id) WHERE other_unit_id IS NOT NULL;

-- Every step: actor, time, decision, comment, figures. Append-only.
CREATE TABLE request_steps (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    stage      TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    comment    TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX request_steps_request ON request_steps(request_id, id);
CREATE TRIGGER request_steps_no_update BEFORE UPDATE ON request_steps
BEGIN SELECT RAISE(ABORT, 'request_steps is append-only'); END;
CREATE TRIGGER request_steps_no_delete BEFORE DELETE ON request_steps
BEGIN SELECT RAISE(ABORT, 'request_steps is append-only'); END;

-- Assets a request names or moved. `active` = the request holds the asset;
-- an asset is held by at most one open request (the index below is what
-- makes 50 simultaneous requests for one asset end with one winner).
CREATE TABLE request_items (
    request_id       INTEGER NOT NULL REFERENCES requests(id),
    asset_id         INTEGER NOT NULL REFERENCES assets(id),
    status           TEXT NOT NULL CHECK (status IN ('requested', 'checked_out', 'received',
                         'returned', 'done', 'released')),
    active           INTEGER NOT NULL DEFAULT 1,
    prev_state       TEXT,
    from_location_id INTEGER REFERENCES locations(id),
    return_condition TEXT,
    returned_at      INTEGER,
    PRIMARY KEY (request_id, asset_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX request_items_one_active ON request_items(asset_id) WHERE active = 1;
CREATE INDEX request_items_asset ON request_items(asset_id);

-- Virtual warehouse (虚拟仓): idle assets a unit offers; history is in the
-- event log.
CREATE TABLE idle_listings (
    asset_id  INTEGER PRIMARY KEY REFERENCES assets(id),
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    notes     TEXT,
    listed_by TEXT NOT NULL,
    listed_at INTEGER NOT NULL
);
CREATE INDEX idle_listings_unit ON idle_listings(unit_id);

-- Attachments (appraisal reports, auction receipts, photos), kept in the
-- database so backups carry them.
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES requests(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       BLOB NOT NULL,
    data         BLOB NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  INTEGER NOT NULL
);
CREATE INDEX documents_request ON documents(request_id);
