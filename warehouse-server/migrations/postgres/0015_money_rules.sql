-- warehouse-server schema, version 15, for PostgreSQL: the money rules
-- (as ../0015_money_rules.sql): auction fees and the damage case a
-- residual-value disposal comes from.
ALTER TABLE requests ADD COLUMN fees_fen BIGINT CHECK (fees_fen IS NULL OR fees_fen >= 0);
ALTER TABLE requests ADD COLUMN origin_request_id BIGINT REFERENCES requests(id);
