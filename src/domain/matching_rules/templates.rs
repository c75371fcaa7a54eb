//! Preset rules a tenant adapts and enables: each template has a stable key, a documented
//! example bank line and typed parameters with defaults, and makes a [`RuleDefinition`] from
//! them. `docs/matching-rules.md` has one section per template.
//!
//! Files by concept: this file holds the shapes and the parameter checks; the templates
//! themselves are grouped by what they read: [`references`] (numbers quoted in the payment
//! text), [`payers`] (who pays: payment services, acquirers, group companies, third parties),
//! [`amounts`] (shortfalls and tolerances) and [`skips`] (lines to ignore or only propose).

mod amounts;
mod payers;
mod references;
mod skips;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    compiled, Action, CandidateConditions, CaptureFrom, LineConditions, RuleDefinition, RuleError, Sign, WriteOffKind,
};
use crate::domain::cash_application::LineInput;

/// What a template is for, to group them in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    /// A document, contract or order number quoted in a structured or unstructured field.
    References,
    /// Conventions of the 摘要 (remittance text) of Chinese banks.
    ChineseBankText,
    /// Payouts of PayPal, Stripe, Alipay, WeChat Pay: one credit for many invoices, minus fees.
    PaymentServices,
    /// Card acquirer settlements.
    CardSettlements,
    /// Withholding tax and VAT rate differences.
    Tax,
    /// Discounts, bank fees and rounding: small shortfalls written off.
    DiscountsAndFees,
    /// Foreign-currency receipts.
    Fx,
    /// Someone else pays for the customer: a group company, a factor, a collection agency.
    ThirdPartyPayers,
    /// Lines that are not customer receipts.
    Ignore,
    /// Lines a person should look at before anything is applied.
    Review,
}

/// The type of a parameter and its limits.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// Text of 1 to `max` characters (a prefix, a reason).
    Text {
        /// Longest text, in characters.
        max: usize,
    },
    /// A pattern (regular expression, case-insensitive) as rules use it.
    Pattern,
    /// A decimal from `min` to `max` inclusive, as a JSON string (or number).
    Decimal {
        /// Smallest value.
        min: Decimal,
        /// Largest value.
        max: Decimal,
    },
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A list of ISO currency codes.
    Currencies,
    /// A list of short texts (IBANs, bank transaction codes).
    Texts,
    /// A customer code.
    Customer,
}

impl ParamKind {
    /// The name the API shows.
    pub fn name(&self) -> &'static str {
        match self {
            ParamKind::Text { .. } => "text",
            ParamKind::Pattern => "pattern",
            ParamKind::Decimal { .. } => "decimal",
            ParamKind::Bool => "boolean",
            ParamKind::Choice(_) => "choice",
            ParamKind::Currencies => "currencies",
            ParamKind::Texts => "texts",
            ParamKind::Customer => "customer",
        }
    }
}

/// One parameter of a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its key in `parameters`.
    pub key: &'static str,
    /// What it does, in a sentence.
    pub description: &'static str,
    /// Its type and limits.
    pub kind: ParamKind,
    /// Used when the parameter is not given; `None`: the parameter is optional and unused unless given.
    pub default: Option<Value>,
}

/// A parameter's value, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Text, pattern, choice or customer code.
    Text(String),
    /// A decimal.
    Decimal(Decimal),
    /// A flag.
    Bool(bool),
    /// A list of texts or currency codes.
    List(Vec<String>),
}

/// The checked parameters a template builds its rule from (defaults filled in; optional ones
/// left out when not given).
#[derive(Debug, Clone, Default)]
pub struct Args(BTreeMap<&'static str, Arg>);

impl Args {
    /// A text parameter, if set.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(Arg::Text(s)) => Some(s),
            _ => None,
        }
    }
    /// A decimal parameter (zero when unset: every decimal parameter has a default).
    pub fn dec(&self, key: &str) -> Decimal {
        match self.0.get(key) {
            Some(Arg::Decimal(d)) => *d,
            _ => Decimal::ZERO,
        }
    }
    /// A decimal parameter, if set.
    pub fn dec_opt(&self, key: &str) -> Option<Decimal> {
        match self.0.get(key) {
            Some(Arg::Decimal(d)) => Some(*d),
            _ => None,
        }
    }
    /// A flag (false when unset).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(Arg::Bool(true)))
    }
    /// A list parameter (empty when unset).
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Arg::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }
}

/// The fields of a bank line a template's example gives, as a bank file carries them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct TemplateExampleLine {
    /// Payer name.
    pub counterparty_name: Option<String>,
    /// Payer IBAN or account number.
    pub counterparty_iban: Option<String>,
    /// Remittance text (摘要).
    pub remittance: Option<String>,
    /// Structured creditor reference (ISO 11649 `RF...`).
    pub creditor_reference: Option<String>,
    /// End-to-end id.
    pub end_to_end_id: Option<String>,
    /// Signed amount (credits positive).
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// ISO currency code.
    pub currency: String,
    /// Bank transaction code.
    pub bank_transaction_code: Option<String>,
}

/// The booking date of every example line.
const EXAMPLE_DATE: (i32, u32, u32) = (2026, 11, 20);

impl TemplateExampleLine {
    /// The line as cash application reads it.
    pub fn to_line_input(&self) -> LineInput {
        let (y, m, d) = EXAMPLE_DATE;
        LineInput {
            id: Uuid::nil(),
            bank_reference: None,
            booking_date: NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default(),
            amount: self.amount,
            currency: self.currency.as_str().into(),
            counterparty_name: self.counterparty_name.as_deref().map(Box::from),
            counterparty_iban: self.counterparty_iban.as_deref().map(Box::from),
            remittance: self.remittance.as_deref().map(Box::from),
            creditor_reference: self.creditor_reference.as_deref().map(Box::from),
            end_to_end_id: self.end_to_end_id.as_deref().map(Box::from),
            bank_account: None,
            bank_transaction_code: self.bank_transaction_code.as_deref().map(Box::from),
        }
    }
}

/// What a rule does to a line, as a template documents it for its example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The captured text is looked up as this document reference.
    DocumentReference(String),
    /// The captured text names the customer.
    CustomerReference(String),
    /// The payer is this customer (code).
    AssignCustomer(String),
    /// Only proposed, never applied automatically.
    ProposeOnly,
    /// The line is ignored.
    Ignore,
    /// The payer's whole customer group is searched.
    WidenToGroup,
    /// Tolerances are set for the line.
    Tolerance,
    /// A remainder is written off for this reason.
    WriteOff(WriteOffKind),
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::DocumentReference(r) => write!(f, "document reference {r}"),
            Effect::CustomerReference(r) => write!(f, "customer reference {r}"),
            Effect::AssignCustomer(c) => write!(f, "payer is customer {c}"),
            Effect::ProposeOnly => f.write_str("proposed only, never applied automatically"),
            Effect::Ignore => f.write_str("ignored"),
            Effect::WidenToGroup => f.write_str("candidates across the payer's customer group"),
            Effect::Tolerance => f.write_str("tolerance set for the line"),
            Effect::WriteOff(kind) => {
                let kind = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string));
                write!(f, "remainder written off ({})", kind.unwrap_or_default())
            }
        }
    }
}

/// A preset rule.
#[derive(Debug, Clone)]
pub struct Template {
    /// Stable key (`POST /matching-rules/from-template` names it).
    pub key: &'static str,
    /// Default rule name.
    pub name: &'static str,
    /// What it is for.
    pub category: TemplateCategory,
    /// What it does and when to use it.
    pub description: &'static str,
    /// A bank line it is made for.
    pub example: TemplateExampleLine,
    /// What the rule does to the example line with the default parameters.
    pub example_effects: Vec<Effect>,
    /// Its parameters.
    pub parameters: Vec<Param>,
    /// With the defaults its conditions hold on every credit line (its actions only act on a
    /// specific shortfall); such rules belong after narrower ones.
    pub broad: bool,
    /// Makes the rule from checked parameters.
    build: fn(&Args) -> Result<RuleDefinition, RuleError>,
}

/// Every template, in the order the API lists them.
pub fn all() -> Vec<Template> {
    let mut out = references::templates();
    out.extend(payers::templates());
    out.extend(amounts::templates());
    out.extend(skips::templates());
    out
}

/// The template with this key.
pub fn find(key: &str) -> Option<Template> {
    all().into_iter().find(|t| t.key == key)
}

impl Template {
    /// The rule this template makes from `given` parameters (defaults for the rest). Errors name
    /// the field: `parameters.<key>`.
    pub fn instantiate(&self, given: &Map<String, Value>) -> Result<RuleDefinition, RuleError> {
        if let Some(unknown) = given.keys().find(|k| !self.parameters.iter().any(|p| p.key == k.as_str())) {
            let keys: Vec<&str> = self.parameters.iter().map(|p| p.key).collect();
            let takes = if keys.is_empty() { "no parameters".to_string() } else { keys.join(", ") };
            return Err(param_err(unknown, format!("unknown parameter; `{}` takes: {takes}", self.key)));
        }
        let mut args = BTreeMap::new();
        for p in &self.parameters {
            let value = match given.get(p.key) {
                Some(Value::Null) => None,
                Some(v) => Some(v),
                None => p.default.as_ref(),
            };
            if let Some(arg) = value.map(|v| p.parse(v)).transpose()?.flatten() {
                args.insert(p.key, arg);
            }
        }
        let definition = (self.build)(&Args(args))?;
        definition.validate().map_err(|e| RuleError {
            field: "parameters".into(),
            message: format!("the rule these parameters make is invalid at {}: {}", e.field, e.message),
        })?;
        Ok(definition)
    }
}

fn param_err(key: &str, message: impl Into<String>) -> RuleError {
    RuleError { field: format!("parameters.{key}"), message: message.into() }
}

impl Param {
    /// Checks a given (or default) value; `None` for an empty optional text or list (unused).
    fn parse(&self, v: &Value) -> Result<Option<Arg>, RuleError> {
        let fail = |m: String| param_err(self.key, m);
        let text = || v.as_str().map(str::trim).ok_or_else(|| fail(format!("expected {}", self.expects())));
        match &self.kind {
            ParamKind::Text { max } => {
                let s = text()?;
                if s.chars().count() > *max {
                    return Err(fail(format!("at most {max} characters")));
                }
                Ok((!s.is_empty()).then(|| Arg::Text(s.to_string())))
            }
            ParamKind::Pattern => {
                let s = text()?;
                if s.is_empty() {
                    return Ok(None);
                }
                compiled::build_pattern(s).map_err(fail)?;
                Ok(Some(Arg::Text(s.to_string())))
            }
            ParamKind::Customer => {
                let s = text()?;
                if s.chars().count() > 100 {
                    return Err(fail("a customer code of 1 to 100 characters".into()));
                }
                Ok((!s.is_empty()).then(|| Arg::Text(s.to_string())))
            }
            ParamKind::Choice(words) => {
                let s = text()?;
                if !words.contains(&s) {
                    return Err(fail(format!("one of {}", words.join(", "))));
                }
                Ok(Some(Arg::Text(s.to_string())))
            }
            ParamKind::Decimal { min, max } => {
                let d = match v {
                    Value::String(s) => Decimal::from_str(s.trim()).ok(),
                    Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
                    _ => None,
                }
                .ok_or_else(|| fail("expected a decimal, as a string (\"0.02\")".into()))?;
                if d < *min || d > *max {
                    return Err(fail(format!("between {min} and {max}")));
                }
                Ok(Some(Arg::Decimal(d.normalize())))
            }
            ParamKind::Bool => {
                v.as_bool().map(|b| Some(Arg::Bool(b))).ok_or_else(|| fail("expected true or false".into()))
            }
            ParamKind::Currencies | ParamKind::Texts => self.parse_list(v),
        }
    }

    fn parse_list(&self, v: &Value) -> Result<Option<Arg>, RuleError> {
        let fail = |m: String| param_err(self.key, m);
        let items = v.as_array().ok_or_else(|| fail(format!("expected {}", self.expects())))?;
        if items.len() > super::MAX_LIST_LEN {
            return Err(fail(format!("at most {} entries", super::MAX_LIST_LEN)));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let s = item.as_str().map(str::trim).unwrap_or_default();
            let ok = match self.kind {
                ParamKind::Currencies => s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()),
                _ => !s.is_empty() && s.chars().count() <= 100,
            };
            if !ok {
                let what =
                    if self.kind == ParamKind::Currencies { "an ISO currency code" } else { "1 to 100 characters" };
                return Err(param_err(&format!("{}[{i}]", self.key), format!("{item} is not {what}")));
            }
            let s = if self.kind == ParamKind::Currencies { s.to_ascii_uppercase() } else { s.to_string() };
            out.push(s);
        }
        Ok((!out.is_empty()).then_some(Arg::List(out)))
    }

    fn expects(&self) -> &'static str {
        match self.kind {
            ParamKind::Text { .. } | ParamKind::Customer | ParamKind::Choice(_) => "a string",
            ParamKind::Pattern => "a pattern (string)",
            ParamKind::Decimal { .. } => "a decimal string",
            ParamKind::Bool => "true or false",
            ParamKind::Currencies => "a list of currency codes",
            ParamKind::Texts => "a list of strings",
        }
    }
}

// Helpers the template files share.

fn credit() -> LineConditions {
    LineConditions { sign: Some(Sign::Credit), ..LineConditions::default() }
}

fn rule(when: LineConditions, then: Vec<Action>) -> RuleDefinition {
    RuleDefinition { when, candidates: CandidateConditions::default(), then }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_default()
}

fn document_reference(from: CaptureFrom, prefix: Option<&str>) -> Action {
    Action::DocumentReference { from, prefix: prefix.map(str::to_string) }
}

fn text(key: &'static str, description: &'static str, default: Option<&str>) -> Param {
    Param { key, description, kind: ParamKind::Text { max: 200 }, default: default.map(Value::from) }
}

fn pattern(key: &'static str, description: &'static str, default: Option<&str>) -> Param {
    Param { key, description, kind: ParamKind::Pattern, default: default.map(Value::from) }
}

fn decimal(key: &'static str, description: &'static str, default: &str, min: &str, max: &str) -> Param {
    Param {
        key,
        description,
        kind: ParamKind::Decimal { min: dec(min), max: dec(max) },
        default: Some(Value::from(default)),
    }
}

fn flag(key: &'static str, description: &'static str, default: bool) -> Param {
    Param { key, description, kind: ParamKind::Bool, default: Some(Value::Bool(default)) }
}

fn customer(description: &'static str) -> Param {
    Param { key: "customer", description, kind: ParamKind::Customer, default: None }
}

/// An example line: payer name, IBAN, remittance, end-to-end id, amount and currency, code.
fn line(
    name: Option<&str>,
    iban: Option<&str>,
    remittance: Option<&str>,
    end_to_end_id: Option<&str>,
    amount: &str,
    currency: &str,
    code: Option<&str>,
) -> TemplateExampleLine {
    TemplateExampleLine {
        counterparty_name: name.map(str::to_string),
        counterparty_iban: iban.map(str::to_string),
        remittance: remittance.map(str::to_string),
        creditor_reference: None,
        end_to_end_id: end_to_end_id.map(str::to_string),
        amount: dec(amount),
        currency: currency.to_string(),
        bank_transaction_code: code.map(str::to_string),
    }
}

/// Actions shared by the payment-service and third-party templates: a fee tolerance, the
/// customer when one is named, and propose-only when asked.
fn payer_actions(args: &Args, fee_key: &str) -> Vec<Action> {
    let mut then = Vec::new();
    if let Some(fee) = args.dec_opt(fee_key).filter(|f| !f.is_zero()) {
        then.push(Action::SetTolerance { percent: Some(fee), absolute: None, fx_percent: None });
    }
    if let Some(c) = args.text("customer") {
        then.push(Action::AssignCustomer { customer: c.to_string() });
    }
    if args.flag("propose_only") {
        then.push(Action::ProposeOnly);
    }
    then
}

/// A rule needs at least one action: a payer template whose options leave none says which to set.
fn needs_action(then: Vec<Action>, message: &str) -> Result<Vec<Action>, RuleError> {
    if then.is_empty() {
        return Err(RuleError { field: "parameters".into(), message: message.into() });
    }
    Ok(then)
}
