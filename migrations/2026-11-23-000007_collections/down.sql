DROP TABLE statement_run_items;
DROP TABLE statement_runs;
DROP TABLE customer_dunning;
DROP TABLE dunning_actions;
DROP TABLE dunning_assignments;
DROP TABLE dunning_runs;
DROP TABLE dunning_levels;
