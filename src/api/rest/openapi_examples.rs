//! An example request body for every operation that takes one, by operationId and media type,
//! so Swagger UI's "Try it out" and generated clients' docs start from a valid request. The
//! OpenAPI test checks that every request body has one and that JSON examples match their
//! schema.

use serde_json::{json, Value};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

pub struct RequestExamples;

const CUSTOMERS_CSV: &str = "code,name,country,iban,email,default_currency,payment_terms_days\n\
C000001,Müller Maschinenbau GmbH,DE,DE02120300000000202051,ap@mueller.example,EUR,30\n\
C000002,上海华东贸易有限公司,CN,,finance@huadong.example,CNY,60\n";

const DOCUMENTS_CSV: &str = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
INV-2026-000123,invoice,C000001,2026-11-01,2026-12-01,EUR,1234.50,PO-7781\n\
CN-2026-000007,credit_note,C000001,2026-11-15,,EUR,100.00,INV-2026-000123\n";

const STATEMENT_CSV: &str = "their_ref,our_ref,date,kind,amount,currency\n\
V-88121,INV-2026-000123,2026-11-01,invoice,1234.50,EUR\n\
P-40017,INV-2026-000123,2026-11-20,payment,1134.50,EUR\n";

const BANK_CSV: &str = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
L-0001,DE89370400440532013000,2026-11-20,2026-11-20,1134.50,EUR,Mueller Maschinenbau GmbH,DE02120300000000202051,INV-2026-000123,E2E-0001\n";

fn customer() -> Value {
    json!({
        "code": "C000001", "name": "Müller Maschinenbau GmbH", "country": "DE",
        "aliases": ["Mueller Maschinenbau"], "bank_accounts": ["DE02120300000000202051"],
        "email": "ap@mueller.example", "default_currency": "EUR", "payment_terms_days": 30,
        "credit_limit": "50000.00"
    })
}

fn document() -> Value {
    json!({
        "doc_type": "invoice", "doc_no": "INV-2026-000123", "customer_code": "C000001",
        "issue_date": "2026-11-01", "due_date": "2026-12-01", "currency": "EUR", "amount": "1234.50",
        "external_reference": "PO-7781"
    })
}

/// An invoice with two lines at 13% and 9% VAT adding up to its amount.
fn document_with_lines() -> Value {
    let mut doc = document();
    doc["lines"] = json!([
        {"product_code": "P-100", "description": "Steel brackets", "quantity": "40", "unit": "pcs",
         "unit_price": "25.00", "tax_rate": "13"},
        {"description": "Installation", "quantity": "1", "unit": "h", "unit_price": "95.87", "tax_rate": "9",
         "net": "95.87", "tax": "8.63", "gross": "104.50"}
    ]);
    doc
}

/// A customer import: two customers.
fn customers() -> Value {
    json!([customer(), {"code": "C000002", "name": "上海华东贸易有限公司", "country": "CN", "default_currency": "CNY"}])
}

/// A document import: an invoice and its credit note.
fn documents() -> Value {
    json!([document(), {
        "doc_type": "credit_note", "doc_no": "CN-2026-000007", "customer_code": "C000001",
        "issue_date": "2026-11-15", "currency": "EUR", "amount": "100.00"
    }])
}

fn statement() -> Value {
    json!({
        "period_from": "2026-11-01", "period_to": "2026-11-30",
        "lines": [
            {"their_ref": "V-88121", "our_ref": "INV-2026-000123", "date": "2026-11-01", "kind": "invoice", "amount": "1234.50", "currency": "EUR"},
            {"their_ref": "P-40017", "our_ref": "INV-2026-000123", "date": "2026-11-20", "kind": "payment", "amount": "1134.50", "currency": "EUR"}
        ]
    })
}

fn comment() -> Value {
    json!({"body": "Credit note CN-2026-000007 covers the short payment.", "attachments": [
        {"name": "CN-2026-000007.pdf", "content_type": "application/pdf", "url": "https://files.example/CN-2026-000007.pdf"}
    ]})
}

/// (operationId, media type, example).
fn product() -> Value {
    json!({"code": "P-100", "name": "Steel bracket 40 mm", "unit": "pcs", "default_price": "12.50", "currency": "CNY", "tax_rate": "13"})
}

fn contact() -> Value {
    json!({"name": "王芳", "role": "财务经理", "email": "wang.fang@huadong.example", "phone": "+86 21 6888 0000",
           "address_lines": ["浦东新区世纪大道88号", "1201室"], "postal_code": "200120", "city": "上海", "country": "CN",
           "for_statements": true})
}

const PRODUCTS_CSV: &str = "code,name,kind,unit,default_price,currency,tax_rate\nP-100,Steel bracket 40 mm,product,pcs,12.50,CNY,13\nSRV-INSTALL,安装服务,service,h,300.00,CNY,6\n";

const CONTACTS_CSV: &str = "customer_code,name,role,email,phone,address,postal_code,city,country,for_statements,for_dunning\nC000002,王芳,财务经理,wang.fang@huadong.example,+86 21 6888 0000,浦东新区世纪大道88号|1201室,200120,上海,CN,yes,no\n";

/// A finance team's own ledger layout: Chinese headers under a merged title, a running number
/// column, day-first dates.
fn import_mapping() -> Value {
    json!({
        "columns": {"发票号码": "doc_no", "客户代码": "customer_code", "开票日期": "issue_date", "价税合计": "amount"},
        "ignore": ["序号", "备注"], "sheet": "销售台账", "header_row": 3, "date_formats": ["%d/%m/%Y"]
    })
}

fn examples() -> Vec<(&'static str, &'static str, Value)> {
    [
        access_examples(),
        ledger_examples(),
        matching_examples(),
        statement_examples(),
        collection_examples(),
        dispute_examples(),
        integration_examples(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Sign-in, passwords, users and API keys.
fn access_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "createToken",
            "application/json",
            json!({"tenant": "acme-gmbh", "email": "ana@acme.example", "password": "a long passphrase"}),
        ),
        (
            "changeOwnPassword",
            "application/json",
            json!({"current_password": "a long passphrase", "new_password": "an even longer passphrase"}),
        ),
        (
            "completePasswordReset",
            "application/json",
            json!({"reset_token": "dzr_3kq9v0x7m2", "new_password": "a fresh long passphrase"}),
        ),
        ("updateUser", "application/json", json!({"role": "viewer"})),
        (
            "createUser",
            "application/json",
            json!({"email": "ana@acme.example", "password": "a long passphrase", "role": "accountant"}),
        ),
        (
            "createApiKey",
            "application/json",
            json!({"name": "ERP sync", "role": "accountant", "scopes": ["read", "ledger:write"]}),
        ),
    ]
}

/// Customers, documents, bank accounts and bank statements.
fn ledger_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("replaceBankImportSettings", "application/json", json!({"register_accounts": true})),
        ("createCustomer", "application/json", customer()),
        ("updateCustomer", "application/json", json!({"payment_terms_days": 45, "credit_limit": null})),
        ("importCustomers", "application/json", customers()),
        ("importCustomers", "text/csv", json!(CUSTOMERS_CSV)),
        ("createDocument", "application/json", document_with_lines()),
        ("replaceDocumentSettings", "application/json", json!({"tax_rounding": "per_document"})),
        ("updateDocument", "application/json", json!({"due_date": "2026-12-15"})),
        ("importDocuments", "application/json", documents()),
        ("importDocuments", "text/csv", json!(DOCUMENTS_CSV)),
        ("createProduct", "application/json", product()),
        ("updateProduct", "application/json", json!({"tax_rate": "9", "active": false})),
        (
            "importProducts",
            "application/json",
            json!([product(), {"code": "SRV-INSTALL", "name": "安装服务", "kind": "service", "unit": "h", "default_price": "300.00", "currency": "CNY", "tax_rate": "6"}]),
        ),
        ("importProducts", "text/csv", json!(PRODUCTS_CSV)),
        (
            "createCustomerGroup",
            "application/json",
            json!({"code": "HUADONG", "name": "华东集团", "parent_customer": "C000002", "members": ["C000003", "C000004"]}),
        ),
        ("updateCustomerGroup", "application/json", json!({"name": "Huadong Group", "parent_customer": null})),
        ("replaceCustomerGroupMembers", "application/json", json!({"customers": ["C000002", "C000003"]})),
        ("createCustomerContact", "application/json", contact()),
        ("updateCustomerContact", "application/json", json!({"phone": "+86 21 6888 0001", "for_dunning": true})),
        (
            "importCustomerContacts",
            "application/json",
            json!([{"customer_code": "C000001", "name": "Anna Schmidt", "role": "Accounts payable", "email": "ap@kalomer.example", "for_statements": true}]),
        ),
        ("importCustomerContacts", "text/csv", json!(CONTACTS_CSV)),
        (
            "createImportMapping",
            "application/json",
            json!({"kind": "documents", "name": "kingdee", "mapping": import_mapping()}),
        ),
        ("replaceImportMapping", "application/json", json!({"name": "kingdee", "mapping": import_mapping()})),
        (
            "createBankAccount",
            "application/json",
            json!({
                "account_id": "DE89370400440532013000", "currency": "EUR", "name": "Operating account", "bank_name": "Commerzbank"
            }),
        ),
        ("updateBankAccount", "application/json", json!({"name": "Operating account (EUR)"})),
        ("importBankStatement", "application/octet-stream", json!(BANK_CSV)),
    ]
}

/// Matching runs, manual allocations, matching settings and FX rates.
fn matching_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "startReconciliation",
            "application/json",
            json!({"bank_account": "DE89370400440532013000", "booked_from": "2026-11-01", "booked_to": "2026-11-30"}),
        ),
        (
            "createAllocation",
            "application/json",
            json!({
                "bank_line_id": "0193a0c4-7d1e-7c4a-9a51-5c0e3c1f2a10",
                "allocations": [{"document_id": "0193a0c4-6b2f-7d10-8e0a-1f2b3c4d5e6f", "amount": "1134.50", "write_off": "100.00", "write_off_reason": "discount"}]
            }),
        ),
        (
            "replaceMatchingSettings",
            "application/json",
            json!({
                "auto_apply_threshold": "0.90", "tolerance_percent": "0.5", "tolerance_absolute": "5.00",
                "fx_tolerance_percent": "2.0", "auto_apply_oldest_first": true, "learning_enabled": true,
                "learned_iban_min_confirmations": 1, "learned_name_min_confirmations": 2,
                "learned_combined_min_confirmations": 2
            }),
        ),
        (
            "upsertFxRates",
            "application/json",
            json!([{"from_currency": "USD", "to_currency": "EUR", "rate": "0.9215", "valid_on": "2026-11-20"}]),
        ),
        (
            "dryRunMatchingRules",
            "application/json",
            json!({
                "rules": [
                    {"name": "SEPA end-to-end id", "definition": {
                        "when": {"end_to_end_id": "^E2E-(\\d{7})$"},
                        "then": [{"type": "document_reference", "from": "end_to_end_id", "prefix": "INV-2026-"}]}},
                    {"name": "Internal transfers", "definition": {
                        "when": {"remittance": "UMBUCHUNG|内部转账"}, "then": [{"type": "ignore", "reason": "internal transfer"}]}}
                ],
                "statement_id": "0193a0c4-7d1e-7c4a-9a51-5c0e3c1f2a00", "booked_from": "2026-11-01", "booked_to": "2026-11-30"
            }),
        ),
        (
            "createMatchingRule",
            "application/json",
            json!({
                "name": "Rechnung + number", "description": "German payers quote only the running number",
                "definition": {
                    "when": {"sign": "credit", "currencies": ["EUR"], "remittance": "Rechnung\\s*(?P<ref>\\d{3,})"},
                    "then": [{"type": "document_reference", "from": "remittance", "prefix": "INV-2026-"}]
                },
                "enabled": true, "position": 1
            }),
        ),
        (
            "updateMatchingRule",
            "application/json",
            json!({"enabled": false, "description": "Paused during the ERP migration", "expected_version": 2}),
        ),
        (
            "createMatchingRuleFromTemplate",
            "application/json",
            json!({"template": "paypal_payout", "name": "PayPal payouts", "parameters": {"fee_percent": "0.029", "propose_only": true}, "enabled": false}),
        ),
        (
            "reorderMatchingRules",
            "application/json",
            json!({"ids": ["0193a0c4-7d1e-7c4a-9a51-5c0e3c1f2a10", "0193a0c4-6b2f-7d10-8e0a-1f2b3c4d5e6f"]}),
        ),
    ]
}

/// Customer statements, their differences, the portal and inbound statements.
fn statement_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "replaceStatementMapping",
            "application/json",
            json!({"encoding": "gbk", "date": "日期", "their_ref": "凭证号", "our_ref": "发票号", "text": ["摘要"], "doc_type": "单据类型", "amount": {"convention": "debit_credit", "debit": "借方金额", "credit": "贷方金额", "invoices": "credit"}, "default_currency": "CNY", "date_formats": ["%Y年%m月%d日"], "doc_types": {"专票": "invoice"}}),
        ),
        ("submitCustomerStatement", "application/json", statement()),
        ("submitCustomerStatement", "text/csv", json!(STATEMENT_CSV)),
        ("commentOnDifference", "application/json", comment()),
        (
            "transitionDifference",
            "application/json",
            json!({"body": "Agreed: we book the bank fee.", "adjustment": {"doc_no": "ADJ-2026-0001"}}),
        ),
        ("createPortalToken", "application/json", json!({"ttl_hours": 168})),
        (
            "confirmPortalBalance",
            "application/json",
            json!({"as_of": "2026-11-30", "balances": [{"currency": "EUR", "balance": "100.00"}], "comment": "Agreed."}),
        ),
        ("commentOnPortalDifference", "application/json", comment()),
        ("transitionPortalDifference", "application/json", json!({"body": "We paid this on 20 November."})),
        ("submitPortalStatement", "application/json", statement()),
        ("submitPortalStatement", "text/csv", json!(STATEMENT_CSV)),
        ("pushInboundStatement", "application/json", statement()),
        ("pushInboundStatement", "text/csv", json!(STATEMENT_CSV)),
        (
            "startStatementRun",
            "application/json",
            json!({"period_from": "2026-11-01", "period_to": "2026-11-30", "customers": ["C000001"]}),
        ),
    ]
}

/// Dunning levels and runs.
fn collection_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "replaceDunningLevels",
            "application/json",
            json!([
                {"code": "R1", "name": "Friendly reminder", "severity": 1, "min_days_overdue": 7, "action": "reminder"},
                {"code": "L2", "name": "Formal letter", "severity": 2, "min_days_overdue": 30, "action": "letter", "min_amount": "100.00", "repeat_every_days": 14},
                {"code": "H3", "name": "Credit hold", "severity": 3, "min_days_overdue": 60, "action": "call", "credit_hold": true}
            ]),
        ),
        ("startDunningRun", "application/json", json!({"as_of": "2026-11-30"})),
        (
            "putCollectionSettings",
            "application/json",
            json!({"assignment": "customer_owner", "team": ["0193a0c4-7d1e-7c4a-9a51-5c0e3c1f2a10"], "task_due_days": 2, "broken_promise_action": "follow_up_task"}),
        ),
        (
            "updateCollectionTask",
            "application/json",
            json!({"status": "done", "note": "Called Ms Wang: payment released on Friday"}),
        ),
        ("logTaskContact", "application/json", contact_with_promise()),
        ("logCustomerContact", "application/json", contact_with_promise()),
        ("checkPromises", "application/json", json!({"as_of": "2026-12-01"})),
        (
            "putCreditPolicy",
            "application/json",
            json!({"credit_limit": "50000.00", "payment_terms_days": 30, "prepayment_required": false, "hold": true,
                   "hold_reason": "cheque returned unpaid", "explanation": "bank returned cheque 4471 on 2026-11-28"}),
        ),
        (
            "putCreditRules",
            "application/json",
            json!([
                {"code": "hold-h3", "condition": "dunning_severity_at_least", "severity": 3, "effect": "hold"},
                {"code": "prepay-after-2", "condition": "broken_promises", "count": 2, "days": 90, "effect": "prepayment_required"}
            ]),
        ),
    ]
}

/// Difference causes and dispute work orders.
fn dispute_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "setDifferenceCause",
            "application/json",
            json!({"cause": "process", "sub_cause": "missing_credit_note", "note": "CN-2026-000007 was never sent"}),
        ),
        (
            "createWorkOrder",
            "application/json",
            json!({
                "title": "Customer says 20 units were short", "assignee_id": "0193a1f2-7c1e-7d3a-9b1e-2f4c5d6e7f80",
                "priority": "high", "cause": "dispute", "visible_to_customer": true,
                "difference_ids": ["0193a1f2-7c1e-7d3a-9b1e-2f4c5d6e7f81"], "document_ids": []
            }),
        ),
        ("updateWorkOrder", "application/json", json!({"status": "waiting_for_customer", "priority": "urgent"})),
        (
            "commentWorkOrder",
            "application/json",
            json!({"body": "We have asked the warehouse for the delivery note.", "visible_to_customer": true}),
        ),
        (
            "replaceWorkOrderSettings",
            "application/json",
            json!({"technical": 48, "process": 120, "dispute": 240, "unclassified": 120}),
        ),
    ]
}

fn contact_with_promise() -> Value {
    json!({
        "channel": "phone", "outcome": "promise_to_pay", "note": "AP clerk confirms the payment run on the 5th",
        "contacted_on": "2026-11-30", "promise": {"date": "2026-12-05", "amount": "1134.50", "currency": "EUR"}
    })
}

/// Webhooks, connectors and the push API.
fn integration_examples() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "createWebhookEndpoint",
            "application/json",
            json!({
                "url": "https://erp.acme.example/hooks/duizhang", "description": "ERP", "event_types": ["difference.created"]
            }),
        ),
        ("updateWebhookEndpoint", "application/json", json!({"enabled": false})),
        ("replaceWebhookSettings", "application/json", json!({"allow_private_targets": false})),
        (
            "createConnector",
            "application/json",
            json!({
                "connector_type": "erpnext", "name": "ERPNext production", "schedule_seconds": 3600,
                "config": {"base_url": "https://erp.acme.example", "page_size": 200, "sync_customers": true, "sync_payments": true},
                "credentials": {"api_key": "erp-key", "api_secret": "erp-secret"}
            }),
        ),
        ("updateConnector", "application/json", json!({"schedule_seconds": 900, "reset_cursor": true})),
        ("createPushKey", "application/json", json!({"name": "push: ERPNext production"})),
        ("pushCustomers", "application/json", customers()),
        ("pushCustomers", "text/csv", json!(CUSTOMERS_CSV)),
        ("pushDocuments", "application/json", documents()),
        ("pushDocuments", "text/csv", json!(DOCUMENTS_CSV)),
        ("pushBankStatement", "application/octet-stream", json!(BANK_CSV)),
    ]
}

impl Modify for RequestExamples {
    fn modify(&self, openapi: &mut OpenApi) {
        let mut examples = examples();
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let (Some(id), Some(body)) = (op.operation_id.as_deref(), op.request_body.as_mut()) else { continue };
                for (media_type, content) in body.content.iter_mut() {
                    if let Some(i) = examples.iter().position(|(op, mt, _)| *op == id && mt == media_type) {
                        content.example = Some(examples.swap_remove(i).2);
                    }
                }
            }
        }
    }
}
