-- warehouse-server schema, version 13: the region tree of the network
-- (三级联网: 省/自治区 → 市 → 县/区), each region with the agency
-- (机关事务管理局) that runs its warehouses; units and warehouses belong to
-- a region (NULL: not yet placed, as every row made before this version).
CREATE TABLE regions (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    level      TEXT NOT NULL CHECK (level IN ('province', 'city', 'county')),
    parent_id  INTEGER REFERENCES regions(id),
    agency     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((level = 'province') = (parent_id IS NULL))
);
CREATE UNIQUE INDEX regions_name_under_parent ON regions(COALESCE(parent_id, 0), name);
CREATE INDEX regions_parent ON regions(parent_id);

ALTER TABLE units ADD COLUMN region_id INTEGER REFERENCES regions(id);
ALTER TABLE warehouses ADD COLUMN region_id INTEGER REFERENCES regions(id);
CREATE INDEX units_region ON units(region_id) WHERE region_id IS NOT NULL;
CREATE INDEX warehouses_region ON warehouses(region_id) WHERE region_id IS NOT NULL;
