-- warehouse-server schema, version 20: every way an asset arrives (取得方式).
-- An acquisition is one recorded arrival other than the purchase chain —
-- transfer-in from another agency (调入), a donation (接受捐赠), the
-- leftovers of a dissolved temporary body filed by an agency on its behalf
-- (撤销临时机构移交), confiscated (罚没) or unclaimed (无主) property — with
-- its source details and documents, creating one or several assets in stock.
CREATE TABLE acquisitions (
    id                INTEGER PRIMARY KEY,
    source            TEXT NOT NULL CHECK (source IN ('transfer_in', 'donation',
                          'dissolved_body', 'confiscated', 'unclaimed')),
    -- The day the assets were received (取得日期), YYYY-MM-DD.
    received_on       TEXT NOT NULL,
    -- The number of the transfer order, donation agreement, decision… (文号).
    document_number   TEXT,
    -- transfer_in: the agency the assets come from.
    from_agency       TEXT,
    -- donation: the donor.
    donor             TEXT,
    -- dissolved_body: the body's name, and the unit that files for it.
    body_name         TEXT,
    on_behalf_unit_id INTEGER REFERENCES units(id),
    -- confiscated / unclaimed: the authority that decided.
    authority         TEXT,
    location_id       INTEGER NOT NULL REFERENCES locations(id),
    notes             TEXT,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX acquisitions_source ON acquisitions(source);

-- Each asset's source: the purchase chain (a procurement batch), a plain
-- registration (no recorded source: every asset registered before this
-- version without a batch), or an acquisition's source.
ALTER TABLE assets ADD COLUMN source TEXT NOT NULL DEFAULT 'register'
    CHECK (source IN ('purchase', 'register', 'transfer_in', 'donation',
                      'dissolved_body', 'confiscated', 'unclaimed'));
ALTER TABLE assets ADD COLUMN acquisition_id INTEGER REFERENCES acquisitions(id);
UPDATE assets SET source = 'purchase' WHERE batch_id IS NOT NULL;
CREATE INDEX assets_source ON assets(source);

-- Documents belong to a request or to an acquisition. SQLite cannot drop
-- a NOT NULL, so the table is rebuilt with the same rows and index.
CREATE TABLE documents_v21 (
    id             INTEGER PRIMARY KEY,
    request_id     INTEGER REFERENCES requests(id),
    acquisition_id INTEGER REFERENCES acquisitions(id),
    filename       TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         BLOB NOT NULL,
    data           BLOB NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    INTEGER NOT NULL,
    CHECK ((request_id IS NULL) <> (acquisition_id IS NULL))
);
INSERT INTO documents_v21 (id, request_id, filename, content_type, size, sha256, data,
                           uploaded_by, uploaded_at)
SELECT id, request_id, filename, content_type, size, sha256, data, uploaded_by, uploaded_at
FROM documents;
DROP TABLE documents;
ALTER TABLE documents_v21 RENAME TO documents;
CREATE INDEX documents_request ON documents(request_id);
CREATE INDEX documents_acquisition ON documents(acquisition_id);
