-- warehouse-server schema, version 12: the stage `over_budget` (超预算审核),
-- where a purchase that cost more than its approved budget waits for
-- finance's recorded approval before it is received. SQLite cannot change
-- a CHECK constraint, so `requests` is rebuilt with the same columns, rows
-- and indexes (the migration runner turns foreign keys off around each
-- migration and runs `PRAGMA foreign_key_check` before committing).

CREATE TABLE requests_v12 (
    id                    INTEGER PRIMARY KEY,
    kind                  TEXT NOT NULL CHECK (kind IN ('purchase', 'allocation', 'loan',
                              'transfer', 'intake', 'disposal', 'damage')),
    stage                 TEXT NOT NULL CHECK (stage IN ('appraisal', 'approval', 'finance',
                              'procurement', 'over_budget', 'receiving', 'checkout', 'receipt',
                              'on_loan', 'sale', 'remittance', 'cause', 'payment',
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

INSERT INTO requests_v12 (id, kind, stage, unit_id, other_unit_id, applicant, applicant_user_id,
    category_id, quantity, budget_fen, reason, needed_by, loan_start, loan_due, disposal_method,
    loss, cause, remedy, batch_id, spent_fen, appraised_fen, hammer_fen, remitted_fen, remitted_at,
    compensation_fen, compensation_paid_fen, created_at, updated_at, closed_at)
SELECT id, kind, stage, unit_id, other_unit_id, applicant, applicant_user_id,
    category_id, quantity, budget_fen, reason, needed_by, loan_start, loan_due, disposal_method,
    loss, cause, remedy, batch_id, spent_fen, appraised_fen, hammer_fen, remitted_fen, remitted_at,
    compensation_fen, compensation_paid_fen, created_at, updated_at, closed_at
FROM requests;

DROP TABLE requests;
ALTER TABLE requests_v12 RENAME TO requests;

CREATE INDEX requests_stage ON requests(stage, kind);
CREATE INDEX requests_unit ON requests(unit_id);
CREATE INDEX requests_other_unit ON requests(other_unit_id) WHERE other_unit_id IS NOT NULL;
