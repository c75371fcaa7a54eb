//! Collection work: the tasks dunning levels give people, the contacts they log and the
//! promises to pay they record; how a task is assigned and when a promise is kept or broken.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A closed set of snake_case words, the same in JSON and in PostgreSQL.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == text)
            }

            /// The words, for error messages.
            pub fn list() -> String {
                [$($text),+].join(", ")
            }
        }
    };
}

words!(
    /// What a collection task asks a person to do.
    TaskKind { Call => "call", Email => "email", Letter => "letter", LegalLetter => "legal_letter", StopSupply => "stop_supply" }
);
words!(TaskStatus { Open => "open", Done => "done", Cancelled => "cancelled" });
words!(
    /// Why the task exists: a level reached, a level's repeated action due again, a broken promise.
    TaskSource { LevelReached => "level_reached", LevelRepeat => "level_repeat", BrokenPromise => "broken_promise" }
);
words!(ContactChannel { Phone => "phone", Email => "email", Letter => "letter", Visit => "visit", Portal => "portal", Other => "other" });
words!(
    ContactOutcome {
        Reached => "reached", PromiseToPay => "promise_to_pay", Refused => "refused",
        WrongContact => "wrong_contact", NoAnswer => "no_answer",
    }
);
words!(PromiseStatus { Pending => "pending", Kept => "kept", PartiallyKept => "partially_kept", Broken => "broken" });
words!(
    /// Who gets a new task: the customer's owner (else the team in turn), or always the team in turn.
    AssignmentRule { CustomerOwner => "customer_owner", RoundRobin => "round_robin" }
);
words!(
    /// What a broken (or only partly kept) promise leads to.
    BrokenPromiseAction { FollowUpTask => "follow_up_task", RaiseLevel => "raise_level" }
);

/// The task a dunning level's older single `action` stands for (a reminder is an e-mail).
pub fn task_kind_of_action(action: &str) -> Option<TaskKind> {
    match action {
        "reminder" => Some(TaskKind::Email),
        other => TaskKind::parse(other),
    }
}

/// Hands out assignees for the tasks of one run in a fixed order: the owner when the rule says
/// so and there is one, else the next team member (the position carries over between runs).
#[derive(Debug, Clone)]
pub struct Assigner {
    pub rule: AssignmentRule,
    pub team: Vec<Uuid>,
    /// Index of the next team member.
    pub next: usize,
}

impl Assigner {
    pub fn assign(&mut self, owner: Option<Uuid>) -> Option<Uuid> {
        if let (AssignmentRule::CustomerOwner, Some(owner)) = (self.rule, owner) {
            return Some(owner);
        }
        if self.team.is_empty() {
            return None;
        }
        let user = self.team[self.next % self.team.len()];
        self.next = (self.next + 1) % self.team.len();
        Some(user)
    }
}

/// A promise's status given what was paid toward it: kept as soon as the amount is covered;
/// once `today` is past the promised date, partially kept (something came) or broken; else
/// still pending.
pub fn promise_status(amount: Decimal, paid: Decimal, promised_date: NaiveDate, today: NaiveDate) -> PromiseStatus {
    if paid >= amount {
        PromiseStatus::Kept
    } else if today <= promised_date {
        PromiseStatus::Pending
    } else if paid > Decimal::ZERO {
        PromiseStatus::PartiallyKept
    } else {
        PromiseStatus::Broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn promises_are_kept_pending_partly_kept_or_broken() {
        let (amount, due) = (Decimal::from(100), d("2026-07-10"));
        assert_eq!(promise_status(amount, Decimal::from(100), due, d("2026-07-01")), PromiseStatus::Kept);
        assert_eq!(promise_status(amount, Decimal::from(40), due, d("2026-07-10")), PromiseStatus::Pending);
        assert_eq!(promise_status(amount, Decimal::from(40), due, d("2026-07-11")), PromiseStatus::PartiallyKept);
        assert_eq!(promise_status(amount, Decimal::ZERO, due, d("2026-07-11")), PromiseStatus::Broken);
    }

    #[test]
    fn round_robin_takes_turns_and_owners_come_first() {
        let (a, b, owner) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(9));
        let mut rr = Assigner { rule: AssignmentRule::CustomerOwner, team: vec![a, b], next: 1 };
        assert_eq!(rr.assign(Some(owner)), Some(owner));
        assert_eq!([rr.assign(None), rr.assign(None), rr.assign(None)], [Some(b), Some(a), Some(b)]);
        rr.rule = AssignmentRule::RoundRobin;
        assert_eq!(rr.assign(Some(owner)), Some(a));
        let mut nobody = Assigner { rule: AssignmentRule::RoundRobin, team: vec![], next: 0 };
        assert_eq!(nobody.assign(Some(owner)), None);
    }

    #[test]
    fn older_actions_map_to_task_kinds() {
        assert_eq!(task_kind_of_action("reminder"), Some(TaskKind::Email));
        assert_eq!(task_kind_of_action("legal_letter"), Some(TaskKind::LegalLetter));
        assert_eq!(task_kind_of_action("shout"), None);
    }
}
