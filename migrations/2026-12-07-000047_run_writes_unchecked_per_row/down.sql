ALTER TABLE allocations ALTER COLUMN explanation TYPE jsonb USING explanation::jsonb;
DROP TRIGGER allocations_no_truncate ON allocations;
DROP TRIGGER allocations_no_rekey ON allocations;
DROP TRIGGER allocations_no_delete ON allocations;
DROP TRIGGER write_offs_references_fixed ON write_offs;
DROP TRIGGER write_offs_references ON write_offs;
DROP FUNCTION write_offs_check_reference();
ALTER TABLE write_offs
    ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id),
    ADD FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id),
    ADD FOREIGN KEY (tenant_id, allocation_id) REFERENCES allocations (tenant_id, id);
DROP TRIGGER allocations_references ON allocations;
DROP FUNCTION allocations_check_reference();
CREATE FUNCTION allocations_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    IF current_setting('duizhang.allocations_from_run', true) IS DISTINCT FROM 'on' THEN
        EXECUTE 'SELECT ''document '' || n.document_id FROM new_allocations n
                 WHERE (SELECT d.tenant_id FROM documents d WHERE d.id = n.document_id) IS DISTINCT FROM n.tenant_id
                 LIMIT 1' INTO missing;
        IF missing IS NULL THEN
            EXECUTE 'SELECT ''bank line '' || n.bank_line_id FROM new_allocations n
                     WHERE (SELECT l.tenant_id FROM bank_lines l WHERE l.id = n.bank_line_id) IS DISTINCT FROM n.tenant_id
                     LIMIT 1' INTO missing;
        END IF;
    END IF;
    IF missing IS NULL THEN
        EXECUTE 'SELECT ''reconciliation run '' || n.run_id
                 FROM (SELECT DISTINCT tenant_id, run_id FROM new_allocations WHERE run_id IS NOT NULL) n
                 WHERE (SELECT r.tenant_id FROM reconciliation_runs r WHERE r.id = n.run_id) IS DISTINCT FROM n.tenant_id
                 LIMIT 1' INTO missing;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'allocation references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER allocations_references AFTER INSERT ON allocations
    REFERENCING NEW TABLE AS new_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION allocations_check_references();
