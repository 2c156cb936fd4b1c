-- warehouse-server schema, version 12: the stage `over_budget` (超预算审核),
-- where a purchase that cost more than its approved budget waits for
-- finance's recorded approval before it is received. SQLite rebuilds
-- `requests` (../0012_over_budget_stage.sql); PostgreSQL replaces the CHECK
-- in place (the same rule, the same name as the column's own).

ALTER TABLE requests DROP CONSTRAINT requests_stage_check;
ALTER TABLE requests ADD CONSTRAINT requests_stage_check CHECK (stage IN ('appraisal',
    'approval', 'finance', 'procurement', 'over_budget', 'receiving', 'checkout', 'receipt',
    'on_loan', 'sale', 'remittance', 'cause', 'payment', 'completed', 'rejected', 'withdrawn'));
