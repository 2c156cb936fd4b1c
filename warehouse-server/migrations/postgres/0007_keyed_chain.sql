-- Request steps join the keyed chain of asset events (src/events.rs): each
-- step takes the next sequence number of the one chain and carries the
-- HMAC link like an event. Rows from before keying have NULL here and are
-- chained by `admin rekey-chain`.
ALTER TABLE request_steps ADD COLUMN seq BIGINT;
ALTER TABLE request_steps ADD COLUMN prev_hash BYTEA;
ALTER TABLE request_steps ADD COLUMN hash BYTEA;
CREATE UNIQUE INDEX request_steps_seq ON request_steps(seq);
