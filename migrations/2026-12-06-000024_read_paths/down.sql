DROP INDEX IF EXISTS statement_run_items_pending;
DROP INDEX IF EXISTS write_offs_document;
