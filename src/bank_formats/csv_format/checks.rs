//! What a CSV export says about itself, checked against its rows: the running balance column,
//! totals rows (`合计`) and a row count in the preamble (`共66笔记录`). Findings are warnings with
//! both figures; memory stays bounded however long the file.

use std::collections::HashMap;

use rust_decimal::Decimal;

/// Mismatches kept per direction for the messages; the rest are counted.
const KEPT: usize = 5;

#[derive(Default)]
struct Direction {
    agree: u64,
    disagree: u64,
    messages: Vec<String>,
}

impl Direction {
    fn record(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if ok {
            self.agree += 1;
        } else {
            self.disagree += 1;
            if self.messages.len() < KEPT {
                self.messages.push(message());
            }
        }
    }
}

/// The balance column read row after row. Exports list the oldest or the newest row first, so
/// both readings are checked at once and the one more rows agree with is reported. Rows in
/// another currency (a multi-currency account) form their own chain.
#[derive(Default)]
pub(super) struct RunningBalance {
    /// Per currency: the previous row's balance, amount and line.
    last: HashMap<String, (Decimal, Decimal, u64)>,
    oldest_first: Direction,
    newest_first: Direction,
    /// Rows whose balance cell is not a number (masked as `xx,yyyy.zz`, empty).
    unreadable: u64,
}

impl RunningBalance {
    pub(super) fn row(&mut self, currency: &str, balance: Option<Decimal>, amount: Decimal, line: u64) {
        let Some(balance) = balance else {
            self.unreadable += 1;
            return;
        };
        if let Some((prev_balance, prev_amount, prev_line)) = self.last.get(currency).copied() {
            let expected = prev_balance + amount;
            self.oldest_first.record(expected == balance, || {
                format!(
                    "line {line}: balance {prev_balance} (line {prev_line}) + amount {amount} = {expected}, \
                     but the row's balance is {balance} {currency}"
                )
            });
            let expected = balance + prev_amount;
            self.newest_first.record(expected == prev_balance, || {
                format!(
                    "line {prev_line}: balance {balance} (line {line}) + amount {prev_amount} = {expected}, \
                     but the row's balance is {prev_balance} {currency}"
                )
            });
        } else if self.last.len() >= 64 {
            return; // a currency column full of different values: no chain to follow
        }
        match self.last.get_mut(currency) {
            Some(last) => *last = (balance, amount, line),
            None => {
                self.last.insert(currency.to_string(), (balance, amount, line));
            }
        }
    }

    /// Warnings for the file, if the balances do not follow from the amounts.
    pub(super) fn finish(self) -> Vec<String> {
        let mut out = Vec::new();
        let (order, d) = if self.newest_first.agree > self.oldest_first.agree {
            ("newest first", self.newest_first)
        } else {
            ("oldest first", self.oldest_first)
        };
        if d.disagree > 0 {
            out.push(format!(
                "balance column: {} of {} consecutive rows do not follow from the amounts (rows read {order})",
                d.disagree,
                d.agree + d.disagree
            ));
            out.extend(d.messages.into_iter().map(|m| format!("balance column: {m}")));
        }
        if self.unreadable > 0 {
            out.push(format!("balance column: {} rows hold no readable balance; not checked", self.unreadable));
        }
        out
    }
}

/// Sums of the imported rows, for totals rows.
#[derive(Default)]
pub(super) struct Totals {
    pub credits: Decimal,
    pub debits: Decimal,
    pub rows: u64,
}

impl Totals {
    pub(super) fn add(&mut self, amount: Decimal) {
        self.rows += 1;
        if amount.is_sign_negative() {
            self.debits -= amount;
        } else {
            self.credits += amount;
        }
    }

    /// Compares a totals row with the rows: `stated` are the credit and debit totals it shows
    /// (or one net total for a signed amount column).
    pub(super) fn compare(&self, line: u64, label: &str, stated: Stated) -> Option<String> {
        let (credits, debits) = (self.credits, self.debits);
        match stated {
            Stated::Split(c, d) => {
                let c_ok = c.is_none_or(|c| c.abs() == credits);
                let d_ok = d.is_none_or(|d| d.abs() == debits);
                (!(c_ok && d_ok)).then(|| {
                    let show = |v: Option<Decimal>| v.map_or("-".to_string(), |v| v.abs().to_string());
                    format!(
                        "line {line}: totals row '{label}' says credits {} and debits {}, the rows add up to \
                         credits {credits} and debits {debits}",
                        show(c),
                        show(d)
                    )
                })
            }
            Stated::Net(n) => (n != credits - debits).then(|| {
                format!("line {line}: totals row '{label}' says {n}, the rows add up to {}", credits - debits)
            }),
        }
    }
}

pub(super) enum Stated {
    Split(Option<Decimal>, Option<Decimal>),
    Net(Decimal),
}

/// The number a preamble cell states by `pattern` (`共{n}笔记录` in `共66笔记录`).
pub(super) fn declared_count(pattern: &str, cell: &str) -> Option<u64> {
    let (before, after) = pattern.split_once("{n}")?;
    cell.char_indices().filter(|(i, _)| cell[*i..].starts_with(before)).find_map(|(i, _)| {
        let rest = &cell[i + before.len()..];
        let len = rest.bytes().take_while(u8::is_ascii_digit).count();
        (len > 0 && rest[len..].starts_with(after)).then(|| rest[..len].parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn running_balance_either_order() {
        // Newest first, all consistent: nothing to say.
        let mut rb = RunningBalance::default();
        for (line, (bal, amt)) in
            [("3240.28", "-71.89"), ("3312.17", "-326.00"), ("3638.17", "50.00")].iter().enumerate()
        {
            rb.row("CNY", Some(d(bal)), d(amt), line as u64 + 2);
        }
        assert!(rb.finish().is_empty());
        // Oldest first with one break.
        let mut rb = RunningBalance::default();
        for (line, (bal, amt)) in [("100", "100"), ("90", "-10"), ("95", "4")].iter().enumerate() {
            rb.row("EUR", Some(d(bal)), d(amt), line as u64 + 2);
        }
        let w = rb.finish();
        assert!(w[0].contains("1 of 2") && w[0].contains("oldest first"), "{w:?}");
        assert!(w[1].contains("90 (line 3) + amount 4 = 94") && w[1].contains("is 95"), "{w:?}");
    }

    #[test]
    fn totals_and_counts() {
        let mut t = Totals::default();
        t.add(d("4621.01"));
        t.add(d("-363.13"));
        let w = t.compare(20, "合计", Stated::Split(Some(d("1234.56")), Some(d("6543.21")))).unwrap();
        assert!(w.contains("1234.56") && w.contains("4621.01") && w.contains("363.13"), "{w}");
        assert!(t.compare(20, "x", Stated::Split(Some(d("4621.01")), Some(d("363.13")))).is_none());
        assert_eq!(declared_count("共{n}笔记录", "共66笔记录"), Some(66));
        assert_eq!(declared_count("共{n}笔记录", "共笔记录"), None);
        assert_eq!(declared_count("{n} records", "Total: 12 records"), Some(12));
    }
}
