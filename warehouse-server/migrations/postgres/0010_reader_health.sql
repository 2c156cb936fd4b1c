-- warehouse-server schema, version 10: what each daemon last said about
-- itself and its readers (`POST /api/v1/daemons/{id}/health`), and the
-- tokens the server refused on a daemon's behalf. `GET /api/v1/health/readers`
-- classifies readers from these rows and `sync_daemons.updated_at` (the
-- last batch applied); the rules are `crate::health`.
CREATE TABLE daemon_health (
    daemon            BIGINT PRIMARY KEY REFERENCES daemons(id),
    -- Server time of the last accepted health report (NULL: none yet).
    reported_at       BIGINT,
    started_at        BIGINT,
    backlog           BIGINT NOT NULL DEFAULT 0,
    dropped_total     BIGINT NOT NULL DEFAULT 0,
    -- As the daemon counts them (since it started).
    auth_failures     BIGINT NOT NULL DEFAULT 0,
    sync_failures     BIGINT NOT NULL DEFAULT 0,
    last_sync_success BIGINT,
    last_error        TEXT,
    -- Health reports naming this daemon whose token the server refused,
    -- since its last accepted report (reset by one).
    refused           BIGINT NOT NULL DEFAULT 0,
    refused_first_at  BIGINT,
    refused_last_at   BIGINT
);

CREATE TABLE reader_health (
    reader       BIGINT PRIMARY KEY REFERENCES readers(id),
    reported_at  BIGINT NOT NULL,
    connected    BIGINT NOT NULL,
    last_read_at BIGINT,
    reads_per_s  DOUBLE PRECISION NOT NULL,
    reads_total  BIGINT NOT NULL,
    errors       BIGINT NOT NULL,
    last_error   TEXT
);
