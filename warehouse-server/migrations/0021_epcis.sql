-- warehouse-server schema, version 21: what the EPCIS 2.0 export needs
-- (docs/epcis.md).
--
-- A kit's membership over time: `kit_members` holds only a live kit's
-- members (retiring a kit deletes them), so making and retiring a kit is
-- also logged here, one row per change with the members it named. The
-- export turns each row into an AggregationEvent (ADD when made, DELETE
-- when taken apart).
CREATE TABLE kit_events (
    id     INTEGER PRIMARY KEY,
    kit_id INTEGER NOT NULL REFERENCES kits(id),
    action TEXT NOT NULL CHECK (action IN ('add', 'delete')),
    at     INTEGER NOT NULL
);
CREATE TABLE kit_event_members (
    event_id INTEGER NOT NULL REFERENCES kit_events(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    PRIMARY KEY (event_id, asset_id)
);
-- The kits made before this version: their making, with the members they
-- have now (a kit retired before this version has lost its member list).
INSERT INTO kit_events (kit_id, action, at)
    SELECT id, 'add', created_at FROM kits ORDER BY id;
INSERT INTO kit_event_members (event_id, asset_id)
    SELECT e.id, m.asset_id FROM kit_events e JOIN kit_members m ON m.kit_id = e.kit_id;
INSERT INTO kit_events (kit_id, action, at)
    SELECT id, 'delete', retired_at FROM kits WHERE retired_at IS NOT NULL ORDER BY id;

-- A GS1 location's SGLN pure identity URI (urn:epc:id:sgln:…) where a
-- warehouse or one of its locations has a GLN; the export uses it for
-- readPoint/bizLocation, else the project's own URI.
ALTER TABLE warehouses ADD COLUMN sgln TEXT;
ALTER TABLE locations ADD COLUMN sgln TEXT;
