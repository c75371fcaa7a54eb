-- Connectors: scheduled pulls from other systems (ERPNext/Frappe, bank files over HTTPS) into
-- the ledger and bank lines through the ordinary import use cases, so their idempotency holds.

CREATE TABLE connectors (
    id                    UUID PRIMARY KEY,
    tenant_id             UUID NOT NULL REFERENCES tenants(id),
    connector_type        TEXT NOT NULL CHECK (connector_type IN ('erpnext', 'bank_file')),
    name                  TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Everything but secrets (base URL, page size, ...).
    config                JSONB NOT NULL DEFAULT '{}',
    -- AES-256-GCM: 12-byte nonce || ciphertext+tag of the credentials JSON; never returned.
    credentials           BYTEA,
    schedule_seconds      INTEGER NOT NULL CHECK (schedule_seconds >= 60),
    -- Where the next sync starts (last `modified` seen, ETag, ...); advanced page by page.
    sync_cursor           JSONB NOT NULL DEFAULT '{}',
    enabled               BOOLEAN NOT NULL DEFAULT true,
    next_run_at           TIMESTAMPTZ,
    -- A worker that claims the connector owns it until lease_until (renewed per page).
    lease_owner           UUID,
    lease_until           TIMESTAMPTZ,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_status           TEXT,
    last_error            TEXT,
    last_sync_at          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX connectors_tenant ON connectors (tenant_id, id);
CREATE INDEX connectors_due ON connectors (next_run_at) WHERE enabled;

CREATE TABLE connector_syncs (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    connector_id  UUID NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    pages         INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    -- Rows the import rejected (up to 50), with the reason.
    rejected      JSONB NOT NULL DEFAULT '[]',
    error         TEXT
);
CREATE INDEX connector_syncs_connector ON connector_syncs (connector_id, id);
