//! Bounded subset-sum search for payments that settle several documents at once.
//!
//! Amounts are integers in a common minor unit (the engine uses 1/10000) so the search is exact. Work is bounded
//! by a node budget because the problem is exponential and one pathological customer must not stall a run.

/// Finds up to `max_solutions` subsets of the (positive) `values` whose sum is `target`, with between `min_size`
/// and `max_size` elements. Returns indices into `values`, each solution ascending. Depth-first over values sorted
/// in descending order with remaining-sum pruning; stops after `node_budget` visited nodes. The returned flag is
/// `true` when the budget ran out (the list is then possibly incomplete, which callers treat as "not unique").
pub fn find_subsets(
    values: &[i64],
    target: i64,
    min_size: usize,
    max_size: usize,
    max_solutions: usize,
    node_budget: usize,
) -> (Vec<Vec<usize>>, bool) {
    let mut budget = node_budget;
    find_subsets_within(values, target, min_size, max_size, max_solutions, &mut budget)
}

/// [`find_subsets`] drawing on a budget shared by several searches: the nodes visited are taken
/// from `budget`, so a caller bounds the work of all its searches together.
pub fn find_subsets_within(
    values: &[i64],
    target: i64,
    min_size: usize,
    max_size: usize,
    max_solutions: usize,
    budget: &mut usize,
) -> (Vec<Vec<usize>>, bool) {
    let node_budget = *budget;
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0 && values[i] <= target).collect();
    order.sort_by(|&a, &b| values[b].cmp(&values[a]).then(a.cmp(&b)));
    let sorted: Vec<i64> = order.iter().map(|&i| values[i]).collect();
    // suffix[i] = sum of sorted[i..]: if even all remaining cannot reach the target, prune.
    let mut suffix = vec![0i64; sorted.len() + 1];
    for i in (0..sorted.len()).rev() {
        suffix[i] = suffix[i + 1].saturating_add(sorted[i]);
    }
    let mut st = Search {
        sorted: &sorted,
        suffix: &suffix,
        min_size,
        max_size,
        max_solutions,
        budget: node_budget,
        out: Vec::new(),
        stack: Vec::new(),
        exhausted: false,
    };
    st.dfs(0, target);
    *budget = st.budget;
    let solutions = st
        .out
        .into_iter()
        .map(|s| {
            let mut v: Vec<usize> = s.into_iter().map(|k| order[k]).collect();
            v.sort_unstable();
            v
        })
        .collect();
    (solutions, st.exhausted)
}

struct Search<'a> {
    sorted: &'a [i64],
    suffix: &'a [i64],
    min_size: usize,
    max_size: usize,
    max_solutions: usize,
    budget: usize,
    out: Vec<Vec<usize>>,
    stack: Vec<usize>,
    exhausted: bool,
}

impl Search<'_> {
    fn dfs(&mut self, start: usize, remaining: i64) {
        if self.out.len() >= self.max_solutions {
            return;
        }
        if self.budget == 0 {
            self.exhausted = true;
            return;
        }
        self.budget -= 1;
        if remaining == 0 {
            if self.stack.len() >= self.min_size {
                self.out.push(self.stack.clone());
            }
            return;
        }
        if self.stack.len() >= self.max_size || self.suffix[start] < remaining {
            return;
        }
        for k in start..self.sorted.len() {
            let v = self.sorted[k];
            if v > remaining {
                continue;
            }
            if self.suffix[k] < remaining {
                break;
            }
            self.stack.push(k);
            self.dfs(k + 1, remaining - v);
            self.stack.pop();
            if self.out.len() >= self.max_solutions || self.exhausted {
                return;
            }
        }
    }
}

/// Exhaustive search over small signed sets (referenced documents, where credit notes count negative): every
/// subset with at least `min_size` members whose sum is `target`. Only for `values.len() <= 16`.
pub fn signed_subsets(values: &[i64], target: i64, min_size: usize, max_solutions: usize) -> Vec<Vec<usize>> {
    let n = values.len().min(16);
    let mut out = Vec::new();
    // Larger subsets first: a remittance listing documents usually means all of them.
    let mut masks: Vec<u32> = (1u32..(1u32 << n)).filter(|m| m.count_ones() as usize >= min_size).collect();
    masks.sort_by_key(|m| std::cmp::Reverse(m.count_ones()));
    for m in masks {
        let sum: i64 = (0..n).filter(|i| m & (1 << i) != 0).map(|i| values[i]).sum();
        if sum == target {
            out.push((0..n).filter(|i| m & (1 << i) != 0).collect());
            if out.len() >= max_solutions {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unique_and_multiple() {
        let (s, ex) = find_subsets(&[100, 250, 400, 50], 350, 2, 6, 3, 10_000);
        assert!(!ex);
        assert_eq!(s, vec![vec![0, 1]]);
        let (s, _) = find_subsets(&[100, 250, 300, 50], 350, 2, 6, 3, 10_000);
        assert_eq!(s.len(), 2);
        assert!(s.contains(&vec![0, 1]) && s.contains(&vec![2, 3]));
        let (none, _) = find_subsets(&[100, 250], 1000, 2, 6, 3, 10_000);
        assert!(none.is_empty());
    }

    #[test]
    fn signed_with_credit_note() {
        let s = signed_subsets(&[1000, 500, -100], 1400, 2, 4);
        assert_eq!(s, vec![vec![0, 1, 2]]);
    }
}
