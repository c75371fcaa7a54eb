DROP INDEX IF EXISTS connector_syncs_finished;
DROP INDEX IF EXISTS webhook_attempts_started;
DROP INDEX IF EXISTS outbox_events_dispatched;
DROP INDEX IF EXISTS customers_bank_account_hashes;
ALTER TABLE customers DROP COLUMN IF EXISTS bank_account_hashes;
DROP TABLE IF EXISTS key_rotations;
DROP TABLE IF EXISTS data_safety_settings;
DROP TABLE IF EXISTS tenant_keys;
