CREATE INDEX documents_doc_no ON documents (tenant_id, doc_no);
DROP TRIGGER documents_customers ON documents;
DROP FUNCTION documents_check_customers();
DROP TRIGGER documents_customer_fixed ON documents;
DROP TRIGGER customers_no_truncate ON customers;
DROP TRIGGER customers_no_rekey ON customers;
DROP TRIGGER customers_no_delete ON customers;
ALTER TABLE documents ADD CONSTRAINT documents_tenant_id_customer_id_fkey
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id);
