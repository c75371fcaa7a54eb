DROP TABLE connector_push_secrets;
DROP INDEX api_keys_connector;
ALTER TABLE api_keys DROP COLUMN connector_id;
