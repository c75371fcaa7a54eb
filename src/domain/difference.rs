//! Differences between our books and a customer's, and the life of each one until it is closed
//! with the customer: open -> sent -> confirmed | disputed -> resolved (or cancelled).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    MissingOnCustomerSide,
    MissingOnOurSide,
    AmountMismatch,
    DuplicateOnCustomerSide,
    DuplicateOnOurSide,
    DateMismatch,
}

impl DifferenceKind {
    pub const ALL: [DifferenceKind; 6] = [
        DifferenceKind::MissingOnCustomerSide,
        DifferenceKind::MissingOnOurSide,
        DifferenceKind::AmountMismatch,
        DifferenceKind::DuplicateOnCustomerSide,
        DifferenceKind::DuplicateOnOurSide,
        DifferenceKind::DateMismatch,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::MissingOnCustomerSide => "missing_on_customer_side",
            DifferenceKind::MissingOnOurSide => "missing_on_our_side",
            DifferenceKind::AmountMismatch => "amount_mismatch",
            DifferenceKind::DuplicateOnCustomerSide => "duplicate_on_customer_side",
            DifferenceKind::DuplicateOnOurSide => "duplicate_on_our_side",
            DifferenceKind::DateMismatch => "date_mismatch",
        }
    }
    pub fn parse(s: &str) -> Option<DifferenceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceStatus {
    Open,
    Sent,
    Confirmed,
    Disputed,
    Resolved,
    Cancelled,
}

impl DifferenceStatus {
    pub const ALL: [DifferenceStatus; 6] = [
        DifferenceStatus::Open,
        DifferenceStatus::Sent,
        DifferenceStatus::Confirmed,
        DifferenceStatus::Disputed,
        DifferenceStatus::Resolved,
        DifferenceStatus::Cancelled,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceStatus::Open => "open",
            DifferenceStatus::Sent => "sent",
            DifferenceStatus::Confirmed => "confirmed",
            DifferenceStatus::Disputed => "disputed",
            DifferenceStatus::Resolved => "resolved",
            DifferenceStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<DifferenceStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Still being worked on with the customer (not resolved or cancelled).
    pub fn is_active(self) -> bool {
        !matches!(self, DifferenceStatus::Resolved | DifferenceStatus::Cancelled)
    }

    /// The allowed transitions. Resolving straight from `open` covers a difference we fix on our
    /// side without asking (e.g. booking a payment we had missed); a disputed difference may
    /// still be confirmed once the customer agrees.
    pub fn can_become(self, next: DifferenceStatus) -> bool {
        use DifferenceStatus::*;
        matches!(
            (self, next),
            (Open, Sent)
                | (Open, Resolved)
                | (Open, Cancelled)
                | (Sent, Confirmed)
                | (Sent, Disputed)
                | (Sent, Cancelled)
                | (Confirmed, Resolved)
                | (Disputed, Confirmed)
                | (Disputed, Resolved)
                | (Disputed, Cancelled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_only_the_documented_paths() {
        use DifferenceStatus::*;
        assert!(Open.can_become(Sent) && Sent.can_become(Disputed) && Disputed.can_become(Resolved));
        assert!(Sent.can_become(Confirmed) && Confirmed.can_become(Resolved));
        assert!(!Open.can_become(Confirmed), "the customer answers only what was sent");
        assert!(!Resolved.can_become(Open) && !Cancelled.can_become(Sent));
        assert!(!Confirmed.can_become(Disputed));
        for s in DifferenceStatus::ALL {
            assert!(!s.can_become(s), "{s:?} to itself");
            assert_eq!(DifferenceStatus::parse(s.as_str()), Some(s));
        }
        for k in DifferenceKind::ALL {
            assert_eq!(DifferenceKind::parse(k.as_str()), Some(k));
        }
    }
}
