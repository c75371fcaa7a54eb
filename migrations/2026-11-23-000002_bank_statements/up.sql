-- Bank statement ingestion: our bank accounts, uploaded statement files, and their lines.

CREATE TABLE bank_accounts (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    -- IBAN (electronic form) or the bank's account number: how statements name the account.
    account_id    TEXT NOT NULL,
    currency      CHAR(3) NOT NULL,
    bank_name     TEXT,
    name          TEXT,
    -- Saved column mapping for CSV exports of this account (null: the default mapping).
    csv_mapping   JSONB,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, account_id),
    -- The target of (tenant_id, bank_account_id) foreign keys.
    UNIQUE (tenant_id, id)
);

-- One uploaded file (which may hold several statements, e.g. multi-statement MT940).
CREATE TABLE bank_statements (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL REFERENCES tenants(id),
    format              TEXT NOT NULL,
    file_sha256         TEXT NOT NULL,
    file_bytes          BIGINT NOT NULL,
    -- Per statement in the file: account, statement id, balances, line count.
    statements          JSONB NOT NULL DEFAULT '[]',
    lines_imported      INTEGER NOT NULL,
    duplicates_skipped  INTEGER NOT NULL,
    warnings            JSONB NOT NULL DEFAULT '[]',
    imported_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_type          TEXT NOT NULL,
    actor_id            TEXT NOT NULL
);
-- Unique: the target of (tenant_id, statement_id) foreign keys.
CREATE UNIQUE INDEX bank_statements_tenant ON bank_statements (tenant_id, id);

CREATE TABLE bank_lines (
    id                     UUID PRIMARY KEY,
    tenant_id              UUID NOT NULL,
    bank_account_id        UUID NOT NULL,
    statement_id           UUID NOT NULL,
    -- The bank's own entry reference (NtryRef/AcctSvcrRef, MT940 bank ref, CSV line_id).
    bank_reference         TEXT,
    -- What makes a line the same line in another file: the bank reference, else a content hash.
    dedupe_key             TEXT NOT NULL,
    booking_date           DATE NOT NULL,
    value_date             DATE,
    -- Signed: credits to our account positive, debits negative.
    amount                 NUMERIC(20, 4) NOT NULL,
    currency               CHAR(3) NOT NULL,
    counterparty_name      TEXT,
    counterparty_iban      TEXT,
    remittance             TEXT,
    creditor_reference     TEXT,
    end_to_end_id          TEXT,
    bank_transaction_code  TEXT,
    reversal               BOOLEAN NOT NULL DEFAULT false,
    charges                NUMERIC(20, 4),
    status                 TEXT NOT NULL DEFAULT 'unapplied'
                           CHECK (status IN ('unapplied', 'partly_applied', 'applied', 'ignored')),
    applied_amount         NUMERIC(20, 4) NOT NULL DEFAULT 0,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, bank_account_id, dedupe_key),
    -- Account and statement of the same tenant: two foreign-key checks per imported line
    -- instead of three (the tenant's existence follows through the account).
    FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES bank_statements (tenant_id, id)
)
-- Every line is updated once when it is applied (applied_amount, status), in bulk by matching
-- runs; with no index on those columns and half of each page free the update is HOT (see
-- documents in the foundation migration).
WITH (fillfactor = 50);
-- Unique: the target of (tenant_id, bank_line_id) foreign keys.
CREATE UNIQUE INDEX bank_lines_tenant_id ON bank_lines (tenant_id, id);
CREATE INDEX bank_lines_account_date ON bank_lines (tenant_id, bank_account_id, booking_date);
-- No partial index on status: it would make every status change a non-HOT update (a new entry
-- in each of the table's indexes for each applied line; 32 s of a 1M-line run). A run reads the
-- tenant's unapplied lines with one sequential pass instead.
