DELETE FROM connectors WHERE connector_type IN ('odoo', 'open_banking', 'generic_json');
ALTER TABLE connectors DROP CONSTRAINT connectors_connector_type_check;
ALTER TABLE connectors ADD CONSTRAINT connectors_connector_type_check
    CHECK (connector_type IN ('erpnext', 'bank_file'));
