-- Foundation: tenants, principals, customers, ledger documents, audit trail, idempotency.
-- Every business row carries tenant_id and every query filters on it (see src/db).

CREATE TABLE tenants (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    base_currency  CHAR(3) NOT NULL DEFAULT 'EUR',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'accountant', 'viewer')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at    TIMESTAMPTZ
);
-- Login looks users up by e-mail across tenants; one address may belong to several tenants.
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email));
CREATE INDEX users_email ON users (lower(email));

CREATE TABLE api_keys (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    -- The public part of the key ("dz_<prefix>_<secret>"): finds the row without scanning hashes.
    prefix         TEXT NOT NULL UNIQUE,
    -- SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
    key_hash       TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'accountant', 'viewer')),
    scopes         TEXT[] NOT NULL DEFAULT '{}',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

CREATE TABLE customers (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL REFERENCES tenants(id),
    code                TEXT NOT NULL,
    name                TEXT NOT NULL,
    aliases             TEXT[] NOT NULL DEFAULT '{}',
    country             CHAR(2),
    bank_accounts       TEXT[] NOT NULL DEFAULT '{}',
    email               TEXT,
    default_currency    CHAR(3),
    payment_terms_days  INTEGER CHECK (payment_terms_days BETWEEN 0 AND 3650),
    credit_limit        NUMERIC(20, 4) CHECK (credit_limit >= 0),
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'blocked')),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code)
);
-- Unique so that tables below can reference (tenant_id, id): one foreign key then checks both
-- that the customer exists and that it belongs to the row's tenant (the tenant's own foreign key
-- follows through customers), instead of two per-row checks.
CREATE UNIQUE INDEX customers_tenant_id ON customers (tenant_id, id);
CREATE INDEX customers_tenant_name ON customers (tenant_id, lower(name));
-- Payer IBAN -> customer, for cash application.
CREATE INDEX customers_bank_accounts ON customers USING GIN (bank_accounts);

CREATE TABLE documents (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL,
    customer_id         UUID NOT NULL,
    doc_type            TEXT NOT NULL CHECK (doc_type IN ('invoice', 'credit_note', 'payment', 'adjustment')),
    doc_no              TEXT NOT NULL,
    issue_date          DATE NOT NULL,
    due_date            DATE,
    currency            CHAR(3) NOT NULL,
    -- Amounts are positive in the document's own sense (an invoice of 100, a payment of 100);
    -- the sign towards the customer's balance follows from doc_type. Adjustments are signed.
    amount              NUMERIC(20, 4) NOT NULL,
    open_amount         NUMERIC(20, 4) NOT NULL,
    external_reference  TEXT,
    source_system       TEXT,
    status              TEXT NOT NULL CHECK (status IN ('open', 'partially_paid', 'paid', 'cancelled')),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, doc_type, doc_no),
    CHECK (doc_type = 'adjustment' OR amount > 0),
    CHECK (amount <> 0),
    CHECK (due_date IS NULL OR due_date >= issue_date),
    -- The customer of the same tenant (implies the tenant exists).
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
)
-- Nearly every document is updated once (open amount and status, when it is paid), most of them
-- in bulk by matching runs that touch hundreds of thousands of rows in one transaction. No index
-- covers open_amount, status or updated_at, so those updates can be HOT (heap-only: no index
-- entries, new version on the same page) as long as the page has room for the new version.
-- Half of each page is kept free at insert for that; without it a run's update writes a new
-- entry into every index of the table for every document (measured on 1.1M documents: 72 s
-- non-HOT, about 16 s HOT). The price is a heap about twice the minimum size.
WITH (fillfactor = 50);
-- Unique: the target of (tenant_id, document_id) foreign keys.
CREATE UNIQUE INDEX documents_tenant_id ON documents (tenant_id, id);
-- Also serves a customer's open items (open_items): a customer has hundreds of documents, not
-- millions, and a partial index on status would make every payment update non-HOT.
CREATE INDEX documents_customer ON documents (tenant_id, customer_id, id);
CREATE INDEX documents_doc_no ON documents (tenant_id, doc_no);

-- Audit trail: append-only and hash-chained per tenant. The chain head row is locked by the
-- writer for the rest of its transaction, so sequence numbers and hashes follow commit order.
CREATE TABLE audit_log (
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    seq          BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    before       JSONB,
    after        JSONB,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_entity ON audit_log (tenant_id, entity_type, entity_id, seq);

CREATE TABLE audit_chain_heads (
    tenant_id  UUID PRIMARY KEY REFERENCES tenants(id),
    last_seq   BIGINT NOT NULL,
    last_hash  TEXT NOT NULL
);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Idempotency-Key: the row is inserted first in the use case's transaction, so a concurrent
-- duplicate waits on the primary key and then replays the stored answer.
CREATE TABLE idempotency_keys (
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    response_status  SMALLINT,
    response_body    BYTEA,
    content_type     TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);
