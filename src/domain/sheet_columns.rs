//! The columns of every file kind a tenant sends as a spreadsheet: their CSV names, Chinese
//! labels, what they hold, an example, and the header words people write for them. One table
//! feeds the downloadable templates, the header recognition of an import and the checks of a
//! saved column mapping, so the three cannot disagree.

use serde::{Deserialize, Serialize};

/// What a cell holds, for the template's validation lists and the import's cell cleaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    Text,
    /// A decimal; thousands separators and blanks in a number stored as text are dropped.
    Number,
    /// `YYYY-MM-DD`; a date cell, and text dates in the usual formats, are read as that.
    Date,
    /// `yes` or `no` (also true/false, 1/0, 是/否).
    YesNo,
    /// One of a fixed list of words.
    Choice(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The CSV column name (also the template's header).
    pub name: &'static str,
    /// The Chinese label, shown with the header and accepted as a header.
    pub label: &'static str,
    pub required: bool,
    pub cell: CellKind,
    /// Format and meaning, for the notes sheet.
    pub help: &'static str,
    /// The template's example row.
    pub example: &'static str,
    /// Other header words recognised for this column (compared without case, blanks and
    /// punctuation).
    pub synonyms: &'static [&'static str],
}

const fn col(
    name: &'static str,
    label: &'static str,
    required: bool,
    cell: CellKind,
    help: &'static str,
    example: &'static str,
    synonyms: &'static [&'static str],
) -> Column {
    Column { name, label, required, cell, help, example, synonyms }
}

use CellKind::{Date, Number, Text, YesNo};

const YES_NO_HELP: &str = "yes or no (also true/false, 1/0, 是/否)";

pub const CUSTOMERS: &[Column] = &[
    col(
        "code",
        "客户编号",
        true,
        Text,
        "your customer code, unique; up to 64 characters",
        "C-0001",
        &["客户代码", "客户编码", "编号", "customer code", "customer no", "customer number"],
    ),
    col(
        "name",
        "客户名称",
        true,
        Text,
        "the customer's name",
        "上海示例贸易有限公司",
        &["名称", "客户", "公司名称", "customer name"],
    ),
    col(
        "aliases",
        "别名",
        false,
        Text,
        "other names it pays under, separated by ; or |",
        "示例贸易;Example Trading",
        &["简称", "alias"],
    ),
    col("country", "国家", false, Text, "ISO 3166 country code, e.g. CN", "CN", &["国家/地区", "country code"]),
    col("iban", "IBAN", false, Text, "an IBAN the customer pays from", "", &[]),
    col(
        "bank_accounts",
        "银行账号",
        false,
        Text,
        "bank account numbers it pays from, separated by ; or |",
        "6222020200000000001",
        &["账号", "付款账号", "bank account", "bank accounts"],
    ),
    col("email", "邮箱", false, Text, "an email address", "ap@example.com", &["电子邮件", "电子邮箱", "e-mail"]),
    col(
        "default_currency",
        "币种",
        false,
        Text,
        "ISO 4217 currency, e.g. CNY",
        "CNY",
        &["默认币种", "货币", "currency"],
    ),
    col(
        "payment_terms_days",
        "账期(天)",
        false,
        Number,
        "payment terms in days, a whole number",
        "30",
        &["账期", "付款期限", "账期天数", "payment terms"],
    ),
    col(
        "credit_limit",
        "信用额度",
        false,
        Number,
        "a decimal amount in the default currency",
        "100000.00",
        &["credit limit"],
    ),
    col(
        "status",
        "状态",
        false,
        CellKind::Choice(&["active", "inactive", "blocked"]),
        "active (default), inactive or blocked",
        "active",
        &[],
    ),
];

pub const PRODUCTS: &[Column] = &[
    col(
        "code",
        "产品编号",
        true,
        Text,
        "your product or service code (SKU), unique; up to 64 characters",
        "P-0001",
        &["产品编码", "物料编码", "物料编号", "编号", "sku", "product code", "item code"],
    ),
    col(
        "name",
        "产品名称",
        true,
        Text,
        "the product's name",
        "不锈钢支架",
        &["名称", "品名", "product name", "item name"],
    ),
    col(
        "kind",
        "类型",
        false,
        CellKind::Choice(&["product", "service"]),
        "product (default) or service",
        "product",
        &["type"],
    ),
    col("unit", "单位", false, Text, "unit of measure, e.g. pcs, kg, h, 件", "件", &["计量单位", "uom"]),
    col(
        "default_price",
        "单价",
        false,
        Number,
        "a decimal, at most 6 decimals; needs currency",
        "12.50",
        &["默认单价", "价格", "price", "unit price"],
    ),
    col("currency", "币种", false, Text, "ISO 4217 currency of the price, e.g. CNY", "CNY", &["货币"]),
    col("tax_rate", "税率", false, Number, "tax rate in percent, e.g. 13", "13", &["税率(%)", "tax", "vat"]),
    col("active", "启用", false, YesNo, YES_NO_HELP, "yes", &["是否启用", "有效"]),
];

pub const CUSTOMER_CONTACTS: &[Column] = &[
    col(
        "customer_code",
        "客户编号",
        true,
        Text,
        "the customer's code (the customer must exist)",
        "C-0001",
        &["客户代码", "客户编码", "customer code"],
    ),
    col("name", "联系人", true, Text, "the contact's name", "王芳", &["姓名", "联系人姓名", "contact", "contact name"]),
    col("role", "职务", false, Text, "their role, e.g. AP clerk", "应付会计", &["角色", "职位", "title"]),
    col("email", "邮箱", false, Text, "an email address", "wang.fang@example.com", &["电子邮件", "电子邮箱", "e-mail"]),
    col(
        "phone",
        "电话",
        false,
        Text,
        "a phone number",
        "+86 21 5555 0101",
        &["手机", "联系电话", "telephone", "mobile"],
    ),
    col(
        "address",
        "地址",
        false,
        Text,
        "address lines separated by | or line breaks",
        "浦东新区示例路1号",
        &["联系地址", "street"],
    ),
    col("postal_code", "邮编", false, Text, "postal code", "200120", &["邮政编码", "zip", "postcode"]),
    col("city", "城市", false, Text, "city", "上海", &[]),
    col("country", "国家", false, Text, "ISO 3166 country code, e.g. CN", "CN", &["国家/地区"]),
    col(
        "for_statements",
        "接收对账单",
        false,
        YesNo,
        "yes: statements go to this contact (one per customer); also x",
        "yes",
        &["对账联系人"],
    ),
    col(
        "for_dunning",
        "接收催款",
        false,
        YesNo,
        "yes: dunning letters go to this contact (one per customer); also x",
        "no",
        &["催款联系人"],
    ),
];

/// The document kinds of the ledger, as `doc_type` takes them.
pub const DOC_TYPES: &[&str] = &["invoice", "credit_note", "payment", "adjustment"];

/// Document header columns. Line columns, when documents carry lines, follow these.
pub const DOCUMENTS: &[Column] = &[
    col(
        "doc_no",
        "单据编号",
        true,
        Text,
        "your document number, unique per document type",
        "INV-2026-0001",
        &["单据号", "发票号", "发票号码", "单号", "invoice no", "document no", "document number"],
    ),
    col(
        "doc_type",
        "单据类型",
        true,
        CellKind::Choice(DOC_TYPES),
        "invoice, credit_note, payment or adjustment",
        "invoice",
        &["类型", "document type", "type"],
    ),
    col(
        "customer_code",
        "客户编号",
        true,
        Text,
        "the customer's code (the customer must exist)",
        "C-0001",
        &["客户代码", "客户编码", "customer code", "customer"],
    ),
    col(
        "issue_date",
        "开票日期",
        true,
        Date,
        "YYYY-MM-DD (a date cell, or text such as 2026/03/01 or 2026年3月1日)",
        "2026-03-01",
        &["单据日期", "日期", "业务日期", "date", "invoice date"],
    ),
    col(
        "due_date",
        "到期日",
        false,
        Date,
        "YYYY-MM-DD; empty: from the customer's payment terms",
        "2026-03-31",
        &["到期日期", "due"],
    ),
    col("currency", "币种", true, Text, "ISO 4217 currency, e.g. CNY", "CNY", &["货币"]),
    col(
        "amount",
        "金额",
        true,
        Number,
        "a decimal amount, positive (adjustments may be negative)",
        "11300.00",
        &["含税金额", "价税合计", "总金额", "amount incl. tax"],
    ),
    col(
        "reference",
        "参考号",
        false,
        Text,
        "an external reference (order or contract number)",
        "PO-4500012345",
        &["参考", "订单号", "合同号", "external reference"],
    ),
    col("source_system", "来源系统", false, Text, "the system the document comes from", "ERP", &["来源", "source"]),
    // One line per row: the rows of one document repeat its columns above (see docs/documents.md).
    col(
        "line_product",
        "商品编码",
        false,
        Text,
        "a line's product code (master data); empty: a free-text line",
        "",
        &["产品编码", "物料编码", "item code", "product code"],
    ),
    col(
        "line_description",
        "商品名称",
        false,
        Text,
        "what the line sold; empty: the product's name",
        "办公椅 Office chair",
        &["货物或应税劳务名称", "品名", "项目名称", "item", "description"],
    ),
    col(
        "line_quantity",
        "数量",
        false,
        Number,
        "quantity (default 1; negative on a return)",
        "10",
        &["qty", "quantity"],
    ),
    col("line_unit", "单位", false, Text, "unit of measure", "把", &["计量单位", "unit"]),
    col(
        "line_unit_price",
        "单价",
        false,
        Number,
        "price per unit before tax, at most 6 decimals",
        "1000.00",
        &["不含税单价", "unit price", "price"],
    ),
    col("line_discount", "折扣金额", false, Number, "an amount off the line", "", &["discount"]),
    col("line_discount_percent", "折扣率", false, Number, "a percent off the line (instead of an amount)", "", &[]),
    col("line_tax_rate", "税率", false, Number, "tax rate in percent, e.g. 13", "13", &["tax rate", "vat rate"]),
];

/// The columns the default bank CSV mapping reads (a signed amount: positive is money in).
pub const BANK_STATEMENT: &[Column] = &[
    col(
        "line_id",
        "流水号",
        false,
        Text,
        "the bank's reference of the line (used to skip repeats)",
        "20260301-0001",
        &[],
    ),
    col(
        "account_iban",
        "本方账号",
        false,
        Text,
        "our account (IBAN or number); empty: the account imported to",
        "",
        &[],
    ),
    col("booking_date", "记账日期", true, Date, "YYYY-MM-DD", "2026-03-02", &[]),
    col("value_date", "起息日", false, Date, "YYYY-MM-DD", "2026-03-02", &[]),
    col("amount", "金额", true, Number, "signed decimal: positive money in, negative money out", "11300.00", &[]),
    col("currency", "币种", false, Text, "ISO 4217; empty: the account's currency", "CNY", &[]),
    col("counterparty_name", "对方户名", false, Text, "who paid", "上海示例贸易有限公司", &[]),
    col("counterparty_iban", "对方账号", false, Text, "their account", "6222020200000000001", &[]),
    col(
        "remittance",
        "摘要",
        false,
        Text,
        "the payment's text (our invoice numbers are searched in it)",
        "货款 INV-2026-0001",
        &[],
    ),
    col("end_to_end_id", "端到端编号", false, Text, "end-to-end id, when the bank gives one", "", &[]),
];

/// Our own customer statement layout (their view of their account with us).
pub const CUSTOMER_STATEMENT: &[Column] = &[
    col(
        "customer_code",
        "客户编号",
        false,
        Text,
        "the customer's code (our code for them); a file naming another customer is refused",
        "C-0001",
        &[],
    ),
    col("their_ref", "对方单号", false, Text, "their document number", "AP-7788", &[]),
    col("our_ref", "我方单号", false, Text, "our document number as they booked it", "INV-2026-0001", &[]),
    col("date", "日期", true, Date, "YYYY-MM-DD", "2026-03-01", &[]),
    col(
        "kind",
        "类型",
        false,
        CellKind::Choice(DOC_TYPES),
        "invoice, credit_note, payment or adjustment",
        "invoice",
        &[],
    ),
    col("amount", "金额", true, Number, "a positive decimal (adjustments signed)", "11300.00", &[]),
    col("currency", "币种", false, Text, "ISO 4217 currency, e.g. CNY", "CNY", &[]),
];

/// The kinds of import a saved column mapping is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ImportKind {
    #[serde(rename = "customers")]
    Customers,
    #[serde(rename = "products")]
    Products,
    #[serde(rename = "customer-contacts")]
    CustomerContacts,
    #[serde(rename = "documents")]
    Documents,
}

impl ImportKind {
    pub const ALL: [ImportKind; 4] =
        [ImportKind::Customers, ImportKind::Products, ImportKind::CustomerContacts, ImportKind::Documents];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Products => "products",
            ImportKind::CustomerContacts => "customer-contacts",
            ImportKind::Documents => "documents",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn columns(self) -> &'static [Column] {
        TemplateKind::Import(self).columns()
    }
}

/// Every kind a template is offered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Import(ImportKind),
    BankStatement,
    CustomerStatement,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 6] = [
        TemplateKind::Import(ImportKind::Customers),
        TemplateKind::Import(ImportKind::Products),
        TemplateKind::Import(ImportKind::CustomerContacts),
        TemplateKind::Import(ImportKind::Documents),
        TemplateKind::BankStatement,
        TemplateKind::CustomerStatement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Import(k) => k.as_str(),
            TemplateKind::BankStatement => "bank-statement",
            TemplateKind::CustomerStatement => "customer-statement",
        }
    }

    pub fn parse(s: &str) -> Option<TemplateKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            TemplateKind::Import(ImportKind::Customers) => CUSTOMERS,
            TemplateKind::Import(ImportKind::Products) => PRODUCTS,
            TemplateKind::Import(ImportKind::CustomerContacts) => CUSTOMER_CONTACTS,
            TemplateKind::Import(ImportKind::Documents) => DOCUMENTS,
            TemplateKind::BankStatement => BANK_STATEMENT,
            TemplateKind::CustomerStatement => CUSTOMER_STATEMENT,
        }
    }

    /// What the file is, in a few words (the notes sheet's title, the list of templates).
    pub fn title(self) -> &'static str {
        match self {
            TemplateKind::Import(ImportKind::Customers) => "Customers (客户)",
            TemplateKind::Import(ImportKind::Products) => "Products and services (产品)",
            TemplateKind::Import(ImportKind::CustomerContacts) => "Customer contacts (客户联系人)",
            TemplateKind::Import(ImportKind::Documents) => "Documents: invoices, credit notes, payments (单据)",
            TemplateKind::BankStatement => "Bank statement (银行流水)",
            TemplateKind::CustomerStatement => "Customer statement (客户对账单)",
        }
    }

    /// Where a filled template is sent.
    pub fn endpoint(self) -> &'static str {
        match self {
            TemplateKind::Import(ImportKind::Customers) => "POST /api/v1/customers/import",
            TemplateKind::Import(ImportKind::Products) => "POST /api/v1/products/import",
            TemplateKind::Import(ImportKind::CustomerContacts) => "POST /api/v1/customer-contacts/import",
            TemplateKind::Import(ImportKind::Documents) => "POST /api/v1/documents/import",
            TemplateKind::BankStatement => "POST /api/v1/bank-statements?bank_account=...",
            TemplateKind::CustomerStatement => "POST /api/v1/customers/{code}/statements (or /portal/statements)",
        }
    }

    /// The data sheet's name.
    pub fn sheet_name(self) -> &'static str {
        match self {
            TemplateKind::Import(ImportKind::CustomerContacts) => "customer-contacts",
            k => k.as_str(),
        }
    }
}

/// Header text compared without case, blanks and punctuation: `Customer No.`, `customer_no`
/// and `客户编号 *` are compared as `customerno` and `客户编号`.
pub fn header_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !" _-.*:：()（）/#№'\"".contains(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The column a header names: its CSV name, its Chinese label or one of its synonyms.
pub fn column_for_header(columns: &'static [Column], header: &str) -> Option<&'static Column> {
    let key = header_key(header);
    if key.is_empty() {
        return None;
    }
    columns.iter().find(|c| {
        header_key(c.name) == key || header_key(c.label) == key || c.synonyms.iter().any(|s| header_key(s) == key)
    })
}

/// The template's example row, as the column names and their example values.
pub fn example_row(columns: &[Column]) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    columns.iter().map(|c| (c.name, c.example))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within one kind, no header word names two columns.
    #[test]
    fn header_words_are_unambiguous() {
        for kind in TemplateKind::ALL {
            let mut seen = std::collections::HashMap::new();
            for c in kind.columns() {
                for word in [c.name, c.label].iter().chain(c.synonyms) {
                    let previous = seen.insert(header_key(word), c.name);
                    assert!(
                        previous.is_none() || previous == Some(c.name),
                        "{}: {word:?} names {} and {}",
                        kind.as_str(),
                        previous.unwrap_or_default(),
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn headers_are_recognised_in_several_spellings() {
        assert_eq!(column_for_header(DOCUMENTS, "Invoice No.").map(|c| c.name), Some("doc_no"));
        assert_eq!(column_for_header(DOCUMENTS, " 金额 ").map(|c| c.name), Some("amount"));
        assert_eq!(column_for_header(CUSTOMERS, "账期（天）").map(|c| c.name), Some("payment_terms_days"));
        assert_eq!(column_for_header(CUSTOMERS, "Customer_Code").map(|c| c.name), Some("code"));
        assert!(column_for_header(CUSTOMERS, "颜色").is_none());
        assert!(column_for_header(CUSTOMERS, " ").is_none());
    }

    #[test]
    fn kinds_read_back() {
        for k in TemplateKind::ALL {
            assert_eq!(TemplateKind::parse(k.as_str()), Some(k));
        }
        for k in ImportKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
