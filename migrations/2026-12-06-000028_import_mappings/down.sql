DROP TABLE import_mappings;
