//! The other lines of the run: two payments of one amount for one customer, facing equal open invoices, cannot
//! be told apart (which one pays which invoice is not in the lines), so "the oldest first" only proposes then.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::super::names::normalize_name;
use super::build::{minor, normalize_iban};
use super::hypothesis::Ctx;
use super::Engine;
use crate::domain::cash_application::references::RefStrength;
use crate::domain::cash_application::LineInput;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Lines of the run per (who pays, currency, amount), where there are several.
#[derive(Debug, Default)]
pub(super) struct RunLines {
    /// Keys ([`key_of`]) of several lines that quote none of the equal open items, and how many.
    same_amount: HashMap<u64, u32>,
    /// Open items that a line of the run quotes and pays exactly (item -> that line): among equal
    /// open items, another line of that amount pays one of the others.
    claimed: HashMap<u32, Uuid>,
}

impl Engine {
    /// The lines this run will decide (credits only count), so that a line knows whether another line of its
    /// amount may pay for the same customer. Without it every line is taken as the only one of its amount.
    ///
    /// A line of such an amount that quotes one open item of exactly its amount pays that item, not "one of the
    /// equal ones": the item is claimed by it, and the line is not counted as another payment of the amount.
    pub fn set_run_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a LineInput>) {
        let lines: Vec<&LineInput> = lines.into_iter().filter(|l| l.amount > Decimal::ZERO).collect();
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(lines.len());
        for (k, line) in lines.iter().enumerate() {
            for who in self.who_pays(line) {
                keyed.push((key_of(&who, &line.currency, line.amount), k as u32));
            }
        }
        keyed.sort_unstable();
        keyed.dedup();
        // Only lines that share their key with another are read for references (few of a run).
        let mut claims: HashMap<u32, Option<u32>> = HashMap::new();
        let mut same_amount = HashMap::new();
        for group in keyed.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            let mut unclaimed = 0u32;
            for &(_, k) in group {
                if claims.entry(k).or_insert_with(|| self.item_quoted_and_paid(lines[k as usize])).is_none() {
                    unclaimed += 1;
                }
            }
            if unclaimed > 1 {
                same_amount.insert(group[0].0, unclaimed);
            }
        }
        let claimed = claims.iter().filter_map(|(&k, c)| c.map(|item| (item, lines[k as usize].id))).collect();
        self.run_lines = RunLines { same_amount, claimed };
    }

    /// The one open item a line quotes (by a reading at least as strong as the customer's own reference) whose
    /// open amount is the line's amount in its currency.
    fn item_quoted_and_paid(&mut self, line: &LineInput) -> Option<u32> {
        let cur = self.currencies.iter().position(|c| c.eq_ignore_ascii_case(&line.currency))? as u16;
        let mut paid = self.collect_hits(line).into_iter().filter(|h| {
            h.strength >= RefStrength::CustomerReference
                && self.meta[h.item as usize].cur == cur
                && self.items[h.item as usize].open_amount == line.amount
        });
        let first = paid.next()?;
        paid.next().is_none().then_some(first.item)
    }

    /// Splits `equal` (open items of one amount, oldest first) into the items left for this line and those another
    /// line of the run quotes and pays (that line takes them). When every one is claimed, all are left (nothing
    /// tells which one this line pays).
    pub(super) fn unclaimed(&self, line: &LineInput, equal: Vec<u32>) -> (Vec<u32>, Vec<u32>) {
        if self.run_lines.claimed.is_empty() {
            return (equal, Vec::new());
        }
        let (claimed, free): (Vec<u32>, Vec<u32>) =
            equal.iter().partition(|i| self.run_lines.claimed.get(i).is_some_and(|by| *by != line.id));
        if free.is_empty() {
            (equal, Vec::new())
        } else {
            (free, claimed)
        }
    }

    /// Whether another line of the run, of the same amount and currency, may pay for `cust` (or comes from the
    /// same payer).
    pub(super) fn another_line_of_amount(&self, ctx: &Ctx, cust: u32) -> bool {
        if self.run_lines.same_amount.is_empty() {
            return false;
        }
        let mut keys = self.who_pays(ctx.line);
        keys.push(format!("C{cust}"));
        keys.iter()
            .any(|who| self.run_lines.same_amount.contains_key(&key_of(who, &ctx.line.currency, ctx.line.amount)))
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

/// The (who pays, currency, amount) key of a line, hashed: a run holds up to millions of lines.
/// Two keys that collide can only make a line proposed instead of applied.
fn key_of(who: &str, currency: &str, amount: Decimal) -> u64 {
    let mut h = DefaultHasher::new();
    who.hash(&mut h);
    for b in currency.bytes() {
        h.write_u8(b.to_ascii_uppercase());
    }
    minor(amount).hash(&mut h);
    h.finish()
}
