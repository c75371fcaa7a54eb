-- Seal or lose: run `duizhang verify-audit` (which seals pending entries) before going down.
DROP VIEW audit_trail;
DROP TABLE audit_pending;
DROP FUNCTION audit_pending_guard();
