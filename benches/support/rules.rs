//! Generated matching rules for the matching bench (`BENCH_RULES=50`): shaped like a tenant's
//! real rule set (patterns on remittance, end-to-end id and payer name, amount / sign / currency /
//! account / bank-code conditions, every kind of action), most of them firing on no line.
#![allow(dead_code)]

use duizhang::domain::matching_rules::compiled::{CodeLookup, CompiledRules, RuleRef, StoredRule};
use duizhang::domain::matching_rules::RuleDefinition;
use serde_json::{json, Value};
use uuid::Uuid;

/// The account and bank transaction code the bench gives every line (rules read them).
pub const ACCOUNT: &str = "DE89370400440532013000";
pub const CODE: &str = "PMNT-RCDT-ESCT";

struct NoCodes;

impl CodeLookup for NoCodes {
    fn customer(&self, _: &str) -> Option<Uuid> {
        None
    }
    fn group_members(&self, _: &str) -> Option<Vec<Uuid>> {
        None
    }
}

/// Rule `i` of a generated set: ten shapes in turn, each with its own constants so no two rules
/// are equal. Shapes 0 and 5 fire on lines the generator writes (interest and fee noise).
fn definition(i: usize) -> Value {
    match i % 10 {
        0 => json!({"when": {"remittance": format!("^(?:INTEREST|ZINS) CREDIT(?: {i})?$"), "sign": "credit"},
                    "then": [{"type": "ignore", "reason": "bank interest"}]}),
        1 => json!({"when": {"end_to_end_id": format!("^E2E{i:03}-(\\d{{7}})$")},
                    "then": [{"type": "document_reference", "from": "end_to_end_id", "prefix": "INV-2026-"}]}),
        2 => json!({"when": {"remittance": format!("\\bPO{i:03}[ -]?(\\d{{5,}})"), "currencies": ["EUR", "USD"]},
                    "then": [{"type": "document_reference", "from": "remittance", "prefix": "PO-"}]}),
        3 => json!({"when": {"counterparty_name": format!("^(?:FACTOR|INKASSO)[A-Z ]* {i}\\b")},
                    "then": [{"type": "assign_customer", "customer": format!("C{i:05}")}]}),
        4 => json!({"when": {"amount_min": format!("{}", 2_000_000 + i), "sign": "credit"},
                    "then": [{"type": "propose_only"}]}),
        5 => json!({"when": {"bank_accounts": [ACCOUNT], "bank_transaction_codes": [format!("PMNT-RCDT-X{i}")]},
                    "then": [{"type": "set_tolerance", "percent": "0.03", "absolute": "40"}]}),
        6 => json!({"when": {"remittance": format!("KD[- ]?NR\\.? ?{i:02}(\\w{{4,}})")},
                    "then": [{"type": "customer_reference", "from": "remittance"}]}),
        7 => json!({"when": {"remittance": format!("(?:WHT|WITHHOLDING) {i}"), "amount_max": "500000"},
                    "then": [{"type": "write_off_remainder", "limit": "5000", "reason": "manual", "rate": "0.10"}]}),
        8 => json!({"when": {"counterparty_iban": format!("^CN{i:02}"), "currencies": ["CNY"]},
                    "candidates": {"customers": [format!("C{i:05}")]},
                    "then": [{"type": "restrict_candidates"}]}),
        _ => json!({"when": {"remittance": format!("(?:PAYPAL|STRIPE|ALIPAY) PAYOUT {i}"), "sign": "credit"},
                    "then": [{"type": "propose_only"}]}),
    }
}

/// `n` generated rules, compiled as a run compiles them.
pub fn generated(n: usize) -> CompiledRules {
    let stored: Vec<StoredRule> = (0..n)
        .map(|i| {
            let definition: RuleDefinition = serde_json::from_value(definition(i)).expect("generated rule parses");
            definition.validate().expect("generated rule is valid");
            StoredRule {
                rule: RuleRef { id: Uuid::from_u128(i as u128 + 1), version: 1, name: format!("generated {i}") },
                definition,
            }
        })
        .collect();
    CompiledRules::new(&stored, &NoCodes)
}
