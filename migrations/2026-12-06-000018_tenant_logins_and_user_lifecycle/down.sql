DROP TABLE password_reset_tokens;
DROP INDEX users_tenant_email;
DELETE FROM users WHERE deleted_at IS NOT NULL;
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email));
CREATE INDEX users_email ON users (lower(email));
ALTER TABLE users DROP COLUMN password_changed_at, DROP COLUMN deleted_at, DROP COLUMN token_version;
DROP INDEX tenants_slug;
ALTER TABLE tenants DROP CONSTRAINT tenants_slug_format;
ALTER TABLE tenants DROP COLUMN slug;
