//! The tenant's matching rules applied by the engine, one action at a time: what each changes,
//! what it leaves alone (a line that is ambiguous stays so), and how the outcome names the rule.

use std::str::FromStr;

use chrono::NaiveDate;
use duizhang::domain::cash_application::{
    CustomerInfo, Decision, DocKind, Engine, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem, WriteOffReason,
};
use duizhang::domain::matching_rules::compiled::{CodeLookup, CompiledRules, RuleRef, StoredRule};
use duizhang::domain::matching_rules::RuleDefinition;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, dd).unwrap()
}

const ACME_IBAN: &str = "DE44500105175407324931";
const BETA_IBAN: &str = "FR7630006000011234567890189";
const FACTOR_IBAN: &str = "DE02120300000000202051";

fn cust(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

struct Codes;

impl CodeLookup for Codes {
    fn customer(&self, code: &str) -> Option<Uuid> {
        match code {
            "C1" => Some(cust(1)),
            "C2" => Some(cust(2)),
            "C3" => Some(cust(3)),
            _ => None,
        }
    }
    fn group_members(&self, _: &str) -> Option<Vec<Uuid>> {
        None
    }
}

/// Open items: (doc_no, customer, amount, due in days after 2026-04-01).
fn engine(items: &[(&str, u128, &str, i64)], rules: &[(&str, Value)]) -> Engine {
    let items = items
        .iter()
        .enumerate()
        .map(|(n, (doc_no, c, amount, due))| OpenItem {
            id: Uuid::from_u128(n as u128 + 1),
            customer_id: cust(*c),
            kind: DocKind::Invoice,
            doc_no: (*doc_no).into(),
            currency: "EUR".into(),
            amount: d(amount),
            open_amount: d(amount),
            issue_date: day(3, 1),
            due_date: Some(day(4, 1) + chrono::TimeDelta::days(*due)),
            instalments: Box::default(),
        })
        .collect();
    let customers = vec![
        CustomerInfo {
            id: cust(1),
            name: "Acme Trading GmbH".into(),
            aliases: vec![],
            bank_accounts: vec![ACME_IBAN.into()],
        },
        CustomerInfo {
            id: cust(2),
            name: "Beta Logistics SARL".into(),
            aliases: vec![],
            bank_accounts: vec![BETA_IBAN.into()],
        },
        CustomerInfo { id: cust(3), name: "Kalomertin Selvo Oy".into(), aliases: vec![], bank_accounts: vec![] },
    ];
    let mut e = Engine::new(customers, items, FxRates::new(), MatchSettings::default());
    e.set_rules(compiled(rules));
    e.set_customer_codes([("C1".to_string(), cust(1)), ("C2".to_string(), cust(2)), ("C3".to_string(), cust(3))]);
    e
}

fn compiled(rules: &[(&str, Value)]) -> CompiledRules {
    let stored: Vec<StoredRule> = rules
        .iter()
        .enumerate()
        .map(|(i, (name, def))| {
            let definition: RuleDefinition = serde_json::from_value(def.clone()).expect("rule parses");
            definition.validate().expect("rule is valid");
            StoredRule {
                rule: RuleRef { id: Uuid::from_u128(500 + i as u128), version: 2, name: name.to_string() },
                definition,
            }
        })
        .collect();
    CompiledRules::new(&stored, &Codes)
}

fn line(amount: &str, remittance: &str, iban: Option<&str>, name: Option<&str>) -> LineInput {
    LineInput {
        id: Uuid::from_u128(9_000),
        bank_reference: None,
        booking_date: day(4, 1),
        amount: d(amount),
        currency: "EUR".into(),
        counterparty_name: name.map(Box::from),
        counterparty_iban: iban.map(Box::from),
        remittance: (!remittance.is_empty()).then(|| remittance.into()),
        creditor_reference: None,
        end_to_end_id: None,
        bank_account: Some("DE89370400440532013000".into()),
        bank_transaction_code: None,
    }
}

fn applied(o: &LineOutcome) -> Vec<(String, Decimal)> {
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    o.allocations.iter().map(|a| (a.doc_no.clone(), a.amount)).collect()
}

fn rule_name(o: &LineOutcome) -> Option<String> {
    o.allocations.first().and_then(|a| a.matching_rule.as_ref()).map(|r| format!("{} v{}", r.name, r.version))
}

#[test]
fn ignore_marks_the_line_and_applies_nothing() {
    let rules = [(
        "Internal transfers",
        json!({"when": {"remittance": "UMBUCHUNG|INTERNAL TRANSFER"}, "then": [{"type": "ignore", "reason": "internal transfer"}]}),
    )];
    let items = [("INV-2026-0000155", 1, "1200.00", 30)];
    let mut e = engine(&items, &rules);
    // Even a line that quotes a document exactly: the rule says it is no receipt.
    let o = e.match_line(&line("1200.00", "INTERNAL TRANSFER INV-2026-0000155", Some(ACME_IBAN), None));
    assert_eq!(o.decision, Decision::Ignored, "{}", o.explanation);
    assert!(o.allocations.is_empty());
    assert!(
        o.explanation.contains("internal transfer") && o.explanation.contains("'Internal transfers' v2"),
        "{}",
        o.explanation
    );
    assert_eq!(o.matching_rule.as_ref().map(|r| r.version), Some(2));
    assert_eq!(e.items()[0].open_amount, d("1200.00"), "nothing applied");
    // A line the rule does not name is matched as before.
    let o = e.match_line(&line("1200.00", "INV-2026-0000155", Some(ACME_IBAN), None));
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("1200.00"))]);
    assert_eq!(rule_name(&o), None, "no rule shaped it");
}

#[test]
fn a_captured_end_to_end_id_is_a_fully_quoted_reference() {
    let rules = [(
        "SEPA E2E",
        json!({"when": {"end_to_end_id": "^E2E-(\\d{7})$"},
               "then": [{"type": "document_reference", "from": "end_to_end_id", "prefix": "INV-2026-"}]}),
    )];
    let items = [("INV-2026-0000155", 1, "1200.00", 30), ("INV-2026-0000156", 2, "1200.00", 30)];
    let mut l = line("1200.00", "PAYMENT", None, Some("UNKNOWN PAYER"));
    l.end_to_end_id = Some("E2E-0000155".into());
    // Without the rule nothing in the line says which of two equal invoices it pays.
    let mut plain = engine(&items, &[]);
    assert_ne!(plain.match_line(&l).decision, Decision::AutoApplied);
    let mut e = engine(&items, &rules);
    let o = e.match_line(&l);
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("1200.00"))]);
    let a = &o.allocations[0];
    assert_eq!(rule_name(&o).as_deref(), Some("SEPA E2E v2"));
    assert!(
        a.rule_evidence.iter().any(|e| e == "rule 'SEPA E2E' v2 read 'INV-2026-0000155' from the end-to-end id"),
        "{:?}",
        a.rule_evidence
    );
    assert!(a.evidence.iter().all(|e| !e.contains("SEPA")), "built-in evidence stays apart: {:?}", a.evidence);
    assert!(a.evidence.iter().any(|e| e == "amount equal"), "{:?}", a.evidence);
    assert!(a.learned_evidence.is_empty());
    assert!(o.explanation.contains("'SEPA E2E' v2"), "{}", o.explanation);
}

#[test]
fn a_captured_purchase_order_finds_the_document_that_carries_it() {
    let rules = [(
        "PO numbers",
        json!({"when": {"remittance": "\\bPO[ -]?(\\d{4,})"}, "then": [{"type": "document_reference", "from": "remittance", "prefix": "PO-"}]}),
    )];
    let items = [("INV-2026-0000155", 1, "800.00", 30), ("INV-2026-0000156", 1, "800.00", 30)];
    let mut e = engine(&items, &rules);
    e.set_document_references([(Uuid::from_u128(2), "PO-7781".to_string())]);
    let o = e.match_line(&line("800.00", "ORDER PO 7781", None, None));
    assert_eq!(applied(&o), vec![("INV-2026-0000156".to_string(), d("800.00"))]);
    assert!(
        o.allocations[0].rule_evidence[0].contains("INV-2026-0000156 carries it"),
        "{:?}",
        o.allocations[0].rule_evidence
    );
    // A number no document carries is said so, and nothing is invented.
    let o = e.match_line(&line("800.00", "ORDER PO 9999", None, None));
    assert_ne!(o.decision, Decision::AutoApplied);
    assert!(o.explanation.contains("no document has that number"), "{}", o.explanation);
}

#[test]
fn a_captured_customer_code_names_the_payer_as_an_iban_would() {
    let rules = [(
        "Customer number",
        json!({"when": {"remittance": "KD-NR\\s*(\\w+)"}, "then": [{"type": "customer_reference", "from": "remittance"}]}),
    )];
    let items = [("INV-2026-0000301", 3, "500.00", 30), ("INV-2026-0000302", 1, "500.00", 30)];
    let l = line("500.00", "KD-NR C3 MAERZ", None, None);
    assert_ne!(engine(&items, &[]).match_line(&l).decision, Decision::AutoApplied, "unknown payer without the rule");
    let mut e = engine(&items, &rules);
    let o = e.match_line(&l);
    assert_eq!(applied(&o), vec![("INV-2026-0000301".to_string(), d("500.00"))]);
    assert_eq!(o.allocations[0].rule, "amount_and_payer");
    assert_eq!(rule_name(&o).as_deref(), Some("Customer number v2"));
    assert!(o.allocations[0].rule_evidence.iter().any(|e| e.contains("customer Kalomertin Selvo Oy")));
    // Read as a name too.
    let o = e.match_line(&line("500.00", "KD-NR Kalomertin", None, None));
    assert_ne!(o.decision, Decision::AutoApplied, "a partial name is not a customer: {}", o.explanation);
}

#[test]
fn an_assigned_customer_decides_only_what_an_iban_would() {
    let rules = [(
        "Factoring company pays for Kalomertin",
        json!({"when": {"counterparty_iban": "^DE02120300000000202051$"}, "then": [{"type": "assign_customer", "customer": "C3"}]}),
    )];
    let items = [
        ("INV-2026-0000301", 3, "500.00", 30),
        ("INV-2026-0000303", 3, "700.00", 30),
        ("INV-2026-0000304", 3, "700.00", 40),
    ];
    let mut e = engine(&items, &rules);
    let o = e.match_line(&line("500.00", "", Some(FACTOR_IBAN), Some("FACTOR BANK AG")));
    assert_eq!(applied(&o), vec![("INV-2026-0000301".to_string(), d("500.00"))]);
    assert!(o.allocations[0].rule_evidence.iter().any(|e| e.contains("says the payer is customer Kalomertin")));
    assert!(o.allocations[0].evidence.iter().all(|e| !e.contains("IBAN")), "{:?}", o.allocations[0].evidence);
    // Two equal open items: the payer is certain, the document is not.
    let o = e.match_line(&line("700.00", "", Some(FACTOR_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
}

#[test]
fn restricting_candidates_drops_refused_documents_and_never_lifts_ambiguity() {
    let rules = [(
        "Account of Beta",
        json!({"when": {"bank_accounts": ["DE89 3704 0044 0532 0130 00"]}, "candidates": {"customers": ["C2"]},
               "then": [{"type": "restrict_candidates"}]}),
    )];
    let items = [
        ("INV-2026-0000155", 1, "1200.00", 30),
        ("INV-2026-0000160", 2, "300.00", 10),
        ("INV-2026-0000161", 2, "300.00", 50),
    ];
    let mut e = engine(&items, &rules);
    // Acme's own invoice, quoted exactly, is refused on this account.
    let o = e.match_line(&line("1200.00", "INV-2026-0000155", Some(ACME_IBAN), None));
    assert_eq!(o.decision, Decision::Unmatched, "{}", o.explanation);
    assert!(o.explanation.contains("'Account of Beta' v2"), "{}", o.explanation);
    assert_eq!(e.items()[0].open_amount, d("1200.00"));
    // Beta pays 300 without reference: two equal items, proposed with or without the rule.
    let o = e.match_line(&line("300.00", "", Some(BETA_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    let due_rule =
        [("Due within 30 days", json!({"candidates": {"due_to_days": 30}, "then": [{"type": "restrict_candidates"}]}))];
    let mut e = engine(&items, &due_rule);
    let o = e.match_line(&line("300.00", "", Some(BETA_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "the rule narrows, it does not decide: {}", o.explanation);
    assert!(o.allocations.iter().all(|a| a.doc_no == "INV-2026-0000160"), "{:?}", o.allocations);
    assert_eq!(rule_name(&o).as_deref(), Some("Due within 30 days v2"));
}

#[test]
fn a_rule_tolerance_settles_a_short_payment_as_a_fee() {
    let rules = [(
        "Wire fees of Acme",
        json!({"when": {"counterparty_iban": "^DE4450"}, "then": [{"type": "set_tolerance", "percent": "0.05", "absolute": "50"}]}),
    )];
    let items = [("INV-2026-0000155", 1, "1200.00", 30)];
    let l = line("1160.00", "INV-2026-0000155", Some(ACME_IBAN), None);
    assert_ne!(engine(&items, &[]).match_line(&l).decision, Decision::AutoApplied, "40 is above the tenant's 25");
    let mut e = engine(&items, &rules);
    let o = e.match_line(&l);
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("1160.00"))]);
    assert_eq!(o.write_offs.len(), 1);
    assert_eq!((o.write_offs[0].amount, o.write_offs[0].reason), (d("40.00"), WriteOffReason::BankFee));
    assert_eq!(rule_name(&o).as_deref(), Some("Wire fees of Acme v2"));
    assert_eq!(e.items()[0].open_amount, Decimal::ZERO);
}

#[test]
fn a_rule_writes_off_withholding_tax_at_its_rate() {
    let rules = [(
        "Withholding tax 10%",
        json!({"when": {"remittance": "WHT"}, "then": [{"type": "write_off_remainder", "limit": "500", "reason": "manual", "rate": "0.10"}]}),
    )];
    let items = [
        ("INV-2026-0000155", 1, "1000.00", 30),
        ("INV-2026-0000156", 1, "1000.00", 30),
        ("INV-2026-0000157", 2, "1000.00", 30),
    ];
    let mut e = engine(&items, &rules);
    let o = e.match_line(&line("900.00", "INV-2026-0000155 WHT", Some(ACME_IBAN), None));
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("900.00"))]);
    assert_eq!((o.write_offs[0].amount, o.write_offs[0].reason), (d("100.00"), WriteOffReason::Manual));
    assert_eq!(e.items()[0].open_amount, Decimal::ZERO, "settled");
    assert!(o.allocations[0].rule_evidence.iter().any(|e| e.contains("writes off 100.00 (10% of 1000.00)")));
    // Not the rate: a part payment as without the rule.
    let o = e.match_line(&line("905.00", "INV-2026-0000156 WHT", Some(ACME_IBAN), None));
    assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    // The payer contradicts: proposed only.
    let o = e.match_line(&line("900.00", "INV-2026-0000157 WHT", Some(ACME_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
}

#[test]
fn broad_write_off_rules_each_take_the_shortfalls_they_describe() {
    // Both fire on every credit line; the first does not hide the second.
    let rules = [
        (
            "Rounding",
            json!({"when": {"sign": "credit"}, "then": [{"type": "write_off_remainder", "limit": "0.05", "reason": "manual"}]}),
        ),
        (
            "Withholding tax 10%",
            json!({"when": {"sign": "credit"}, "then": [{"type": "write_off_remainder", "limit": "500", "reason": "manual", "rate": "0.10"}]}),
        ),
    ];
    let items = [("INV-2026-0000155", 1, "1000.00", 30), ("INV-2026-0000156", 1, "1000.00", 30)];
    let mut e = engine(&items, &rules);
    let o = e.match_line(&line("900.00", "INV-2026-0000155", Some(ACME_IBAN), None));
    assert_eq!(applied(&o), vec![("INV-2026-0000155".to_string(), d("900.00"))], "{}", o.explanation);
    assert_eq!(o.write_offs[0].amount, d("100.00"));
    assert_eq!(rule_name(&o).as_deref(), Some("Withholding tax 10% v2"));
    let o = e.match_line(&line("999.97", "INV-2026-0000156", Some(ACME_IBAN), None));
    assert_eq!(o.write_offs[0].amount, d("0.03"), "{}", o.explanation);
    assert_eq!(rule_name(&o).as_deref(), Some("Rounding v2"));
}

#[test]
fn propose_only_holds_back_what_would_apply() {
    let rules =
        [("Large amounts by hand", json!({"when": {"amount_min": "10000"}, "then": [{"type": "propose_only"}]}))];
    let items = [("INV-2026-0000155", 1, "12000.00", 30)];
    let mut e = engine(&items, &rules);
    let o = e.match_line(&line("12000.00", "INV-2026-0000155", Some(ACME_IBAN), None));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert!(o.explanation.contains("'Large amounts by hand' v2"), "{}", o.explanation);
    assert_eq!(rule_name(&o).as_deref(), Some("Large amounts by hand v2"));
    assert_eq!(e.items()[0].open_amount, d("12000.00"));
}
