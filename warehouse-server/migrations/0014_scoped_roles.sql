-- warehouse-server schema, version 14: people and requests belong to a
-- region (三级联网). A person's region is where their role acts (and, for
-- approvers, finance and administrators, every region below it); NULL
-- is the whole network, as every account made before this version. A
-- request's region is its unit's (the filer's for the warehouse's own
-- stock), fixed when it is filed.
ALTER TABLE users ADD COLUMN region_id INTEGER REFERENCES regions(id);
ALTER TABLE requests ADD COLUMN region_id INTEGER REFERENCES regions(id);
UPDATE requests SET region_id = (SELECT u.region_id FROM units u WHERE u.id = requests.unit_id)
 WHERE unit_id IS NOT NULL;
CREATE INDEX requests_region ON requests(region_id) WHERE region_id IS NOT NULL;
