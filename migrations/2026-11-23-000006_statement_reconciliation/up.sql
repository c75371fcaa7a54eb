-- Statement reconciliation (对账): a customer's statement of its account, compared with our
-- books; the differences found and their life with the customer; the customer portal.

CREATE TABLE customer_statements (
    id                 UUID PRIMARY KEY,
    tenant_id          UUID NOT NULL REFERENCES tenants(id),
    customer_id        UUID NOT NULL REFERENCES customers(id),
    period_from        DATE,
    period_to          DATE,
    -- How it reached us: an API client of the tenant, the customer's portal, or the customer's
    -- system pushing a signed request.
    source             TEXT NOT NULL CHECK (source IN ('api', 'portal', 'inbound')),
    lines_count        INTEGER NOT NULL,
    matched_count      INTEGER NOT NULL,
    differences_count  INTEGER NOT NULL,
    date_tolerance_days INTEGER NOT NULL,
    -- Per currency: our balance, theirs, the sum of differences and what stays unexplained.
    balances           JSONB NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_type         TEXT NOT NULL,
    actor_id           TEXT NOT NULL,
    CHECK (period_from IS NULL OR period_to IS NULL OR period_from <= period_to)
);
CREATE INDEX customer_statements_customer ON customer_statements (tenant_id, customer_id, id);

CREATE TABLE customer_statement_lines (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID NOT NULL REFERENCES tenants(id),
    statement_id         UUID NOT NULL REFERENCES customer_statements(id),
    line_no              INTEGER NOT NULL,
    their_ref            TEXT NOT NULL,
    our_ref              TEXT,
    entry_date           DATE NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note', 'payment', 'adjustment')),
    amount               NUMERIC(20, 4) NOT NULL,
    currency             CHAR(3) NOT NULL,
    matched_ref          TEXT,
    match_rule           TEXT,
    UNIQUE (statement_id, line_no)
);

CREATE TABLE differences (
    id                      UUID PRIMARY KEY,
    tenant_id               UUID NOT NULL REFERENCES tenants(id),
    customer_id             UUID NOT NULL REFERENCES customers(id),
    statement_id            UUID NOT NULL REFERENCES customer_statements(id),
    kind                    TEXT NOT NULL CHECK (kind IN ('missing_on_customer_side', 'missing_on_our_side',
                                'amount_mismatch', 'duplicate_on_customer_side', 'duplicate_on_our_side',
                                'date_mismatch')),
    status                  TEXT NOT NULL CHECK (status IN ('open', 'sent', 'confirmed', 'disputed',
                                'resolved', 'cancelled')),
    our_document_id         UUID REFERENCES documents(id),
    our_ref                 TEXT,
    their_ref               TEXT,
    our_amount              NUMERIC(20, 4),
    their_amount            NUMERIC(20, 4),
    currency                CHAR(3) NOT NULL,
    our_date                DATE,
    their_date              DATE,
    explanation             TEXT NOT NULL,
    -- What this difference adds to (our balance - their balance), in `currency`.
    balance_effect          NUMERIC(20, 4) NOT NULL,
    -- Kind, refs and amounts: a later statement showing the same difference again does not
    -- open a second one while the first is still being worked on.
    fingerprint             TEXT NOT NULL,
    resolution_note         TEXT,
    adjustment_document_id  UUID REFERENCES documents(id),
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX differences_tenant ON differences (tenant_id, id);
CREATE INDEX differences_customer ON differences (tenant_id, customer_id, id);
CREATE INDEX differences_statement ON differences (tenant_id, statement_id);
CREATE UNIQUE INDEX differences_active_fingerprint ON differences (tenant_id, customer_id, fingerprint)
    WHERE status NOT IN ('resolved', 'cancelled');

-- The thread of a difference, visible to both sides.
CREATE TABLE difference_comments (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    difference_id  UUID NOT NULL REFERENCES differences(id),
    author_type    TEXT NOT NULL,   -- user | api_key | system | customer
    author_id      TEXT NOT NULL,
    body           TEXT NOT NULL,
    -- Metadata only (name, content type, size, sha256, url): files live with the client.
    attachments    JSONB NOT NULL DEFAULT '[]',
    status_change  TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX difference_comments_difference ON difference_comments (tenant_id, difference_id, created_at);

-- 对账确认: the customer confirms the balance of its account as of a date.
CREATE TABLE balance_confirmations (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    customer_id   UUID NOT NULL REFERENCES customers(id),
    as_of         DATE NOT NULL,
    balances      JSONB NOT NULL,
    comment       TEXT,
    confirmed_by  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX balance_confirmations_customer ON balance_confirmations (tenant_id, customer_id, id);

-- Portal tokens are JWTs; the row lets a tenant list and revoke them before they expire.
CREATE TABLE portal_tokens (
    id           UUID PRIMARY KEY,   -- the token's jti
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by   TEXT NOT NULL
);
CREATE INDEX portal_tokens_customer ON portal_tokens (tenant_id, customer_id, id);

-- Secrets with which a customer's system signs statements it pushes to us (Standard Webhooks),
-- and the message ids already accepted (replay protection).
CREATE TABLE inbound_secrets (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    secret       TEXT NOT NULL,
    expires_at   TIMESTAMPTZ,         -- set on the old secret when a new one replaces it
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX inbound_secrets_customer ON inbound_secrets (tenant_id, customer_id);

CREATE TABLE inbound_messages (
    tenant_id    UUID NOT NULL REFERENCES tenants(id),
    message_id   TEXT NOT NULL,
    statement_id UUID REFERENCES customer_statements(id),
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, message_id)
);
