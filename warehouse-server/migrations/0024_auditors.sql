-- warehouse-server schema, version 24: auditors (审计/纪检) and the record
-- of what they read. The role `auditor` is read-only everywhere; SQLite
-- cannot change a CHECK constraint, so `users` is rebuilt with the same
-- columns and rows (the migration runner turns foreign keys off around
-- each migration and checks them before committing). `audit_reads` is
-- append-only: one row per request an auditor made (who, when, what).
CREATE TABLE users_v24 (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('administrator', 'approver', 'finance', 'keeper',
                      'unit_staff', 'auditor')),
    unit_id       INTEGER REFERENCES units(id),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    region_id     INTEGER REFERENCES regions(id),
    -- The agency head (migration 23).
    agency_head   INTEGER NOT NULL DEFAULT 0,
    CHECK (role <> 'unit_staff' OR unit_id IS NOT NULL)
);
INSERT INTO users_v24 (id, username, display_name, password_hash, role, unit_id, active,
                       created_at, region_id, agency_head)
    SELECT id, username, display_name, password_hash, role, unit_id, active, created_at, region_id,
           agency_head
    FROM users;
DROP TABLE users;
ALTER TABLE users_v24 RENAME TO users;

CREATE TABLE audit_reads (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    username TEXT NOT NULL,
    at       INTEGER NOT NULL,
    method   TEXT NOT NULL,
    -- The path and query read, as asked.
    path     TEXT NOT NULL,
    -- What the path names (`asset:12`, `request:7`, `unit:3`…), if anything.
    subject  TEXT
);
CREATE INDEX audit_reads_at ON audit_reads(at);
CREATE TRIGGER audit_reads_no_update BEFORE UPDATE ON audit_reads
BEGIN SELECT RAISE(ABORT, 'audit_reads is append-only'); END;
CREATE TRIGGER audit_reads_no_delete BEFORE DELETE ON audit_reads
BEGIN SELECT RAISE(ABORT, 'audit_reads is append-only'); END;
