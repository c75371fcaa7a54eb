//! Credit policy: the tenant's rules as data, which of them hold for a customer, the changes that
//! follow (hold and prepayment switched on, the credit limit lowered, the payment terms shortened,
//! each with its explanation, and each lifted or restored once its rule no longer holds), and the
//! credit check an ERP asks before taking an order.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// When a rule applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The customer is at a dunning level of at least this severity.
    DunningSeverityAtLeast(i32),
    /// At least `count` promises broken (or only partly kept) within the last `days` days.
    BrokenPromises { count: i32, days: i32 },
    /// The payment-behaviour score is below this (no score: the rule does not apply).
    PaymentScoreBelow(Decimal),
}

/// What a rule sets while it applies (and lifts or restores, when it set it, once it no longer
/// does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Hold,
    PrepaymentRequired,
    /// The credit limit at most the rule's cap (an amount; 0: no credit).
    LowerCreditLimit,
    /// The payment terms at most the rule's cap (days; 0: due on receipt).
    ShortenPaymentTerms,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Hold => "hold",
            Effect::PrepaymentRequired => "prepayment_required",
            Effect::LowerCreditLimit => "credit_limit",
            Effect::ShortenPaymentTerms => "payment_terms_days",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub code: String,
    pub condition: Condition,
    pub effect: Effect,
    /// For [`Effect::LowerCreditLimit`] (amount) and [`Effect::ShortenPaymentTerms`] (days).
    pub cap: Option<Decimal>,
}

/// What is known about a customer when the rules are evaluated.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The dunning level (code, severity) the customer is at, if any.
    pub level: Option<(String, i32)>,
    /// Whether that level itself puts customers on hold (the level's `credit_hold`).
    pub level_holds: bool,
    /// The days on which the customer's promises were found broken or partly kept.
    pub broken_promises: Vec<NaiveDate>,
    pub payment_score: Option<Decimal>,
    pub as_of: Option<NaiveDate>,
}

/// One source's verdict on one flag: set it (with why) or, when it set it, lift it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub effect: Effect,
    /// `dunning_level` or `rule:<code>`.
    pub source: String,
    pub applies: bool,
    pub explanation: String,
    /// The rule's cap, for the effects that lower a value.
    pub cap: Option<Decimal>,
}

/// `hold: reached level L3 (severity 3)` style explanation of a rule's outcome.
fn rule_claim(rule: &Rule, facts: &Facts) -> Option<Claim> {
    let (applies, why) = match &rule.condition {
        Condition::DunningSeverityAtLeast(n) => match &facts.level {
            Some((code, sev)) if sev >= n => (true, format!("reached level {code} (severity {sev} >= {n})")),
            Some((code, sev)) => (false, format!("level {code} (severity {sev}) is below severity {n}")),
            None => (false, "left all dunning levels".to_string()),
        },
        Condition::BrokenPromises { count, days } => {
            let as_of = facts.as_of?;
            let since = as_of - Duration::days(i64::from(*days));
            let n = facts.broken_promises.iter().filter(|d| **d > since && **d <= as_of).count() as i32;
            (n >= *count, format!("{n} broken promise(s) in the {days} days to {as_of} (rule: {count})"))
        }
        Condition::PaymentScoreBelow(threshold) => match facts.payment_score {
            Some(score) => (score < *threshold, format!("payment score {score} (rule: below {threshold})")),
            // No score yet: the rule neither sets nor lifts anything.
            None => return None,
        },
    };
    Some(Claim { effect: rule.effect, source: format!("rule:{}", rule.code), applies, explanation: why, cap: rule.cap })
}

/// The claims of the dunning level's own `credit_hold` and of every rule that can be judged.
pub fn claims(rules: &[Rule], facts: &Facts, judge_dunning: bool) -> Vec<Claim> {
    let mut out = Vec::new();
    if judge_dunning {
        let explanation = match &facts.level {
            Some((code, sev)) if facts.level_holds => {
                format!("reached level {code} (severity {sev}), which holds credit")
            }
            Some((code, _)) => format!("level {code} does not hold credit"),
            None => "left all dunning levels".to_string(),
        };
        out.push(Claim {
            effect: Effect::Hold,
            source: "dunning_level".into(),
            applies: facts.level_holds,
            explanation,
            cap: None,
        });
    }
    for rule in rules {
        let dunning_rule = matches!(rule.condition, Condition::DunningSeverityAtLeast(_));
        if dunning_rule && !judge_dunning {
            continue;
        }
        out.extend(rule_claim(rule, facts));
    }
    out
}

/// A flag as stored: on or off, and who set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flag {
    pub on: bool,
    pub set_by: Option<String>,
}

/// A change to one flag and its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagChange {
    pub effect: Effect,
    pub on: bool,
    pub source: String,
    pub explanation: String,
}

/// Sets a flag that is off when a claim applies; lifts a flag that the claim's own source set
/// when it no longer applies and no other claim does. A flag set by a person is left alone.
pub fn decide(effect: Effect, flag: &Flag, claims: &[Claim]) -> Option<FlagChange> {
    let mine: Vec<&Claim> = claims.iter().filter(|c| c.effect == effect).collect();
    if !flag.on {
        let c = mine.iter().find(|c| c.applies)?;
        let explanation = format!("{}: {}", effect.as_str(), c.explanation);
        return Some(FlagChange { effect, on: true, source: c.source.clone(), explanation });
    }
    let setter = flag.set_by.as_deref()?;
    let own = mine.iter().find(|c| c.source == setter && !c.applies)?;
    if mine.iter().any(|c| c.applies) {
        return None;
    }
    let explanation = format!("{} lifted: {}", effect.as_str(), own.explanation);
    Some(FlagChange { effect, on: false, source: own.source.clone(), explanation })
}

/// A value rules may lower: the credit limit (none: no limit) or the payment terms, with who
/// lowered it last and what it was before any rule did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capped {
    pub current: Option<Decimal>,
    /// `user` (a person set it), `rule:<code>`, or none.
    pub set_by: Option<String>,
    /// The value before a rule lowered it (meaningful while `set_by` names a rule).
    pub before: Option<Decimal>,
}

/// A rule's change to a capped value.
#[derive(Debug, Clone, PartialEq)]
pub struct CapChange {
    pub effect: Effect,
    pub from: Option<Decimal>,
    pub to: Option<Decimal>,
    /// What the stored state becomes: who set it (none once restored) and the value to restore.
    pub set_by: Option<String>,
    pub before: Option<Decimal>,
    pub source: String,
    pub explanation: String,
}

/// Lowers a value to the strictest cap of the rules that apply (never raises what a person set);
/// while rules hold it, it follows the strictest of them; once the rule that lowered it no longer
/// applies and no other does, the value from before is restored. `show` words a value.
pub fn decide_cap(
    effect: Effect,
    state: &Capped,
    claims: &[Claim],
    show: &dyn Fn(Option<Decimal>) -> String,
) -> Option<CapChange> {
    let mine: Vec<&Claim> = claims.iter().filter(|c| c.effect == effect).collect();
    let by_rule = state.set_by.as_deref().filter(|s| *s != "user");
    let strictest = mine.iter().filter(|c| c.applies).filter_map(|c| Some((c.cap?, *c))).min_by_key(|(cap, _)| *cap);
    let name = effect.as_str();
    let Some((cap, claim)) = strictest else {
        let own = mine.iter().find(|c| Some(c.source.as_str()) == by_rule && !c.applies)?;
        return Some(CapChange {
            effect,
            from: state.current,
            to: state.before,
            set_by: None,
            before: None,
            source: own.source.clone(),
            explanation: format!("{name} restored to {}: {}", show(state.before), own.explanation),
        });
    };
    // What the value would be without any rule: what it was before one lowered it.
    let base = if by_rule.is_some() { state.before } else { state.current };
    let to = Some(base.map_or(cap, |b| b.min(cap)));
    if to == state.current {
        return None;
    }
    Some(CapChange {
        effect,
        from: state.current,
        to,
        set_by: Some(claim.source.clone()),
        before: base,
        source: claim.source.clone(),
        explanation: format!("{name} {} -> {}: {}", show(state.current), show(to), claim.explanation),
    })
}

/// What the credit check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    OnHold,
    PrepaymentRequired,
    LimitExceeded,
}

impl Refusal {
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::OnHold => "on_hold",
            Refusal::PrepaymentRequired => "prepayment_required",
            Refusal::LimitExceeded => "limit_exceeded",
        }
    }
}

/// Why an order of `amount` is refused: on hold, prepayment required, or open exposure plus
/// the order above the limit (no limit: no limit check). Empty: allowed.
pub fn check(hold: bool, prepayment: bool, limit: Option<Decimal>, exposure: Decimal, amount: Decimal) -> Vec<Refusal> {
    let mut out = Vec::new();
    if hold {
        out.push(Refusal::OnHold);
    }
    if prepayment {
        out.push(Refusal::PrepaymentRequired);
    }
    if limit.is_some_and(|l| exposure + amount > l) {
        out.push(Refusal::LimitExceeded);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(code: &str, condition: Condition, effect: Effect) -> Rule {
        Rule { code: code.into(), condition, effect, cap: None }
    }

    fn show(v: Option<Decimal>) -> String {
        v.map_or_else(|| "none".into(), |v| v.to_string())
    }

    #[test]
    fn caps_lower_follow_the_strictest_rule_and_restore_what_was_there() {
        let capped = |code: &str, sev: i32, cap: i64| Rule {
            cap: Some(Decimal::from(cap)),
            ..rule(code, Condition::DunningSeverityAtLeast(sev), Effect::LowerCreditLimit)
        };
        let rules = [capped("l2", 2, 1000), capped("l3", 3, 0)];
        let at = |sev: i32| Facts { level: Some((format!("L{sev}"), sev)), ..Facts::default() };
        let limit = |current: i64| Capped { current: Some(Decimal::from(current)), ..Capped::default() };
        let lim = Effect::LowerCreditLimit;
        // Level 2: 5000 -> 1000, remembering 5000.
        let c = decide_cap(lim, &limit(5000), &claims(&rules, &at(2), true), &show).unwrap();
        assert_eq!(
            (c.to, c.before, c.set_by.as_deref()),
            (Some(Decimal::from(1000)), Some(Decimal::from(5000)), Some("rule:l2"))
        );
        assert_eq!(c.explanation, "credit_limit 5000 -> 1000: reached level L2 (severity 2 >= 2)");
        // Level 3: the strictest cap; the value to restore stays 5000.
        let held = Capped { current: c.to, set_by: c.set_by, before: c.before };
        let c = decide_cap(lim, &held, &claims(&rules, &at(3), true), &show).unwrap();
        assert_eq!(
            (c.to, c.before, c.set_by.as_deref()),
            (Some(Decimal::ZERO), Some(Decimal::from(5000)), Some("rule:l3"))
        );
        // Back to level 2: raised to the looser cap, not above what it was.
        let held = Capped { current: c.to, set_by: c.set_by, before: c.before };
        let c = decide_cap(lim, &held, &claims(&rules, &at(2), true), &show).unwrap();
        assert_eq!(c.to, Some(Decimal::from(1000)));
        // No level: restored.
        let held = Capped { current: c.to, set_by: c.set_by, before: c.before };
        let c = decide_cap(lim, &held, &claims(&rules, &Facts::default(), true), &show).unwrap();
        assert_eq!((c.to, c.set_by), (Some(Decimal::from(5000)), None));
        assert_eq!(c.explanation, "credit_limit restored to 5000: left all dunning levels");
        // A value already below the cap stays; no limit at all gets the cap and comes back as none.
        assert_eq!(decide_cap(lim, &limit(500), &claims(&rules, &at(2), true), &show), None);
        let none = decide_cap(lim, &Capped::default(), &claims(&rules, &at(2), true), &show).unwrap();
        assert_eq!((none.to, none.before), (Some(Decimal::from(1000)), None));
        let held = Capped { current: none.to, set_by: none.set_by, before: none.before };
        let back = decide_cap(lim, &held, &claims(&rules, &Facts::default(), true), &show).unwrap();
        assert_eq!(
            (back.to, back.explanation.as_str()),
            (None, "credit_limit restored to none: left all dunning levels")
        );
        // What a person set is lowered by a rule that applies, but never restored by one.
        let by_hand = Capped { current: Some(Decimal::from(300)), set_by: Some("user".into()), before: None };
        assert_eq!(decide_cap(lim, &by_hand, &claims(&rules, &Facts::default(), true), &show), None);
    }

    #[test]
    fn a_rule_sets_and_later_lifts_only_what_it_set() {
        let rules = [rule("l3", Condition::DunningSeverityAtLeast(3), Effect::Hold)];
        let at = |sev: i32| Facts { level: Some(("L".to_string() + &sev.to_string(), sev)), ..Facts::default() };
        let set = decide(Effect::Hold, &Flag::default(), &claims(&rules, &at(3), true)).unwrap();
        assert_eq!((set.on, set.source.as_str()), (true, "rule:l3"));
        assert_eq!(set.explanation, "hold: reached level L3 (severity 3 >= 3)");
        let held = Flag { on: true, set_by: Some("rule:l3".into()) };
        assert_eq!(decide(Effect::Hold, &held, &claims(&rules, &at(3), true)), None);
        let lifted = decide(Effect::Hold, &held, &claims(&rules, &Facts::default(), true)).unwrap();
        assert_eq!((lifted.on, lifted.explanation.as_str()), (false, "hold lifted: left all dunning levels"));
        let by_hand = Flag { on: true, set_by: Some("user".into()) };
        assert_eq!(decide(Effect::Hold, &by_hand, &claims(&rules, &Facts::default(), true)), None);
    }

    #[test]
    fn broken_promises_count_within_the_window_and_missing_scores_do_nothing() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let rules = [
            rule("pp", Condition::BrokenPromises { count: 2, days: 30 }, Effect::PrepaymentRequired),
            rule("score", Condition::PaymentScoreBelow(Decimal::from(40)), Effect::Hold),
        ];
        let mut facts = Facts {
            broken_promises: vec![d("2026-05-01"), d("2026-06-20")],
            as_of: Some(d("2026-06-30")),
            ..Facts::default()
        };
        let c = claims(&rules, &facts, false);
        assert_eq!(c.len(), 1, "no score, no claim: {c:?}");
        assert!(!c[0].applies);
        facts.broken_promises.push(d("2026-06-29"));
        facts.payment_score = Some(Decimal::from(35));
        let c = claims(&rules, &facts, false);
        assert!(c.iter().all(|c| c.applies), "{c:?}");
    }

    #[test]
    fn the_check_lists_every_reason() {
        let (limit, exposure) = (Some(Decimal::from(1000)), Decimal::from(800));
        assert!(check(false, false, limit, exposure, Decimal::from(200)).is_empty());
        assert_eq!(check(false, false, limit, exposure, Decimal::from(201)), vec![Refusal::LimitExceeded]);
        assert_eq!(check(true, true, None, exposure, Decimal::ONE), vec![Refusal::OnHold, Refusal::PrepaymentRequired]);
    }
}
