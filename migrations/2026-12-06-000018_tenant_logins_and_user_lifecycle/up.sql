-- Logins name their tenant (by this slug or by id): an e-mail address is unique only within a
-- tenant, so a login by address alone let one tenant change how another's users sign in.
ALTER TABLE tenants ADD COLUMN slug TEXT;
WITH base AS (
    SELECT id, created_at,
           coalesce(nullif(rtrim(left(trim(BOTH '-' FROM regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g')), 50),
                                 '-'), ''),
                    'tenant') AS slug
    FROM tenants
), numbered AS (
    SELECT id, slug, row_number() OVER (PARTITION BY slug ORDER BY created_at, id) AS n FROM base
)
UPDATE tenants t
SET slug = CASE WHEN n.n = 1 THEN n.slug
                ELSE n.slug || '-' || left(replace(t.id::text, '-', ''), 8) END
FROM numbered n
WHERE n.id = t.id;
ALTER TABLE tenants ALTER COLUMN slug SET NOT NULL;
-- Rows inserted without one (by SQL, not the service) still get a valid, unique slug.
ALTER TABLE tenants ALTER COLUMN slug SET DEFAULT ('tenant-' || left(replace(gen_random_uuid()::text, '-', ''), 8));
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_format
    CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$');
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

-- Tokens carry the user's token_version; disabling, deleting, a role or password change, a
-- reset and "log out everywhere" bump it, so every token issued before stops at once.
ALTER TABLE users
    ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN deleted_at TIMESTAMPTZ,
    ADD COLUMN password_changed_at TIMESTAMPTZ;
-- Login finds a user within its tenant; a deleted user's address may be given to a new user
-- (the deleted row stays, for the audit trail).
DROP INDEX users_tenant_email;
DROP INDEX users_email;
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email)) WHERE deleted_at IS NULL;

-- One-time password reset links an admin hands to a user. Only the SHA-256 of the token is kept.
CREATE TABLE password_reset_tokens (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL REFERENCES tenants(id),
    user_id     UUID NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (tenant_id, user_id);
