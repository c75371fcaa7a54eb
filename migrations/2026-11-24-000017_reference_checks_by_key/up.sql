-- 000016 switched sequential scans off in the reference checks, but a check could still read a
-- whole referenced table through an index, and PL/pgSQL kept such a plan for the life of the
-- connection while the table grew. A plan is made with the statistics of its day: on a young
-- database (a table analysed with one row) every path looks equally cheap, and the planner took
--   * under 000015/16, a scan of all of bank_statements_tenant (tenant_id, id), materialised and
--     compared with each new row: measured with the load test's five-line imports, 34M index
--     entries read over 8,000 imports, the rate falling as the table grew;
--   * with the id and the tenant compared in the index condition, an index that starts with
--     tenant_id, filtered on the id (in a test, one allocation read all 3,000 documents of its
--     tenant through documents_doc_no);
--   * with the id alone, an index that holds id in a later column (tenant_id, id), scanned whole
--     and checked entry by entry.
-- The checks now fetch the referenced row by its id and compare its tenant afterwards, in a form
-- whose cheapest plan is the primary key under any statistics:
--     (SELECT tenant_id FROM t WHERE id = ... ORDER BY id LIMIT 1) IS DISTINCT FROM new.tenant_id
-- (no such row gives NULL, which is distinct too). The primary key serves the equality and the
-- order at once; any other index must be scanned and then sorted, which costs more even where
-- the statistics make the scans cost the same. Sequential scans stay off (on a one-row table one
-- page plus a sort is cheaper than an index lookup), and so do index-only scans (an index holding
-- both columns needs no heap visit, which could outweigh the sort). A scalar subquery is never
-- turned into a join, so hash and merge joins cannot arise either. JIT is off: its compilation
-- costs milliseconds, the lookups microseconds. The id is unique, so ORDER BY and LIMIT change
-- nothing in the answer.
CREATE OR REPLACE FUNCTION bank_lines_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'bank account ' || n.bank_account_id INTO missing
        FROM (SELECT DISTINCT tenant_id, bank_account_id FROM new_lines) n
        WHERE (SELECT a.tenant_id FROM bank_accounts a WHERE a.id = n.bank_account_id ORDER BY a.id LIMIT 1) IS DISTINCT FROM n.tenant_id
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank statement ' || n.statement_id INTO missing
            FROM (SELECT DISTINCT tenant_id, statement_id FROM new_lines) n
            WHERE (SELECT s.tenant_id FROM bank_statements s WHERE s.id = n.statement_id ORDER BY s.id LIMIT 1) IS DISTINCT FROM n.tenant_id
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
        WHERE (SELECT d.tenant_id FROM documents d WHERE d.id = n.document_id ORDER BY d.id LIMIT 1) IS DISTINCT FROM n.tenant_id
        LIMIT 1;
    IF missing IS NULL THEN
        SELECT 'bank line ' || n.bank_line_id INTO missing FROM new_allocations n
            WHERE (SELECT l.tenant_id FROM bank_lines l WHERE l.id = n.bank_line_id ORDER BY l.id LIMIT 1) IS DISTINCT FROM n.tenant_id
            LIMIT 1;
    END IF;
    IF missing IS NULL THEN
        SELECT 'reconciliation run ' || n.run_id INTO missing
            FROM (SELECT DISTINCT tenant_id, run_id FROM new_allocations WHERE run_id IS NOT NULL) n
            WHERE (SELECT r.tenant_id FROM reconciliation_runs r WHERE r.id = n.run_id ORDER BY r.id LIMIT 1) IS DISTINCT FROM n.tenant_id
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
