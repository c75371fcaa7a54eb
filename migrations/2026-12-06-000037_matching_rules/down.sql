ALTER TABLE allocations DROP COLUMN rule_version, DROP COLUMN rule_id;
DROP TABLE matching_rule_versions;
DROP TABLE matching_rules;
