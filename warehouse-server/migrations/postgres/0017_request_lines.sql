-- warehouse-server schema, version 17: a request holds several lines (一张申请多行).
-- A line asks for a category and a quantity, or names specific assets
-- (those stay in request_items, each with the line it belongs to). The
-- lines are the truth of what a request asks; requests.category_id and
-- requests.quantity remain as the filing-time summary (first line's
-- category, total quantity) for listings.

CREATE TABLE request_lines (
    request_id     BIGINT NOT NULL REFERENCES requests(id),
    line_no        BIGINT NOT NULL CHECK (line_no >= 1),
    category_id    BIGINT REFERENCES categories(id),
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    notes          TEXT,
    -- Purchase: the unit price the procurement step recorded for the line.
    unit_price_fen BIGINT CHECK (unit_price_fen IS NULL OR unit_price_fen >= 0),
    PRIMARY KEY (request_id, line_no)
);
CREATE INDEX request_lines_category ON request_lines(category_id);

ALTER TABLE request_items ADD COLUMN line_no BIGINT NOT NULL DEFAULT 1;

-- 活动名称: the event a loan or allocation serves.
ALTER TABLE requests ADD COLUMN event TEXT;

-- Every existing request's one line. A purchase procured before lines
-- existed keeps its unit price (spent ÷ quantity).
INSERT INTO request_lines (request_id, line_no, category_id, quantity, unit_price_fen)
SELECT id, 1, category_id, quantity,
       CASE WHEN kind = 'purchase' AND spent_fen IS NOT NULL THEN spent_fen / quantity END
FROM requests WHERE quantity IS NOT NULL;
