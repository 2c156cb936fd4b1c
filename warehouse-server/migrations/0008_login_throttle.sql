-- Failed-login throttling (src/throttle.rs decides, src/store/throttle.rs
-- keeps the counts). One row per key: `ip:ADDRESS` or `account:NAME` (the
-- name as typed, known or not, so the throttle itself reveals nothing).
-- In the database, not in memory, so replicas share one view.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,  -- UTC ms; 0 = not locked
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- The audit trail of lockouts: every time a key is locked, who/what and
-- for how long. Append-only.
CREATE TABLE login_lockouts (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    at           INTEGER NOT NULL
);
CREATE TRIGGER login_lockouts_append_only_u BEFORE UPDATE ON login_lockouts
BEGIN SELECT RAISE(ABORT, 'login_lockouts is append-only'); END;
CREATE TRIGGER login_lockouts_append_only_d BEFORE DELETE ON login_lockouts
BEGIN SELECT RAISE(ABORT, 'login_lockouts is append-only'); END;

