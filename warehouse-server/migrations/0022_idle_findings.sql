-- warehouse-server schema, version 22: idle detection and accountability
-- (闲置发现与问责). The agency's rules (one row; a NULL number of days
-- turns that rule off), the marks units put on held assets they do not
-- use, the findings a scan records (at most one open finding per asset
-- and rule) and every step taken on a finding (append-only).
CREATE TABLE idle_rules (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    held_unseen_days  INTEGER CHECK (held_unseen_days >= 1),
    stock_unseen_days INTEGER CHECK (stock_unseen_days >= 1),
    listed_days       INTEGER CHECK (listed_days >= 1),
    overdue_loans     INTEGER NOT NULL CHECK (overdue_loans IN (0, 1)),
    unused_days       INTEGER CHECK (unused_days >= 1),
    answer_days       INTEGER NOT NULL CHECK (answer_days >= 1),
    updated_by        TEXT NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- 闲置标记: a unit says an asset it holds is not in use (deleted when it
-- says the asset is in use again).
CREATE TABLE asset_unused_marks (
    asset_id  INTEGER PRIMARY KEY REFERENCES assets(id),
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    note      TEXT,
    marked_by TEXT NOT NULL,
    marked_at INTEGER NOT NULL
);

CREATE TABLE idle_findings (
    id           INTEGER PRIMARY KEY,
    asset_id     INTEGER NOT NULL REFERENCES assets(id),
    -- The unit that must answer (NULL: warehouse stock, the keepers') and
    -- its region, as at the last scan that saw the finding open.
    unit_id      INTEGER REFERENCES units(id),
    region_id    INTEGER REFERENCES regions(id),
    rule         TEXT NOT NULL CHECK (rule IN ('unseen_held', 'unseen_stock', 'overdue_loan',
                     'listed_untaken', 'marked_unused')),
    days_idle    INTEGER NOT NULL CHECK (days_idle >= 0),
    value_fen    INTEGER NOT NULL CHECK (value_fen >= 0),
    opened_at    INTEGER NOT NULL,
    -- The answer is due by then; unanswered after it, the finding escalates.
    due_at       INTEGER NOT NULL,
    escalated_at INTEGER,
    scanned_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    -- How it closed: answered (explained, listed, handed_in), reclaimed by
    -- the agency, or resolved (a scan found the asset no longer idle).
    outcome      TEXT CHECK (outcome IN ('explained', 'listed', 'handed_in', 'reclaimed',
                     'resolved')),
    answer       TEXT,
    answered_by  TEXT,
    answered_at  INTEGER,
    -- The intake request a hand-in or a reclaim filed.
    request_id   INTEGER REFERENCES requests(id)
);
CREATE UNIQUE INDEX idle_findings_open ON idle_findings(asset_id, rule) WHERE closed_at IS NULL;
CREATE INDEX idle_findings_unit ON idle_findings(unit_id) WHERE unit_id IS NOT NULL;

CREATE TABLE idle_finding_steps (
    id         INTEGER PRIMARY KEY,
    finding_id INTEGER NOT NULL REFERENCES idle_findings(id),
    action     TEXT NOT NULL CHECK (action IN ('opened', 'escalated', 'explained', 'listed',
                   'handed_in', 'reclaimed', 'resolved')),
    actor      TEXT NOT NULL,
    taken_at   INTEGER NOT NULL,
    note       TEXT,
    request_id INTEGER REFERENCES requests(id)
);
CREATE INDEX idle_finding_steps_finding ON idle_finding_steps(finding_id);
CREATE TRIGGER idle_finding_steps_no_update BEFORE UPDATE ON idle_finding_steps
BEGIN SELECT RAISE(ABORT, 'idle_finding_steps is append-only'); END;
CREATE TRIGGER idle_finding_steps_no_delete BEFORE DELETE ON idle_finding_steps
BEGIN SELECT RAISE(ABORT, 'idle_finding_steps is append-only'); END;
