-- Documents are written by the million (a ledger import inserts 100,000 per request). Their
-- reference to a customer was a row-level foreign key: per document an index probe through SPI
-- and a FOR KEY SHARE lock on the customer row, about 30% of an import's insert into documents.
-- The same guarantee as for allocations and bank lines (000015), in two cheaper halves:
--   1. customers are never deleted, truncated or re-keyed (nothing in the service deletes one;
--      a customer is made inactive or blocked), and a document's customer never changes;
--   2. new documents' customers are checked once per statement, one index lookup per distinct
--      customer.
-- `duizhang check-integrity` checks every document's customer as well.
ALTER TABLE documents DROP CONSTRAINT documents_tenant_id_customer_id_fkey;

CREATE TRIGGER customers_no_delete BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_are_permanent();
CREATE TRIGGER customers_no_rekey BEFORE UPDATE OF id, tenant_id ON customers FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION referenced_rows_are_permanent();
CREATE TRIGGER customers_no_truncate BEFORE TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_are_permanent();
CREATE TRIGGER documents_customer_fixed BEFORE UPDATE OF customer_id ON documents FOR EACH ROW
    WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id)
    EXECUTE FUNCTION references_are_fixed();

-- Planned on every execution (EXECUTE), the customer fetched by its id in a scalar subquery:
-- index lookups, never a hash join over all customers (see 000017).
CREATE FUNCTION documents_check_customers() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    EXECUTE 'SELECT ''customer '' || n.customer_id
             FROM (SELECT DISTINCT tenant_id, customer_id FROM new_documents) n
             WHERE (SELECT c.tenant_id FROM customers c WHERE c.id = n.customer_id) IS DISTINCT FROM n.tenant_id
             LIMIT 1' INTO missing;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'document references % which does not exist for its tenant', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER documents_customers AFTER INSERT ON documents
    REFERENCING NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION documents_check_customers();

-- Lookups by number always name the type too (the unique key (tenant_id, doc_type, doc_no)
-- serves them); this index only cost every insert a random probe (about 20% of the insert).
DROP INDEX documents_doc_no;
