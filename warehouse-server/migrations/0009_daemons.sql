-- warehouse-server schema, version 9: a reader token belongs to a daemon
-- (an edge box), not to one reader. The daemon owns its sequence space
-- (`daemon_id`, and `daemon_id:…` sub-spaces such as the handheld's
-- `edge-1:stocktake:hand-1`) and the readers attached to it; a token may
-- send observations only for those readers, under that id.
CREATE TABLE daemons (
    id          INTEGER PRIMARY KEY,
    daemon_id   TEXT NOT NULL UNIQUE,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    expires_at  INTEGER
);

ALTER TABLE readers ADD COLUMN daemon INTEGER REFERENCES daemons(id);
CREATE INDEX readers_daemon ON readers(daemon);

-- Each reader registered before this version becomes a daemon with that one
-- reader, keeping its token. Its daemon id is the one its token last synced
-- under (so a running daemon goes on unchanged), else the reader's name
-- (else name#id, if a synced id already took the name). A daemon that drove
-- several readers with one token must attach the others by registering again
-- (docs/operations.md, "Daemons and their readers").
INSERT INTO daemons (daemon_id, token_hash, created_at)
SELECT s.daemon_id, r.token_hash, r.created_at
FROM readers r
JOIN sync_daemons s ON s.daemon_id = (
    SELECT daemon_id FROM sync_daemons
    WHERE reader_id = r.id AND instr(daemon_id, ':') = 0
    ORDER BY updated_at DESC LIMIT 1);

INSERT INTO daemons (daemon_id, token_hash, created_at)
SELECT CASE WHEN EXISTS (SELECT 1 FROM daemons d WHERE d.daemon_id = replace(r.name, ':', '-'))
            THEN replace(r.name, ':', '-') || '#' || r.id
            ELSE replace(r.name, ':', '-') END,
       r.token_hash, r.created_at
FROM readers r
WHERE NOT EXISTS (SELECT 1 FROM daemons d WHERE d.token_hash = r.token_hash);

UPDATE readers SET daemon = (SELECT d.id FROM daemons d WHERE d.token_hash = readers.token_hash);

-- `readers.token_hash` (NOT NULL UNIQUE since version 1) is no longer read:
-- new readers get a random value there; the token is the daemon's.
