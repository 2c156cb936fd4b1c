-- warehouse-server schema, version 19: rentals (管理+租用). When stock
-- cannot meet an event, the shortfall is rented from a registered
-- supplier: a rental contract (supplier, window, cost), its items with
-- temporary tags, scanned out with the event and back, then returned to
-- the supplier. Rented items never enter the register (no `assets` row).
CREATE TABLE suppliers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    contact    TEXT,
    phone      TEXT,
    notes      TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE rentals (
    id              INTEGER PRIMARY KEY,
    supplier_id     INTEGER NOT NULL REFERENCES suppliers(id),
    -- The loan (event) the rental serves, if any.
    request_id      INTEGER REFERENCES requests(id),
    contract_number TEXT NOT NULL,
    starts          TEXT NOT NULL,
    ends            TEXT NOT NULL,
    cost_fen        INTEGER NOT NULL CHECK (cost_fen >= 0),
    status          TEXT NOT NULL CHECK (status IN ('open', 'returned')),
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    closed_at       INTEGER,
    CHECK (ends >= starts)
);
CREATE UNIQUE INDEX rentals_contract ON rentals(supplier_id, contract_number);
CREATE INDEX rentals_request ON rentals(request_id) WHERE request_id IS NOT NULL;

CREATE TABLE rental_items (
    id          INTEGER PRIMARY KEY,
    rental_id   INTEGER NOT NULL REFERENCES rentals(id),
    description TEXT NOT NULL,
    category_id INTEGER REFERENCES categories(id),
    -- The temporary tag (EPC bytes), live until the item goes back to
    -- the supplier.
    epc         BLOB NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('received', 'out', 'back', 'returned')),
    out_at      INTEGER,
    back_at     INTEGER
);
CREATE INDEX rental_items_rental ON rental_items(rental_id);
CREATE UNIQUE INDEX rental_items_live_epc ON rental_items(epc) WHERE status <> 'returned';
