-- Collections: dunning levels, runs that assign them, the actions they create and each
-- customer's current state (with its credit hold); monthly statement runs.

CREATE TABLE dunning_levels (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL REFERENCES tenants(id),
    code                TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- Higher is more severe; a customer gets the most severe level it qualifies for.
    severity            INTEGER NOT NULL,
    -- Qualifies when an open item is at least this many days past due (negative: due within
    -- that many days, for reminders before the due date) ...
    min_days_overdue    INTEGER NOT NULL,
    -- ... and those items sum to at least this much (in their currencies).
    min_amount          NUMERIC(20, 4) NOT NULL DEFAULT 0,
    -- reminder | letter | legal_letter | call
    action              TEXT NOT NULL CHECK (action IN ('reminder', 'letter', 'legal_letter', 'call')),
    -- Repeat the action while the customer stays at the level (NULL: once, on entering it).
    repeat_every_days   INTEGER CHECK (repeat_every_days IS NULL OR repeat_every_days > 0),
    credit_hold         BOOLEAN NOT NULL DEFAULT false,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    UNIQUE (tenant_id, severity)
);

CREATE TABLE dunning_runs (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID NOT NULL REFERENCES tenants(id),
    as_of                DATE NOT NULL,
    customers_at_level   INTEGER NOT NULL,
    level_changes        INTEGER NOT NULL,
    reminders_due        INTEGER NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_type           TEXT NOT NULL,
    actor_id             TEXT NOT NULL
);
CREATE INDEX dunning_runs_tenant ON dunning_runs (tenant_id, as_of);

-- Who was at which level in each run: the basis of the recovery figures per level.
CREATE TABLE dunning_assignments (
    run_id          UUID NOT NULL REFERENCES dunning_runs(id),
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    customer_id     UUID NOT NULL REFERENCES customers(id),
    currency        CHAR(3) NOT NULL,
    level_code      TEXT NOT NULL,
    days_overdue    INTEGER NOT NULL,
    -- Past due in this currency at the run.
    overdue_amount  NUMERIC(20, 4) NOT NULL,
    PRIMARY KEY (run_id, customer_id, currency)
);

CREATE TABLE dunning_actions (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    run_id          UUID NOT NULL REFERENCES dunning_runs(id),
    customer_id     UUID NOT NULL REFERENCES customers(id),
    kind            TEXT NOT NULL CHECK (kind IN ('level_changed', 'reminder_due')),
    level_code      TEXT,
    previous_level  TEXT,
    action          TEXT,
    days_overdue    INTEGER NOT NULL,
    overdue_amount  NUMERIC(20, 4) NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dunning_actions_customer ON dunning_actions (tenant_id, customer_id, id);

CREATE TABLE customer_dunning (
    customer_id     UUID PRIMARY KEY REFERENCES customers(id),
    tenant_id       UUID NOT NULL REFERENCES tenants(id),
    level_code      TEXT,
    since           DATE,
    last_action_on  DATE,
    credit_hold     BOOLEAN NOT NULL DEFAULT false,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX customer_dunning_tenant ON customer_dunning (tenant_id, customer_id);

-- Monthly statement runs: every (or selected) customer's statement of account, produced in the
-- background with progress, each announced to the customer (`statement.issued`).
CREATE TABLE statement_runs (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants(id),
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    period_from      DATE NOT NULL,
    period_to        DATE NOT NULL,
    customers_total  INTEGER NOT NULL,
    customers_done   INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    actor_type       TEXT NOT NULL,
    actor_id         TEXT NOT NULL,
    CHECK (period_from <= period_to)
);
CREATE INDEX statement_runs_tenant ON statement_runs (tenant_id, id);
CREATE INDEX statement_runs_pending ON statement_runs (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE statement_run_items (
    run_id            UUID NOT NULL REFERENCES statement_runs(id),
    tenant_id         UUID NOT NULL REFERENCES tenants(id),
    customer_id       UUID NOT NULL REFERENCES customers(id),
    done              BOOLEAN NOT NULL DEFAULT false,
    closing_balances  JSONB,
    lines             INTEGER,
    PRIMARY KEY (run_id, customer_id)
);
