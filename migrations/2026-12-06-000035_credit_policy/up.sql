-- Credit policy per customer. The limit and payment terms stay on `customers` (one place);
-- prepayment and hold live here with who set them, so a rule or a dunning level lifts only
-- what it set itself. Every change is kept with its explanation.

CREATE TABLE credit_policies (
    customer_id             UUID NOT NULL,
    tenant_id               UUID NOT NULL REFERENCES tenants(id),
    prepayment_required     BOOLEAN NOT NULL DEFAULT false,
    -- user | dunning_level | rule:<code>
    prepayment_set_by       TEXT,
    hold                    BOOLEAN NOT NULL DEFAULT false,
    hold_reason             TEXT,
    hold_set_by             TEXT,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE credit_policy_changes (
    id           UUID NOT NULL,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    customer_id  UUID NOT NULL,
    -- What changed: {"field": {"before": .., "after": ..}, ...}
    changes      JSONB NOT NULL,
    explanation  TEXT NOT NULL,
    -- user | api_key | system (the actor), rule | dunning_level (what decided it)
    source_type  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    run_id       UUID,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX credit_policy_changes_customer ON credit_policy_changes (tenant_id, customer_id, id);

-- The tenant's credit rules, replaced as a whole (like the dunning levels).
CREATE TABLE credit_rules (
    id          UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    definition  JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (id, tenant_id),
    UNIQUE (tenant_id, code)
);
