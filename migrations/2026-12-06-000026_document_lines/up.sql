-- Lines of invoices and credit notes, and the tenant's tax rounding rule.

CREATE TABLE document_settings (
    tenant_id       UUID PRIMARY KEY REFERENCES tenants(id),
    -- per_line: tax rounded on every line; per_document: per rate on the summed nets, once.
    tax_rounding    TEXT NOT NULL DEFAULT 'per_line' CHECK (tax_rounding IN ('per_line', 'per_document')),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A line may name a product of the same tenant.
ALTER TABLE products ADD CONSTRAINT products_tenant_id_id UNIQUE (tenant_id, id);

CREATE TABLE document_lines (
    tenant_id        UUID NOT NULL,
    -- Documents are never deleted or re-keyed, and carry no (tenant_id, id) key on purpose (one
    -- index less per imported document): the line's tenant is the document's, set when written.
    document_id      UUID NOT NULL REFERENCES documents(id),
    line_no          INTEGER NOT NULL CHECK (line_no >= 1),
    product_id       UUID,
    description      TEXT NOT NULL,
    quantity         NUMERIC(20, 6) NOT NULL,
    unit             TEXT,
    -- Unit prices may carry more decimals than the currency (0.0125 per kWh).
    unit_price       NUMERIC(20, 6) NOT NULL CHECK (unit_price >= 0),
    -- An amount in the document's currency, or a percent of quantity x unit price.
    discount         NUMERIC(20, 4) NOT NULL DEFAULT 0 CHECK (discount >= 0),
    discount_percent NUMERIC(7, 4) NOT NULL DEFAULT 0 CHECK (discount_percent >= 0 AND discount_percent <= 100),
    tax_rate         NUMERIC(7, 4) NOT NULL CHECK (tax_rate >= 0 AND tax_rate < 100),
    net              NUMERIC(20, 4) NOT NULL,
    tax              NUMERIC(20, 4) NOT NULL,
    gross            NUMERIC(20, 4) NOT NULL CHECK (gross = net + tax),
    -- Tax anomalies found when the line was written: [{"kind": ..., "message": ...}].
    tax_flags        JSONB NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, document_id, line_no),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);
