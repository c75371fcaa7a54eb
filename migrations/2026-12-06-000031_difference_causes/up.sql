-- Why a difference exists (docs/disputes.md): cause, sub-cause, who set it, and the sentence that
-- says why it was suggested. NULL cause: the evidence did not say and nobody has set one yet.
ALTER TABLE differences
    ADD COLUMN cause TEXT CHECK (cause IN ('technical', 'process', 'dispute')),
    ADD COLUMN sub_cause TEXT CHECK (sub_cause IN (
        'decimal_shift', 'transposition', 'rounding', 'tax_rate', 'duplicate_entry',
        'missing_credit_note', 'discount_not_applied', 'late_posting', 'cut_off', 'not_booked',
        'quality', 'quantity', 'price', 'deliberate_delay', 'other')),
    ADD COLUMN cause_source TEXT CHECK (cause_source IN ('suggested', 'manual')),
    ADD COLUMN cause_explanation TEXT,
    ADD CONSTRAINT differences_cause_complete CHECK ((cause IS NULL) = (cause_source IS NULL));

CREATE INDEX differences_tenant_cause ON differences (tenant_id, cause);
