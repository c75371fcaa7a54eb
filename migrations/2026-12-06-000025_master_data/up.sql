-- Master data beside customers: the products and services a tenant sells, and its customers'
-- contacts and addresses (one may receive statements, one dunning letters).

CREATE TABLE products (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'product' CHECK (kind IN ('product', 'service')),
    unit            TEXT,
    -- Unit prices may carry more decimals than a currency's minor unit (0.0125 per kWh).
    default_price   NUMERIC(20, 6) CHECK (default_price >= 0),
    currency        CHAR(3),
    -- Percent: 13 is 13% VAT.
    tax_rate        NUMERIC(7, 4) CHECK (tax_rate >= 0 AND tax_rate < 100),
    active          BOOLEAN NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    CHECK (default_price IS NULL OR currency IS NOT NULL)
);

CREATE TABLE customer_contacts (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    customer_id     UUID NOT NULL,
    -- Personal data below is sealed with the tenant's data key when the tenant encrypts
    -- customer data (the default), so it is TEXT however long the ciphertext.
    name            TEXT NOT NULL,
    role            TEXT,
    email           TEXT,
    phone           TEXT,
    address_lines   TEXT[] NOT NULL DEFAULT '{}',
    postal_code     TEXT,
    city            TEXT,
    country         CHAR(2),
    for_statements  BOOLEAN NOT NULL DEFAULT false,
    for_dunning     BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_contacts_customer ON customer_contacts (tenant_id, customer_id, id);
-- At most one contact per customer receives statements, and one dunning letters.
CREATE UNIQUE INDEX customer_contacts_statements ON customer_contacts (tenant_id, customer_id) WHERE for_statements;
CREATE UNIQUE INDEX customer_contacts_dunning ON customer_contacts (tenant_id, customer_id) WHERE for_dunning;
