-- Cash application: matching runs (background jobs), allocations of bank lines to documents,
-- write-offs, FX rates and per-tenant matching settings.

CREATE TABLE matching_settings (
    tenant_id              UUID PRIMARY KEY REFERENCES tenants(id),
    -- Confidence at or above which a match is applied without a person.
    auto_apply_threshold   NUMERIC(4, 3) NOT NULL DEFAULT 0.900 CHECK (auto_apply_threshold BETWEEN 0 AND 1),
    -- Short payments within min(percent of the open amount, absolute) settle the item (fee, discount).
    tolerance_percent      NUMERIC(6, 4) NOT NULL DEFAULT 0.0200 CHECK (tolerance_percent >= 0),
    tolerance_absolute     NUMERIC(20, 4) NOT NULL DEFAULT 25 CHECK (tolerance_absolute >= 0),
    fx_tolerance_percent   NUMERIC(6, 4) NOT NULL DEFAULT 0.0150 CHECK (fx_tolerance_percent >= 0),
    -- A payment without reference equal to several open items of its payer settles the oldest due
    -- (off: only proposed; nothing in the line says which item is meant).
    auto_apply_oldest_first BOOLEAN NOT NULL DEFAULT false,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE fx_rates (
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    from_currency  CHAR(3) NOT NULL,
    to_currency    CHAR(3) NOT NULL,
    valid_on       DATE NOT NULL,
    rate           NUMERIC(24, 10) NOT NULL CHECK (rate > 0),
    PRIMARY KEY (tenant_id, from_currency, to_currency, valid_on)
);

CREATE TABLE reconciliation_runs (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    bank_account_id  UUID REFERENCES bank_accounts(id),
    booked_from      DATE,
    booked_to        DATE,
    lines_total      INTEGER NOT NULL DEFAULT 0,
    lines_processed  INTEGER NOT NULL DEFAULT 0,
    auto_applied     INTEGER NOT NULL DEFAULT 0,
    proposed         INTEGER NOT NULL DEFAULT 0,
    unmatched        INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    actor_type       TEXT NOT NULL,
    actor_id         TEXT NOT NULL
);
-- Unique: the target of (tenant_id, run_id) foreign keys.
CREATE UNIQUE INDEX reconciliation_runs_tenant ON reconciliation_runs (tenant_id, id);
-- Workers pick queued runs with FOR UPDATE SKIP LOCKED.
CREATE INDEX reconciliation_runs_queued ON reconciliation_runs (created_at) WHERE status = 'queued';

CREATE TABLE allocations (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    run_id           UUID,
    bank_line_id     UUID NOT NULL,
    document_id      UUID NOT NULL,
    -- In the document's currency; negative for a credit note netted into a payment.
    amount           NUMERIC(20, 4) NOT NULL,
    -- The part of the bank line this uses, in the line's currency.
    line_amount      NUMERIC(20, 4) NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('auto_applied', 'proposed', 'confirmed', 'rejected')),
    -- Proposals: candidate sets of one line; 0 is the engine's best.
    candidate_set    INTEGER NOT NULL DEFAULT 0,
    confidence       NUMERIC(4, 3) NOT NULL,
    rule             TEXT NOT NULL,
    explanation      JSONB NOT NULL,
    fx_rate          NUMERIC(24, 10),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at       TIMESTAMPTZ,
    decided_by       TEXT,
    -- Run, line and document of the same tenant. A run COPYs a million allocations and each
    -- foreign key is a query per row (most of the COPY's time): three composite keys also tie
    -- each reference to the tenant, where four single-column ones (tenant, run, line, document)
    -- did not, and save a quarter of the checks.
    FOREIGN KEY (tenant_id, run_id) REFERENCES reconciliation_runs (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_line_id) REFERENCES bank_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id)
);
CREATE INDEX allocations_run ON allocations (tenant_id, run_id, id);
CREATE INDEX allocations_line ON allocations (tenant_id, bank_line_id);
CREATE INDEX allocations_document ON allocations (tenant_id, document_id);

CREATE TABLE write_offs (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    allocation_id  UUID NOT NULL REFERENCES allocations(id),
    document_id    UUID NOT NULL REFERENCES documents(id),
    amount         NUMERIC(20, 4) NOT NULL,
    currency       CHAR(3) NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('bank_fee', 'discount', 'fx', 'overpayment', 'manual')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    reversed_at    TIMESTAMPTZ
);
CREATE INDEX write_offs_allocation ON write_offs (tenant_id, allocation_id);

-- Invariants the matching and review code relies on, enforced by the database as well.
ALTER TABLE documents ADD CONSTRAINT documents_open_amount_in_range
    CHECK (doc_type = 'adjustment' OR (open_amount >= 0 AND open_amount <= amount));
ALTER TABLE bank_lines ADD CONSTRAINT bank_lines_applied_within_amount
    CHECK (abs(applied_amount) <= abs(amount));
ALTER TABLE reconciliation_runs ADD COLUMN heartbeat_at TIMESTAMPTZ;
