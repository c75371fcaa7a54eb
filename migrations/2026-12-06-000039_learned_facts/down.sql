DROP TABLE learned_fact_sources;
DROP TABLE learned_facts;
ALTER TABLE matching_settings
    DROP COLUMN learned_combined_min_confirmations,
    DROP COLUMN learned_name_min_confirmations,
    DROP COLUMN learned_iban_min_confirmations,
    DROP COLUMN learning_enabled;
