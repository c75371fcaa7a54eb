-- Dispute work orders (争议处理工单, docs/disputes.md): owner, priority, due date from the
-- tenant's service level per cause, status, comments, linked differences and documents.
CREATE TABLE work_orders (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    title TEXT NOT NULL,
    customer_id UUID,
    assignee_id UUID,
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    cause TEXT CHECK (cause IN ('technical', 'process', 'dispute')),
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting_for_customer', 'resolved', 'cancelled')),
    due_at TIMESTAMPTZ NOT NULL,
    visible_to_customer BOOLEAN NOT NULL,
    -- The difference whose dispute opened it automatically (one work order per dispute).
    dispute_difference_id UUID,
    created_by_type TEXT NOT NULL,
    created_by_id TEXT NOT NULL,
    -- Set once by the sweep that announced the breach of due_at (work_order.overdue).
    overdue_notified_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, dispute_difference_id) REFERENCES differences (tenant_id, id)
);
CREATE UNIQUE INDEX work_orders_one_per_dispute ON work_orders (tenant_id, dispute_difference_id)
    WHERE dispute_difference_id IS NOT NULL;
CREATE INDEX work_orders_tenant_id ON work_orders (tenant_id, id);
-- The sweep's scan: active orders not yet announced as overdue, by due date.
CREATE INDEX work_orders_overdue ON work_orders (due_at, tenant_id)
    WHERE overdue_notified_at IS NULL AND status IN ('open', 'in_progress', 'waiting_for_customer');

CREATE TABLE work_order_differences (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    work_order_id UUID NOT NULL,
    difference_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, work_order_id, difference_id),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id),
    FOREIGN KEY (tenant_id, difference_id) REFERENCES differences (tenant_id, id)
);
CREATE INDEX work_order_differences_difference ON work_order_differences (tenant_id, difference_id);

CREATE TABLE work_order_documents (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    work_order_id UUID NOT NULL,
    document_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, work_order_id, document_id),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);

CREATE TABLE work_order_comments (
    id UUID NOT NULL,
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    work_order_id UUID NOT NULL,
    author_type TEXT NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_to_customer BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (tenant_id, work_order_id) REFERENCES work_orders (tenant_id, id)
);
CREATE INDEX work_order_comments_order ON work_order_comments (tenant_id, work_order_id, created_at);

-- Hours to resolve per cause; no row: the defaults (technical 48, process 120, dispute 240,
-- unclassified 120).
CREATE TABLE work_order_settings (
    tenant_id UUID NOT NULL PRIMARY KEY REFERENCES tenants (id),
    technical_hours INTEGER NOT NULL CHECK (technical_hours > 0),
    process_hours INTEGER NOT NULL CHECK (process_hours > 0),
    dispute_hours INTEGER NOT NULL CHECK (dispute_hours > 0),
    unclassified_hours INTEGER NOT NULL CHECK (unclassified_hours > 0),
    updated_at TIMESTAMPTZ NOT NULL
);
