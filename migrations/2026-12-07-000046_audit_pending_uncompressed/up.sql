-- Pending audit entries live until the sealer moves them into audit_log (a fraction of a second
-- to a few seconds): compressing their large values (an import's creation entries, about 90 KB
-- each) cost the writing request time for nothing, as the sealer decompresses them at once.
-- audit_log, which keeps them, still compresses.
ALTER TABLE audit_pending ALTER COLUMN before SET STORAGE EXTERNAL, ALTER COLUMN after SET STORAGE EXTERNAL;
