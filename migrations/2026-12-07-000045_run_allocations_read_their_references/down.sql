CREATE OR REPLACE FUNCTION allocations_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    EXECUTE 'SELECT ''document '' || n.document_id FROM new_allocations n
             WHERE (SELECT d.tenant_id FROM documents d WHERE d.id = n.document_id) IS DISTINCT FROM n.tenant_id
             LIMIT 1' INTO missing;
    IF missing IS NULL THEN
        EXECUTE 'SELECT ''bank line '' || n.bank_line_id FROM new_allocations n
                 WHERE (SELECT l.tenant_id FROM bank_lines l WHERE l.id = n.bank_line_id) IS DISTINCT FROM n.tenant_id
                 LIMIT 1' INTO missing;
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
