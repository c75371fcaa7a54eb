-- Learning from people (docs/cash-application.md, "Learning from people"): what a person's
-- confirmation, manual allocation or rejection says about a payer, kept as facts with their
-- provenance, and the tenant's thresholds for letting them apply payments.

ALTER TABLE matching_settings
    -- Off: runs use no learned fact and reviews record none (undoing still removes what a
    -- rejected allocation had taught).
    ADD COLUMN learning_enabled BOOLEAN NOT NULL DEFAULT true,
    -- How many distinct confirmed bank lines a learned fact needs before it may apply a payment
    -- without review (below: it only proposes).
    ADD COLUMN learned_iban_min_confirmations INT NOT NULL DEFAULT 1 CHECK (learned_iban_min_confirmations >= 1),
    ADD COLUMN learned_name_min_confirmations INT NOT NULL DEFAULT 2 CHECK (learned_name_min_confirmations >= 1),
    ADD COLUMN learned_combined_min_confirmations INT NOT NULL DEFAULT 2
        CHECK (learned_combined_min_confirmations >= 1);

CREATE TABLE learned_facts (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    -- payer_iban: key is the IBAN (upper-case, no spaces); payer_name: key is the payer name as
    -- matching normalises it; combined_payments: key is empty (the customer pays several
    -- invoices with one amount and no reference).
    kind TEXT NOT NULL CHECK (kind IN ('payer_iban', 'payer_name', 'combined_payments')),
    key TEXT NOT NULL,
    customer_id UUID NOT NULL,
    -- Distinct bank lines a person applied to the customer (positive) or refused for it
    -- (negative); kept equal to the provenance rows by the service.
    confirmations INT NOT NULL DEFAULT 0 CHECK (confirmations >= 0),
    rejections INT NOT NULL DEFAULT 0 CHECK (rejections >= 0),
    last_confirmed_at TIMESTAMPTZ,
    last_confirmed_by TEXT,
    revoked_at TIMESTAMPTZ,
    revoked_by TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
-- One live fact per (kind, key, customer); revoked ones stay as the record of the revocation.
CREATE UNIQUE INDEX learned_facts_live ON learned_facts (tenant_id, kind, key, customer_id) WHERE revoked_at IS NULL;
CREATE INDEX learned_facts_customer ON learned_facts (tenant_id, customer_id);

-- Where a fact comes from: who, when, which bank line and allocation, and how.
CREATE TABLE learned_fact_sources (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    fact_id UUID NOT NULL,
    how TEXT NOT NULL CHECK (how IN ('confirmed_proposal', 'manual_allocation', 'rejected_proposal',
        'unapplied_allocation')),
    bank_line_id UUID NOT NULL,
    -- The first allocation of the group the person decided on.
    allocation_id UUID NOT NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, fact_id) REFERENCES learned_facts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, bank_line_id) REFERENCES bank_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, allocation_id) REFERENCES allocations (tenant_id, id)
);
CREATE INDEX learned_fact_sources_fact ON learned_fact_sources (tenant_id, fact_id);
CREATE INDEX learned_fact_sources_allocation ON learned_fact_sources (tenant_id, allocation_id);
