//! Templates about who pays: payment services paying out many invoices at once minus their fees,
//! card acquirers, a parent or another group company, factoring companies and collection agencies.

use serde_json::Value;

use super::{
    credit, customer, decimal, flag, line, needs_action, pattern, payer_actions, rule, text, Effect, Param, ParamKind,
    Template, TemplateCategory,
};
use crate::domain::matching_rules::{Action, LineConditions, RuleDefinition, RuleError};

pub(super) fn templates() -> Vec<Template> {
    vec![
        payment_service(PAYPAL),
        payment_service(STRIPE),
        payment_service(ALIPAY),
        payment_service(WECHAT_PAY),
        card_acquirer_settlement(),
        parent_company_pays(),
        group_company_pays_on_behalf(),
        factoring_company(),
        collection_agency(),
    ]
}

/// What sets the payment-service templates apart.
struct Service {
    key: &'static str,
    name: &'static str,
    payer: &'static str,
    fee: &'static str,
    example: (&'static str, Option<&'static str>, &'static str, &'static str, &'static str),
}

const PAYPAL: Service = Service {
    key: "paypal_payout",
    name: "PayPal payout",
    payer: "PAYPAL",
    fee: "0.035",
    example: (
        "PAYPAL EUROPE S.A R.L. ET CIE S.C.A",
        Some("LU89751000135104200E"),
        "PAYPAL PAYOUT 7RK22913DA4851234",
        "4825.60",
        "EUR",
    ),
};
const STRIPE: Service = Service {
    key: "stripe_payout",
    name: "Stripe payout",
    payer: "STRIPE",
    fee: "0.03",
    example: (
        "STRIPE PAYMENTS EUROPE LTD",
        Some("IE29AIBK93115212345678"),
        "STRIPE PAYOUT po_1QbT7cLkdIwHu7ix",
        "9713.35",
        "EUR",
    ),
};
const ALIPAY: Service = Service {
    key: "alipay_settlement",
    name: "Alipay (支付宝) settlement",
    payer: "支付宝|ALIPAY",
    fee: "0.006",
    example: ("支付宝（中国）网络技术有限公司", None, "支付宝提现 批次20261120", "31811.20", "CNY"),
};
const WECHAT_PAY: Service = Service {
    key: "wechat_pay_settlement",
    name: "WeChat Pay (微信支付) settlement",
    payer: "财付通|TENPAY|微信支付|WECHAT\\s?PAY",
    fee: "0.006",
    example: ("财付通支付科技有限公司", None, "微信支付商户结算 1601234567", "8946.30", "CNY"),
};

fn payment_service(s: Service) -> Template {
    let (name, iban, remittance, amount, currency) = s.example;
    Template {
        key: s.key,
        name: s.name,
        category: TemplateCategory::PaymentServices,
        description: "One payout of the payment service pays many invoices of many customers, minus the service's \
                      fees: the service's fee rate is accepted as a shortfall, and whatever set of invoices cash \
                      application finds is proposed for a person to confirm (the payout report names the orders). \
                      When the service collects for one customer only (a marketplace), name it in `customer` \
                      and, if you trust it, set `propose_only` to false.",
        example: line(Some(name), iban, Some(remittance), None, amount, currency, None),
        example_effects: vec![Effect::Tolerance, Effect::ProposeOnly],
        parameters: vec![
            pattern("payer", "The service's name as the bank shows it.", Some(s.payer)),
            decimal(
                "fee_percent",
                "The service's fee, as a fraction of the payout, accepted as a shortfall.",
                s.fee,
                "0",
                "0.5",
            ),
            customer("The one customer the service collects for, if it collects for one only."),
            flag("propose_only", "Propose, never apply automatically.", true),
        ],
        broad: false,
        build: |a| {
            let when = LineConditions { counterparty_name: a.text("payer").map(str::to_string), ..credit() };
            let then = needs_action(payer_actions(a, "fee_percent"), "set a fee_percent, a customer or propose_only")?;
            Ok(rule(when, then))
        },
    }
}

fn card_acquirer_settlement() -> Template {
    Template {
        key: "card_acquirer_settlement",
        name: "Card acquirer settlement",
        category: TemplateCategory::CardSettlements,
        description: "Settlements of card acquirers (银联商务, Adyen, Worldpay, ...) are reconciled against the \
                      card sales, not customer invoices: ignore them (`handling: ignore`, the default) or only \
                      propose what is found (`handling: propose`).",
        example: line(
            Some("银联商务股份有限公司"),
            None,
            Some("POS结算 商户号898310058120001 20261119"),
            None,
            "15230.45",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::Ignore],
        parameters: vec![
            pattern(
                "payer",
                "The acquirers' names as the bank shows them.",
                Some(r"银联商务|UNIONPAY|拉卡拉|LAKALA|ADYEN|WORLDPAY|GLOBAL\s?PAYMENTS|ELAVON|NEXI|PAYONE|CONCARDIS"),
            ),
            Param {
                key: "handling",
                description: "`ignore` the line, or `propose` what is found.",
                kind: ParamKind::Choice(&["ignore", "propose"]),
                default: Some(Value::from("ignore")),
            },
            text("reason", "Shown on an ignored line.", Some("card settlement, reconciled against card sales")),
        ],
        broad: false,
        build: |a| {
            let when = LineConditions { counterparty_name: a.text("payer").map(str::to_string), ..credit() };
            let then = if a.text("handling") == Some("propose") {
                vec![Action::ProposeOnly]
            } else {
                vec![Action::Ignore { reason: a.text("reason").unwrap_or("card settlement").to_string() }]
            };
            Ok(rule(when, then))
        },
    }
}

fn widen(a: &super::Args, condition: LineConditions) -> Result<RuleDefinition, RuleError> {
    let mut then = vec![Action::WidenToGroup];
    if a.flag("propose_only") {
        then.push(Action::ProposeOnly);
    }
    Ok(rule(condition, then))
}

fn parent_company_pays() -> Template {
    Template {
        key: "parent_company_pays",
        name: "Parent company pays for its subsidiaries",
        category: TemplateCategory::ThirdPartyPayers,
        description: "A group's parent (集团, Holding) pays invoices of its subsidiaries: the documents of every \
                      customer in the payer's customer group (`/customer-groups`) are candidates, as if the payer \
                      were each of them.",
        example: line(
            Some("华东控股集团有限公司"),
            Some("6222600110022233344"),
            Some("代子公司支付11月货款"),
            None,
            "88000.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::WidenToGroup],
        parameters: vec![
            pattern("payer", "The parent's name as the bank shows it.", Some(r"集团|GROUP|HOLDING|KONZERN")),
            flag("propose_only", "Propose, never apply automatically.", false),
        ],
        broad: false,
        build: |a| widen(a, LineConditions { counterparty_name: a.text("payer").map(str::to_string), ..credit() }),
    }
}

fn group_company_pays_on_behalf() -> Template {
    Template {
        key: "group_company_pays_on_behalf",
        name: "Another group company pays on behalf (代付)",
        category: TemplateCategory::ThirdPartyPayers,
        description: "A sister company pays for another member of its group and says so (代付, \"on behalf of\", \
                      \"i.A.\"): the documents of every customer in the payer's group are candidates.",
        example: line(
            Some("SHANGHAI HUADONG LOGISTICS CO LTD"),
            Some("6222021001122334455"),
            Some("on behalf of Huadong Trading INV-2026-0000090"),
            None,
            "4300.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::WidenToGroup],
        parameters: vec![
            pattern(
                "remittance",
                "How the payer says it pays for another company.",
                Some(r"代付|代.{1,30}支付|on\s+behalf\s+of|im\s+Auftrag|\bi\.\s?A\."),
            ),
            flag("propose_only", "Propose, never apply automatically.", false),
        ],
        broad: false,
        build: |a| widen(a, LineConditions { remittance: a.text("remittance").map(str::to_string), ..credit() }),
    }
}

fn factoring_company() -> Template {
    Template {
        key: "factoring_company",
        name: "Factoring company pays for a customer",
        category: TemplateCategory::ThirdPartyPayers,
        description: "A factor (保理公司) pays invoices it bought or financed: its name says nothing about the \
                      customer, so what is found is proposed; name the `customer` when the factor works for one \
                      customer only.",
        example: line(
            Some("EUROFACTOR GMBH"),
            Some("DE12700202700015847722"),
            Some("Zahlung fuer Mueller Maschinenbau INV-2026-0000095"),
            None,
            "5000.00",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::ProposeOnly],
        parameters: vec![
            pattern("payer", "The factors' names as the bank shows them.", Some(r"FACTOR|保理")),
            customer("The customer the factor pays for, if only one."),
            flag("propose_only", "Propose, never apply automatically.", true),
        ],
        broad: false,
        build: |a| {
            let when = LineConditions { counterparty_name: a.text("payer").map(str::to_string), ..credit() };
            Ok(rule(when, needs_action(payer_actions(a, "no_fee"), "set a customer or propose_only")?))
        },
    }
}

fn collection_agency() -> Template {
    Template {
        key: "collection_agency",
        name: "Collection agency pays on behalf of a debtor",
        category: TemplateCategory::ThirdPartyPayers,
        description: "A collection agency (Inkasso, 催收) forwards what it collected minus its commission: the \
                      commission is accepted as a shortfall and what is found is proposed, never applied.",
        example: line(
            Some("CREDITREFORM INKASSO GMBH"),
            Some("DE02100100100006820101"),
            Some("Az. 2026/4471 Mueller Maschinenbau Forderung INV-2026-0000031"),
            None,
            "850.00",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::Tolerance, Effect::ProposeOnly],
        parameters: vec![
            pattern("payer", "The agencies' names as the bank shows them.", Some(r"INKASSO|COLLECTION|催收")),
            decimal(
                "commission",
                "The agency's commission, as a fraction, accepted as a shortfall.",
                "0.15",
                "0",
                "0.5",
            ),
        ],
        broad: false,
        build: |a| {
            let when = LineConditions { counterparty_name: a.text("payer").map(str::to_string), ..credit() };
            let mut then = Vec::new();
            if let Some(c) = a.dec_opt("commission").filter(|c| !c.is_zero()) {
                then.push(Action::SetTolerance { percent: Some(c), absolute: None, fx_percent: None });
            }
            then.push(Action::ProposeOnly);
            Ok(rule(when, then))
        },
    }
}
