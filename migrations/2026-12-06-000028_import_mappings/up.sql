-- Saved column mappings for imports (issue 24): how one of the tenant's own spreadsheet or CSV
-- layouts maps onto the columns of a customers, products, contacts or documents import, chosen
-- by name with `?mapping=` on the import.
CREATE TABLE import_mappings (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL CHECK (kind IN ('customers', 'products', 'customer-contacts', 'documents')),
    name        TEXT NOT NULL,
    mapping     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, kind, name)
);
