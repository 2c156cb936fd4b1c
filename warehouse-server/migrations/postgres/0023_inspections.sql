-- warehouse-server schema, version 23 (PostgreSQL): inspections at units'
-- premises; see ../0023_inspections.sql.
ALTER TABLE stocktakes ALTER COLUMN warehouse_id DROP NOT NULL;
ALTER TABLE stocktakes ADD COLUMN unit_id BIGINT REFERENCES units(id);
ALTER TABLE stocktakes ADD COLUMN confirmed_by TEXT;
ALTER TABLE stocktakes ADD COLUMN confirmed_at BIGINT;
ALTER TABLE stocktakes ADD COLUMN confirm_remark TEXT;
ALTER TABLE stocktakes ADD CONSTRAINT stocktakes_one_scope
    CHECK ((warehouse_id IS NULL) <> (unit_id IS NULL));
CREATE INDEX stocktakes_unit ON stocktakes(unit_id) WHERE unit_id IS NOT NULL;
