-- A matching run writes up to a million allocations in one transaction, each naming a document
-- and a bank line that the run read from its own tenant's tables in that same transaction, under
-- the tenant's matching lock; neither can be deleted nor re-keyed since (000015). Checking them
-- again cost two index probes per allocation: about 7 s of a run over a million lines, more
-- than the matching itself. A run says so with a transaction-local setting
-- (`duizhang.allocations_from_run`), and its statements check only their run; every other
-- writer (a person's allocation, a review, a tenant import) is checked as before, and
-- `duizhang check-integrity` (allocation_targets) reads every allocation's references.
CREATE OR REPLACE FUNCTION allocations_check_references() RETURNS trigger AS $$
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
