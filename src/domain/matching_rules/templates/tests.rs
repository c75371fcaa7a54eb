use std::collections::HashSet;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{all, find, line, Effect, Template, TemplateExampleLine};
use crate::domain::matching_rules::compiled::{CodeLookup, CompiledRules, LineEffects, RuleRef, StoredRule};
use crate::domain::matching_rules::{Action, RuleDefinition};

/// Every customer code resolves (to an id derived from the code), so `assign_customer` shows.
struct AnyCode;

fn id_of(code: &str) -> Uuid {
    Uuid::from_u128(code.bytes().fold(7u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b))))
}

impl CodeLookup for AnyCode {
    fn customer(&self, code: &str) -> Option<Uuid> {
        Some(id_of(code))
    }
    fn group_members(&self, code: &str) -> Option<Vec<Uuid>> {
        Some(vec![id_of(code)])
    }
}

fn compile(definition: RuleDefinition) -> CompiledRules {
    let rule = RuleRef { id: Uuid::from_u128(1), version: 1, name: "t".into() };
    let rules = CompiledRules::new(&[StoredRule { rule, definition }], &AnyCode);
    assert!(rules.unresolved.is_empty(), "{:?}", rules.unresolved);
    assert_eq!(rules.len(), 1);
    rules
}

/// The effects a line got, in the vocabulary templates document them in.
fn effects(fx: &LineEffects, assigned: &[String]) -> Vec<Effect> {
    let mut out = Vec::new();
    out.extend(fx.document_refs.iter().map(|(_, r)| Effect::DocumentReference(r.clone())));
    out.extend(fx.customer_refs.iter().map(|(_, r)| Effect::CustomerReference(r.clone())));
    for (_, id) in &fx.assign_customers {
        let code = assigned.iter().find(|c| id_of(c) == *id).cloned().unwrap_or_default();
        out.push(Effect::AssignCustomer(code));
    }
    if fx.propose_only.is_some() {
        out.push(Effect::ProposeOnly);
    }
    if fx.ignore.is_some() {
        out.push(Effect::Ignore);
    }
    if fx.widen_to_group.is_some() {
        out.push(Effect::WidenToGroup);
    }
    if fx.tolerance.is_some() {
        out.push(Effect::Tolerance);
    }
    for (_, w) in &fx.write_offs {
        out.push(Effect::WriteOff(w.reason));
    }
    out.sort_by_key(ToString::to_string);
    out
}

fn assigned_codes(d: &RuleDefinition) -> Vec<String> {
    d.then
        .iter()
        .filter_map(|a| match a {
            Action::AssignCustomer { customer } => Some(customer.clone()),
            _ => None,
        })
        .collect()
}

fn defaults(t: &Template) -> RuleDefinition {
    t.instantiate(&Map::new()).unwrap_or_else(|e| panic!("{}: {} {}", t.key, e.field, e.message))
}

/// A line paying one invoice by its number, from a customer's own account.
fn ordinary_invoice_payment() -> TemplateExampleLine {
    line(
        Some("MUELLER MASCHINENBAU GMBH"),
        Some("DE02120300000000202051"),
        Some("Invoice INV-2026-0000123"),
        Some("NOTPROVIDED"),
        "1190.00",
        "EUR",
        Some("PMNT-RCDT-ESCT"),
    )
}

#[test]
fn there_are_at_least_twenty_templates_with_unique_keys_and_every_issue_case() {
    let templates = all();
    assert!(templates.len() >= 20, "{} templates", templates.len());
    let keys: HashSet<&str> = templates.iter().map(|t| t.key).collect();
    assert_eq!(keys.len(), templates.len(), "keys are unique");
    for key in [
        "sepa_end_to_end_id",
        "structured_creditor_reference",
        "cn_invoice_number",
        "cn_contract_number",
        "paypal_payout",
        "stripe_payout",
        "alipay_settlement",
        "wechat_pay_settlement",
        "card_acquirer_settlement",
        "withholding_tax",
        "vat_rate_difference",
        "instalment_plan",
        "early_payment_discount",
        "bank_fee_deduction",
        "fx_tolerance",
        "parent_company_pays",
        "group_company_pays_on_behalf",
        "factoring_company",
        "collection_agency",
        "purchase_order_number",
        "rounding_difference",
        "internal_transfer",
    ] {
        assert!(keys.contains(key), "missing template {key}");
    }
    for t in &templates {
        assert!(!t.description.is_empty() && !t.name.is_empty(), "{}", t.key);
        assert!(t.key.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{}", t.key);
        assert!(!t.example_effects.is_empty(), "{}: documents what it does to its example", t.key);
    }
}

#[test]
fn every_template_validates_and_its_example_line_gets_the_documented_effect() {
    for t in all() {
        let definition = defaults(&t);
        definition.validate().unwrap_or_else(|e| panic!("{}: {} {}", t.key, e.field, e.message));
        // Stored as JSON and read back, as the API does.
        let stored: RuleDefinition = serde_json::from_value(serde_json::to_value(&definition).unwrap()).unwrap();
        assert_eq!(stored, definition, "{}", t.key);
        let assigned = assigned_codes(&definition);
        let fx = compile(definition).evaluate(&t.example.to_line_input());
        assert_eq!(fx.fired.len(), 1, "{}: the example line fires it", t.key);
        let mut documented = t.example_effects.clone();
        documented.sort_by_key(ToString::to_string);
        assert_eq!(effects(&fx, &assigned), documented, "{}", t.key);
    }
}

#[test]
fn no_template_acts_on_an_ordinary_invoice_payment_beyond_a_shortfall_rule() {
    let ordinary = ordinary_invoice_payment().to_line_input();
    for t in all() {
        let definition = defaults(&t);
        let fx = compile(definition).evaluate(&ordinary);
        if t.broad {
            // A broad rule holds on every credit line; it may only shape a shortfall.
            for e in effects(&fx, &[]) {
                assert!(matches!(e, Effect::WriteOff(_) | Effect::Tolerance), "{}: {e}", t.key);
            }
        } else {
            assert!(fx.is_empty(), "{} fires on an ordinary invoice payment: {:?}", t.key, fx.fired);
        }
    }
    // And broad templates are few: the narrow ones are the rule.
    assert!(all().iter().filter(|t| t.broad).count() <= 3);
}

#[test]
fn parameters_are_checked_with_the_field_named() {
    let get = |key: &str| find(key).unwrap();
    let params = |v: Value| -> Map<String, Value> { v.as_object().unwrap().clone() };
    let cases = [
        ("paypal_payout", json!({"fee": "0.03"}), "parameters.fee", "unknown parameter"),
        ("paypal_payout", json!({"fee_percent": "0.9"}), "parameters.fee_percent", "between 0 and 0.5"),
        ("paypal_payout", json!({"fee_percent": "lots"}), "parameters.fee_percent", "decimal"),
        ("paypal_payout", json!({"payer": "(unclosed"}), "parameters.payer", "not a valid pattern"),
        ("paypal_payout", json!({"propose_only": "yes"}), "parameters.propose_only", "true or false"),
        (
            "paypal_payout",
            json!({"fee_percent": "0", "propose_only": false}),
            "parameters",
            "set a fee_percent, a customer or propose_only",
        ),
        ("card_acquirer_settlement", json!({"handling": "drop"}), "parameters.handling", "ignore, propose"),
        ("vat_rate_difference", json!({"paid_rate": "0.13"}), "parameters.paid_rate", "lower than invoiced_rate"),
        ("fx_tolerance", json!({"currencies": ["USD", "DOLLARS"]}), "parameters.currencies[1]", "currency code"),
        ("fx_tolerance", json!({"currencies": "USD"}), "parameters.currencies", "list of currency codes"),
        ("rounding_difference", json!({"limit": "0"}), "parameters.limit", "between 0.01"),
        ("factoring_company", json!({"customer": 42}), "parameters.customer", "a string"),
    ];
    for (key, given, field, message) in cases {
        let e = get(key).instantiate(&params(given.clone())).expect_err(&format!("{key} {given}"));
        assert_eq!(e.field, field, "{key} {given}: {}", e.message);
        assert!(e.message.contains(message), "{key} {given}: {}", e.message);
    }
}

#[test]
fn parameters_change_the_rule() {
    let t = find("paypal_payout").unwrap();
    let given = json!({"fee_percent": "0.02", "customer": "AMAZON-EU", "propose_only": false});
    let d = t.instantiate(given.as_object().unwrap()).unwrap();
    let assigned = assigned_codes(&d);
    assert_eq!(assigned, vec!["AMAZON-EU".to_string()]);
    let fx = compile(d).evaluate(&t.example.to_line_input());
    assert_eq!(effects(&fx, &assigned), vec![Effect::AssignCustomer("AMAZON-EU".into()), Effect::Tolerance]);
    assert_eq!(fx.tolerance.unwrap().1.percent, Some(rust_decimal::Decimal::new(2, 2)));

    // VAT 13% invoiced, 6% paid: the shortfall is 7/113 of the document.
    let vat = find("vat_rate_difference").unwrap();
    let d = vat.instantiate(json!({"paid_rate": "0.06"}).as_object().unwrap()).unwrap();
    let Action::WriteOffRemainder { rate: Some(rate), .. } = d.then[0] else { panic!("{:?}", d.then) };
    let invoice = rust_decimal::Decimal::new(11300, 0);
    assert_eq!((invoice * rate).round_dp(2), rust_decimal::Decimal::new(700, 0));

    // Own accounts replace the text condition of internal transfers.
    let it = find("internal_transfer").unwrap();
    let d = it.instantiate(json!({"own_accounts": ["de89 3704 0044 0532 0130 00"]}).as_object().unwrap()).unwrap();
    let rules = compile(d);
    let mut own = ordinary_invoice_payment();
    own.counterparty_iban = Some("DE89370400440532013000".into());
    assert!(rules.evaluate(&own.to_line_input()).ignore.is_some());
    assert!(rules.evaluate(&ordinary_invoice_payment().to_line_input()).is_empty());

    // An explicit null drops an optional condition with a default: the discount then holds on
    // every credit line.
    let discount = find("early_payment_discount").unwrap();
    let d = discount.instantiate(json!({"remittance": null}).as_object().unwrap()).unwrap();
    assert!(d.when.remittance.is_none());
}
