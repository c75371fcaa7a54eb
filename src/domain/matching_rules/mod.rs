//! Matching rules as data: what a finance team teaches cash application on top of the built-in
//! evidence (references, IBAN, names, amounts, subset sums, FX).
//!
//! A rule is a stored [`RuleDefinition`]: conditions on the bank line (`when`), conditions on the
//! candidate documents (`candidates`) and what to do (`then`). A tenant keeps an ordered list of
//! rules, each versioned; every allocation a rule shaped names the rule and its version.
//!
//! Files by concept:
//! * this file: the stored shape, as the API reads and writes it, and its validation;
//! * [`compiled`]: rules compiled once per run (patterns built, codes resolved) and evaluated per line
//!   into [`compiled::LineEffects`], which the engine applies.

pub mod compiled;
pub mod templates;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::document::DocType;

/// Longest pattern accepted, in bytes: patterns are compiled once per run, but a megabyte of
/// alternation would still cost memory and time for nothing.
pub const MAX_PATTERN_LEN: usize = 500;
/// Most entries in one list condition (accounts, currencies, codes, customers).
pub const MAX_LIST_LEN: usize = 200;
/// Most actions in one rule.
pub const MAX_ACTIONS: usize = 10;

/// What a rule says: `when` a bank line looks like this, among `candidates` like these, do `then`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// Conditions on the bank line; all given ones must hold (an empty block matches every credit line).
    #[serde(default)]
    pub when: LineConditions,
    /// Conditions on candidate documents, used by the `restrict_candidates` action.
    #[serde(default)]
    pub candidates: CandidateConditions,
    /// What to do when the line matches, in order (at least one).
    pub then: Vec<Action>,
}

/// Credit (money in) or debit (money out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    /// Money received.
    Credit,
    /// Money paid out.
    Debit,
}

/// Conditions on a bank line. Every given condition must hold; lists hold when any entry matches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineConditions {
    /// The line's bank account (its IBAN or account id, as registered under `/bank-accounts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bank_accounts: Vec<String>,
    /// Smallest absolute amount, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub amount_min: Option<Decimal>,
    /// Largest absolute amount, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub amount_max: Option<Decimal>,
    /// Credit or debit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<Sign>,
    /// ISO currency codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub currencies: Vec<String>,
    /// Pattern (regular expression, case-insensitive) the payer's name must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_name: Option<String>,
    /// Pattern the payer's IBAN or account number (spaces removed, upper case) must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_iban: Option<String>,
    /// Pattern the remittance text (with the structured creditor reference) must contain. Its first
    /// capture group (or a group named `ref`) is the captured text the actions use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remittance: Option<String>,
    /// Pattern the end-to-end id must contain; captures as `remittance` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_id: Option<String>,
    /// Bank transaction codes (camt domain/family/sub-family, BAI2 type codes, MT940 `N` codes);
    /// an entry matches a line's code that starts with it, ignoring case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bank_transaction_codes: Vec<String>,
    /// First booking date, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked_from: Option<NaiveDate>,
    /// Last booking date, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked_to: Option<NaiveDate>,
}

/// Conditions on the documents a line may be applied to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateConditions {
    /// Customer codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<String>,
    /// Customer group codes (`/customer-groups`): documents of any member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_groups: Vec<String>,
    /// Document types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub document_types: Vec<DocType>,
    /// Due no earlier than this many days after the booking date (negative: before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_from_days: Option<i32>,
    /// Due no later than this many days after the booking date (negative: before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_to_days: Option<i32>,
}

/// Where captured text is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureFrom {
    /// The `remittance` pattern's capture.
    Remittance,
    /// The `end_to_end_id` pattern's capture.
    EndToEndId,
}

/// What a rule does when its conditions hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The captured text is a document number (or a purchase order / contract number a document
    /// carries as its reference): look it up as if it were quoted in full.
    DocumentReference {
        /// Which pattern's capture.
        from: CaptureFrom,
        /// Text put before the capture before the lookup (e.g. `INV-` when payers quote only the number).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// The captured text is a customer code or a name the customer is known by: the payer is that customer.
    CustomerReference {
        /// Which pattern's capture.
        from: CaptureFrom,
    },
    /// The payer is this customer (by code), as strongly as a known IBAN.
    AssignCustomer {
        /// Customer code.
        customer: String,
    },
    /// Only documents that meet the rule's `candidates` conditions may be allocated.
    RestrictCandidates,
    /// Documents of every customer in the payer's customer group are candidates (a parent pays for
    /// its subsidiaries), as if the payer were each of them.
    WidenToGroup,
    /// Tolerances for this line instead of the tenant's.
    SetTolerance {
        /// Shortfall accepted as a fee, as a fraction (`0.02` = 2%).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        percent: Option<Decimal>,
        /// Shortfall accepted as a fee, in the tenant's base currency.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        absolute: Option<Decimal>,
        /// Accepted FX gap, as a fraction.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        fx_percent: Option<Decimal>,
    },
    /// A shortfall of at most `limit` (in the document's currency) left open on a document the line
    /// otherwise pays is written off with `reason`; `rate`, when given, is what the shortfall must
    /// equal as a fraction of the document (withholding tax 0.10, a VAT rate difference 0.03, ...).
    WriteOffRemainder {
        /// Largest amount written off.
        #[schema(value_type = String)]
        limit: Decimal,
        /// Why, as the write-off records it.
        reason: WriteOffKind,
        /// Expected shortfall as a fraction of the document amount, within one minor unit per document.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        rate: Option<Decimal>,
    },
    /// Never apply automatically: whatever is found is proposed for a person.
    ProposeOnly,
    /// The line is not a customer receipt to apply (internal transfer, bank fee, card settlement
    /// handled elsewhere): it is marked ignored with this reason.
    Ignore {
        /// Shown on the line.
        reason: String,
    },
}

/// Why a rule writes a remainder off, as the write-off records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteOffKind {
    /// A fee the bank or payment provider kept.
    BankFee,
    /// An early-payment discount.
    Discount,
    /// An exchange-rate difference.
    Fx,
    /// Rounding, withholding tax, a tax-rate difference, or another reason the rule names.
    Manual,
}

/// A definition that cannot be stored, with the JSON path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// E.g. `when.remittance`.
    pub field: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> RuleError {
    RuleError { field: field.to_string(), message: message.into() }
}

impl RuleDefinition {
    /// Checks everything a run would otherwise trip over: patterns compile within limits, lists
    /// and amounts are sane, captures exist where an action reads one.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.then.is_empty() {
            return Err(err("then", "a rule needs at least one action"));
        }
        if self.then.len() > MAX_ACTIONS {
            return Err(err("then", format!("at most {MAX_ACTIONS} actions")));
        }
        self.when.validate()?;
        self.candidates.validate()?;
        for (i, a) in self.then.iter().enumerate() {
            self.validate_action(i, a)?;
        }
        let ignores = self.then.iter().any(|a| matches!(a, Action::Ignore { .. }));
        if ignores && self.then.len() > 1 {
            return Err(err("then", "`ignore` cannot be combined with other actions"));
        }
        if self.then.iter().any(|a| matches!(a, Action::RestrictCandidates)) && self.candidates.is_empty() {
            return Err(err("candidates", "`restrict_candidates` needs at least one candidate condition"));
        }
        Ok(())
    }

    fn validate_action(&self, i: usize, a: &Action) -> Result<(), RuleError> {
        let field = format!("then[{i}]");
        match a {
            Action::DocumentReference { from, prefix } => {
                self.needs_capture(&field, *from)?;
                if prefix.as_ref().is_some_and(|p| p.len() > 40) {
                    return Err(err(&field, "prefix: at most 40 characters"));
                }
            }
            Action::CustomerReference { from } => self.needs_capture(&field, *from)?,
            Action::AssignCustomer { customer } => {
                if customer.trim().is_empty() || customer.len() > 100 {
                    return Err(err(&field, "customer: a customer code of 1 to 100 characters"));
                }
            }
            Action::SetTolerance { percent, absolute, fx_percent } => {
                for (name, v) in [("percent", percent), ("fx_percent", fx_percent)] {
                    if v.is_some_and(|v| v < Decimal::ZERO || v > Decimal::new(5, 1)) {
                        return Err(err(&field, format!("{name}: a fraction between 0 and 0.5")));
                    }
                }
                if absolute.is_some_and(|v| v < Decimal::ZERO) {
                    return Err(err(&field, "absolute: not negative"));
                }
                if percent.is_none() && absolute.is_none() && fx_percent.is_none() {
                    return Err(err(&field, "set at least one of percent, absolute, fx_percent"));
                }
            }
            Action::WriteOffRemainder { limit, rate, .. } => {
                if *limit <= Decimal::ZERO {
                    return Err(err(&field, "limit: greater than zero"));
                }
                if rate.is_some_and(|r| r <= Decimal::ZERO || r >= Decimal::ONE) {
                    return Err(err(&field, "rate: a fraction between 0 and 1"));
                }
            }
            Action::Ignore { reason } => {
                if reason.trim().is_empty() || reason.len() > 200 {
                    return Err(err(&field, "reason: 1 to 200 characters"));
                }
            }
            Action::RestrictCandidates | Action::WidenToGroup | Action::ProposeOnly => {}
        }
        Ok(())
    }

    fn needs_capture(&self, field: &str, from: CaptureFrom) -> Result<(), RuleError> {
        let pattern = match from {
            CaptureFrom::Remittance => &self.when.remittance,
            CaptureFrom::EndToEndId => &self.when.end_to_end_id,
        };
        let Some(p) = pattern else {
            let which = match from {
                CaptureFrom::Remittance => "when.remittance",
                CaptureFrom::EndToEndId => "when.end_to_end_id",
            };
            return Err(err(field, format!("reads a capture, but {which} is not set")));
        };
        // Validated (and compiled) in LineConditions::validate before actions are checked.
        let re = compiled::build_pattern(p).map_err(|m| err(field, m))?;
        if re.captures_len() < 2 {
            return Err(err(field, "the pattern it reads has no capture group: wrap the reference in ( )"));
        }
        Ok(())
    }
}

impl LineConditions {
    fn validate(&self) -> Result<(), RuleError> {
        let lists: [(&str, &Vec<String>); 3] = [
            ("when.bank_accounts", &self.bank_accounts),
            ("when.currencies", &self.currencies),
            ("when.bank_transaction_codes", &self.bank_transaction_codes),
        ];
        for (name, list) in lists {
            check_list(name, list)?;
        }
        for c in &self.currencies {
            if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(err("when.currencies", format!("'{c}' is not an ISO currency code")));
            }
        }
        if let (Some(a), Some(b)) = (self.amount_min, self.amount_max) {
            if a > b {
                return Err(err("when.amount_min", "greater than amount_max"));
            }
        }
        if self.amount_min.is_some_and(|a| a < Decimal::ZERO) || self.amount_max.is_some_and(|a| a < Decimal::ZERO) {
            return Err(err("when.amount_min", "amounts are absolute: not negative (use `sign`)"));
        }
        if let (Some(a), Some(b)) = (self.booked_from, self.booked_to) {
            if a > b {
                return Err(err("when.booked_from", "after booked_to"));
            }
        }
        let patterns = [
            ("when.counterparty_name", &self.counterparty_name),
            ("when.counterparty_iban", &self.counterparty_iban),
            ("when.remittance", &self.remittance),
            ("when.end_to_end_id", &self.end_to_end_id),
        ];
        for (name, p) in patterns {
            if let Some(p) = p {
                compiled::build_pattern(p).map_err(|m| err(name, m))?;
            }
        }
        Ok(())
    }
}

impl CandidateConditions {
    /// No condition given.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
            && self.customer_groups.is_empty()
            && self.document_types.is_empty()
            && self.due_from_days.is_none()
            && self.due_to_days.is_none()
    }

    fn validate(&self) -> Result<(), RuleError> {
        check_list("candidates.customers", &self.customers)?;
        check_list("candidates.customer_groups", &self.customer_groups)?;
        if let (Some(a), Some(b)) = (self.due_from_days, self.due_to_days) {
            if a > b {
                return Err(err("candidates.due_from_days", "greater than due_to_days"));
            }
        }
        for (name, v) in
            [("candidates.due_from_days", self.due_from_days), ("candidates.due_to_days", self.due_to_days)]
        {
            if v.is_some_and(|d| d.unsigned_abs() > 3660) {
                return Err(err(name, "within 3660 days of the booking date"));
            }
        }
        Ok(())
    }
}

fn check_list(name: &str, list: &[String]) -> Result<(), RuleError> {
    if list.len() > MAX_LIST_LEN {
        return Err(err(name, format!("at most {MAX_LIST_LEN} entries")));
    }
    if list.iter().any(|s| s.trim().is_empty() || s.len() > 100) {
        return Err(err(name, "entries of 1 to 100 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
