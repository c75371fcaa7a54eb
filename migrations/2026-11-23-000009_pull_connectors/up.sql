-- The pull connectors of issue 7: Odoo JSON-RPC, open-banking transactions, generic JSON/REST.
ALTER TABLE connectors DROP CONSTRAINT connectors_connector_type_check;
ALTER TABLE connectors ADD CONSTRAINT connectors_connector_type_check
    CHECK (connector_type IN ('erpnext', 'bank_file', 'odoo', 'open_banking', 'generic_json'));
