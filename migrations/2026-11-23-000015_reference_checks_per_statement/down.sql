DROP TRIGGER bank_lines_references_fixed ON bank_lines;
DROP TRIGGER bank_lines_references ON bank_lines;
DROP FUNCTION bank_lines_check_references();
DROP TRIGGER allocations_references_fixed ON allocations;
DROP TRIGGER allocations_references ON allocations;
DROP FUNCTION allocations_check_references();
DROP FUNCTION references_are_fixed();
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['documents', 'bank_lines', 'reconciliation_runs', 'bank_accounts', 'bank_statements'] LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_no_delete', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_no_rekey', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_no_truncate', t);
    END LOOP;
END;
$$;
DROP FUNCTION referenced_rows_are_permanent();
CREATE UNIQUE INDEX documents_tenant_id ON documents (tenant_id, id);
CREATE UNIQUE INDEX bank_lines_tenant_id ON bank_lines (tenant_id, id);
ALTER TABLE bank_lines
    ADD FOREIGN KEY (tenant_id, bank_account_id) REFERENCES bank_accounts (tenant_id, id),
    ADD FOREIGN KEY (tenant_id, statement_id) REFERENCES bank_statements (tenant_id, id);
ALTER TABLE allocations
    ADD FOREIGN KEY (tenant_id, run_id) REFERENCES reconciliation_runs (tenant_id, id),
    ADD FOREIGN KEY (tenant_id, bank_line_id) REFERENCES bank_lines (tenant_id, id),
    ADD FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id);
