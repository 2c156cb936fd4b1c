-- warehouse-server schema, version 5: asset counts and value per state,
-- category and holder, kept by triggers in the same transaction as every
-- change, so dashboards and reports do not scan a million assets.
-- Holders use 0 for "none" (a primary key cannot hold NULL here).
CREATE TABLE asset_summary (
    state       TEXT NOT NULL,
    category_id INTEGER NOT NULL,
    unit_id     INTEGER NOT NULL,
    location_id INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    value_fen   INTEGER NOT NULL,
    PRIMARY KEY (state, category_id, unit_id, location_id)
) WITHOUT ROWID;

INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
SELECT state, category_id, COALESCE(holder_unit_id, 0), COALESCE(holder_location_id, 0),
       COUNT(*), SUM(original_value_fen)
FROM assets GROUP BY 1, 2, 3, 4;

CREATE TRIGGER asset_summary_insert AFTER INSERT ON assets
BEGIN
    INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
    VALUES (NEW.state, NEW.category_id, COALESCE(NEW.holder_unit_id, 0),
            COALESCE(NEW.holder_location_id, 0), 1, NEW.original_value_fen)
    ON CONFLICT (state, category_id, unit_id, location_id)
    DO UPDATE SET n = n + 1, value_fen = value_fen + excluded.value_fen;
END;

CREATE TRIGGER asset_summary_delete AFTER DELETE ON assets
BEGIN
    UPDATE asset_summary SET n = n - 1, value_fen = value_fen - OLD.original_value_fen
    WHERE state = OLD.state AND category_id = OLD.category_id
      AND unit_id = COALESCE(OLD.holder_unit_id, 0)
      AND location_id = COALESCE(OLD.holder_location_id, 0);
END;

-- Only changes of these columns touch the summary (last-seen updates from
-- scan ingest do not fire it).
CREATE TRIGGER asset_summary_update
AFTER UPDATE OF state, category_id, holder_unit_id, holder_location_id, original_value_fen ON assets
BEGIN
    UPDATE asset_summary SET n = n - 1, value_fen = value_fen - OLD.original_value_fen
    WHERE state = OLD.state AND category_id = OLD.category_id
      AND unit_id = COALESCE(OLD.holder_unit_id, 0)
      AND location_id = COALESCE(OLD.holder_location_id, 0);
    INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
    VALUES (NEW.state, NEW.category_id, COALESCE(NEW.holder_unit_id, 0),
            COALESCE(NEW.holder_location_id, 0), 1, NEW.original_value_fen)
    ON CONFLICT (state, category_id, unit_id, location_id)
    DO UPDATE SET n = n + 1, value_fen = value_fen + excluded.value_fen;
END;
