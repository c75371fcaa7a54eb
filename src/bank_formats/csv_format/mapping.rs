//! What a bank's CSV export looks like: [`CsvMapping`], and the column positions it resolves to
//! once the header row is found.

use chrono::format::StrftimeItems;
use serde::{Deserialize, Deserializer, Serialize};

use super::cells::header_key;
use crate::bank_formats::{check_currency, truncate, ParseError};

/// A column, by header name (matched without blanks, case-insensitively, full-width brackets as
/// ASCII ones) or by 0-based index. In JSON: `"amount"` or `4`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl Column {
    pub(super) fn name(n: &str) -> Self {
        Column::Name(n.to_string())
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Index(i) => write!(f, "#{i}"),
            Column::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// How the sign of an amount is expressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case")]
pub enum AmountColumns {
    /// One signed column: credits positive, debits negative (`-12.30`, `12.30-` or `(12.30)`).
    Signed {
        amount: Column,
        /// The export shows debits positive and credits negative (card statements: a purchase is
        /// `+29.00`); the sign is turned around.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        debits_positive: bool,
    },
    /// Separate debit and credit columns, one of them filled per row. Values are
    /// magnitudes; a minus sign some banks put in the debit column is ignored.
    DebitCredit { debit: Column, credit: Column },
    /// Unsigned amount plus an indicator column; values compared trimmed and case-insensitively.
    Indicator {
        amount: Column,
        indicator: Column,
        #[serde(default = "default_credit_values")]
        credit_values: Vec<String>,
        #[serde(default = "default_debit_values")]
        debit_values: Vec<String>,
        /// Values that mark a row as neither credit nor debit (Alipay's `不计收支`): the row is
        /// not imported, with a warning.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        neutral_values: Vec<String>,
        /// Match the values as prefixes of the indicator (a description column that starts with
        /// `消费` or `退货`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        match_prefix: bool,
    },
}

/// `C`/`D`, ISO `CRDT`/`DBIT`, German `H`(aben)/`S`(oll), Chinese 贷/借.
fn default_credit_values() -> Vec<String> {
    ["C", "CR", "CRDT", "CREDIT", "H", "贷", "收入"].map(String::from).to_vec()
}
fn default_debit_values() -> Vec<String> {
    ["D", "DR", "DBIT", "DEBIT", "S", "借", "支出"].map(String::from).to_vec()
}

/// Text encoding of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CsvEncoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    #[serde(rename = "gbk", alias = "GBK")]
    Gbk,
    #[serde(rename = "gb18030", alias = "GB18030")]
    Gb18030,
}

/// Only rows whose status column holds one of `booked` are imported; the others are counted and
/// reported (an order that was closed, a card authorisation not yet posted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusFilter {
    pub column: Column,
    /// Values (trimmed, case-insensitive) of rows that are booked.
    pub booked: Vec<String>,
}

/// Describes a bank's CSV export. Every field has a default, so a JSON mapping
/// only lists what differs from [`CsvMapping::default`] — which reads the
/// default export of our test data generator:
/// `line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id`.
///
/// With `has_header`, the header row is looked for: the first row (after `skip_rows`, within
/// the first [`MAX_PREAMBLE_ROWS`]) that holds the booking date and amount columns is the header,
/// the rows before it a preamble (bank name, account, period ...). A named column that is not
/// in the header is left out with a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvMapping {
    /// Field delimiter (ASCII), e.g. `,` `;` `\t` `|`.
    pub delimiter: char,
    /// Quote character (ASCII); doubled inside a quoted field.
    pub quote: char,
    pub has_header: bool,
    /// Lines before the header (bank name, account, period, ...) to ignore.
    pub skip_rows: usize,
    pub encoding: CsvEncoding,
    /// The bank's reference of the line.
    #[serde(deserialize_with = "optional_column")]
    pub line_id: Option<Column>,
    /// Our account per line (IBAN or account number).
    #[serde(deserialize_with = "optional_column")]
    pub account: Option<Column>,
    pub booking_date: Column,
    #[serde(deserialize_with = "optional_column")]
    pub value_date: Option<Column>,
    pub amount: AmountColumns,
    /// ISO code or a currency's name (`人民币`, `RMB`, `港币` ...).
    #[serde(deserialize_with = "optional_column")]
    pub currency: Option<Column>,
    /// Used when there is no currency column (or it is empty on a row); without either, the
    /// currency of the account the line is for.
    pub default_currency: Option<String>,
    #[serde(deserialize_with = "optional_column")]
    pub counterparty_name: Option<Column>,
    #[serde(deserialize_with = "optional_column")]
    pub counterparty_iban: Option<Column>,
    /// The counterparty's account when it is not an IBAN (Chinese `对方账号`).
    #[serde(deserialize_with = "optional_column")]
    pub counterparty_account: Option<Column>,
    /// Remittance columns, joined with ' ' (banks often split "Verwendungszweck" over several).
    pub remittance: Vec<Column>,
    #[serde(deserialize_with = "optional_column")]
    pub end_to_end_id: Option<Column>,
    #[serde(deserialize_with = "optional_column")]
    pub bank_transaction_code: Option<Column>,
    /// Booking text columns (transaction type, channel ...), joined with ' '.
    pub additional_info: Vec<Column>,
    /// Running balance after each row; checked row by row (oldest or newest first, per currency).
    #[serde(deserialize_with = "optional_column")]
    pub balance: Option<Column>,
    pub status: Option<StatusFilter>,
    /// A row whose first cell contains one of these is a totals row (`合计`): its amounts are
    /// compared with the rows', it is not a line.
    pub totals_markers: Vec<String>,
    /// How a preamble states the number of rows, `{n}` standing for the number (`共{n}笔记录`);
    /// compared with the rows found.
    pub declared_count: Option<String>,
    /// `.` or `,`.
    pub decimal_separator: char,
    /// e.g. `,` `.` `'` or ` ` (the latter also matches no-break spaces); grouping in the integer part only.
    pub thousands_separator: Option<char>,
    /// chrono `strftime` format for both date columns; a time after the date is ignored.
    pub date_format: String,
}

/// An optional column: a name, an index, or `null` / `false` for none (TOML has no null).
fn optional_column<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Column>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Column(Column),
        Flag(bool),
    }
    match Option::<Given>::deserialize(d)? {
        None | Some(Given::Flag(false)) => Ok(None),
        Some(Given::Column(c)) => Ok(Some(c)),
        Some(Given::Flag(true)) => Err(serde::de::Error::custom("a column is a name or an index; false for none")),
    }
}

/// The optional columns [`CsvMapping::default`] names, which a preset that does not name them
/// does not have.
pub(crate) const DEFAULT_COLUMNS: [&str; 7] =
    ["line_id", "account", "value_date", "currency", "counterparty_name", "counterparty_iban", "end_to_end_id"];

/// Rows searched for the header (after `skip_rows`).
pub const MAX_PREAMBLE_ROWS: usize = 100;

impl Default for CsvMapping {
    fn default() -> Self {
        CsvMapping {
            delimiter: ',',
            quote: '"',
            has_header: true,
            skip_rows: 0,
            encoding: CsvEncoding::Utf8,
            line_id: Some(Column::name("line_id")),
            account: Some(Column::name("account_iban")),
            booking_date: Column::name("booking_date"),
            value_date: Some(Column::name("value_date")),
            amount: AmountColumns::Signed { amount: Column::name("amount"), debits_positive: false },
            currency: Some(Column::name("currency")),
            default_currency: None,
            counterparty_name: Some(Column::name("counterparty_name")),
            counterparty_iban: Some(Column::name("counterparty_iban")),
            counterparty_account: None,
            remittance: vec![Column::name("remittance")],
            end_to_end_id: Some(Column::name("end_to_end_id")),
            bank_transaction_code: None,
            additional_info: Vec::new(),
            balance: None,
            status: None,
            totals_markers: Vec::new(),
            declared_count: None,
            decimal_separator: '.',
            thousands_separator: None,
            date_format: "%Y-%m-%d".to_string(),
        }
    }
}

impl CsvMapping {
    /// The columns a row must have to be the header: without them no line can be read.
    fn required_columns(&self) -> Vec<&Column> {
        let mut cols: Vec<&Column> = vec![&self.booking_date];
        match &self.amount {
            AmountColumns::Signed { amount, .. } => cols.push(amount),
            AmountColumns::DebitCredit { debit, credit } => cols.extend([debit, credit]),
            AmountColumns::Indicator { amount, indicator, .. } => cols.extend([amount, indicator]),
        }
        cols
    }

    fn all_columns(&self) -> Vec<&Column> {
        let mut cols = self.required_columns();
        cols.extend(
            [
                &self.line_id,
                &self.account,
                &self.value_date,
                &self.currency,
                &self.counterparty_name,
                &self.counterparty_iban,
                &self.counterparty_account,
                &self.end_to_end_id,
                &self.bank_transaction_code,
                &self.balance,
            ]
            .into_iter()
            .flatten(),
        );
        cols.extend(self.remittance.iter().chain(&self.additional_info));
        cols.extend(self.status.as_ref().map(|s| &s.column));
        cols
    }

    /// Checks the mapping itself (before reading any data).
    pub fn validate(&self) -> Result<(), ParseError> {
        let err = |m: String| Err(ParseError::new(format!("CSV mapping: {m}")));
        if !self.delimiter.is_ascii() || !self.quote.is_ascii() || self.delimiter == self.quote {
            return err("delimiter and quote must be two different ASCII characters".into());
        }
        if !matches!(self.decimal_separator, '.' | ',') {
            return err(format!("decimal separator must be '.' or ',', not '{}'", self.decimal_separator));
        }
        if self.thousands_separator == Some(self.decimal_separator) {
            return err("thousands separator equals the decimal separator".into());
        }
        if let Some(c) = &self.default_currency {
            check_currency(c).map_err(|m| ParseError::new(format!("CSV mapping: default_currency: {m}")))?;
        }
        if !self.has_header && self.all_columns().iter().any(|c| matches!(c, Column::Name(_))) {
            return err("columns given by name need has_header = true".into());
        }
        if StrftimeItems::new(&self.date_format).parse().is_err() {
            return err(format!("invalid date_format '{}'", self.date_format));
        }
        if self.declared_count.as_deref().is_some_and(|p| p.matches("{n}").count() != 1) {
            return err("declared_count must contain {n} once".into());
        }
        if self.all_columns().len() > 64 || self.totals_markers.len() > 64 {
            return err("too many columns or markers".into());
        }
        Ok(())
    }

    /// Whether `row` (header cells) holds every column a line needs.
    pub(super) fn is_header(&self, row: &[String]) -> bool {
        self.required_columns().iter().all(|c| position(c, row).is_some())
    }

    /// What a header row must hold, for messages.
    pub(super) fn required_names(&self) -> String {
        self.required_columns().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
}

/// Column positions after reading the header.
pub(super) struct Resolved {
    pub line_id: Option<usize>,
    pub account: Option<usize>,
    pub booking_date: usize,
    pub value_date: Option<usize>,
    pub amount: ResolvedAmount,
    pub currency: Option<usize>,
    pub counterparty_name: Option<usize>,
    pub counterparty_iban: Option<usize>,
    pub counterparty_account: Option<usize>,
    pub remittance: Vec<usize>,
    pub end_to_end_id: Option<usize>,
    pub bank_transaction_code: Option<usize>,
    pub additional_info: Vec<usize>,
    pub balance: Option<usize>,
    pub status: Option<usize>,
}

pub(super) enum ResolvedAmount {
    Signed(usize),
    DebitCredit(usize, usize),
    Indicator(usize, usize),
}

/// Where a column is in `header` (normalised names); an index is taken as it is.
fn position(c: &Column, header: &[String]) -> Option<usize> {
    match c {
        Column::Index(i) => Some(*i),
        Column::Name(n) => {
            let key = header_key(n);
            header.iter().position(|h| *h == key)
        }
    }
}

/// Resolves the mapping against the header (`None`: no header, all columns by index). Required
/// columns missing are an error; optional ones are left out, each with a warning in `missing`.
pub(super) fn resolve(
    m: &CsvMapping,
    header: Option<&[String]>,
    line: u64,
    missing: &mut Vec<String>,
) -> Result<Resolved, ParseError> {
    let find = |c: &Column| -> Result<usize, ParseError> {
        match header {
            None => match c {
                Column::Index(i) => Ok(*i),
                Column::Name(n) => Err(ParseError::at_line(line, format!("column '{n}' needs a header row"))),
            },
            Some(h) => position(c, h).ok_or_else(|| {
                ParseError::at_line(
                    line,
                    format!("column {c} not found in header (columns: {})", truncate(&h.join(", "), 300)),
                )
            }),
        }
    };
    let mut opt = |c: &Option<Column>| -> Option<usize> {
        let c = c.as_ref()?;
        match find(c) {
            Ok(i) => Some(i),
            Err(_) => {
                missing.push(format!("line {line}: column {c} is not in the header; not read"));
                None
            }
        }
    };
    let line_id = opt(&m.line_id);
    let account = opt(&m.account);
    let value_date = opt(&m.value_date);
    let currency = opt(&m.currency);
    let counterparty_name = opt(&m.counterparty_name);
    let counterparty_iban = opt(&m.counterparty_iban);
    let counterparty_account = opt(&m.counterparty_account);
    let end_to_end_id = opt(&m.end_to_end_id);
    let bank_transaction_code = opt(&m.bank_transaction_code);
    let balance = opt(&m.balance);
    let status = opt(&m.status.as_ref().map(|s| s.column.clone()));
    let remittance = m.remittance.iter().filter_map(|c| opt(&Some(c.clone()))).collect();
    let additional_info = m.additional_info.iter().filter_map(|c| opt(&Some(c.clone()))).collect();
    Ok(Resolved {
        line_id,
        account,
        booking_date: find(&m.booking_date)?,
        value_date,
        amount: match &m.amount {
            AmountColumns::Signed { amount, .. } => ResolvedAmount::Signed(find(amount)?),
            AmountColumns::DebitCredit { debit, credit } => ResolvedAmount::DebitCredit(find(debit)?, find(credit)?),
            AmountColumns::Indicator { amount, indicator, .. } => {
                ResolvedAmount::Indicator(find(amount)?, find(indicator)?)
            }
        },
        currency,
        counterparty_name,
        counterparty_iban,
        counterparty_account,
        remittance,
        end_to_end_id,
        bank_transaction_code,
        additional_info,
        balance,
        status,
    })
}
