-- Credit rules may lower a customer's credit limit and shorten its payment terms (both kept on
-- `customers`). Who lowered them and what they were before is kept here, so a rule restores
-- only what it changed itself, and never what a person set.
ALTER TABLE credit_policies
    ADD COLUMN credit_limit_set_by    TEXT,
    ADD COLUMN credit_limit_before    NUMERIC(20, 4) CHECK (credit_limit_before >= 0),
    ADD COLUMN payment_terms_set_by   TEXT,
    ADD COLUMN payment_terms_before   INTEGER CHECK (payment_terms_before BETWEEN 0 AND 3650);
