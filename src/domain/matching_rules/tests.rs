use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::compiled::{CodeLookup, CompiledRules, RuleRef, StoredRule};
use super::RuleDefinition;
use crate::domain::cash_application::{DocKind, LineInput};

struct Codes(HashMap<String, Uuid>, HashMap<String, Vec<Uuid>>);

impl CodeLookup for Codes {
    fn customer(&self, code: &str) -> Option<Uuid> {
        self.0.get(code).copied()
    }
    fn group_members(&self, code: &str) -> Option<Vec<Uuid>> {
        self.1.get(code).cloned()
    }
}

fn codes() -> Codes {
    let mut c = HashMap::new();
    c.insert("ACME".to_string(), Uuid::from_u128(1));
    c.insert("SUB".to_string(), Uuid::from_u128(2));
    let mut g = HashMap::new();
    g.insert("ACME-GROUP".to_string(), vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
    Codes(c, g)
}

fn def(json: serde_json::Value) -> RuleDefinition {
    serde_json::from_value(json).expect("definition parses")
}

fn stored(n: u128, json: serde_json::Value) -> StoredRule {
    let definition = def(json);
    definition.validate().expect("valid");
    StoredRule { rule: RuleRef { id: Uuid::from_u128(n), version: 1, name: format!("rule {n}") }, definition }
}

fn line(amount: &str, remittance: Option<&str>) -> LineInput {
    LineInput {
        id: Uuid::from_u128(99),
        bank_reference: None,
        booking_date: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
        amount: Decimal::from_str(amount).unwrap(),
        currency: "EUR".into(),
        counterparty_name: Some("PAYPAL EUROPE S.A R.L.".into()),
        counterparty_iban: Some("LU89 7510 0013 5104 2000 E".into()),
        remittance: remittance.map(Box::from),
        creditor_reference: None,
        end_to_end_id: Some("E2E-PO-4711".into()),
        bank_account: Some("DE89370400440532013000".into()),
        bank_transaction_code: Some("PMNT-RCDT-ESCT".into()),
    }
}

#[test]
fn capture_becomes_a_document_reference_with_its_prefix() {
    let rules = CompiledRules::new(
        &[stored(
            1,
            serde_json::json!({
                "when": {"remittance": r"Rechnung\s*(?P<ref>\d{3,})", "sign": "credit"},
                "then": [{"type": "document_reference", "from": "remittance", "prefix": "INV-2026-"}]
            }),
        )],
        &codes(),
    );
    let fx = rules.evaluate(&line("100.00", Some("Zahlung rechnung 155 danke")));
    assert_eq!(fx.fired.len(), 1);
    assert_eq!(fx.document_refs[0].1, "INV-2026-155");
    // A debit does not meet `sign: credit`.
    assert!(rules.evaluate(&line("-100.00", Some("Rechnung 155"))).is_empty());
    // No remittance: the pattern cannot hold.
    assert!(rules.evaluate(&line("100.00", None)).is_empty());
}

#[test]
fn cheap_conditions_and_codes() {
    let rules = CompiledRules::new(
        &[stored(
            1,
            serde_json::json!({
                "when": {"amount_max": "5.00", "bank_transaction_codes": ["pmnt-rcdt"], "currencies": ["eur"],
                         "bank_accounts": ["DE89 3704 0044 0532 0130 00"]},
                "then": [{"type": "ignore", "reason": "small credits are interest"}]
            }),
        )],
        &codes(),
    );
    let fx = rules.evaluate(&line("4.99", None));
    assert_eq!(fx.ignore.as_ref().map(|(_, r)| r.as_str()), Some("small credits are interest"));
    assert!(rules.evaluate(&line("5.01", None)).is_empty());
    let mut other = line("1.00", None);
    other.bank_transaction_code = Some("PMNT-ICDT-ESCT".into());
    assert!(rules.evaluate(&other).is_empty());
    other.bank_transaction_code = None;
    assert!(rules.evaluate(&other).is_empty(), "a code condition does not hold for a line without code");
}

#[test]
fn first_rule_wins_for_single_effects_and_ignore_stops() {
    let rules = CompiledRules::new(
        &[
            stored(
                1,
                serde_json::json!({"when": {"counterparty_name": "paypal"}, "then": [{"type": "propose_only"},
                   {"type": "set_tolerance", "percent": "0.05"}]}),
            ),
            stored(
                2,
                serde_json::json!({"then": [{"type": "set_tolerance", "percent": "0.01"},
                   {"type": "assign_customer", "customer": "ACME"}]}),
            ),
            stored(3, serde_json::json!({"then": [{"type": "ignore", "reason": "stop"}]})),
            stored(4, serde_json::json!({"then": [{"type": "propose_only"}]})),
        ],
        &codes(),
    );
    let fx = rules.evaluate(&line("10", None));
    assert_eq!(fx.fired.iter().map(|r| r.id.as_u128()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(fx.tolerance.unwrap().1.percent, Some(Decimal::new(5, 2)));
    assert_eq!(fx.propose_only.unwrap().id.as_u128(), 1);
    assert_eq!(fx.assign_customers[0].1, Uuid::from_u128(1));
    assert!(fx.ignore.is_some());
}

#[test]
fn candidate_filter_resolves_groups_and_windows() {
    let rules = CompiledRules::new(
        &[stored(
            1,
            serde_json::json!({
                "candidates": {"customer_groups": ["ACME-GROUP"], "customers": ["NOPE"], "document_types": ["invoice"],
                               "due_from_days": -30, "due_to_days": 0},
                "then": [{"type": "restrict_candidates"}]
            }),
        )],
        &codes(),
    );
    assert_eq!(rules.unresolved, vec![("rule 1".to_string(), "NOPE".to_string())]);
    let fx = rules.evaluate(&line("10", None));
    let f = &fx.restrict[0].1;
    let booked = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let due = NaiveDate::from_ymd_opt(2026, 3, 1);
    assert!(f.allows(Uuid::from_u128(2), DocKind::Invoice, due, booked));
    assert!(!f.allows(Uuid::from_u128(3), DocKind::Invoice, due, booked));
    assert!(!f.allows(Uuid::from_u128(2), DocKind::CreditNote, due, booked));
    assert!(!f.allows(Uuid::from_u128(2), DocKind::Invoice, NaiveDate::from_ymd_opt(2026, 3, 11), booked));
    assert!(!f.allows(Uuid::from_u128(2), DocKind::Invoice, None, booked));
}

#[test]
fn validation_names_the_field() {
    let cases = [
        (serde_json::json!({"then": []}), "then"),
        (
            serde_json::json!({"when": {"remittance": "(unclosed"}, "then": [{"type": "propose_only"}]}),
            "when.remittance",
        ),
        (
            serde_json::json!({"when": {"remittance": "no capture"}, "then": [{"type": "document_reference", "from": "remittance"}]}),
            "then[0]",
        ),
        (serde_json::json!({"then": [{"type": "document_reference", "from": "end_to_end_id"}]}), "then[0]"),
        // The most negative day count is refused, not overflowed.
        (
            serde_json::json!({"candidates": {"due_from_days": i32::MIN, "due_to_days": 0}, "then": [{"type": "propose_only"}]}),
            "candidates.due_from_days",
        ),
        (
            serde_json::json!({"when": {"amount_min": "10", "amount_max": "1"}, "then": [{"type": "propose_only"}]}),
            "when.amount_min",
        ),
        (serde_json::json!({"when": {"currencies": ["EURO"]}, "then": [{"type": "propose_only"}]}), "when.currencies"),
        (serde_json::json!({"then": [{"type": "restrict_candidates"}]}), "candidates"),
        (serde_json::json!({"then": [{"type": "ignore", "reason": "x"}, {"type": "propose_only"}]}), "then"),
        (serde_json::json!({"then": [{"type": "set_tolerance"}]}), "then[0]"),
        (serde_json::json!({"then": [{"type": "write_off_remainder", "limit": "0", "reason": "manual"}]}), "then[0]"),
        (
            serde_json::json!({"when": {"remittance": "a{1000}{1000}{1000}"}, "then": [{"type": "propose_only"}]}),
            "when.remittance",
        ),
    ];
    for (json, field) in cases {
        let e = def(json.clone()).validate().expect_err(&json.to_string());
        assert_eq!(e.field, field, "{json}: {}", e.message);
    }
    let long = "a".repeat(super::MAX_PATTERN_LEN + 1);
    let e =
        def(serde_json::json!({"when": {"counterparty_name": long}, "then": [{"type": "propose_only"}]})).validate();
    assert_eq!(e.unwrap_err().field, "when.counterparty_name");
    // Unknown fields and actions are refused by the parser, not silently dropped.
    assert!(serde_json::from_value::<RuleDefinition>(serde_json::json!({"then": [{"type": "teleport"}]})).is_err());
    assert!(serde_json::from_value::<RuleDefinition>(serde_json::json!({"wen": {}, "then": []})).is_err());
}

#[test]
fn fifty_rules_share_one_search_per_field() {
    let stored: Vec<StoredRule> = (0..50u128)
        .map(|i| {
            stored(
                i,
                serde_json::json!({"when": {"remittance": format!(r"ORDER-{i:03}-(\d+)")},
                                          "then": [{"type": "document_reference", "from": "remittance"}]}),
            )
        })
        .collect();
    let rules = CompiledRules::new(&stored, &codes());
    assert_eq!(rules.len(), 50);
    let fx = rules.evaluate(&line("10", Some("pay order-042-1234 now")));
    assert_eq!(fx.fired.len(), 1);
    assert_eq!(fx.document_refs[0].1, "1234");
}

#[test]
fn word_boundaries_are_ascii_so_chinese_text_next_to_a_reference_separates() {
    use super::compiled::{ascii_word_boundaries, build_pattern};
    assert_eq!(ascii_word_boundaries(r"\bPO(\d+)\B"), r"(?-u:\b)PO(\d+)(?-u:\B)");
    // An escaped backslash, and the \b{...} forms, stay as written.
    assert_eq!(ascii_word_boundaries(r"a\\b \b{start}x"), r"a\\b \b{start}x");
    let re = build_pattern(r"\bPO[ -]?(\d{6,})\b").unwrap();
    assert_eq!(re.captures("采购订单PO123456").unwrap().get(1).unwrap().as_str(), "123456");
    assert!(re.captures("EXPO123456").is_none());
    let stored = vec![stored(
        1,
        serde_json::json!({"when": {"remittance": r"\bPO[ -]?(\d{6,})\b"}, "then": [{"type": "propose_only"}]}),
    )];
    let rules = CompiledRules::new(&stored, &codes());
    assert_eq!(rules.evaluate(&line("10", Some("货款PO 123456"))).fired.len(), 1);
    assert!(rules.evaluate(&line("10", Some("EXPO 123456"))).fired.is_empty());
}

#[test]
fn texts_are_compared_as_rules_write_them_spaces_and_case_aside() {
    let rules = CompiledRules::new(
        &[
            stored(
                1,
                serde_json::json!({"when": {"counterparty_iban": "^LU8975", "bank_accounts": ["de89370400440532013000"]},
                                   "then": [{"type": "propose_only"}]}),
            ),
            stored(
                2,
                serde_json::json!({"when": {"remittance": r"^RF18(\d+)$"},
                                   "then": [{"type": "document_reference", "from": "remittance"}]}),
            ),
        ],
        &codes(),
    );
    // The line's IBAN has spaces; the account is written with spaces and in lower case.
    let mut l = line("10", None);
    l.bank_account = Some("de89 3704 0044 0532 0130 00".into());
    assert_eq!(rules.evaluate(&l).fired.len(), 1);
    l.bank_account = Some("DE89 3704 0044 0532 0130 0".into());
    assert!(rules.evaluate(&l).is_empty(), "a shorter account is another account");
    // A structured reference alone is the remittance text the rules see.
    l.creditor_reference = Some("RF18539007547034".into());
    assert_eq!(rules.evaluate(&l).document_refs[0].1, "539007547034");
    l.remittance = Some("invoice 1".into());
    assert!(rules.evaluate(&l).document_refs.is_empty(), "both texts together no longer match ^...$");
}

#[test]
fn rules_with_and_without_patterns_keep_their_order() {
    let rules = CompiledRules::new(
        &[
            stored(
                1,
                serde_json::json!({"when": {"remittance": "^interest$"}, "then": [{"type": "ignore", "reason": "interest"}]}),
            ),
            stored(2, serde_json::json!({"then": [{"type": "set_tolerance", "percent": "0.01"}]})),
            stored(
                3,
                serde_json::json!({"when": {"remittance": "fee", "counterparty_name": "^nobody$"},
                                   "then": [{"type": "propose_only"}]}),
            ),
            stored(
                4,
                serde_json::json!({"when": {"remittance": "fee"}, "then": [{"type": "set_tolerance", "percent": "0.05"}]}),
            ),
        ],
        &codes(),
    );
    let ids = |fx: &super::compiled::LineEffects| fx.fired.iter().map(|r| r.id.as_u128()).collect::<Vec<_>>();
    // A patterned rule before an unpatterned one stops it.
    assert_eq!(ids(&rules.evaluate(&line("10", Some("INTEREST")))), vec![1]);
    // Rule 3 needs both of its patterns; the unpatterned rule 2 comes first and wins the tolerance.
    let fx = rules.evaluate(&line("10", Some("bank fee")));
    assert_eq!(ids(&fx), vec![2, 4]);
    assert_eq!(fx.tolerance.unwrap().0.id.as_u128(), 2);
    assert_eq!(ids(&rules.evaluate(&line("10", Some("nothing")))), vec![2]);
}

#[test]
fn a_rule_whose_second_pattern_no_longer_compiles_is_left_out_alone() {
    let rules = CompiledRules::new(
        &[
            // Saved when it compiled (a rule is validated when saved): built here without validation.
            StoredRule {
                rule: RuleRef { id: Uuid::from_u128(1), version: 1, name: "rule 1".into() },
                definition: def(serde_json::json!({"when": {"counterparty_name": "paypal", "remittance": "("},
                                                   "then": [{"type": "propose_only"}]})),
            },
            stored(
                2,
                serde_json::json!({"when": {"counterparty_name": "paypal"}, "then": [{"type": "set_tolerance", "percent": "0.01"}]}),
            ),
        ],
        &codes(),
    );
    assert_eq!(rules.len(), 1);
    assert_eq!(rules.unresolved.len(), 1);
    let fx = rules.evaluate(&line("10", Some("anything")));
    assert_eq!(fx.fired.iter().map(|r| r.id.as_u128()).collect::<Vec<_>>(), vec![2]);
    assert!(fx.propose_only.is_none());
}
