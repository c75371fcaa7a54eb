DROP INDEX differences_tenant_cause;
ALTER TABLE differences
    DROP CONSTRAINT differences_cause_complete,
    DROP COLUMN cause_explanation,
    DROP COLUMN cause_source,
    DROP COLUMN sub_cause,
    DROP COLUMN cause;
