-- warehouse-server schema, version 16, for PostgreSQL: where a purchase's
-- goods end and central purchasing (as ../0016_central_purchasing.sql).
ALTER TABLE requests ADD COLUMN destination TEXT NOT NULL DEFAULT 'unit'
    CHECK (destination IN ('unit', 'warehouse'));
CREATE INDEX requests_batch ON requests(batch_id) WHERE batch_id IS NOT NULL;
