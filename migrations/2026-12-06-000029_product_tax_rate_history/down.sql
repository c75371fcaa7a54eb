ALTER TABLE products DROP COLUMN tax_rate_history;
