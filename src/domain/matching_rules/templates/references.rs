//! Templates that read a number the payer quotes: in the end-to-end id, a creditor reference,
//! the Chinese 摘要 (发票号, 合同号, 客户编号), a purchase order or an instalment.

use super::{credit, document_reference, line, pattern, rule, text, Args, Effect, Template, TemplateCategory};
use crate::domain::matching_rules::{Action, CaptureFrom, LineConditions, RuleDefinition, RuleError};

pub(super) fn templates() -> Vec<Template> {
    vec![
        sepa_end_to_end_id(),
        structured_creditor_reference(),
        cn_invoice_number(),
        cn_contract_number(),
        customer_code_in_remittance(),
        purchase_order_number(),
        instalment_plan(),
    ]
}

/// A remittance rule: the pattern's capture, looked up as a document reference with a prefix.
fn remittance_reference(args: &Args, pattern_key: &str, prefix_key: &str) -> Result<RuleDefinition, RuleError> {
    let when = LineConditions { remittance: args.text(pattern_key).map(str::to_string), ..credit() };
    Ok(rule(when, vec![document_reference(CaptureFrom::Remittance, args.text(prefix_key))]))
}

fn prefix_param(description: &'static str, default: Option<&str>) -> super::Param {
    text("document_prefix", description, default)
}

fn sepa_end_to_end_id() -> Template {
    Template {
        key: "sepa_end_to_end_id",
        name: "Invoice number in the SEPA end-to-end id",
        category: TemplateCategory::References,
        description: "Payers whose ERP writes our invoice number into the SEPA end-to-end id with a prefix of \
                      their own (RE-2026-0000042) instead of ours: the number after their prefix is looked up \
                      with our prefix in front.",
        example: line(
            Some("BERGER LOGISTIK GMBH"),
            Some("DE44500105175407324931"),
            Some("Sammelzahlung November"),
            Some("RE-2026-0000042"),
            "2380.00",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::DocumentReference("INV-2026-0000042".into())],
        parameters: vec![
            super::text("payer_prefix", "What the payer writes before our number in the end-to-end id.", Some("RE")),
            prefix_param("Our document number prefix, put before the captured number.", Some("INV-")),
        ],
        broad: false,
        build: |a| {
            let payer = regex::escape(a.text("payer_prefix").unwrap_or("RE"));
            let when = LineConditions {
                end_to_end_id: Some(format!(r"^\s*{payer}[-/ ]?(?P<ref>\d[\d-]{{3,30}})")),
                ..credit()
            };
            Ok(rule(when, vec![document_reference(CaptureFrom::EndToEndId, a.text("document_prefix"))]))
        },
    }
}

fn structured_creditor_reference() -> Template {
    let mut example = line(
        Some("HOFMANN & SOEHNE KG"),
        Some("AT611904300234573201"),
        None,
        None,
        "615.00",
        "EUR",
        Some("PMNT-RCDT-ESCT"),
    );
    example.creditor_reference = Some("RF0520260000042".into());
    Template {
        key: "structured_creditor_reference",
        name: "Structured creditor reference (RF)",
        category: TemplateCategory::References,
        description: "An ISO 11649 creditor reference (RF + two check digits + up to 21 characters) whose body is \
                      our document number, or only its digits: the body is looked up, with our prefix put in \
                      front when the payer's bank dropped it.",
        example,
        example_effects: vec![Effect::DocumentReference("INV-20260000042".into())],
        parameters: vec![prefix_param("Our document number prefix, put before a body that lacks it.", Some("INV-"))],
        broad: false,
        build: |a| {
            let when = LineConditions {
                remittance: Some(r"(?:^|[^0-9A-Z])RF\d{2}\s?(?P<ref>[0-9A-Z]{1,21})(?:$|[^0-9A-Z])".into()),
                ..credit()
            };
            Ok(rule(when, vec![document_reference(CaptureFrom::Remittance, a.text("document_prefix"))]))
        },
    }
}

fn cn_invoice_number() -> Template {
    Template {
        key: "cn_invoice_number",
        name: "摘要: 发票号 (invoice number)",
        category: TemplateCategory::ChineseBankText,
        description: "Chinese payers write the invoice number after 发票号, 发票号码 or 票号 in the 摘要, often \
                      next to 货款: the number after the label is looked up as a document reference.",
        example: line(
            Some("上海华东贸易有限公司"),
            Some("6222020200112233445"),
            Some("支付10月货款 发票号：04417788"),
            None,
            "56500.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::DocumentReference("04417788".into())],
        parameters: vec![
            pattern("label", "The words before the number.", Some("发票号码|发票号|票号|发票")),
            prefix_param(
                "Put before the captured number (when our numbers carry a prefix the payer leaves out).",
                None,
            ),
        ],
        broad: false,
        build: |a| {
            let label = a.text("label").unwrap_or("发票号");
            let p = format!(r"(?:{label})\s*[:：#]?\s*(?P<ref>[0-9A-Z][0-9A-Z-]{{3,30}})");
            remittance_reference(&with_text(a, "p", p), "p", "document_prefix")
        },
    }
}

fn cn_contract_number() -> Template {
    Template {
        key: "cn_contract_number",
        name: "摘要: 合同号 (contract number)",
        category: TemplateCategory::ChineseBankText,
        description: "Project customers pay against a contract (进度款, 合同款) and quote 合同号 instead of the \
                      invoice: the contract number is looked up as a document reference (documents carry it as \
                      their reference).",
        example: line(
            Some("杭州明达机电有限公司"),
            Some("6217001210003344556"),
            Some("合同号HT-2026-118 进度款"),
            None,
            "120000.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::DocumentReference("HT-2026-118".into())],
        parameters: vec![
            pattern("label", "The words before the number.", Some("合同号|合同编号|合同")),
            prefix_param("Put before the captured number.", None),
        ],
        broad: false,
        build: |a| {
            let label = a.text("label").unwrap_or("合同号");
            let p = format!(r"(?:{label})\s*[:：#]?\s*(?P<ref>[0-9A-Z][0-9A-Z-]{{2,30}})");
            remittance_reference(&with_text(a, "p", p), "p", "document_prefix")
        },
    }
}

fn customer_code_in_remittance() -> Template {
    Template {
        key: "customer_code_in_remittance",
        name: "Customer number in the remittance (客户编号, Kd-Nr.)",
        category: TemplateCategory::ChineseBankText,
        description: "Payers who quote their customer number rather than an invoice (\"3月货款 客户编号C1001\", \
                      \"Kd-Nr. 10042\"): the payer is the customer with that code (or the name it is known by), \
                      and the amount is matched among its open items.",
        example: line(
            Some("苏州立信电子有限公司"),
            None,
            Some("3月货款 客户编号：C1001"),
            None,
            "23400.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::CustomerReference("C1001".into())],
        parameters: vec![pattern(
            "label",
            "The words before the customer number.",
            Some(r"客户编号|客户代码|客户号|Kd\.?-?Nr\.?|Kundennummer|customer\s*(?:no\.?|number|id)"),
        )],
        broad: false,
        build: |a| {
            let label = a.text("label").unwrap_or("客户编号");
            let when = LineConditions {
                remittance: Some(format!(r"(?:{label})\s*[:：#]?\s*(?P<ref>[0-9A-Z][0-9A-Z-]{{1,30}})")),
                ..credit()
            };
            Ok(rule(when, vec![Action::CustomerReference { from: CaptureFrom::Remittance }]))
        },
    }
}

fn purchase_order_number() -> Template {
    Template {
        key: "purchase_order_number",
        name: "Purchase order number instead of the invoice",
        category: TemplateCategory::References,
        description: "Payers whose payables system quotes their purchase order (PO 7781, Bestell-Nr. 7781, 订单号 \
                      7781): the order number is looked up as a document reference with the prefix our documents \
                      carry it under (their `external_reference`). Matching reads a reference a document carries \
                      without any rule when the line quotes it as the document carries it; this rule is for \
                      lines that quote it in another form (without the prefix, after a word).",
        example: line(
            Some("KRAUSE ANLAGENBAU AG"),
            Some("DE75512108001245126199"),
            Some("PO 7781 / Lieferung 12.11."),
            Some("NOTPROVIDED"),
            "1234.50",
            "EUR",
            Some("PMNT-RCDT-ESCT"),
        ),
        example_effects: vec![Effect::DocumentReference("PO-7781".into())],
        parameters: vec![prefix_param(
            "Put before the captured order number: how documents carry it as their reference.",
            Some("PO-"),
        )],
        broad: false,
        build: |a| {
            let p = r"(?:\bP\.?O\.?(?:\s*(?:no\.?|number|nr\.?))?|purchase\s+order(?:\s*(?:no\.?|number))?|Bestell(?:ung|-?Nr\.?)|订单号|采购单号|采购订单)\s*[:：#-]?\s*(?P<ref>[0-9A-Z]*\d[0-9A-Z-]{0,30})";
            remittance_reference(&with_text(a, "p", p.to_string()), "p", "document_prefix")
        },
    }
}

fn instalment_plan() -> Template {
    Template {
        key: "instalment_plan",
        name: "Instalment of a plan (分期, 第N期)",
        category: TemplateCategory::ChineseBankText,
        description: "A payment of one instalment quotes the document or contract and the instalment (\"HT-2026-018 \
                      第3期\", \"INV-2026-0000077 instalment 2\"): the number before the instalment marker is looked \
                      up, and cash application takes an amount equal to the next open instalment(s) of its plan \
                      as an exact payment of them.",
        example: line(
            Some("宁波海通物流有限公司"),
            Some("6228480010012345678"),
            Some("HT-2026-018 第3期分期款"),
            None,
            "15000.00",
            "CNY",
            None,
        ),
        example_effects: vec![Effect::DocumentReference("HT-2026-018".into())],
        parameters: vec![prefix_param("Put before the captured number.", None)],
        broad: false,
        build: |a| {
            let p = r"(?P<ref>[A-Z]{1,6}-?\d[\d-]{2,30})\s*(?:第\s*\d+\s*(?:/\s*\d+\s*)?期|分期|instal?ments?\s*\d*|Rate\s*\d+)";
            remittance_reference(&with_text(a, "p", p.to_string()), "p", "document_prefix")
        },
    }
}

/// `args` with one more text value (a pattern a template composed from its parameters).
fn with_text(args: &Args, key: &'static str, value: String) -> Args {
    let mut out = args.clone();
    out.0.insert(key, super::Arg::Text(value));
    out
}
