-- warehouse-server schema, version 4: what each desk reader scanned lately,
-- by server receive time, so the keeper's desk page (and a reload of it)
-- shows the scans since check-out began.
CREATE TABLE desk_scans (
    reader_id  BIGINT NOT NULL REFERENCES readers(id),
    epc        BYTEA NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (reader_id, epc)
);
CREATE INDEX desk_scans_recent ON desk_scans(reader_id, last_seen);
