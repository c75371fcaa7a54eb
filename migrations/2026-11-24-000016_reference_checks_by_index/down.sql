ALTER FUNCTION bank_lines_check_references() RESET ALL;
ALTER FUNCTION allocations_check_references() RESET enable_seqscan;
