-- The two tables written by the million: allocations (a matching run COPYs one per applied or
-- proposed document) and bank lines (an import). Their references were row-level foreign keys:
-- per row and per key an index probe through SPI plus a FOR KEY SHARE lock on the referenced row
-- (for allocations a heap change and a WAL record per locked line and document), two thirds of a
-- run's COPY and a large part of an import. The same guarantee, made of two cheaper halves:
--   1. Referenced rows never disappear or change keys. Documents are cancelled, lines ignored,
--      and accounts, statements and runs are kept as history; nothing in the service deletes
--      them. Triggers refuse DELETE, TRUNCATE and a change of id or tenant_id, so no row lock is
--      needed to keep a reference valid until commit.
--   2. References are checked when rows are written, once per statement over its new rows (a set-
--      based query per key, by index), and may not change afterwards.
-- `duizhang check-integrity` checks every allocation's references as well.

ALTER TABLE allocations
    DROP CONSTRAINT allocations_tenant_id_run_id_fkey,
    DROP CONSTRAINT allocations_tenant_id_bank_line_id_fkey,
    DROP CONSTRAINT allocations_tenant_id_document_id_fkey;
ALTER TABLE bank_lines
    DROP CONSTRAINT bank_lines_tenant_id_bank_account_id_fkey,
    DROP CONSTRAINT bank_lines_tenant_id_statement_id_fkey;
-- Only the composite keys above needed (tenant_id, id) to be unique; the primary keys on id serve
-- every lookup. One index less to maintain per imported line and document.
DROP INDEX bank_lines_tenant_id;
DROP INDEX documents_tenant_id;

CREATE FUNCTION referenced_rows_are_permanent() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted or re-keyed (other rows reference them): % refused',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['documents', 'bank_lines', 'reconciliation_runs', 'bank_accounts', 'bank_statements'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE DELETE ON %I
                            FOR EACH ROW EXECUTE FUNCTION referenced_rows_are_permanent()', t || '_no_delete', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OF id, tenant_id ON %I FOR EACH ROW
                            WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
                            EXECUTE FUNCTION referenced_rows_are_permanent()', t || '_no_rekey', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                            FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_are_permanent()', t || '_no_truncate', t);
    END LOOP;
END;
$$;

CREATE FUNCTION references_are_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the references of % rows never change', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

-- New allocations reference a document, a bank line and (when they have one) a run of their own
-- tenant. Forced to index probes: a COPY chunk is thousands of rows against tables of millions,
-- where a hash join would read a whole table per chunk.
CREATE FUNCTION allocations_check_references() RETURNS trigger AS $$
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
$$ LANGUAGE plpgsql SET enable_hashjoin = off SET enable_mergejoin = off;

CREATE TRIGGER allocations_references AFTER INSERT ON allocations
    REFERENCING NEW TABLE AS new_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION allocations_check_references();
CREATE TRIGGER allocations_references_fixed BEFORE UPDATE OF tenant_id, run_id, bank_line_id, document_id ON allocations
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.run_id IS DISTINCT FROM NEW.run_id
                       OR OLD.bank_line_id IS DISTINCT FROM NEW.bank_line_id
                       OR OLD.document_id IS DISTINCT FROM NEW.document_id)
    EXECUTE FUNCTION references_are_fixed();

-- New bank lines reference an account and a statement of their own tenant: an import writes many
-- lines of few accounts and one statement, so the distinct pairs are checked.
CREATE FUNCTION bank_lines_check_references() RETURNS trigger AS $$
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

CREATE TRIGGER bank_lines_references AFTER INSERT ON bank_lines
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION bank_lines_check_references();
CREATE TRIGGER bank_lines_references_fixed BEFORE UPDATE OF tenant_id, bank_account_id, statement_id ON bank_lines
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
                       OR OLD.bank_account_id IS DISTINCT FROM NEW.bank_account_id
                       OR OLD.statement_id IS DISTINCT FROM NEW.statement_id)
    EXECUTE FUNCTION references_are_fixed();
