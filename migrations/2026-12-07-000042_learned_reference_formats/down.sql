DELETE FROM learned_facts WHERE kind = 'reference_format';
ALTER TABLE learned_facts DROP CONSTRAINT learned_facts_kind_check;
ALTER TABLE learned_facts ADD CONSTRAINT learned_facts_kind_check
    CHECK (kind IN ('payer_iban', 'payer_name', 'combined_payments', 'oldest_first'));
