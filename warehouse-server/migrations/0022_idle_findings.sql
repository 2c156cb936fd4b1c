-- warehouse-server schema, version 22: idle detection (闲置发现). The
-- agency's rules (one row; a NULL number of days turns that rule off) and
-- the findings a scan records: at most one open finding per asset and
-- rule; a finding closes when its asset no longer breaks the rule.
CREATE TABLE idle_rules (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    held_unseen_days  INTEGER CHECK (held_unseen_days >= 1),
    stock_unseen_days INTEGER CHECK (stock_unseen_days >= 1),
    listed_days       INTEGER CHECK (listed_days >= 1),
    overdue_loans     INTEGER NOT NULL CHECK (overdue_loans IN (0, 1)),
    updated_by        TEXT NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE idle_findings (
    id         INTEGER PRIMARY KEY,
    asset_id   INTEGER NOT NULL REFERENCES assets(id),
    -- The unit holding the asset (NULL: warehouse stock) and the region
    -- of its holder, as at the last scan that saw the finding open.
    unit_id    INTEGER REFERENCES units(id),
    region_id  INTEGER REFERENCES regions(id),
    rule       TEXT NOT NULL CHECK (rule IN ('unseen_held', 'unseen_stock', 'overdue_loan',
                   'listed_untaken')),
    days_idle  INTEGER NOT NULL CHECK (days_idle >= 0),
    value_fen  INTEGER NOT NULL CHECK (value_fen >= 0),
    opened_at  INTEGER NOT NULL,
    scanned_at INTEGER NOT NULL,
    closed_at  INTEGER
);
CREATE UNIQUE INDEX idle_findings_open ON idle_findings(asset_id, rule) WHERE closed_at IS NULL;
CREATE INDEX idle_findings_unit ON idle_findings(unit_id) WHERE unit_id IS NOT NULL;
