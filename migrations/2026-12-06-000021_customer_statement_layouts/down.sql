ALTER TABLE customer_statements DROP COLUMN notes;
ALTER TABLE customer_statement_lines DROP COLUMN text, DROP COLUMN kind_inferred, DROP COLUMN match_explanation;
DROP TABLE customer_statement_mappings;
