ALTER TABLE reconciliation_runs DROP COLUMN heartbeat_at;
ALTER TABLE bank_lines DROP CONSTRAINT bank_lines_applied_within_amount;
ALTER TABLE documents DROP CONSTRAINT documents_open_amount_in_range;
DROP TABLE write_offs;
DROP TABLE allocations;
DROP TABLE reconciliation_runs;
DROP TABLE fx_rates;
DROP TABLE matching_settings;
