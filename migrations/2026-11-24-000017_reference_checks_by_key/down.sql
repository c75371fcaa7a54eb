-- The functions as 000015 made them, with 000016's planner settings.
CREATE OR REPLACE FUNCTION bank_lines_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'bank account ' || n.bank_account_id INTO missing
        FROM (SELECT DISTINCT tenant_id, bank_account_id FROM new_lines) n
        WHERE NOT EXISTS (SELECT 1 FROM bank_accounts a WHERE a.id = n.bank_account_id AND a.tenant_id = n.tenant_id)
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank statement ' || n.statement_id INTO missing
            FROM (SELECT DISTINCT tenant_id, statement_id FROM new_lines) n
            WHERE NOT EXISTS (SELECT 1 FROM bank_statements s WHERE s.id = n.statement_id AND s.tenant_id = n.tenant_id)
            LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'bank line references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
ALTER FUNCTION bank_lines_check_references() RESET ALL;
ALTER FUNCTION bank_lines_check_references()
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off;

CREATE OR REPLACE FUNCTION allocations_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'document ' || n.document_id INTO missing FROM new_allocations n
        WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = n.document_id AND d.tenant_id = n.tenant_id)
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank line ' || n.bank_line_id INTO missing FROM new_allocations n
            WHERE NOT EXISTS (SELECT 1 FROM bank_lines l WHERE l.id = n.bank_line_id AND l.tenant_id = n.tenant_id)
            LIMIT 1;
    END IF;
    IF missing IS NULL THEN
        SELECT 'reconciliation run ' || n.run_id INTO missing
            FROM (SELECT DISTINCT tenant_id, run_id FROM new_allocations WHERE run_id IS NOT NULL) n
            WHERE NOT EXISTS (SELECT 1 FROM reconciliation_runs r WHERE r.id = n.run_id AND r.tenant_id = n.tenant_id)
            LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'allocation references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
ALTER FUNCTION allocations_check_references() RESET ALL;
ALTER FUNCTION allocations_check_references()
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off;
