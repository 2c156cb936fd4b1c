-- warehouse-server schema, version 23 (issue 18 items 1 and 4).
--
-- Inspections at units' premises (巡检): a stock-take whose expected set is
-- what a unit holds rather than what a warehouse keeps. A stock-take names
-- a warehouse or a unit, never both; the unit's staff confirm a closed
-- inspection (who, when, an optional remark). SQLite cannot drop a NOT
-- NULL, so `stocktakes` is rebuilt with the same rows.
CREATE TABLE stocktakes_v23 (
    id             INTEGER PRIMARY KEY,
    warehouse_id   INTEGER REFERENCES warehouses(id),
    location_id    INTEGER REFERENCES locations(id),
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by      TEXT NOT NULL,
    opened_at      INTEGER NOT NULL,
    closed_by      TEXT,
    closed_at      INTEGER,
    report         TEXT,
    unit_id        INTEGER REFERENCES units(id),
    confirmed_by   TEXT,
    confirmed_at   INTEGER,
    confirm_remark TEXT,
    CHECK ((warehouse_id IS NULL) <> (unit_id IS NULL))
);
INSERT INTO stocktakes_v23 (id, warehouse_id, location_id, status, opened_by, opened_at,
                            closed_by, closed_at, report)
SELECT id, warehouse_id, location_id, status, opened_by, opened_at, closed_by, closed_at, report
FROM stocktakes;
DROP TABLE stocktakes;
ALTER TABLE stocktakes_v23 RENAME TO stocktakes;
CREATE INDEX stocktakes_unit ON stocktakes(unit_id) WHERE unit_id IS NOT NULL;

-- Configuration standards (配置标准, issue 18 item 4): per category, how
-- many a unit may hold (an absolute count, or so many per staff member)
-- and the most one item may cost.
ALTER TABLE units ADD COLUMN staff_count INTEGER CHECK (staff_count IS NULL OR staff_count >= 0);
-- The agency head (局长): an approver who gives the extra approval an
-- over-standard request needs.
ALTER TABLE users ADD COLUMN agency_head INTEGER NOT NULL DEFAULT 0;
CREATE TABLE config_standards (
    category_id       INTEGER PRIMARY KEY REFERENCES categories(id),
    per_unit          INTEGER CHECK (per_unit IS NULL OR per_unit >= 0),
    per_staff         INTEGER CHECK (per_staff IS NULL OR per_staff >= 0),
    price_ceiling_fen INTEGER CHECK (price_ceiling_fen IS NULL OR price_ceiling_fen >= 0),
    set_by            TEXT NOT NULL,
    set_at            INTEGER NOT NULL,
    CHECK (per_unit IS NULL OR per_staff IS NULL)
);
-- What a request asks beyond the standard, per category, with the numbers
-- the check used (fixed at filing).
CREATE TABLE request_over_standard (
    request_id   INTEGER NOT NULL REFERENCES requests(id),
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    held         INTEGER NOT NULL,
    asked        INTEGER NOT NULL,
    limit_count  INTEGER,
    ceiling_fen  INTEGER,
    price_fen    INTEGER,
    PRIMARY KEY (request_id, category_id)
);
-- The agency head's extra approval (the step itself is in request_steps).
ALTER TABLE requests ADD COLUMN standard_approved_by TEXT;
ALTER TABLE requests ADD COLUMN standard_approved_at INTEGER;
