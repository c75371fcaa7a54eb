-- A rule's description is part of what a version says (a team explains why a rule exists and
-- changes that explanation with it). Versions saved before keep none, except the current one,
-- which is what the rule says now.
ALTER TABLE matching_rule_versions ADD COLUMN description text;
UPDATE matching_rule_versions v SET description = r.description
    FROM matching_rules r
    WHERE r.id = v.rule_id AND r.tenant_id = v.tenant_id AND r.version = v.version;
