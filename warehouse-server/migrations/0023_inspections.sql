-- warehouse-server schema, version 23 (issue 18 item 1).
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
