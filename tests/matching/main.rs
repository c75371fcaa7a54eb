//! The matching engine (src/domain/matching) on hand-made books, one rule at a time.

mod rules;
