-- Envelope encryption: one data key per tenant and version, wrapped by a master key (named by
-- its fingerprint). The newest version seals; older versions stay to open older values.
CREATE TABLE tenant_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version integer NOT NULL CHECK (version > 0),
    wrapped_key bytea NOT NULL,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

-- Per tenant: whether customers' bank accounts and contact data are sealed, and how long
-- delivered events, webhook attempts and connector sync logs are kept.
CREATE TABLE data_safety_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    encrypt_customer_data boolean NOT NULL DEFAULT true,
    retention_days integer NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 36500),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Progress of `duizhang rotate-keys`: a crashed rotation resumes where it stopped.
CREATE TABLE key_rotations (
    id uuid PRIMARY KEY,
    rotate_data_keys boolean NOT NULL,
    master_key_id text NOT NULL,
    phase text NOT NULL,
    cursor text,
    batches integer NOT NULL DEFAULT 0,
    rows_done bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations ((true)) WHERE finished_at IS NULL;

-- Keyed hashes (HMAC with the tenant's lookup key) of the customer's normalised bank accounts:
-- matching finds a payer by IBAN without reading the sealed values. NULL: not yet computed.
ALTER TABLE customers ADD COLUMN bank_account_hashes text[];
CREATE INDEX customers_bank_account_hashes ON customers USING gin (bank_account_hashes);

-- Retention purges by age.
CREATE INDEX outbox_events_dispatched ON outbox_events (tenant_id, dispatched_at) WHERE dispatched_at IS NOT NULL;
CREATE INDEX webhook_attempts_started ON webhook_attempts (tenant_id, started_at);
CREATE INDEX connector_syncs_finished ON connector_syncs (tenant_id, finished_at) WHERE finished_at IS NOT NULL;
