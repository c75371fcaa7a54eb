DROP TABLE payment_promises;
DROP TABLE contact_log;
DROP TABLE collection_tasks;
DROP TABLE collection_settings;
ALTER TABLE customers DROP CONSTRAINT customers_tenant_id_owner_user_id_fkey;
ALTER TABLE customers DROP COLUMN owner_user_id;
ALTER TABLE customer_dunning DROP COLUMN escalation;
ALTER TABLE dunning_levels DROP COLUMN actions;
