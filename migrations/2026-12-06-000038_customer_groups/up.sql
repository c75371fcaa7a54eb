-- Customer groups (docs/master-data.md, "Customer groups"): a corporate family, a parent company
-- and its subsidiaries, as finance teams model it. Matching reads them (a member may pay for
-- another member), and the aging, collections and statement of account report a whole group.
CREATE TABLE customer_groups (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The parent company, when the tenant records one; it is a member of the group too.
    parent_customer_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, code),
    FOREIGN KEY (tenant_id, parent_customer_id) REFERENCES customers (tenant_id, id)
);

-- Membership: the key on (tenant_id, customer_id) makes a customer a member of one group at most.
CREATE TABLE customer_group_members (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    customer_id UUID NOT NULL,
    group_id UUID NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES customer_groups (tenant_id, id)
);
CREATE INDEX customer_group_members_group ON customer_group_members (tenant_id, group_id, customer_id);
