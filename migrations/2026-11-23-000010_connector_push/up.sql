-- Pushes from ERP and bank systems into the ordinary import endpoints, on behalf of a connector:
-- either with an API key bound to the connector, or signed with the connector's push secret
-- (Standard Webhooks) by systems that cannot hold a bearer key.

-- A key bound to a connector works only while the connector exists and is enabled; deleting the
-- connector deletes its keys.
ALTER TABLE api_keys ADD COLUMN connector_id UUID REFERENCES connectors(id) ON DELETE CASCADE;
CREATE INDEX api_keys_connector ON api_keys (connector_id) WHERE connector_id IS NOT NULL;

-- Push-signing secrets, sealed like connector credentials (AES-256-GCM under DUIZHANG_CONNECTOR_KEY).
-- A rotation keeps the previous secret valid until `expires_at`.
CREATE TABLE connector_push_secrets (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL REFERENCES tenants(id),
    connector_id  UUID NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    sealed_secret BYTEA NOT NULL,
    expires_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX connector_push_secrets_connector ON connector_push_secrets (connector_id, created_at);
