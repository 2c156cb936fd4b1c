-- warehouse-server schema, version 16: where a purchase's goods end
-- (采购去向) and central purchasing (集中采购).
-- `destination`: `unit` (received, checked out and confirmed by the
-- requesting unit, as every purchase before this version) or `warehouse`
-- (received into stock and left there: the agency's own stock purchase,
-- or a unit's event purchase lent from stock afterwards).
-- Several requests may now share one procurement batch (one contract,
-- `procurement_batches.code` still UNIQUE: a second procurement cannot
-- reuse a contract number); the index finds a contract's requests.
ALTER TABLE requests ADD COLUMN destination TEXT NOT NULL DEFAULT 'unit'
    CHECK (destination IN ('unit', 'warehouse'));
CREATE INDEX requests_batch ON requests(batch_id) WHERE batch_id IS NOT NULL;
