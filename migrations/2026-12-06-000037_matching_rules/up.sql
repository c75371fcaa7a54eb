-- Matching rules as data (docs/matching-rules.md): a tenant's ordered, versioned rules that add to
-- or override the built-in evidence of cash application. `definition` is the RuleDefinition JSON
-- (src/domain/matching_rules), validated before it is stored.
CREATE TABLE matching_rules (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT,
    -- Evaluation order: lower first; unique per tenant so the order is total. NULL once retired.
    position INT,
    enabled BOOLEAN NOT NULL,
    version INT NOT NULL CHECK (version >= 1),
    definition JSONB NOT NULL,
    -- The template the rule was made from, if any.
    template TEXT,
    -- A deleted rule is retired, not erased: allocations and versions keep pointing at it.
    retired_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    UNIQUE (tenant_id, id),
    -- Deferred, so a reorder can move every rule in one statement order-independently.
    CONSTRAINT matching_rules_position UNIQUE (tenant_id, position) DEFERRABLE INITIALLY DEFERRED,
    CHECK ((retired_at IS NULL) = (position IS NOT NULL))
);
-- Names are unique among a tenant's live rules (a retired name can be used again).
CREATE UNIQUE INDEX matching_rules_name ON matching_rules (tenant_id, name) WHERE retired_at IS NULL;

-- Every version of every rule as it was saved: allocations name (rule_id, rule_version), and a
-- reviewer can read the exact definition that produced one.
CREATE TABLE matching_rule_versions (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    rule_id UUID NOT NULL,
    version INT NOT NULL,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    definition JSONB NOT NULL,
    changed_by_type TEXT NOT NULL,
    changed_by_id TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    UNIQUE (tenant_id, rule_id, version),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES matching_rules (tenant_id, id)
);

-- The rule (and its version) that shaped an allocation; NULL when only built-in evidence decided.
ALTER TABLE allocations ADD COLUMN rule_id UUID, ADD COLUMN rule_version INT;
