-- Learning the habit of paying the oldest of equal open items first (docs/cash-application.md,
-- "Learning from people"): a person who picks the oldest teaches it, a person who picks a later
-- one argues against it (`chose_later_item`, negative evidence).
ALTER TABLE learned_facts DROP CONSTRAINT learned_facts_kind_check;
ALTER TABLE learned_facts ADD CONSTRAINT learned_facts_kind_check
    CHECK (kind IN ('payer_iban', 'payer_name', 'combined_payments', 'oldest_first'));
ALTER TABLE learned_fact_sources DROP CONSTRAINT learned_fact_sources_how_check;
ALTER TABLE learned_fact_sources ADD CONSTRAINT learned_fact_sources_how_check
    CHECK (how IN ('confirmed_proposal', 'manual_allocation', 'rejected_proposal', 'unapplied_allocation',
        'chose_later_item'));
