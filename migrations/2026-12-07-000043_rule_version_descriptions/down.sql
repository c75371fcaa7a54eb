ALTER TABLE matching_rule_versions DROP COLUMN description;
