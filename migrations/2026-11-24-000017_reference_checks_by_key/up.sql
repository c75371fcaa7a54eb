-- 000016 switched sequential scans off in the reference checks, but a check could still read a
-- whole referenced table through an index, and PL/pgSQL kept such a plan for the life of the
-- connection while the table grew. A plan is made with the statistics of its day: after a
-- VACUUM ANALYZE of a young database (a table of one row) every path costs the same, and the
-- planner took
--   * under 000015/16, a scan of all of bank_statements_tenant (tenant_id, id), materialised and
--     compared with each new row: measured with the load test's five-line imports, 34M index
--     entries read over 8,000 imports, the rate falling as the table grew;
--   * with the id and the tenant both in the index condition, an index that starts with
--     tenant_id, filtered on the id (in a test, one allocation read all documents of its tenant
--     through documents_doc_no);
--   * with the id alone, an index that holds id in a later column (tenant_id, id), scanned whole
--     and checked entry by entry (an ORDER BY id does not help: the equality makes it redundant
--     and the planner drops it).
-- No planner setting excludes these plans, but they only tie with the primary key while a table
-- holds one row; planned with the table's current size, the lookup by primary key is the
-- cheapest. So the checks are planned on every execution:
--   * bank lines, whose statements reference one statement and few accounts: one lookup per
--     distinct reference, its values passed as parameters, with plan_cache_mode =
--     force_custom_plan (a plan per lookup, tens of microseconds);
--   * allocations, whose statements reference thousands of documents and lines (a matching run
--     writes chunks of 20,000): the set-based check through EXECUTE, a plan per statement. The
--     referenced row is fetched by its id in a scalar subquery and its tenant compared
--     afterwards; a scalar subquery is never turned into a join, so a chunk is checked by index
--     lookups and never by a hash join that reads a whole table.
-- No planner settings are needed any more: the fresh plans are the right ones.
CREATE OR REPLACE FUNCTION bank_lines_check_references() RETURNS trigger AS $$
DECLARE
    ref RECORD;
BEGIN
    FOR ref IN SELECT DISTINCT tenant_id, bank_account_id FROM new_lines LOOP
        PERFORM FROM bank_accounts WHERE id = ref.bank_account_id AND tenant_id = ref.tenant_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'bank line references bank account % which does not exist for its tenant',
                ref.bank_account_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    FOR ref IN SELECT DISTINCT tenant_id, statement_id FROM new_lines LOOP
        PERFORM FROM bank_statements WHERE id = ref.statement_id AND tenant_id = ref.tenant_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'bank line references bank statement % which does not exist for its tenant',
                ref.statement_id USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
ALTER FUNCTION bank_lines_check_references() RESET ALL;
ALTER FUNCTION bank_lines_check_references() SET plan_cache_mode = force_custom_plan;

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
ALTER FUNCTION allocations_check_references() RESET ALL;
