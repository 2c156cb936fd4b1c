-- warehouse-server schema, version 15: the money rules (金额规则).
-- `fees_fen`: the auction fees recorded with the sale (拍卖费用); the
-- proceeds remitted are the hammer price less these fees.
-- `origin_request_id`: for a disposal opened by a damage case whose
-- damaged item was compensated, that case (残值评估: the item's residual
-- value is appraised before it is disposed of).
ALTER TABLE requests ADD COLUMN fees_fen INTEGER CHECK (fees_fen IS NULL OR fees_fen >= 0);
ALTER TABLE requests ADD COLUMN origin_request_id INTEGER REFERENCES requests(id);
