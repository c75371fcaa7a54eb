//! The other lines of the run: two payments of one amount for one customer, facing equal open invoices, cannot
//! be told apart (which one pays which invoice is not in the lines), so "the oldest first" only proposes then.

use std::collections::HashMap;

use super::super::names::normalize_name;
use super::build::{minor, normalize_iban};
use super::hypothesis::Ctx;
use super::Engine;
use crate::domain::cash_application::LineInput;

/// Lines of the run per (who pays, currency, amount), where there are several.
#[derive(Debug, Default)]
pub(super) struct RunLines {
    same_amount: HashMap<(String, String, i64), u32>,
}

impl Engine {
    /// The lines this run will decide (credits only count), so that a line knows whether another line of its
    /// amount may pay for the same customer. Without it every line is taken as the only one of its amount.
    pub fn set_run_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a LineInput>) {
        let mut same_amount = HashMap::new();
        for line in lines.into_iter().filter(|l| l.amount > rust_decimal::Decimal::ZERO) {
            for who in self.who_pays(line) {
                *same_amount.entry((who, line.currency.to_ascii_uppercase(), minor(line.amount))).or_insert(0u32) += 1;
            }
        }
        same_amount.retain(|_, n| *n > 1);
        self.run_lines = RunLines { same_amount };
    }

    /// Whether another line of the run, of the same amount and currency, may pay for `cust` (or comes from the
    /// same payer).
    pub(super) fn another_line_of_amount(&self, ctx: &Ctx, cust: u32) -> bool {
        if self.run_lines.same_amount.is_empty() {
            return false;
        }
        let (cur, amount) = (ctx.line.currency.to_ascii_uppercase(), minor(ctx.line.amount));
        let mut keys = self.who_pays(ctx.line);
        keys.push(format!("C{cust}"));
        keys.into_iter().any(|who| self.run_lines.same_amount.contains_key(&(who, cur.clone(), amount)))
    }

    /// Who a line pays for, as far as its payer data tells without matching: the customers its IBAN belongs to
    /// (master data, else learned facts), else those learned for its payer name, else the payer's IBAN or name.
    fn who_pays(&self, line: &LineInput) -> Vec<String> {
        let iban = line.counterparty_iban.as_deref().map(normalize_iban).filter(|i| !i.is_empty());
        if let Some(owners) = iban.as_deref().and_then(|i| self.iban_index.get(i)) {
            return owners.iter().map(|c| format!("C{c}")).collect();
        }
        let name = line.counterparty_name.as_deref().map(normalize_name).filter(|n| !n.is_empty());
        let learned = self.learned_payer_customers(iban.as_deref(), name.as_deref());
        if !learned.is_empty() {
            return learned.into_iter().map(|c| format!("C{c}")).collect();
        }
        match (iban, name) {
            (Some(i), _) => vec![format!("I:{i}")],
            (None, Some(n)) => vec![format!("N:{n}")],
            (None, None) => Vec::new(),
        }
    }
}
