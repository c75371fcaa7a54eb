-- Customers' statements as customers send them (issue 18): the layout of each customer's
-- statement files, the free text of their lines, why each line was paired, and how a file was
-- read.

-- One statement mapping per customer (columns, amount convention, formats, own document type
-- words), as bank accounts keep their CSV mapping.
CREATE TABLE customer_statement_mappings (
    customer_id  UUID PRIMARY KEY REFERENCES customers(id),
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    mapping      JSONB NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customer_statement_mappings_tenant ON customer_statement_mappings (tenant_id, customer_id);

ALTER TABLE customer_statement_lines
    -- Their free text (booking text, description), searched for our numbers.
    ADD COLUMN text TEXT NOT NULL DEFAULT '',
    -- The kind was read from the amount's direction, not stated by a document type.
    ADD COLUMN kind_inferred BOOLEAN NOT NULL DEFAULT false,
    -- Why the line was paired (and with what), in words.
    ADD COLUMN match_explanation TEXT;

-- How the file was read: detected layout, encoding, skipped total rows, unknown words.
ALTER TABLE customer_statements ADD COLUMN notes JSONB NOT NULL DEFAULT '[]';
