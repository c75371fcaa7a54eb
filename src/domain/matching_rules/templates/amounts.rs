//! Templates about amounts: a shortfall of a known rate (withholding tax, a VAT rate difference,
//! an early-payment discount), small fees and rounding written off, FX gaps, large receipts.

use serde_json::Value;

use super::{credit, decimal, line, pattern, rule, Args, Effect, Param, ParamKind, Template, TemplateCategory};
use crate::domain::matching_rules::{Action, LineConditions, RuleDefinition, RuleError, WriteOffKind};

pub(super) fn templates() -> Vec<Template> {
    vec![
        withholding_tax(),
        vat_rate_difference(),
        early_payment_discount(),
        bank_fee_deduction(),
        fx_tolerance(),
        rounding_difference(),
        large_amount_review(),
    ]
}

fn write_off(limit: rust_decimal::Decimal, reason: WriteOffKind, rate: Option<rust_decimal::Decimal>) -> Action {
    Action::WriteOffRemainder { limit, reason, rate }
}

/// Credit lines, narrowed to a payer name and a remittance pattern when given.
fn credits_of(a: &Args) -> LineConditions {
    LineConditions {
        counterparty_name: a.text("payer").map(str::to_string),
        remittance: a.text("remittance").map(str::to_string),
        currencies: a.list("currencies"),
        ..credit()
    }
}

fn payer_param() -> Param {
    pattern("payer", "Only payers whose name matches (optional).", None)
}

fn limit_param(default: &str, what: &'static str) -> Param {
    decimal("limit", what, default, "0.01", "1000000000")
}

fn withholding_tax() -> Template {
    Template {
        key: "withholding_tax",
        name: "Withholding tax deducted by the payer",
        category: TemplateCategory::Tax,
        description: "Foreign customers withhold tax (WHT, 预提所得税, 代扣代缴) and pay the rest: a shortfall of \
                      exactly `rate` of a document (within one minor unit) on a line that says so is written \
                      off, up to `limit` per document.",
        example: line(
            Some("ACME TRADING PTE LTD"),
            Some("SG5800000000123456789"),
            Some("INV-2026-0000051 less 10% WHT"),
            None,
            "9000.00",
            "USD",
            None,
        ),
        example_effects: vec![Effect::WriteOff(WriteOffKind::Manual)],
        parameters: vec![
            pattern("remittance", "How the payer mentions the tax.", Some(r"WHT|withholding|预提所得税|代扣代缴|代扣")),
            decimal("rate", "The tax withheld, as a fraction of the document.", "0.10", "0.001", "0.5"),
            limit_param("10000.00", "The largest amount written off per document."),
            payer_param(),
        ],
        broad: false,
        build: |a| Ok(rule(credits_of(a), vec![write_off(a.dec("limit"), WriteOffKind::Manual, Some(a.dec("rate")))])),
    }
}

fn vat_rate_difference() -> Template {
    Template {
        key: "vat_rate_difference",
        name: "VAT rate difference (13%, 9%, 6%)",
        category: TemplateCategory::Tax,
        description: "A customer pays the net amount at another VAT rate than invoiced (13% invoiced, 9% paid, say; \
                      China's rates are 13%, 9% and 6%): a shortfall of exactly the difference, \
                      (invoiced - paid) / (1 + invoiced) of the document, is written off up to `limit`, for \
                      a person to settle with a corrected invoice (红字发票).",
        example: line(
            Some("杭州明达机电有限公司"),
            Some("6217001210003344556"),
            Some("发票04417790 货款（按9%税率）"),
            None,
            "10900.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::WriteOff(WriteOffKind::Manual)],
        parameters: vec![
            decimal("invoiced_rate", "The VAT rate on the invoice.", "0.13", "0.01", "0.5"),
            decimal("paid_rate", "The VAT rate the customer paid at.", "0.09", "0", "0.5"),
            limit_param("5000.00", "The largest amount written off per document."),
            payer_param(),
        ],
        broad: true,
        build: vat_rule,
    }
}

fn vat_rule(a: &Args) -> Result<RuleDefinition, RuleError> {
    let (invoiced, paid) = (a.dec("invoiced_rate"), a.dec("paid_rate"));
    if paid >= invoiced {
        return Err(RuleError { field: "parameters.paid_rate".into(), message: "lower than invoiced_rate".into() });
    }
    let rate = (invoiced - paid) / (rust_decimal::Decimal::ONE + invoiced);
    Ok(rule(credits_of(a), vec![write_off(a.dec("limit"), WriteOffKind::Manual, Some(rate.normalize()))]))
}

fn early_payment_discount() -> Template {
    Template {
        key: "early_payment_discount",
        name: "Early-payment discount (2/10 net 30)",
        category: TemplateCategory::DiscountsAndFees,
        description: "Terms of 2/10 net 30: a customer paying within 10 days deducts 2%. A shortfall of exactly \
                      `rate` of a document on a line that mentions the discount (Skonto, 折扣) is written off as \
                      a discount, up to `limit`. Clear `remittance` (null) to accept it on every credit line.",
        example: line(
            Some("NORDWIND HANDEL GMBH"),
            Some("DE91100000000123456789"),
            Some("INV-2026-0000064 abzgl. 2% Skonto"),
            None,
            "4900.00",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::WriteOff(WriteOffKind::Discount)],
        parameters: vec![
            decimal("rate", "The discount, as a fraction of the document.", "0.02", "0.001", "0.5"),
            limit_param("1000.00", "The largest discount written off per document."),
            pattern("remittance", "How the payer mentions the discount.", Some(r"Skonto|discount|2\s*/\s*10|折扣")),
            payer_param(),
        ],
        broad: false,
        build: |a| {
            Ok(rule(credits_of(a), vec![write_off(a.dec("limit"), WriteOffKind::Discount, Some(a.dec("rate")))]))
        },
    }
}

fn bank_fee_deduction() -> Template {
    Template {
        key: "bank_fee_deduction",
        name: "Bank fees deducted below a limit",
        category: TemplateCategory::DiscountsAndFees,
        description: "Intermediary banks deduct their charges from international transfers: a remainder of at most \
                      `limit` on a document the line otherwise pays is written off as a bank fee. Narrow it to \
                      foreign currencies with `currencies`.",
        example: line(
            Some("GLOBAL PARTS LLC"),
            Some("US64SVBKUS6S3300958879"),
            Some("INV-2026-0000070"),
            None,
            "1175.00",
            "EUR",
            None,
        ),
        example_effects: vec![Effect::WriteOff(WriteOffKind::BankFee)],
        parameters: vec![
            limit_param("25.00", "The largest fee written off per document."),
            Param {
                key: "currencies",
                description: "Only lines in these currencies (empty: all).",
                kind: ParamKind::Currencies,
                default: None,
            },
        ],
        broad: true,
        build: |a| Ok(rule(credits_of(a), vec![write_off(a.dec("limit"), WriteOffKind::BankFee, None)])),
    }
}

fn fx_tolerance() -> Template {
    Template {
        key: "fx_tolerance",
        name: "FX difference within a tolerance",
        category: TemplateCategory::Fx,
        description: "A foreign-currency receipt converted at the bank's rate differs a little from the documents: \
                      a gap of up to `fx_percent` is accepted, and a remainder up to `limit` written off as an \
                      exchange-rate difference.",
        example: line(
            Some("ORION SUPPLY INC"),
            Some("GB33BUKB20201555555555"),
            Some("INV-2026-0000081"),
            None,
            "1085.40",
            "USD",
            None,
        ),
        example_effects: vec![Effect::Tolerance, Effect::WriteOff(WriteOffKind::Fx)],
        parameters: vec![
            Param {
                key: "currencies",
                description: "The foreign currencies it applies to.",
                kind: ParamKind::Currencies,
                default: Some(Value::from(vec!["USD", "GBP", "CHF", "JPY"])),
            },
            decimal("fx_percent", "The accepted gap, as a fraction.", "0.02", "0.0001", "0.5"),
            limit_param("50.00", "The largest difference written off per document."),
        ],
        broad: false,
        build: |a| {
            let tolerance =
                Action::SetTolerance { percent: None, absolute: None, fx_percent: Some(a.dec("fx_percent")) };
            Ok(rule(credits_of(a), vec![tolerance, write_off(a.dec("limit"), WriteOffKind::Fx, None)]))
        },
    }
}

fn rounding_difference() -> Template {
    Template {
        key: "rounding_difference",
        name: "Rounding differences",
        category: TemplateCategory::DiscountsAndFees,
        description: "Payers round (per line instead of per document, or to whole yuan): a remainder of at most \
                      `limit` left on a document the line otherwise pays is written off.",
        example: line(
            Some("MUELLER MASCHINENBAU GMBH"),
            Some("DE02120300000000202051"),
            Some("INV-2026-0000102"),
            None,
            "999.99",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::WriteOff(WriteOffKind::Manual)],
        parameters: vec![limit_param("0.05", "The largest rounding difference written off per document.")],
        broad: true,
        build: |a| Ok(rule(credit(), vec![write_off(a.dec("limit"), WriteOffKind::Manual, None)])),
    }
}

fn large_amount_review() -> Template {
    Template {
        key: "large_amount_review",
        name: "Large receipts reviewed by a person",
        category: TemplateCategory::Review,
        description: "Receipts from `amount_min` up are proposed, never applied automatically, so a person looks at \
                      every large allocation (four eyes).",
        example: line(
            Some("KRAUSE ANLAGENBAU AG"),
            Some("DE75512108001245126199"),
            Some("Schlussrechnung INV-2026-0000110"),
            None,
            "250000.00",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::ProposeOnly],
        parameters: vec![decimal("amount_min", "The smallest amount reviewed.", "100000.00", "0.01", "1000000000000")],
        broad: false,
        build: |a| {
            let when = LineConditions { amount_min: Some(a.dec("amount_min")), ..credit() };
            Ok(rule(when, vec![Action::ProposeOnly]))
        },
    }
}
