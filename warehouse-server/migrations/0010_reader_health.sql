-- warehouse-server schema, version 10: what each daemon last said about
-- itself and its readers (`POST /api/v1/daemons/{id}/health`), and the
-- tokens the server refused on a daemon's behalf. `GET /api/v1/health/readers`
-- classifies readers from these rows and `sync_daemons.updated_at` (the
-- last batch applied); the rules are `crate::health`.
CREATE TABLE daemon_health (
    daemon            INTEGER PRIMARY KEY REFERENCES daemons(id),
    -- Server time of the last accepted health report (NULL: none yet).
    reported_at       INTEGER,
    started_at        INTEGER,
    backlog           INTEGER NOT NULL DEFAULT 0,
    dropped_total     INTEGER NOT NULL DEFAULT 0,
    -- As the daemon counts them (since it started).
    auth_failures     INTEGER NOT NULL DEFAULT 0,
    sync_failures     INTEGER NOT NULL DEFAULT 0,
    last_sync_success INTEGER,
    last_error        TEXT,
    -- Health reports naming this daemon whose token the server refused,
    -- since its last accepted report (reset by one).
    refused           INTEGER NOT NULL DEFAULT 0,
    refused_first_at  INTEGER,
    refused_last_at   INTEGER
);

CREATE TABLE reader_health (
    reader       INTEGER PRIMARY KEY REFERENCES readers(id),
    reported_at  INTEGER NOT NULL,
    connected    INTEGER NOT NULL,
    last_read_at INTEGER,
    reads_per_s  REAL NOT NULL,
    reads_total  INTEGER NOT NULL,
    errors       INTEGER NOT NULL,
    last_error   TEXT
);
