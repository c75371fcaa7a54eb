-- A matching run COPYs up to a million allocations and tens of thousands of write-offs in one
-- transaction. Measured on a month (1.1M allocations, 58,000 write-offs, 2-core machine):
--   * the statement-level check of allocations (000015) needs a transition table: PostgreSQL
--     keeps every new row in a tuplestore, spilled to disk, whether or not the check then reads
--     it (000045 skips the reading for a run): 2 to 8 s of the run's COPY;
--   * the write-offs' three foreign keys: a probe, a row lock and an after-trigger event per key
--     and row, 4.5 s for 58,000 rows;
--   * explanations as jsonb: parsed into jsonb's tree on the way in (2 s for 1.1M), though they
--     are only ever written whole and read whole, never queried inside.
-- So: references are checked per row by a BEFORE trigger, which a row of the run that the
-- transaction says it is writing skips before it fires (`WHEN` on the transaction-local setting
-- `duizhang.writes_of_run` = '<tenant>/<run>'; a setting never made is NULL, and a row without a
-- run gives NULL too, hence the coalesce); every other row (a person's allocation, a tenant
-- import, a run's row of another tenant or run) is checked as before. The run read those
-- documents and lines in its own transaction under the tenant's matching lock, and referenced
-- rows are permanent (000015; now allocations too). Explanations are json: validated, stored as
-- written.

DROP TRIGGER allocations_references ON allocations;
DROP FUNCTION allocations_check_references();

-- Each lookup is planned when it runs (see 000017: a generic plan made while a table held one
-- row may scan an index whole); a few lookups per row written by a person or an import.
CREATE FUNCTION allocations_check_reference() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = NEW.document_id AND d.tenant_id = NEW.tenant_id) THEN
        missing := 'document ' || NEW.document_id;
    ELSIF NOT EXISTS (SELECT 1 FROM bank_lines l WHERE l.id = NEW.bank_line_id AND l.tenant_id = NEW.tenant_id) THEN
        missing := 'bank line ' || NEW.bank_line_id;
    ELSIF NEW.run_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM reconciliation_runs r WHERE r.id = NEW.run_id AND r.tenant_id = NEW.tenant_id) THEN
        missing := 'reconciliation run ' || NEW.run_id;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'allocation references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan;

CREATE TRIGGER allocations_references BEFORE INSERT ON allocations FOR EACH ROW
    WHEN (coalesce(current_setting('duizhang.writes_of_run', true), '')
          IS DISTINCT FROM NEW.tenant_id::text || '/' || NEW.run_id::text)
    EXECUTE FUNCTION allocations_check_reference();

ALTER TABLE write_offs
    DROP CONSTRAINT write_offs_tenant_id_allocation_id_fkey,
    DROP CONSTRAINT write_offs_tenant_id_document_id_fkey,
    DROP CONSTRAINT write_offs_tenant_id_fkey;

CREATE FUNCTION write_offs_check_reference() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = NEW.document_id AND d.tenant_id = NEW.tenant_id) THEN
        missing := 'document ' || NEW.document_id;
    ELSIF NOT EXISTS (SELECT 1 FROM allocations a WHERE a.id = NEW.allocation_id AND a.tenant_id = NEW.tenant_id) THEN
        missing := 'allocation ' || NEW.allocation_id;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'write-off references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan;

-- A run's write-offs name its own allocations and documents: its tenant's rows skip the check
-- in the run's transaction (which writes no other write-offs).
CREATE TRIGGER write_offs_references BEFORE INSERT ON write_offs FOR EACH ROW
    WHEN (split_part(coalesce(current_setting('duizhang.writes_of_run', true), ''), '/', 1) IS DISTINCT FROM NEW.tenant_id::text)
    EXECUTE FUNCTION write_offs_check_reference();
CREATE TRIGGER write_offs_references_fixed BEFORE UPDATE OF tenant_id, allocation_id, document_id ON write_offs
    FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.allocation_id IS DISTINCT FROM NEW.allocation_id
                       OR OLD.document_id IS DISTINCT FROM NEW.document_id)
    EXECUTE FUNCTION references_are_fixed();

-- Write-offs reference allocations without a foreign key now: allocations are permanent too
-- (they are rejected or reversed, never deleted).
CREATE TRIGGER allocations_no_delete BEFORE DELETE ON allocations
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_are_permanent();
CREATE TRIGGER allocations_no_rekey BEFORE UPDATE OF id, tenant_id ON allocations FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION referenced_rows_are_permanent();
CREATE TRIGGER allocations_no_truncate BEFORE TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_are_permanent();

ALTER TABLE allocations ALTER COLUMN explanation TYPE json USING explanation::json;
