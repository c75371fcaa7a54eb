//! Ledger documents: their kinds, how their open amount decides their status, and which way
//! they move the customer's balance.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    Invoice,
    CreditNote,
    Payment,
    Adjustment,
}

impl DocType {
    pub const ALL: [DocType; 4] = [DocType::Invoice, DocType::CreditNote, DocType::Payment, DocType::Adjustment];

    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Invoice => "invoice",
            DocType::CreditNote => "credit_note",
            DocType::Payment => "payment",
            DocType::Adjustment => "adjustment",
        }
    }
    pub fn parse(s: &str) -> Option<DocType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Invoices raise what the customer owes; credit notes and payments lower it. Adjustments
    /// carry their own sign.
    pub fn balance_sign(self) -> Decimal {
        match self {
            DocType::Invoice | DocType::Adjustment => Decimal::ONE,
            DocType::CreditNote | DocType::Payment => Decimal::NEGATIVE_ONE,
        }
    }
    /// Only adjustments may be negative; everything else is a positive amount.
    pub fn allows_negative(self) -> bool {
        self == DocType::Adjustment
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    Open,
    PartiallyPaid,
    Paid,
    Cancelled,
}

impl DocStatus {
    pub const ALL: [DocStatus; 4] = [DocStatus::Open, DocStatus::PartiallyPaid, DocStatus::Paid, DocStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Open => "open",
            DocStatus::PartiallyPaid => "partially_paid",
            DocStatus::Paid => "paid",
            DocStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<DocStatus> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Status follows from how much is still open (amount and open amount share a sign).
    pub fn from_open_amount(amount: Decimal, open_amount: Decimal) -> DocStatus {
        if open_amount.is_zero() {
            DocStatus::Paid
        } else if open_amount == amount {
            DocStatus::Open
        } else {
            DocStatus::PartiallyPaid
        }
    }
}

/// The effect of a document's open amount on the customer's balance.
pub fn balance_effect(doc_type: DocType, open_amount: Decimal) -> Decimal {
    doc_type.balance_sign() * open_amount
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    mod rust_decimal_macros_free {
        pub fn dec(s: &str) -> rust_decimal::Decimal {
            s.parse().unwrap()
        }
    }

    #[test]
    fn status_follows_open_amount() {
        assert_eq!(DocStatus::from_open_amount(dec("100"), dec("100")), DocStatus::Open);
        assert_eq!(DocStatus::from_open_amount(dec("100"), dec("40")), DocStatus::PartiallyPaid);
        assert_eq!(DocStatus::from_open_amount(dec("100"), dec("0")), DocStatus::Paid);
    }

    #[test]
    fn balance_signs() {
        assert_eq!(balance_effect(DocType::Invoice, dec("10")), dec("10"));
        assert_eq!(balance_effect(DocType::CreditNote, dec("10")), dec("-10"));
        assert_eq!(balance_effect(DocType::Payment, dec("10")), dec("-10"));
        assert_eq!(balance_effect(DocType::Adjustment, dec("-3")), dec("-3"));
    }
}
