-- Real bank files (issue 17): lines are "the same line" only when reference and content agree,
-- more of what files say is kept, accounts can be registered from a file.

-- What the parsers read and did not store: the counterparty's account when it is not an IBAN
-- (Chinese exports, camt Othr/Id, MT940 ?31), and the bank's booking text (MT940 ?00, camt
-- AddtlTxInf/AddtlNtryInf, a CSV's transaction type).
ALTER TABLE bank_lines
    ADD COLUMN counterparty_account TEXT,
    ADD COLUMN additional_info TEXT;

-- The fingerprint of a line's reference and content, as the import computes it
-- (domain::bank_line::fingerprint): 16 bytes of SHA-256 over the length-prefixed parts, in hex.
-- The text is the remittance, else the structured creditor reference.
-- Kept as a function so that keys of stored lines can be computed again.
CREATE FUNCTION bank_line_fingerprint_part(p TEXT) RETURNS BYTEA
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN int8send(octet_length(coalesce(p, ''))::bigint) || convert_to(coalesce(p, ''), 'UTF8');

CREATE FUNCTION bank_line_fingerprint(
    reference TEXT, booking_date DATE, amount NUMERIC, currency TEXT, counterparty_name TEXT,
    counterparty_iban TEXT, counterparty_account TEXT, remittance TEXT, creditor_reference TEXT,
    end_to_end_id TEXT
) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN encode(substring(sha256(
        bank_line_fingerprint_part(reference)
        || bank_line_fingerprint_part(to_char(booking_date, 'YYYY-MM-DD'))
        || bank_line_fingerprint_part(trim_scale(amount)::text)
        || bank_line_fingerprint_part(rtrim(currency))
        || bank_line_fingerprint_part(counterparty_name)
        || bank_line_fingerprint_part(counterparty_iban)
        || bank_line_fingerprint_part(counterparty_account)
        || bank_line_fingerprint_part(coalesce(remittance, creditor_reference))
        || bank_line_fingerprint_part(end_to_end_id)
    ) FROM 1 FOR 16), 'hex');

-- Existing lines get keys of the new form: `<fingerprint>#<occurrence>`. A line keyed by its
-- reference alone was its reference's only line on the account (occurrence 1); a line keyed by
-- its content keeps its occurrence number. Keys stay unique: the fingerprint covers what the old
-- key did, and old and new keys never look alike.
UPDATE bank_lines SET dedupe_key = bank_line_fingerprint(
        bank_reference, booking_date, amount, currency, counterparty_name, counterparty_iban,
        counterparty_account, remittance, creditor_reference, end_to_end_id)
    || '#' || CASE WHEN dedupe_key ~ '^hash:.*#[0-9]+$' THEN substring(dedupe_key FROM '#([0-9]+)$') ELSE '1' END;

COMMENT ON COLUMN bank_lines.dedupe_key IS
    'bank_line_fingerprint(reference and content) || ''#'' || occurrence among identical lines of its file';

-- Accounts registered from a file carry the bank's BIC.
ALTER TABLE bank_accounts ADD COLUMN bic TEXT;

-- What an import answered, kept for GET /bank-statements/{id}.
ALTER TABLE bank_statements
    ADD COLUMN preset TEXT,
    ADD COLUMN lines_not_imported INTEGER NOT NULL DEFAULT 0,
    -- The lines skipped as already imported (the first 1,000), with the line they repeat.
    ADD COLUMN duplicates JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN accounts_created JSONB NOT NULL DEFAULT '[]';

-- Per tenant: whether an upload registers the accounts its file names (else only ?register_accounts=true does).
CREATE TABLE bank_import_settings (
    tenant_id          UUID PRIMARY KEY REFERENCES tenants(id),
    register_accounts  BOOLEAN NOT NULL DEFAULT false,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
