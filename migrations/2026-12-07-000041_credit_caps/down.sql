ALTER TABLE credit_policies
    DROP COLUMN credit_limit_set_by,
    DROP COLUMN credit_limit_before,
    DROP COLUMN payment_terms_set_by,
    DROP COLUMN payment_terms_before;
