//! Customer groups (a parent company and its subsidiaries) in matching.
//!
//! * A payer identified as one member of a group (its IBAN, or a name matching at >= 0.9) does not contradict a
//!   document of another member: the payer fit is [`PayerFit::Group`] (IBAN +0.01, name 0) instead of an IBAN of
//!   another customer (-0.25) or a name that does not resemble the customer (-0.05), with the evidence "payer ...
//!   is customer X of group G, like Y". So a quoted reference with the exact amount applies as it would for the
//!   customer itself.
//! * When nothing of the payer's own fits the amount, the other members' open items equal to it, or a combination
//!   of the group's items adding up to it, are proposed (never applied: the amount alone does not say which member
//!   was paid for).
//! * A matching rule with `widen_to_group` treats the payer as each member of its group: one equal open item in the
//!   whole group is then taken as the payer's own would be (and may apply), several are proposed; the allocations
//!   name the rule.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::super::names::name_similarity;
use super::super::subset::find_subsets;
use super::build::minor;
use super::confidence::{
    payer_adjustment, PayerFit, BASE_AMOUNT_PAYER_IBAN, BASE_AMOUNT_PAYER_NAME, BASE_FIFO_LATER, BASE_FIFO_PROPOSED,
    BASE_SUBSET_AMBIGUOUS, BASE_SUBSET_IBAN, BASE_SUBSET_NAME,
};
use super::hypothesis::{Ctx, HAlloc, Hyp};
use super::{Engine, MAX_PROPOSED_SETS, NO_CUSTOMER, SUBSET_NODE_BUDGET};
use crate::domain::matching_rules::compiled::RuleRef;

/// A customer group as a run loads it: its code, its name and its members (customer ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerGroupInfo {
    /// The tenant's code of the group.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The member customers (a customer in several groups counts in the first only).
    pub members: Vec<Uuid>,
}

const NO_GROUP: u32 = u32::MAX;

/// Proposals from another member's items: the payer is sure, the member it paid for is not.
const BASE_GROUP_AMOUNT_IBAN: f64 = 0.70;
const BASE_GROUP_AMOUNT_NAME: f64 = 0.60;
const BASE_GROUP_SEVERAL: f64 = 0.50;
const BASE_GROUP_SUBSET: f64 = 0.55;
/// Group proposals stay this far below the auto-apply threshold whatever the tenant sets it to.
const PROPOSAL_GAP: f64 = 0.10;
/// A name identifies a member for group purposes only when it matches this well.
const STRONG_NAME: f64 = 0.9;

/// The groups as the engine keeps them: per customer number its group number, per group its members.
#[derive(Default)]
pub(super) struct Groups {
    of: Vec<u32>,
    list: Vec<Group>,
}

struct Group {
    code: String,
    name: String,
    members: Vec<u32>,
}

/// The payer as identified for group purposes: the member customer and how.
#[derive(Clone, Copy)]
struct Identified {
    cust: u32,
    group: u32,
    fit: PayerFit,
}

impl Engine {
    /// Uses the tenant's customer groups from now on (none by default). Members the engine does not know are
    /// ignored.
    pub fn set_groups(&mut self, groups: Vec<CustomerGroupInfo>) {
        let by_id: HashMap<Uuid, u32> = self.customers.iter().enumerate().map(|(i, c)| (c.id, i as u32)).collect();
        let mut g = Groups { of: vec![NO_GROUP; self.customers.len()], list: Vec::with_capacity(groups.len()) };
        for info in groups {
            let num = g.list.len() as u32;
            let mut members = Vec::with_capacity(info.members.len());
            for id in &info.members {
                if let Some(&c) = by_id.get(id) {
                    if g.of[c as usize] == NO_GROUP {
                        g.of[c as usize] = num;
                        members.push(c);
                    }
                }
            }
            g.list.push(Group { code: info.code, name: info.name, members });
        }
        self.groups = g;
    }

    fn group_of(&self, cust: u32) -> Option<u32> {
        self.groups.of.get(cust as usize).copied().filter(|&g| g != NO_GROUP)
    }

    /// The payer IBAN belongs to another member of `cust`'s group.
    pub(super) fn group_fit_iban(&self, ctx: &Ctx, cust: u32) -> Option<PayerFit> {
        let g = self.group_of(cust)?;
        let payer = ctx.iban_custs.iter().copied().find(|&c| self.group_of(c) == Some(g))?;
        Some(PayerFit::Group { payer, by_iban: true })
    }

    /// The payer name matches another member of `cust`'s group strongly (>= 0.9).
    pub(super) fn group_fit_name(&self, ctx: &mut Ctx, cust: u32) -> Option<PayerFit> {
        let g = self.group_of(cust)?;
        let payer = self.strong_name_custs(ctx).into_iter().find(|&(c, _)| c != cust && self.group_of(c) == Some(g))?;
        Some(PayerFit::Group { payer: payer.0, by_iban: false })
    }

    /// Customers whose name the payer name matches at >= 0.9, with the similarity.
    fn strong_name_custs(&self, ctx: &mut Ctx) -> Vec<(u32, f64)> {
        let Some(n) = ctx.name() else { return Vec::new() };
        self.name_index
            .lookup(n, 3)
            .into_iter()
            .map(|c| (c, self.cust_names[c as usize].iter().map(|k| name_similarity(n, k)).fold(0.0, f64::max)))
            .filter(|&(_, s)| s >= STRONG_NAME)
            .collect()
    }

    /// "payer IBAN X is customer P of group G (name), like C".
    pub(super) fn group_evidence(&self, ctx: &Ctx, cust: u32, payer: u32, by_iban: bool) -> String {
        let cname = |c: u32| self.customers.get(c as usize).map_or("?", |c| c.name.as_str());
        let how = if by_iban {
            format!("IBAN {}", ctx.iban.as_deref().unwrap_or(""))
        } else {
            format!("name '{}'", ctx.line.counterparty_name.as_deref().unwrap_or(""))
        };
        let (code, name) = self
            .group_of(payer)
            .map(|g| &self.groups.list[g as usize])
            .map_or(("?", "?"), |g| (g.code.as_str(), g.name.as_str()));
        if cust == payer || cust == NO_CUSTOMER {
            format!("payer {how} is customer {}, a member of group {code} ({name})", cname(payer))
        } else {
            format!("payer {how} is customer {} of group {code} ({name}), like {}", cname(payer), cname(cust))
        }
    }

    /// The payer's own customers that are group members: by IBAN, else by a strong name.
    fn identified(&self, ctx: &mut Ctx) -> Vec<Identified> {
        let found: Vec<(u32, PayerFit)> = if !ctx.iban_custs.is_empty() {
            ctx.iban_custs.iter().map(|&c| (c, PayerFit::Iban)).collect()
        } else {
            self.strong_name_custs(ctx).into_iter().map(|(c, s)| (c, PayerFit::Name(s))).collect()
        };
        let mut out: Vec<Identified> = Vec::new();
        for (cust, fit) in found {
            if let Some(group) = self.group_of(cust) {
                if !out.iter().any(|i| i.group == group) {
                    out.push(Identified { cust, group, fit });
                }
            }
        }
        out
    }

    /// Candidates from the payer's group: after the payer's own items gave nothing (proposals only), or across the
    /// whole group when a rule widens to it.
    pub(super) fn group_hyps(&self, ctx: &mut Ctx, cap: f64, out: &mut Vec<Hyp>) {
        if self.groups.list.is_empty() {
            return;
        }
        let Some(cur) = ctx.cur else { return };
        let widen = ctx.rules.widen_to_group.clone();
        for payer in self.identified(ctx) {
            match &widen {
                Some(rule) => self.widened_hyps(ctx, cur, cap, payer, rule, out),
                None => self.other_member_hyps(ctx, cur, cap, payer, out),
            }
        }
    }

    /// Open items equal to the line among `members` (oldest first per member).
    fn equal_in(&self, members: &[u32], cur: u16, amount: Decimal) -> Vec<(u32, u32)> {
        members
            .iter()
            .flat_map(|&m| self.open_with_amount(m, cur, amount, &[]).into_iter().map(move |i| (m, i)))
            .collect()
    }

    fn proposal_cap(&self, cap: f64) -> f64 {
        cap.min(self.threshold() - PROPOSAL_GAP)
    }

    /// The other members' items equal to the line, else combinations of the group's items: proposals.
    fn other_member_hyps(&self, ctx: &mut Ctx, cur: u16, cap: f64, payer: Identified, out: &mut Vec<Hyp>) {
        let group = &self.groups.list[payer.group as usize];
        let others: Vec<u32> = group.members.iter().copied().filter(|&m| m != payer.cust).collect();
        let fit = PayerFit::Group { payer: payer.cust, by_iban: payer.fit == PayerFit::Iban };
        let cap = self.proposal_cap(cap);
        let equal = self.equal_in(&others, cur, ctx.amount);
        if !equal.is_empty() {
            let base = match (equal.len(), payer.fit) {
                (1, PayerFit::Iban) => BASE_GROUP_AMOUNT_IBAN,
                (1, _) => BASE_GROUP_AMOUNT_NAME,
                _ => BASE_GROUP_SEVERAL,
            };
            for &(m, i) in equal.iter().take(MAX_PROPOSED_SETS) {
                let mut h = Hyp::new("group_member_amount", base.min(cap));
                h.allocs.push(HAlloc::plain(i, ctx.amount));
                h.note(format!(
                    "amount equal to open {} of {}, another member of group {}; no reference quoted{}",
                    self.doc_no(i),
                    self.customers[m as usize].name,
                    group.code,
                    if equal.len() > 1 {
                        format!(" ({} equal items in the group)", equal.len())
                    } else {
                        String::new()
                    }
                ));
                h.payer = Some((m, fit));
                out.push(h);
            }
            return;
        }
        self.group_subset_hyps(ctx, cur, payer, BASE_GROUP_SUBSET.min(cap), None, out);
    }

    /// With a `widen_to_group` rule: the payer is taken as each member of its group.
    fn widened_hyps(&self, ctx: &mut Ctx, cur: u16, cap: f64, payer: Identified, rule: &RuleRef, out: &mut Vec<Hyp>) {
        let group = &self.groups.list[payer.group as usize];
        let by_iban = payer.fit == PayerFit::Iban;
        let equal = self.equal_in(&group.members, cur, ctx.amount);
        let n = equal.len();
        // The payer's own equal items are the built-in rules' (and win when there is one); they count here.
        let others = equal.iter().filter(|(m, _)| *m != payer.cust);
        for (rank, &(m, i)) in others.enumerate().take(MAX_PROPOSED_SETS) {
            let (rule_name, base) = match (n, by_iban) {
                (1, true) => ("amount_and_payer", BASE_AMOUNT_PAYER_IBAN),
                (1, false) => ("amount_and_payer", BASE_AMOUNT_PAYER_NAME),
                _ if rank == 0 => ("fifo_same_amount", BASE_FIFO_PROPOSED.min(self.proposal_cap(cap))),
                _ => ("fifo_same_amount", BASE_FIFO_LATER),
            };
            let mut h = Hyp::new(rule_name, base + payer_adjustment(payer.fit));
            h.conf = h.conf.min(cap);
            h.allocs.push(HAlloc::plain(i, ctx.amount));
            h.note(format!(
                "amount equal to open {} of {}{}; no reference quoted",
                self.doc_no(i),
                self.customers[m as usize].name,
                if n > 1 { format!(", one of {n} equal open items in group {}", group.code) } else { String::new() }
            ));
            h.payer = Some((m, PayerFit::Group { payer: payer.cust, by_iban }));
            self.widened_by(&mut h, rule, &group.code);
            out.push(h);
        }
        if n == 0 {
            let base = if by_iban { BASE_SUBSET_IBAN } else { BASE_SUBSET_NAME };
            self.group_subset_hyps(ctx, cur, payer, base.min(self.proposal_cap(cap)), Some(rule), out);
        }
    }

    fn widened_by(&self, h: &mut Hyp, rule: &RuleRef, code: &str) {
        h.rule_notes.push(format!("{} widens the candidates to the payer's group {code}", super::rule_label(rule)));
        h.by_rule = Some(rule.clone());
    }

    /// Combinations of the group's open items (the payer's own included) adding up to the line; proposals.
    fn group_subset_hyps(
        &self,
        ctx: &Ctx,
        cur: u16,
        payer: Identified,
        base: f64,
        rule: Option<&RuleRef>,
        out: &mut Vec<Hyp>,
    ) {
        let group = &self.groups.list[payer.group as usize];
        let l = ctx.amount;
        let mut cands: Vec<u32> = Vec::new();
        'members: for &m in &group.members {
            for &i in &self.cust_items[m as usize] {
                if cands.len() >= self.settings.max_subset_candidates {
                    break 'members;
                }
                let open = self.items[i as usize].open_amount;
                if self.meta[i as usize].cur == cur && open > Decimal::ZERO && open < l {
                    cands.push(i);
                }
            }
        }
        if cands.len() < 2 {
            return;
        }
        let values: Vec<i64> = cands.iter().map(|&i| minor(self.items[i as usize].open_amount)).collect();
        let (sols, exhausted) =
            find_subsets(&values, minor(l), 2, self.settings.max_subset_size, MAX_PROPOSED_SETS, SUBSET_NODE_BUDGET);
        let unique = sols.len() == 1 && !exhausted;
        for s in sols {
            let items: Vec<u32> = s.iter().map(|&k| cands[k]).collect();
            if items.iter().all(|&i| self.meta[i as usize].cust == payer.cust) {
                continue; // the payer's own combination is the built-in rule's
            }
            let mut h = Hyp::new("subset_sum", if unique { base } else { base.min(BASE_SUBSET_AMBIGUOUS) });
            for &i in &items {
                h.allocs.push(HAlloc::plain(i, self.items[i as usize].open_amount));
            }
            h.note(format!(
                "{} open items of members of group {} add up to the amount{}",
                items.len(),
                group.code,
                if unique { "" } else { " (several combinations do)" }
            ));
            h.payer = Some((payer.cust, PayerFit::Group { payer: payer.cust, by_iban: payer.fit == PayerFit::Iban }));
            if let Some(rule) = rule {
                self.widened_by(&mut h, rule, &group.code);
            }
            out.push(h);
        }
    }
}
