DROP TABLE bank_import_settings;
ALTER TABLE bank_statements
    DROP COLUMN preset, DROP COLUMN lines_not_imported, DROP COLUMN duplicates, DROP COLUMN accounts_created;
ALTER TABLE bank_accounts DROP COLUMN bic;
-- Keys of the earlier form, still unique: a reference's first line on an account keyed by the
-- reference, every other line by its content and occurrence.
UPDATE bank_lines l SET dedupe_key = k.key
FROM (
    SELECT id, CASE
        WHEN bank_reference IS NOT NULL
             AND row_number() OVER (PARTITION BY tenant_id, bank_account_id, bank_reference ORDER BY id) = 1
        THEN 'ref:' || bank_reference
        ELSE 'hash:' || dedupe_key
    END AS key
    FROM bank_lines
) k
WHERE k.id = l.id;
COMMENT ON COLUMN bank_lines.dedupe_key IS NULL;
DROP FUNCTION bank_line_fingerprint(TEXT, DATE, NUMERIC, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
DROP FUNCTION bank_line_fingerprint_part(TEXT);
ALTER TABLE bank_lines DROP COLUMN counterparty_account, DROP COLUMN additional_info;
