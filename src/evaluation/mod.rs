//! Evaluation commands: load a generated data set (`duizhang demo-data`) through the real import paths into a
//! fresh database, run the real use case, and score the outcome against the generator's ground truth. They are
//! measuring tools for the matching rules, not part of serving; the CLI (`eval-matching`, `eval-statements`) and
//! the tests that guard the scores call them.

pub mod cash_application;
pub mod customer_statements;
pub mod two_months;
