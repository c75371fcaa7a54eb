//! Templates for lines that are not customer receipts (internal transfers, bank charges) or that
//! pay something no open invoice shows yet (prepayments, retention money).

use serde_json::Value;

use super::{credit, decimal, line, pattern, rule, text, Effect, Param, ParamKind, Template, TemplateCategory};
use crate::domain::matching_rules::{Action, LineConditions, Sign};

pub(super) fn templates() -> Vec<Template> {
    vec![internal_transfer(), bank_charge_lines(), prepayment(), retention_money()]
}

fn ignore(reason: Option<&str>, fallback: &str) -> Action {
    Action::Ignore { reason: reason.unwrap_or(fallback).to_string() }
}

fn internal_transfer() -> Template {
    Template {
        key: "internal_transfer",
        name: "Internal transfers between our own accounts",
        category: TemplateCategory::Ignore,
        description: "Money moved between the company's own accounts is not a receipt: lines whose remittance says \
                      so (内部转账, 资金调拨, Umbuchung) are ignored. List the accounts in `own_accounts` to \
                      recognise them by the payer's IBAN instead of the text.",
        example: line(
            Some("DUIZHANG DEMO GMBH"),
            Some("DE89370400440532013000"),
            Some("Umbuchung vom Tagesgeldkonto"),
            None,
            "50000.00",
            "EUR",
            Some("PMNT-RCDT-BOOK"),
        ),
        example_effects: vec![Effect::Ignore],
        parameters: vec![
            pattern(
                "remittance",
                "How the transfer is described (used when `own_accounts` is empty).",
                Some(r"内部转账|资金调拨|internal\s+transfer|Umbuchung|own\s+account|Eigenuebertrag"),
            ),
            Param {
                key: "own_accounts",
                description: "Our own IBANs or account numbers: a line from one of them is ignored whatever its text.",
                kind: ParamKind::Texts,
                default: None,
            },
            text("reason", "Shown on the ignored line.", Some("internal transfer between our own accounts")),
        ],
        broad: false,
        build: |a| {
            let accounts = a.list("own_accounts");
            let when = if accounts.is_empty() {
                LineConditions { remittance: a.text("remittance").map(str::to_string), ..credit() }
            } else {
                let alternatives: Vec<String> = accounts
                    .iter()
                    .map(|acc| {
                        regex::escape(&acc.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase())
                    })
                    .collect();
                LineConditions { counterparty_iban: Some(format!("^(?:{})$", alternatives.join("|"))), ..credit() }
            };
            Ok(rule(when, vec![ignore(a.text("reason"), "internal transfer")]))
        },
    }
}

fn bank_charge_lines() -> Template {
    Template {
        key: "bank_charge_lines",
        name: "Bank charges booked as their own lines",
        category: TemplateCategory::Ignore,
        description: "Account fees and transfer charges the bank books as debits (camt `...-CHRG`, MT940 `NCHG`, \
                      BAI2 698) up to `limit` are ignored: they are booked to expenses, not to customers.",
        example: line(
            Some("DEUTSCHE BANK AG"),
            None,
            Some("Kontofuehrungsentgelt 11/2026"),
            None,
            "-12.50",
            "EUR",
            Some("ACMT-MDOP-CHRG"),
        ),
        example_effects: vec![Effect::Ignore],
        parameters: vec![
            decimal("limit", "The largest charge ignored.", "100.00", "0.01", "1000000"),
            Param {
                key: "codes",
                description: "Bank transaction codes of charges (a line's code starting with one matches).",
                kind: ParamKind::Texts,
                default: Some(Value::from(vec!["ACMT-MDOP-CHRG", "PMNT-MDOP-CHRG", "PMNT-RCDT-CHRG", "NCHG", "698"])),
            },
            text("reason", "Shown on the ignored line.", Some("bank charges")),
        ],
        broad: false,
        build: |a| {
            let when = LineConditions {
                sign: Some(Sign::Debit),
                amount_max: Some(a.dec("limit")),
                bank_transaction_codes: a.list("codes"),
                ..LineConditions::default()
            };
            Ok(rule(when, vec![ignore(a.text("reason"), "bank charges")]))
        },
    }
}

fn prepayment() -> Template {
    Template {
        key: "prepayment",
        name: "Prepayments and deposits (预付款, 定金)",
        category: TemplateCategory::Review,
        description: "A prepayment (预付款, 定金, Anzahlung) pays an order no invoice exists for yet: whatever cash \
                      application finds is only proposed, so no older invoice is settled by mistake.",
        example: line(
            Some("苏州立信电子有限公司"),
            Some("6222021202004455667"),
            Some("预付款 合同HT-2026-130"),
            None,
            "30000.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::ProposeOnly],
        parameters: vec![pattern(
            "remittance",
            "How the payer marks a prepayment.",
            Some(r"预付款|预付|定金|订金|advance\s+payment|prepayment|Anzahlung|Vorauskasse"),
        )],
        broad: false,
        build: |a| {
            let when = LineConditions { remittance: a.text("remittance").map(str::to_string), ..credit() };
            Ok(rule(when, vec![Action::ProposeOnly]))
        },
    }
}

fn retention_money() -> Template {
    Template {
        key: "retention_money",
        name: "Retention money and final payments (质保金, 尾款)",
        category: TemplateCategory::ChineseBankText,
        description: "Customers hold back 5-10% of a contract as retention (质保金) until the warranty ends, and pay \
                      it, or a 尾款, much later: such lines pay remainders of old invoices, so what is found is \
                      proposed for a person to confirm.",
        example: line(
            Some("杭州明达机电有限公司"),
            Some("6217001210003344556"),
            Some("HT-2025-077 质保金"),
            None,
            "6000.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::ProposeOnly],
        parameters: vec![pattern(
            "remittance",
            "How the payer marks retention money.",
            Some(r"质保金|保证金|尾款|retention"),
        )],
        broad: false,
        build: |a| {
            let when = LineConditions { remittance: a.text("remittance").map(str::to_string), ..credit() };
            Ok(rule(when, vec![Action::ProposeOnly]))
        },
    }
}
