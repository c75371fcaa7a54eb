-- The transactional outbox: a use case that has something to tell the outside world (a webhook
-- event, later e-mails) writes a row here in the same transaction as its change. Background
-- workers turn committed rows into deliveries, so a crash between commit and send loses nothing
-- and a rolled-back change never announces itself.
CREATE TABLE outbox_events (
    id             UUID PRIMARY KEY,            -- also the Standard Webhooks `webhook-id`
    tenant_id      UUID NOT NULL REFERENCES tenants(id),
    customer_id    UUID REFERENCES customers(id), -- set when the event concerns one customer
    event_type     TEXT NOT NULL,
    payload        JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    dispatched_at  TIMESTAMPTZ                   -- when deliveries were created for it
);
CREATE INDEX outbox_events_tenant ON outbox_events (tenant_id, id);
-- The dispatcher claims pending events oldest first with FOR UPDATE SKIP LOCKED.
CREATE INDEX outbox_events_pending ON outbox_events (created_at) WHERE dispatched_at IS NULL;
