-- 000016 switched sequential scans off in the reference checks, but a check could still read a
-- whole referenced table by index. Its NOT EXISTS compared both the id and the tenant, and every
-- index that starts with tenant_id could serve the tenant half: on a young database (statistics
-- of one row per table) the planner found a scan of such an index, filtering on the id, as cheap
-- as a lookup by primary key, and PL/pgSQL kept that plan as the table grew. Measured with the
-- load test's five-line imports: 34M index entries of bank_statements read over 8,000 imports; in
-- a test, one allocation read all 3,000 documents of its tenant through documents_doc_no.
--
-- The checks now fetch the referenced row by its id alone and compare its tenant afterwards:
-- (SELECT tenant_id FROM t WHERE id = ...) IS DISTINCT FROM the new row's tenant (no row: NULL,
-- also distinct). Only the primary key serves an equality on id, and with sequential and
-- index-only scans off (an index-only scan of an index that holds both columns needs no
-- condition) the lookup cannot read more than one row, whatever the plan's age or the tables'
-- size. A scalar subquery is never turned into a join, so hash and merge joins cannot arise
-- either. JIT is off: its compilation costs milliseconds, the lookups microseconds.
CREATE OR REPLACE FUNCTION bank_lines_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'bank account ' || n.bank_account_id INTO missing
        FROM (SELECT DISTINCT tenant_id, bank_account_id FROM new_lines) n
        WHERE (SELECT a.tenant_id FROM bank_accounts a WHERE a.id = n.bank_account_id) IS DISTINCT FROM n.tenant_id
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank statement ' || n.statement_id INTO missing
            FROM (SELECT DISTINCT tenant_id, statement_id FROM new_lines) n
            WHERE (SELECT s.tenant_id FROM bank_statements s WHERE s.id = n.statement_id) IS DISTINCT FROM n.tenant_id
            LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'bank line references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION allocations_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'document ' || n.document_id INTO missing FROM new_allocations n
        WHERE (SELECT d.tenant_id FROM documents d WHERE d.id = n.document_id) IS DISTINCT FROM n.tenant_id
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank line ' || n.bank_line_id INTO missing FROM new_allocations n
            WHERE (SELECT l.tenant_id FROM bank_lines l WHERE l.id = n.bank_line_id) IS DISTINCT FROM n.tenant_id
            LIMIT 1;
    END IF;
    IF missing IS NULL THEN
        SELECT 'reconciliation run ' || n.run_id INTO missing
            FROM (SELECT DISTINCT tenant_id, run_id FROM new_allocations WHERE run_id IS NOT NULL) n
            WHERE (SELECT r.tenant_id FROM reconciliation_runs r WHERE r.id = n.run_id) IS DISTINCT FROM n.tenant_id
            LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'allocation references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

ALTER FUNCTION bank_lines_check_references() RESET ALL;
ALTER FUNCTION bank_lines_check_references() SET enable_seqscan = off SET enable_indexonlyscan = off SET jit = off;
ALTER FUNCTION allocations_check_references() RESET ALL;
ALTER FUNCTION allocations_check_references() SET enable_seqscan = off SET enable_indexonlyscan = off SET jit = off;
