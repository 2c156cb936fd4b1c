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

-- Configuration standards (配置标准); see ../0023_inspections.sql.
ALTER TABLE units ADD COLUMN staff_count BIGINT CHECK (staff_count IS NULL OR staff_count >= 0);
ALTER TABLE users ADD COLUMN agency_head BIGINT NOT NULL DEFAULT 0;
CREATE TABLE config_standards (
    category_id       BIGINT PRIMARY KEY REFERENCES categories(id),
    per_unit          BIGINT CHECK (per_unit IS NULL OR per_unit >= 0),
    per_staff         BIGINT CHECK (per_staff IS NULL OR per_staff >= 0),
    price_ceiling_fen BIGINT CHECK (price_ceiling_fen IS NULL OR price_ceiling_fen >= 0),
    set_by            TEXT NOT NULL,
    set_at            BIGINT NOT NULL,
    CHECK (per_unit IS NULL OR per_staff IS NULL)
);
CREATE TABLE request_over_standard (
    request_id   BIGINT NOT NULL REFERENCES requests(id),
    category_id  BIGINT NOT NULL REFERENCES categories(id),
    held         BIGINT NOT NULL,
    asked        BIGINT NOT NULL,
    limit_count  BIGINT,
    ceiling_fen  BIGINT,
    price_fen    BIGINT,
    PRIMARY KEY (request_id, category_id)
);
ALTER TABLE requests ADD COLUMN standard_approved_by TEXT;
ALTER TABLE requests ADD COLUMN standard_approved_at BIGINT;
