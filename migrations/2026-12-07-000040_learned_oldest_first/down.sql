DELETE FROM learned_fact_sources WHERE how = 'chose_later_item';
DELETE FROM learned_facts WHERE kind = 'oldest_first';
ALTER TABLE learned_facts DROP CONSTRAINT learned_facts_kind_check;
ALTER TABLE learned_facts ADD CONSTRAINT learned_facts_kind_check
    CHECK (kind IN ('payer_iban', 'payer_name', 'combined_payments'));
ALTER TABLE learned_fact_sources DROP CONSTRAINT learned_fact_sources_how_check;
ALTER TABLE learned_fact_sources ADD CONSTRAINT learned_fact_sources_how_check
    CHECK (how IN ('confirmed_proposal', 'manual_allocation', 'rejected_proposal', 'unapplied_allocation'));
