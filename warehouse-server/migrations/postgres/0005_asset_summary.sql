-- warehouse-server schema, version 5: asset counts and value per state,
-- category and holder, kept by triggers in the same transaction as every
-- change, so dashboards and reports do not scan a million assets.
-- Holders use 0 for "none" (a primary key cannot hold NULL here).
CREATE TABLE asset_summary (
    state       TEXT NOT NULL,
    category_id BIGINT NOT NULL,
    unit_id     BIGINT NOT NULL,
    location_id BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    value_fen   BIGINT NOT NULL,
    PRIMARY KEY (state, category_id, unit_id, location_id)
);

INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
SELECT state, category_id, COALESCE(holder_unit_id, 0), COALESCE(holder_location_id, 0),
       COUNT(*), SUM(original_value_fen)
FROM assets GROUP BY 1, 2, 3, 4;

CREATE FUNCTION asset_summary_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
    VALUES (NEW.state, NEW.category_id, COALESCE(NEW.holder_unit_id, 0),
            COALESCE(NEW.holder_location_id, 0), 1, NEW.original_value_fen)
    ON CONFLICT (state, category_id, unit_id, location_id)
    DO UPDATE SET n = asset_summary.n + 1,
                  value_fen = asset_summary.value_fen + excluded.value_fen;
    RETURN NULL;
END;
$$;

CREATE FUNCTION asset_summary_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE asset_summary SET n = n - 1, value_fen = value_fen - OLD.original_value_fen
    WHERE state = OLD.state AND category_id = OLD.category_id
      AND unit_id = COALESCE(OLD.holder_unit_id, 0)
      AND location_id = COALESCE(OLD.holder_location_id, 0);
    RETURN NULL;
END;
$$;

CREATE FUNCTION asset_summary_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE asset_summary SET n = n - 1, value_fen = value_fen - OLD.original_value_fen
    WHERE state = OLD.state AND category_id = OLD.category_id
      AND unit_id = COALESCE(OLD.holder_unit_id, 0)
      AND location_id = COALESCE(OLD.holder_location_id, 0);
    INSERT INTO asset_summary (state, category_id, unit_id, location_id, n, value_fen)
    VALUES (NEW.state, NEW.category_id, COALESCE(NEW.holder_unit_id, 0),
            COALESCE(NEW.holder_location_id, 0), 1, NEW.original_value_fen)
    ON CONFLICT (state, category_id, unit_id, location_id)
    DO UPDATE SET n = asset_summary.n + 1,
                  value_fen = asset_summary.value_fen + excluded.value_fen;
    RETURN NULL;
END;
$$;

CREATE TRIGGER asset_summary_insert AFTER INSERT ON assets
    FOR EACH ROW EXECUTE FUNCTION asset_summary_add();

CREATE TRIGGER asset_summary_delete AFTER DELETE ON assets
    FOR EACH ROW EXECUTE FUNCTION asset_summary_remove();

-- Only changes of these columns touch the summary (last-seen updates from
-- scan ingest do not fire it).
CREATE TRIGGER asset_summary_update
AFTER UPDATE OF state, category_id, holder_unit_id, holder_location_id, original_value_fen ON assets
    FOR EACH ROW EXECUTE FUNCTION asset_summary_move();
