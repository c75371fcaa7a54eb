-- Webhooks: endpoints a tenant registers, one delivery per (event, endpoint) and every HTTP try.
-- Events come from the outbox (000004): the dispatcher turns each committed outbox row into
-- deliveries for the endpoints that subscribe to it, the sender works the deliveries off.

-- Per-tenant webhook policy. Private, loopback and link-local targets are refused unless a
-- tenant (self-hosted installations, tests) allows them explicitly.
CREATE TABLE webhook_settings (
    tenant_id              UUID PRIMARY KEY REFERENCES tenants(id),
    allow_private_targets  BOOLEAN NOT NULL DEFAULT false,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE webhook_endpoints (
    id                          UUID PRIMARY KEY,
    tenant_id                   UUID NOT NULL REFERENCES tenants(id),
    -- Set: the endpoint gets only this customer's events. Unset: all of the tenant's events.
    customer_id                 UUID REFERENCES customers(id),
    url                         TEXT NOT NULL CHECK (length(url) <= 2048),
    description                 TEXT NOT NULL DEFAULT '',
    -- Empty: every event type.
    event_types                 TEXT[] NOT NULL DEFAULT '{}',
    -- Standard Webhooks secrets (whsec_...). During a rotation the previous secret signs too,
    -- until it expires. They are needed in clear to sign, so they are stored as given.
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  TIMESTAMPTZ,
    enabled                     BOOLEAN NOT NULL DEFAULT true,
    disabled_reason             TEXT,
    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, id);

CREATE TABLE webhook_deliveries (
    id                 UUID PRIMARY KEY,
    tenant_id          UUID NOT NULL REFERENCES tenants(id),
    endpoint_id        UUID NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id           UUID NOT NULL REFERENCES outbox_events(id), -- the webhook-id
    event_type         TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    -- Every try, across manual redeliveries.
    attempts           INTEGER NOT NULL DEFAULT 0,
    -- Tries of the current schedule (a manual redelivery starts a new one).
    schedule_attempts  INTEGER NOT NULL DEFAULT 0,
    -- When pending: when the next try is due. A worker that claims the delivery pushes this
    -- forward by its lease, so a crashed worker's delivery becomes due again by itself.
    next_attempt_at    TIMESTAMPTZ,
    last_status_code   INTEGER,
    last_error         TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at       TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id                UUID PRIMARY KEY,
    tenant_id         UUID NOT NULL REFERENCES tenants(id),
    delivery_id       UUID NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    started_at        TIMESTAMPTZ NOT NULL,
    -- Unset while in flight, and forever when the worker died before it could record the outcome.
    finished_at       TIMESTAMPTZ,
    duration_ms       INTEGER,
    status_code       INTEGER,
    response_excerpt  TEXT,              -- the first 2 KiB of the answer
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
