//! Why a difference exists: a technical error (a typing or rounding slip, a wrong tax rate, a
//! double entry), a process gap (a credit note not sent, a discount not applied, a late posting,
//! a cut-off, a document one side never booked) or a dispute (the customer contests quality,
//! quantity or price, or delays on purpose). [`suggest`] reads the evidence a reconciliation
//! has; [`suggest_dispute`] reads the customer's words when they dispute. Both explain themselves
//! in one sentence. Pure: the caller passes every date, the cut-off included.

use super::difference::DifferenceKind;
use super::document::DocType;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Technical,
    Process,
    Dispute,
}

impl Cause {
    pub const ALL: [Cause; 3] = [Cause::Technical, Cause::Process, Cause::Dispute];
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Technical => "technical",
            Cause::Process => "process",
            Cause::Dispute => "dispute",
        }
    }
    pub fn parse(s: &str) -> Option<Cause> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The closed list of sub-causes; each belongs to one [`Cause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum SubCause {
    /// One amount is the other times 10, 100 or 1000.
    DecimalShift,
    /// Two adjacent digits swapped.
    Transposition,
    /// A gap of at most a few minor units.
    Rounding,
    /// One amount is the other times 1 + a common VAT rate.
    TaxRate,
    /// The same item booked twice on one side.
    DuplicateEntry,
    /// A credit note one side has and the other does not.
    MissingCreditNote,
    /// The customer took a usual discount (1, 2, 3, 5 or 10%) our books do not show.
    DiscountNotApplied,
    /// Both sides have the item, dated more than the tolerance apart.
    LatePosting,
    /// The item falls on the other side of the statement's cut-off date.
    CutOff,
    /// A document one side never booked (invoice not received, payment not yet applied).
    NotBooked,
    Quality,
    Quantity,
    Price,
    DeliberateDelay,
    Other,
}

impl SubCause {
    pub const ALL: [SubCause; 15] = [
        SubCause::DecimalShift,
        SubCause::Transposition,
        SubCause::Rounding,
        SubCause::TaxRate,
        SubCause::DuplicateEntry,
        SubCause::MissingCreditNote,
        SubCause::DiscountNotApplied,
        SubCause::LatePosting,
        SubCause::CutOff,
        SubCause::NotBooked,
        SubCause::Quality,
        SubCause::Quantity,
        SubCause::Price,
        SubCause::DeliberateDelay,
        SubCause::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SubCause::DecimalShift => "decimal_shift",
            SubCause::Transposition => "transposition",
            SubCause::Rounding => "rounding",
            SubCause::TaxRate => "tax_rate",
            SubCause::DuplicateEntry => "duplicate_entry",
            SubCause::MissingCreditNote => "missing_credit_note",
            SubCause::DiscountNotApplied => "discount_not_applied",
            SubCause::LatePosting => "late_posting",
            SubCause::CutOff => "cut_off",
            SubCause::NotBooked => "not_booked",
            SubCause::Quality => "quality",
            SubCause::Quantity => "quantity",
            SubCause::Price => "price",
            SubCause::DeliberateDelay => "deliberate_delay",
            SubCause::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<SubCause> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn cause(self) -> Cause {
        use SubCause::*;
        match self {
            DecimalShift | Transposition | Rounding | TaxRate | DuplicateEntry => Cause::Technical,
            MissingCreditNote | DiscountNotApplied | LatePosting | CutOff | NotBooked => Cause::Process,
            Quality | Quantity | Price | DeliberateDelay | Other => Cause::Dispute,
        }
    }
}

/// Whether the cause was suggested by the service or set by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum CauseSource {
    Suggested,
    Manual,
}

impl CauseSource {
    pub const ALL: [CauseSource; 2] = [CauseSource::Suggested, CauseSource::Manual];
    pub fn as_str(self) -> &'static str {
        match self {
            CauseSource::Suggested => "suggested",
            CauseSource::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<CauseSource> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A cause with the sentence that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub sub_cause: SubCause,
    pub explanation: String,
}

impl Suggestion {
    fn new(sub_cause: SubCause, explanation: String) -> Option<Suggestion> {
        Some(Suggestion { sub_cause, explanation })
    }
    pub fn cause(&self) -> Cause {
        self.sub_cause.cause()
    }
}

/// What reconciliation knows of a difference when it creates it.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub kind: DifferenceKind,
    pub our_amount: Option<Decimal>,
    pub their_amount: Option<Decimal>,
    /// Minor units of the currency (2 for EUR, 0 for JPY).
    pub minor_units: u32,
    pub our_kind: Option<DocType>,
    pub their_kind: Option<DocType>,
    pub our_date: Option<NaiveDate>,
    pub their_date: Option<NaiveDate>,
    /// The statement's end (its period end, else the latest date it shows).
    pub cut_off: Option<NaiveDate>,
}

/// VAT rates (percent) a customer may have booked on top of our amount, or we on top of theirs.
pub const VAT_RATES: [u32; 9] = [3, 6, 9, 13, 16, 17, 19, 20, 21];
/// Discounts (percent) customers take by habit (early payment, volume, agreed rebates).
pub const DISCOUNT_RATES: [u32; 5] = [1, 2, 3, 5, 10];
/// A gap of at most this many minor units is rounding.
pub const ROUNDING_UNITS: i64 = 5;
/// An item dated this close to the cut-off (or after it) is a cut-off question.
pub const CUT_OFF_DAYS: i64 = 5;

/// The likely cause of a difference found by reconciliation, or `None` when the evidence does not
/// say (a plain gap in amounts is left for a person, or for the customer's dispute, to explain).
pub fn suggest(e: &Evidence) -> Option<Suggestion> {
    match e.kind {
        DifferenceKind::DuplicateOnCustomerSide => {
            Suggestion::new(SubCause::DuplicateEntry, "the customer booked the same item twice".into())
        }
        DifferenceKind::DuplicateOnOurSide => {
            Suggestion::new(SubCause::DuplicateEntry, "we booked the same item twice".into())
        }
        DifferenceKind::AmountMismatch => amounts(e.our_amount?, e.their_amount?, e.minor_units),
        DifferenceKind::MissingOnCustomerSide => missing(e, e.our_kind, e.our_date, "their statement", "our"),
        DifferenceKind::MissingOnOurSide => missing(e, e.their_kind, e.their_date, "our books", "their"),
        DifferenceKind::DateMismatch => dates(e),
    }
}

fn unit(minor_units: u32) -> Decimal {
    Decimal::new(1, minor_units)
}

/// Technical slips first (they explain the exact digits), then a discount.
fn amounts(ours: Decimal, theirs: Decimal, minor_units: u32) -> Option<Suggestion> {
    let (ours, theirs) = (ours.abs(), theirs.abs());
    if ours == theirs || ours.is_zero() || theirs.is_zero() {
        return None;
    }
    let pair = format!("{} (ours) and {} (theirs)", ours.normalize(), theirs.normalize());
    if super::customer_statements::decimal_shifted(ours, theirs) {
        return Suggestion::new(SubCause::DecimalShift, format!("{pair} differ by a power of ten"));
    }
    if super::customer_statements::digits_transposed(ours, theirs) {
        return Suggestion::new(SubCause::Transposition, format!("{pair} differ by two adjacent digits swapped"));
    }
    let u = unit(minor_units);
    if (ours - theirs).abs() <= u * Decimal::from(ROUNDING_UNITS) {
        return Suggestion::new(SubCause::Rounding, format!("{pair} differ by {}", (ours - theirs).abs().normalize()));
    }
    let close = |a: Decimal, b: Decimal| (a - b).abs() <= u;
    for rate in VAT_RATES {
        let factor = Decimal::ONE + Decimal::from(rate) / Decimal::ONE_HUNDRED;
        if close(theirs, ours * factor) {
            return Suggestion::new(SubCause::TaxRate, format!("{pair}: theirs is ours plus {rate}% VAT"));
        }
        if close(ours, theirs * factor) {
            return Suggestion::new(SubCause::TaxRate, format!("{pair}: ours is theirs plus {rate}% VAT"));
        }
    }
    for rate in DISCOUNT_RATES {
        let factor = Decimal::ONE - Decimal::from(rate) / Decimal::ONE_HUNDRED;
        if close(theirs, ours * factor) {
            return Suggestion::new(
                SubCause::DiscountNotApplied,
                format!("{pair}: theirs is ours less a {rate}% discount our books do not show"),
            );
        }
    }
    None
}

/// On the far side of the cut-off, or within [`CUT_OFF_DAYS`] before it.
fn near_cut_off(date: NaiveDate, cut_off: NaiveDate) -> bool {
    (date - cut_off).num_days() > -CUT_OFF_DAYS
}

fn missing(
    e: &Evidence,
    kind: Option<DocType>,
    date: Option<NaiveDate>,
    absent_from: &str,
    whose: &str,
) -> Option<Suggestion> {
    if kind == Some(DocType::CreditNote) {
        return Suggestion::new(
            SubCause::MissingCreditNote,
            format!("{whose} credit note is missing from {absent_from}"),
        );
    }
    if let (Some(d), Some(c)) = (date, e.cut_off) {
        if near_cut_off(d, c) {
            return Suggestion::new(
                SubCause::CutOff,
                format!("{whose} item of {d} is within {CUT_OFF_DAYS} days of the cut-off {c} or after it"),
            );
        }
    }
    let what = kind.map(|k| k.as_str().replace('_', " ")).unwrap_or_else(|| "item".into());
    Suggestion::new(SubCause::NotBooked, format!("{whose} {what} is not booked in {absent_from}"))
}

fn dates(e: &Evidence) -> Option<Suggestion> {
    let (ours, theirs) = (e.our_date?, e.their_date?);
    if let Some(c) = e.cut_off {
        if (ours <= c) != (theirs <= c) {
            return Suggestion::new(
                SubCause::CutOff,
                format!("{ours} (ours) and {theirs} (theirs) straddle the cut-off {c}"),
            );
        }
    }
    let days = (theirs - ours).num_days();
    let who = if days > 0 { "they" } else { "we" };
    Suggestion::new(SubCause::LatePosting, format!("{who} posted it {} days later", days.abs()))
}

/// Words (lower case) that name each dispute sub-cause, English and Chinese.
const DISPUTE_WORDS: [(SubCause, &[&str]); 4] = [
    (
        SubCause::Quality,
        &[
            "quality",
            "defect",
            "damaged",
            "damage",
            "broken",
            "faulty",
            "spoiled",
            "not working",
            "rejected",
            "质量",
            "次品",
            "损坏",
            "破损",
            "瑕疵",
            "不合格",
            "故障",
        ],
    ),
    (
        SubCause::Quantity,
        &[
            "quantity",
            "short deliver",
            "short-deliver",
            "short shipment",
            "units",
            "pieces",
            "pcs",
            "missing items",
            "received only",
            "not delivered",
            "数量",
            "少发",
            "短少",
            "缺货",
            "少了",
            "件数",
            "未收到货",
        ],
    ),
    (
        SubCause::Price,
        &[
            "price",
            "priced",
            "overcharged",
            "over-charged",
            "unit rate",
            "contract rate",
            "quotation",
            "quoted",
            "价格",
            "单价",
            "报价",
            "多收",
            "价钱",
            "合同价",
        ],
    ),
    (
        SubCause::DeliberateDelay,
        &[
            "later",
            "next month",
            "postpone",
            "delay",
            "cash flow",
            "budget",
            "approval",
            "year-end",
            "year end",
            "延期",
            "推迟",
            "资金紧张",
            "下个月",
            "晚点",
            "审批",
            "缓付",
        ],
    ),
];

/// The dispute sub-cause the customer's words point to: the sub-cause with the most keyword hits
/// (ties go to the earlier of quality, quantity, price, delay); `other` when none is named.
pub fn suggest_dispute(reason: &str) -> Suggestion {
    let text = reason.to_lowercase();
    let mut best: Option<(SubCause, Vec<&str>)> = None;
    for (sub, words) in DISPUTE_WORDS {
        let hits: Vec<&str> = words.iter().copied().filter(|w| text.contains(w)).collect();
        if !hits.is_empty() && best.as_ref().is_none_or(|(_, b)| hits.len() > b.len()) {
            best = Some((sub, hits));
        }
    }
    match best {
        Some((sub, hits)) => {
            Suggestion { sub_cause: sub, explanation: format!("the customer disputed it naming {}", hits.join(", ")) }
        }
        None => Suggestion {
            sub_cause: SubCause::Other,
            explanation: "the customer disputed it without naming quality, quantity, price or timing".into(),
        },
    }
}

#[cfg(test)]
#[path = "difference_cause_tests.rs"]
mod tests;
