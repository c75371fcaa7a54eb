//! The matching engine (src/domain/cash_application) on hand-made books, one rule at a time.

mod groups;
mod learned;
mod rules;

mod user_rules;
