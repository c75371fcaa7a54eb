DROP TABLE document_lines;
ALTER TABLE products DROP CONSTRAINT products_tenant_id_id;
DROP TABLE document_settings;
