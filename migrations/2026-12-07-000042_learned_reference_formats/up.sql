-- Learning how a customer quotes our document numbers (docs/cash-application.md, "Learning from
-- people"): the key is the shape, `R{n}/99` ({n} the running number, 9 any digit).
ALTER TABLE learned_facts DROP CONSTRAINT learned_facts_kind_check;
ALTER TABLE learned_facts ADD CONSTRAINT learned_facts_kind_check
    CHECK (kind IN ('payer_iban', 'payer_name', 'combined_payments', 'oldest_first', 'reference_format'));
