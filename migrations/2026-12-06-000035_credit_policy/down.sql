DROP TABLE credit_rules;
DROP TABLE credit_policy_changes;
DROP TABLE credit_policies;
