//! Customer groups in matching: a member paying for another member (quoted reference, amount only, a combination),
//! the `widen_to_group` rule, and what a group must never do (make an unrelated line apply).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use duizhang::domain::cash_application::engine::CustomerGroupInfo;
use duizhang::domain::cash_application::{
    CustomerInfo, Decision, DocKind, Engine, FxRates, LineInput, LineOutcome, MatchSettings, OpenItem,
};
use duizhang::domain::matching_rules::compiled::{CodeLookup, CompiledRules, RuleRef, StoredRule};
use rust_decimal::Decimal;
use uuid::Uuid;

const PARENT_IBAN: &str = "CN1200000000000000000001";
const SUB_IBAN: &str = "CN1200000000000000000002";
const OTHER_IBAN: &str = "DE44500105175407324931";

const PARENT: u128 = 1;
const SUB: u128 = 2;
const SUB2: u128 = 3;
const OTHER: u128 = 4;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn cust(n: u128) -> Uuid {
    Uuid::from_u128(1000 + n)
}

fn customers() -> Vec<CustomerInfo> {
    let c = |n: u128, name: &str, iban: Option<&str>| CustomerInfo {
        id: cust(n),
        name: name.into(),
        aliases: vec![],
        bank_accounts: iban.map(|i| vec![i.to_string()]).unwrap_or_default(),
    };
    vec![
        c(PARENT, "Huadong Holding Group Co Ltd", Some(PARENT_IBAN)),
        c(SUB, "Huadong Logistics Co Ltd", Some(SUB_IBAN)),
        c(SUB2, "Huadong Cold Chain Co Ltd", None),
        c(OTHER, "Acme Trading GmbH", Some(OTHER_IBAN)),
    ]
}

/// (doc_no, customer, amount), issued in order.
fn engine(docs: &[(&str, u128, &str)], grouped: bool) -> Engine {
    let items = docs
        .iter()
        .enumerate()
        .map(|(n, (doc_no, c, amount))| OpenItem {
            id: Uuid::from_u128(n as u128 + 1),
            customer_id: cust(*c),
            kind: DocKind::Invoice,
            doc_no: (*doc_no).into(),
            currency: "EUR".into(),
            amount: d(amount),
            open_amount: d(amount),
            issue_date: NaiveDate::from_ymd_opt(2026, 3, 1 + n as u32).unwrap(),
            due_date: None,
            instalments: Box::default(),
        })
        .collect();
    let mut e = Engine::new(customers(), items, FxRates::new(), MatchSettings::default());
    if grouped {
        e.set_groups(vec![
            CustomerGroupInfo {
                code: "HUADONG".into(),
                name: "Huadong group".into(),
                members: vec![cust(PARENT), cust(SUB), cust(SUB2)],
            },
            CustomerGroupInfo { code: "ACME".into(), name: "Acme family".into(), members: vec![cust(OTHER)] },
        ]);
    }
    e
}

fn line(amount: &str, remittance: &str, iban: Option<&str>, name: Option<&str>) -> LineInput {
    LineInput {
        id: Uuid::from_u128(9_000),
        bank_reference: None,
        booking_date: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
        amount: d(amount),
        currency: "EUR".into(),
        counterparty_name: name.map(Box::from),
        counterparty_iban: iban.map(Box::from),
        remittance: (!remittance.is_empty()).then(|| remittance.into()),
        creditor_reference: None,
        end_to_end_id: None,
        bank_account: None,
        bank_transaction_code: None,
    }
}

fn parent_pays(amount: &str, remittance: &str) -> LineInput {
    line(amount, remittance, Some(PARENT_IBAN), Some("HUADONG HOLDING GROUP CO LTD"))
}

fn docs(o: &LineOutcome) -> Vec<&str> {
    o.allocations.iter().filter(|a| a.set == 0).map(|a| a.doc_no.as_str()).collect()
}

fn evidence(o: &LineOutcome) -> String {
    o.allocations
        .iter()
        .flat_map(|a| a.evidence.iter().chain(&a.rule_evidence))
        .cloned()
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn a_parent_quoting_a_subsidiarys_invoice_applies_with_the_group_as_evidence() {
    let book = [("INV-2026-0000201", SUB, "5000.00"), ("INV-2026-0000202", PARENT, "80.00")];
    // Without groups, the parent's IBAN contradicts the subsidiary's invoice: only proposed.
    let o = engine(&book, false).match_line(&parent_pays("5000.00", "INV-2026-0000201"));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    let o = engine(&book, true).match_line(&parent_pays("5000.00", "INV-2026-0000201"));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o), ["INV-2026-0000201"]);
    assert_eq!(o.allocations[0].rule, "reference_exact_amount");
    let ev = evidence(&o);
    assert!(
        ev.contains(
            "is customer Huadong Holding Group Co Ltd of group HUADONG (Huadong group), like Huadong Logistics Co Ltd"
        ),
        "{ev}"
    );
    assert!(o.allocations[0].matching_rule.is_none());
}

#[test]
fn another_groups_or_no_groups_payer_still_contradicts() {
    let book = [("INV-2026-0000201", SUB, "5000.00")];
    let o =
        engine(&book, true).match_line(&line("5000.00", "INV-2026-0000201", Some(OTHER_IBAN), Some("ACME TRADING")));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert!(evidence(&o).contains("belongs to another customer"), "{}", evidence(&o));
}

#[test]
fn amount_only_for_another_member_is_proposed_never_applied() {
    let book = [("INV-2026-0000301", SUB, "730.00"), ("INV-2026-0000302", PARENT, "99.00")];
    let o = engine(&book, false).match_line(&parent_pays("730.00", ""));
    assert_eq!(o.decision, Decision::Unmatched, "{}", o.explanation);
    let o = engine(&book, true).match_line(&parent_pays("730.00", ""));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert_eq!(docs(&o), ["INV-2026-0000301"]);
    assert_eq!(o.allocations[0].rule, "group_member_amount");
    assert!(o.allocations[0].confidence < 0.9);
    assert!(evidence(&o).contains("another member of group HUADONG"), "{}", evidence(&o));
    // A tenant with a low threshold still only gets a proposal.
    let low = MatchSettings { auto_apply_threshold: 0.6, ..MatchSettings::default() };
    let mut e = Engine::new(customers(), engine(&book, false).items().to_vec(), FxRates::new(), low);
    e.set_groups(vec![CustomerGroupInfo {
        code: "HUADONG".into(),
        name: "H".into(),
        members: vec![cust(PARENT), cust(SUB)],
    }]);
    assert_eq!(e.match_line(&parent_pays("730.00", "")).decision, Decision::Proposed);
}

#[test]
fn the_payers_own_item_comes_first() {
    let book = [("INV-2026-0000401", SUB, "640.00"), ("INV-2026-0000402", PARENT, "640.00")];
    let o = engine(&book, true).match_line(&parent_pays("640.00", ""));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o), ["INV-2026-0000402"]);
    assert_eq!(o.allocations[0].rule, "amount_and_payer");
}

#[test]
fn a_combination_across_members_is_proposed() {
    let book = [
        ("INV-2026-0000501", PARENT, "300.00"),
        ("INV-2026-0000502", SUB, "450.00"),
        ("INV-2026-0000503", SUB2, "1000.00"),
    ];
    let o = engine(&book, true).match_line(&parent_pays("750.00", ""));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    let mut got = docs(&o);
    got.sort();
    assert_eq!(got, ["INV-2026-0000501", "INV-2026-0000502"]);
    assert_eq!(o.allocations[0].rule, "subset_sum");
    assert!(evidence(&o).contains("open items of members of group HUADONG"), "{}", evidence(&o));
}

#[test]
fn a_strong_name_identifies_the_member_too() {
    let book = [("INV-2026-0000601", SUB2, "415.00")];
    let o = engine(&book, true).match_line(&line("415.00", "", None, Some("HUADONG HOLDING GROUP CO LTD")));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    assert_eq!(docs(&o), ["INV-2026-0000601"]);
    assert!(evidence(&o).contains("payer name 'HUADONG HOLDING GROUP CO LTD'"), "{}", evidence(&o));
}

#[test]
fn a_group_never_applies_an_unrelated_line() {
    let book = [("INV-2026-0000701", SUB, "730.00"), ("INV-2026-0000702", OTHER, "815.00")];
    let mut e = engine(&book, true);
    // An unknown payer and a payer of another group: nothing from the Huadong group.
    for l in [
        line("730.00", "", Some("GB33BUKB20201555555555"), Some("SOMEONE ELSE LTD")),
        line("730.00", "", Some(OTHER_IBAN), Some("ACME TRADING GMBH")),
    ] {
        let o = e.match_line(&l);
        assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
        assert!(!docs(&o).contains(&"INV-2026-0000701"), "{}", o.explanation);
    }
    // A member paying the amount of another group's item: not proposed for it.
    let o = e.match_line(&parent_pays("815.00", ""));
    assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert!(!docs(&o).contains(&"INV-2026-0000702"), "{}", o.explanation);
}

struct Codes;

impl CodeLookup for Codes {
    fn customer(&self, _: &str) -> Option<Uuid> {
        None
    }
    fn group_members(&self, code: &str) -> Option<Vec<Uuid>> {
        let groups: HashMap<&str, Vec<Uuid>> = [("HUADONG", vec![cust(PARENT), cust(SUB), cust(SUB2)])].into();
        groups.get(code).cloned()
    }
}

fn widen_rule() -> CompiledRules {
    let definition = serde_json::from_value(serde_json::json!({
        "when": {"counterparty_name": "HUADONG"},
        "then": [{"type": "widen_to_group"}]
    }))
    .unwrap();
    let rule = RuleRef { id: Uuid::from_u128(77), version: 3, name: "Huadong pays for its subsidiaries".into() };
    CompiledRules::new(&[StoredRule { rule, definition }], &Codes)
}

#[test]
fn widen_to_group_takes_the_payer_as_each_member_and_names_the_rule() {
    let book = [("INV-2026-0000801", SUB, "730.00"), ("INV-2026-0000802", PARENT, "99.00")];
    let mut e = engine(&book, true);
    e.set_rules(widen_rule());
    let o = e.match_line(&parent_pays("730.00", ""));
    assert_eq!(o.decision, Decision::AutoApplied, "{}", o.explanation);
    assert_eq!(docs(&o), ["INV-2026-0000801"]);
    let rule = o.allocations[0].matching_rule.as_ref().expect("the rule is named");
    assert_eq!((rule.id, rule.version), (Uuid::from_u128(77), 3));
    assert!(evidence(&o).contains("widens the candidates to the payer's group HUADONG"), "{}", evidence(&o));
    // Two equal items in the group: which member was paid for is not known, so only proposed.
    let book = [("INV-2026-0000811", SUB, "730.00"), ("INV-2026-0000812", SUB2, "730.00")];
    let mut e = engine(&book, true);
    e.set_rules(widen_rule());
    let o = e.match_line(&parent_pays("730.00", ""));
    assert_eq!(o.decision, Decision::Proposed, "{}", o.explanation);
    // The rule does not fire for another payer's line.
    let book = [("INV-2026-0000821", SUB, "730.00")];
    let mut e = engine(&book, true);
    e.set_rules(widen_rule());
    let o = e.match_line(&line("730.00", "", Some(OTHER_IBAN), Some("ACME TRADING GMBH")));
    assert_ne!(o.decision, Decision::AutoApplied, "{}", o.explanation);
}
