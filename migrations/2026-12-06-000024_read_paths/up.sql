-- A customer's write-offs (statements of account, the aging of one customer, statement runs):
-- found from the customer's documents instead of a scan of the tenant's write-offs.
CREATE INDEX write_offs_document ON write_offs (tenant_id, document_id);

-- The customers a statement run still has to do. Without it every batch walks the primary key
-- past the items already done (and reads their rows to see that they are), so a run over 50,000
-- customers reads its own items about a hundred times.
CREATE INDEX statement_run_items_pending ON statement_run_items (run_id, customer_id) WHERE NOT done;
