DROP TABLE connector_syncs;
DROP TABLE connectors;
