-- The audit trail is sealed asynchronously (see src/services/audit_sealer.rs and README "Load").
-- A use case inserts its audit entries here, in its own transaction, so every committed change
-- has its entry; nothing is locked, so writes of one tenant no longer queue on its chain head
-- until their commit is flushed. A sealer later moves committed entries, oldest first, into
-- `audit_log`, giving them consecutive `seq` and their hashes, in one transaction that holds the
-- tenant's chain head: the sealed chain stays verifiable exactly as before.
-- No foreign key to tenants: the change written in the same transaction references the tenant,
-- and `audit_log` checks it when the entry is sealed.
CREATE TABLE audit_pending (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    before       JSONB,
    after        JSONB
);
CREATE INDEX audit_pending_tenant ON audit_pending (tenant_id, id);

-- Pending entries never change; only a sealer (which sets duizhang.sealing for its transaction)
-- removes them, in the transaction that writes them to audit_log.
CREATE FUNCTION audit_pending_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('duizhang.sealing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_pending: % is only allowed to the sealer', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_pending_no_update_delete BEFORE UPDATE OR DELETE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_pending_guard();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
    FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_guard();

-- Every committed entry, sealed or not (one snapshot: an entry being sealed is counted once).
CREATE VIEW audit_trail AS
    SELECT tenant_id, seq, occurred_at, actor_type, actor_id, action, entity_type, entity_id, before, after,
           TRUE AS sealed
    FROM audit_log
    UNION ALL
    SELECT tenant_id, NULL::BIGINT, occurred_at, actor_type, actor_id, action, entity_type, entity_id, before, after,
           FALSE
    FROM audit_pending;
