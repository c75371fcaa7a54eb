-- The per-statement reference checks of 000015 must probe the referenced tables by index, whatever
-- their size when a connection first ran the check. PL/pgSQL keeps a query's plan for the life of
-- the connection (until the table is analysed again), and the bank lines' check had no planner
-- settings: a plan made while bank_statements was small (a hash anti-join over a sequential scan)
-- stayed in use as the table grew, so every statement import read the whole table. Measured with
-- the load test's 5-line imports: 6,000 imports, 6,000 sequential scans of bank_statements,
-- 17.4M rows read, and the rate falling from 778 to 511 imports/s within 25 s. Both checks now
-- run with joins other than nested loops and sequential scans of real tables switched off (the
-- transition table has no index and is scanned anyway).
ALTER FUNCTION bank_lines_check_references()
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off;
ALTER FUNCTION allocations_check_references() SET enable_seqscan = off;
