//! The tenant's matching rules as a run uses them: the enabled rules in order, parsed, validated
//! and compiled with the tenant's customer codes; and the bank accounts lines were booked on.

use crate::db::cash_application as cash_db;
use crate::db::matching_rules as rules_db;
use crate::domain::cash_application::Engine;
use crate::domain::matching_rules::compiled::{CodeLookup, CompiledRules, RuleRef, StoredRule};
use crate::domain::matching_rules::{Action, RuleDefinition};
use crate::error::AppResult;
use diesel::PgConnection;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Customer codes of a tenant (exact first, then without case), and its customer groups' codes
/// with their members (for rules restricted to a group).
pub(super) struct CustomerCodes {
    exact: HashMap<String, Uuid>,
    folded: HashMap<String, Uuid>,
    groups: HashMap<String, Vec<Uuid>>,
}

impl CustomerCodes {
    pub(super) fn load(conn: &mut PgConnection, tenant: Uuid) -> AppResult<CustomerCodes> {
        let rows = cash_db::customer_codes(conn, tenant)?;
        let folded = rows.iter().map(|(c, id)| (c.to_uppercase(), *id)).collect();
        let groups = crate::db::customer_groups::for_matching(conn, tenant)?
            .into_iter()
            .map(|g| (g.code.to_uppercase(), g.members))
            .collect();
        Ok(CustomerCodes { exact: rows.into_iter().collect(), folded, groups })
    }

    /// Every (code, customer) pair, for the engine's reading of captured codes.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (String, Uuid)> + '_ {
        self.exact.iter().map(|(c, id)| (c.clone(), *id))
    }
}

impl CodeLookup for CustomerCodes {
    fn customer(&self, code: &str) -> Option<Uuid> {
        self.exact.get(code).or_else(|| self.folded.get(&code.to_uppercase())).copied()
    }

    fn group_members(&self, code: &str) -> Option<Vec<Uuid>> {
        self.groups.get(&code.to_uppercase()).cloned()
    }
}

/// The tenant's enabled rules in evaluation order. A stored definition that no longer parses or
/// validates (written by an older version, say) is skipped and logged: a run never fails for it.
pub(super) fn enabled_rules(conn: &mut PgConnection, tenant: Uuid) -> AppResult<Vec<StoredRule>> {
    let mut out = Vec::new();
    for row in rules_db::enabled(conn, tenant)? {
        let parsed = serde_json::from_value::<RuleDefinition>(row.definition)
            .map_err(|e| e.to_string())
            .and_then(|d| d.validate().map(|()| d).map_err(|e| format!("{}: {}", e.field, e.message)));
        match parsed {
            Ok(definition) => {
                out.push(StoredRule { rule: RuleRef { id: row.id, version: row.version, name: row.name }, definition })
            }
            Err(why) => {
                tracing::warn!(tenant = %tenant, rule = %row.id, version = row.version, %why, "matching rule skipped");
            }
        }
    }
    Ok(out)
}

/// Gives `engine` the rules (compiled with the tenant's codes) and the customer codes they read
/// (the documents' own references every engine reads, see `load_engine`).
pub(super) fn install(engine: &mut Engine, tenant: Uuid, rules: &[StoredRule], codes: &CustomerCodes) {
    let compiled = CompiledRules::new(rules, codes);
    for (rule, code) in &compiled.unresolved {
        tracing::warn!(tenant = %tenant, rule = %rule, code = %code, "matching rule names an unknown code or a broken pattern");
    }
    let reads_customers =
        rules.iter().any(|r| r.definition.then.iter().any(|a| matches!(a, Action::CustomerReference { .. })));
    engine.set_rules(compiled);
    if reads_customers {
        engine.set_customer_codes(codes.pairs());
    }
}

/// Bank account id -> the account as rules name it (IBAN or account id).
pub(super) fn bank_accounts(conn: &mut PgConnection, tenant: Uuid) -> AppResult<HashMap<Uuid, Arc<str>>> {
    Ok(cash_db::bank_accounts(conn, tenant)?.into_iter().map(|(id, name)| (id, Arc::from(name))).collect())
}
