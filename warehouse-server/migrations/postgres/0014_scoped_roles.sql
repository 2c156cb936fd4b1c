-- warehouse-server schema, version 14, for PostgreSQL: people and requests
-- belong to a region (as ../0014_scoped_roles.sql).
ALTER TABLE users ADD COLUMN region_id BIGINT REFERENCES regions(id);
ALTER TABLE requests ADD COLUMN region_id BIGINT REFERENCES regions(id);
UPDATE requests SET region_id = (SELECT u.region_id FROM units u WHERE u.id = requests.unit_id)
 WHERE unit_id IS NOT NULL;
CREATE INDEX requests_region ON requests(region_id) WHERE region_id IS NOT NULL;
