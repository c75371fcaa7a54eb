-- Tax rates change by law on a date (China's VAT 17% -> 16% on 2018-05-01 -> 13% on 2019-04-01):
-- a product keeps the rates it had, so a document line is checked against the rate valid on
-- the document's date. [{"valid_from": "YYYY-MM-DD", "rate": "13"}, ...], ordered by date;
-- empty: the product's tax_rate applies on every date.
ALTER TABLE products ADD COLUMN tax_rate_history JSONB NOT NULL DEFAULT '[]'::jsonb;
