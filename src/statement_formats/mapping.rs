//! How one customer's system exports its statement: a [`StatementMapping`], saved per customer
//! like a bank account's CSV mapping. Every field has a default, so a mapping lists only what it
//! knows; what it leaves out is detected from the file (encoding, delimiter, header row,
//! decimal separator, date format, which side invoices are on).

use crate::bank_formats::{Column, CsvEncoding};
use crate::domain::document::DocType;
use chrono::format::{Item, StrftimeItems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A side of their books. Signed amounts: debits positive, credits negative (as accounting
/// exports write them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    #[serde(alias = "positive")]
    Debit,
    #[serde(alias = "negative")]
    Credit,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Debit => Side::Credit,
            Side::Credit => Side::Debit,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Debit => "debit",
            Side::Credit => "credit",
        }
    }
}

/// Which side our invoices are on in their export. In their own books (payables) an invoice of
/// ours is a credit and their payment a debit; a customer copying our view writes the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSide {
    /// Told by the lines' document types; where they have none, by which reading pairs more
    /// lines with our books.
    #[default]
    Auto,
    /// Credits (negative signed amounts): their payables ledger.
    #[serde(alias = "negative")]
    Credit,
    /// Debits (positive signed amounts).
    #[serde(alias = "positive")]
    Debit,
}

impl InvoiceSide {
    pub fn side(self) -> Option<Side> {
        match self {
            InvoiceSide::Auto => None,
            InvoiceSide::Credit => Some(Side::Credit),
            InvoiceSide::Debit => Some(Side::Debit),
        }
    }
}

/// How amounts and their direction are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case", deny_unknown_fields)]
pub enum AmountConvention {
    /// Positive amounts; the document type says which way each line goes (adjustments signed).
    Unsigned { amount: Column },
    /// One signed column: debits positive, credits negative (`-12.30`, `12.30-`, `(12.30)`).
    Signed {
        amount: Column,
        #[serde(default)]
        invoices: InvoiceSide,
    },
    /// Separate debit and credit columns, one filled per row.
    DebitCredit {
        debit: Column,
        credit: Column,
        #[serde(default)]
        invoices: InvoiceSide,
    },
    /// An unsigned amount and a debit/credit indicator column (compared trimmed, case-insensitively).
    Indicator {
        amount: Column,
        indicator: Column,
        #[serde(default = "default_debit_values")]
        debit_values: Vec<String>,
        #[serde(default = "default_credit_values")]
        credit_values: Vec<String>,
        #[serde(default)]
        invoices: InvoiceSide,
    },
}

/// `D`, `DR`, German `S`(oll), Chinese 借.
pub fn default_debit_values() -> Vec<String> {
    ["D", "DR", "DEBIT", "S", "SOLL", "借", "借方"].map(String::from).to_vec()
}
/// `C`, `CR`, German `H`(aben), Chinese 贷.
pub fn default_credit_values() -> Vec<String> {
    ["C", "CR", "CREDIT", "H", "HABEN", "贷", "贷方"].map(String::from).to_vec()
}

impl AmountConvention {
    pub fn invoices(&self) -> InvoiceSide {
        match self {
            AmountConvention::Unsigned { .. } => InvoiceSide::Auto,
            AmountConvention::Signed { invoices, .. }
            | AmountConvention::DebitCredit { invoices, .. }
            | AmountConvention::Indicator { invoices, .. } => *invoices,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            AmountConvention::Unsigned { .. } => "unsigned",
            AmountConvention::Signed { .. } => "signed",
            AmountConvention::DebitCredit { .. } => "debit_credit",
            AmountConvention::Indicator { .. } => "indicator",
        }
    }
}

/// A customer's statement layout. JSON lists only what differs from the defaults; the default
/// (`{}` or no mapping at all) detects the layout from the file's header.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatementMapping {
    /// `,` `;` `\t` `|`; detected from the header row when absent.
    pub delimiter: Option<char>,
    /// Quote character; `"` when absent.
    pub quote: Option<char>,
    /// Rows before the header (title, period, address) to ignore; found when absent.
    pub skip_rows: Option<usize>,
    /// utf-8, gbk or gb18030; UTF-8 when the bytes are UTF-8, GB18030 otherwise, when absent.
    pub encoding: Option<CsvEncoding>,
    pub date: Option<Column>,
    /// Their own reference (voucher, document number).
    pub their_ref: Option<Column>,
    /// Their column for our document number (vendor invoice number, external document number).
    pub our_ref: Option<Column>,
    /// Free-text columns (booking text, description), searched for our numbers.
    pub text: Vec<Column>,
    /// Their document type, in their words (see the vocabulary).
    pub doc_type: Option<Column>,
    /// How amounts are written; detected from the header when absent.
    pub amount: Option<AmountConvention>,
    pub currency: Option<Column>,
    /// Used where there is no currency column or a row leaves it empty; the customer's default
    /// currency when absent.
    pub default_currency: Option<String>,
    /// A column naming the customer: every row must name the customer the statement is for.
    pub customer_code: Option<Column>,
    /// `.` or `,`; detected from the amounts when absent.
    pub decimal_separator: Option<char>,
    /// Grouping in the integer part (`,` `.` `'` or ` `); the other of `.`/`,` when absent.
    pub thousands_separator: Option<char>,
    /// chrono formats tried in order (`%d.%m.%Y`, `%Y年%m月%d日`); detected when empty.
    pub date_formats: Vec<String>,
    /// Their document type words added to the built-in vocabulary (case and spacing ignored).
    pub doc_types: BTreeMap<String, DocType>,
}

/// Limits that keep a mapping from being a vector for abuse.
const MAX_COLUMNS: usize = 32;
const MAX_WORDS: usize = 500;
const MAX_TEXT: usize = 100;

impl StatementMapping {
    /// Checks the mapping itself: a precise message per problem, before any file is read.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_characters()?;
        if self.skip_rows.is_some_and(|n| n > 1000) {
            return Err("skip_rows must be at most 1000".into());
        }
        if let Some(c) = &self.default_currency {
            crate::bank_formats::check_currency(c).map_err(|m| format!("default_currency: {m}"))?;
        }
        if self.date_formats.len() > 10 {
            return Err("at most 10 date_formats".into());
        }
        for f in &self.date_formats {
            let items: Result<Vec<Item<'_>>, _> = StrftimeItems::new(f).parse();
            let has_date = f.contains("%d") || f.contains("%e") || f.contains("%j") || f.contains("%F");
            if f.len() > MAX_TEXT || items.is_err() || !has_date {
                return Err(format!("date_formats: '{f}' is not a chrono date format with a day (e.g. %d.%m.%Y)"));
            }
        }
        if self.doc_types.len() > MAX_WORDS || self.doc_types.keys().any(|w| w.trim().is_empty() || w.len() > MAX_TEXT)
        {
            return Err(format!("doc_types: at most {MAX_WORDS} non-empty words of at most {MAX_TEXT} bytes"));
        }
        let columns = self.columns();
        if columns.len() > MAX_COLUMNS {
            return Err(format!("at most {MAX_COLUMNS} columns"));
        }
        if columns.iter().any(|c| matches!(c, Column::Name(n) if n.trim().is_empty() || n.len() > MAX_TEXT)) {
            return Err(format!("column names must be non-empty and at most {MAX_TEXT} bytes"));
        }
        let texts = self
            .columns()
            .into_iter()
            .filter_map(|c| match c {
                Column::Name(n) => Some(n.as_str()),
                Column::Index(_) => None,
            })
            .chain(self.doc_types.keys().map(String::as_str))
            .chain(self.date_formats.iter().map(String::as_str));
        if texts.into_iter().any(|t| t.chars().any(char::is_control)) {
            return Err("names, words and formats must not contain control characters".into());
        }
        if let Some(AmountConvention::Indicator { debit_values, credit_values, .. }) = &self.amount {
            let too_long = |v: &String| v.len() > MAX_TEXT || v.chars().any(char::is_control);
            if debit_values.len() + credit_values.len() > 100 || debit_values.iter().chain(credit_values).any(too_long)
            {
                return Err(format!(
                    "at most 100 indicator values of at most {MAX_TEXT} bytes, without control characters"
                ));
            }
            if debit_values.iter().any(|d| credit_values.iter().any(|c| c.trim().eq_ignore_ascii_case(d.trim()))) {
                return Err("an indicator value is both a debit and a credit value".into());
            }
        }
        if !columns.is_empty() && (self.date.is_none() || self.amount.is_none()) {
            return Err(
                "a mapping that names columns needs date and amount among them (or names none, to detect them)".into(),
            );
        }
        Ok(())
    }

    /// Delimiter, quote and the number separators.
    fn validate_characters(&self) -> Result<(), String> {
        let ascii = |c: Option<char>, what: &str| match c {
            Some(c) if !c.is_ascii() || c == '\n' || c == '\r' => Err(format!("{what} must be one ASCII character")),
            _ => Ok(()),
        };
        ascii(self.delimiter, "delimiter")?;
        ascii(self.quote, "quote")?;
        if self.delimiter.is_some() && self.delimiter == self.quote {
            return Err("delimiter and quote must differ".into());
        }
        if let Some(d) = self.decimal_separator {
            if !matches!(d, '.' | ',') {
                return Err(format!("decimal_separator must be '.' or ',', not {d:?}"));
            }
            if self.thousands_separator == Some(d) {
                return Err("thousands_separator equals decimal_separator".into());
            }
        }
        if let Some(t) = self.thousands_separator {
            if !matches!(t, '.' | ',' | '\'' | ' ') {
                return Err(format!("thousands_separator must be '.', ',', ''' or ' ', not {t:?}"));
            }
        }
        Ok(())
    }

    /// Columns the mapping names (empty: the layout is detected from the header).
    pub fn columns(&self) -> Vec<&Column> {
        let mut out: Vec<&Column> =
            [&self.date, &self.their_ref, &self.our_ref, &self.doc_type, &self.currency, &self.customer_code]
                .into_iter()
                .flatten()
                .collect();
        out.extend(self.text.iter());
        match &self.amount {
            Some(AmountConvention::Unsigned { amount } | AmountConvention::Signed { amount, .. }) => out.push(amount),
            Some(AmountConvention::DebitCredit { debit, credit, .. }) => out.extend([debit, credit]),
            Some(AmountConvention::Indicator { amount, indicator, .. }) => out.extend([amount, indicator]),
            None => {}
        }
        out
    }
}
