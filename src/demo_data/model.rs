//! What a generated data set holds: the company's books, its bank lines, customers' statements,
//! and the ground truth a cash-application run and a statement reconciliation are scored against.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    Eur,
    Usd,
    Cny,
    Jpy,
    Gbp,
}

impl Currency {
    pub const ALL: [Currency; 5] = [Currency::Eur, Currency::Usd, Currency::Cny, Currency::Jpy, Currency::Gbp];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Cny => "CNY",
            Currency::Jpy => "JPY",
            Currency::Gbp => "GBP",
        }
    }

    pub fn minor_units(self) -> u32 {
        if self == Currency::Jpy {
            0
        } else {
            2
        }
    }

    /// The data set's fixed rate to EUR (what an evaluation loads as the tenant's rate table).
    pub fn rate_to_eur(self) -> Decimal {
        match self {
            Currency::Eur => Decimal::ONE,
            Currency::Usd => Decimal::new(92, 2),
            Currency::Cny => Decimal::new(128, 3),
            Currency::Jpy => Decimal::new(61, 4),
            Currency::Gbp => Decimal::new(117, 2),
        }
    }

    /// The company's receiving account in this currency.
    pub fn our_account(self) -> &'static str {
        match self {
            Currency::Eur => "DE89370400440532013000",
            Currency::Gbp => "GB29NWBK60161331926819",
            Currency::Usd => "DE44500105175407324931",
            Currency::Cny => "CN5810000000000123456789",
            Currency::Jpy => "GB33BUKB20201555555555",
        }
    }

    /// Rounded half away from zero to the currency's minor unit, written with exactly that many
    /// decimals ("100.00", not "100").
    pub fn round(self, amount: Decimal) -> Decimal {
        let mut rounded = amount.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(self.minor_units());
        rounded
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub code: String,
    pub name: String,
    pub country: &'static str,
    pub iban: Option<String>,
    pub email: String,
    /// The currency it is invoiced in (not a column of customers.csv).
    pub currency: Currency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    Invoice,
    CreditNote,
    Payment,
}

impl DocType {
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Invoice => "invoice",
            DocType::CreditNote => "credit_note",
            DocType::Payment => "payment",
        }
    }

    pub(crate) fn prefix(self) -> &'static str {
        match self {
            DocType::Invoice => "INV",
            DocType::CreditNote => "CN",
            DocType::Payment => "PAY",
        }
    }
}

/// A ledger document. Amounts are positive, in the document's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub doc_no: String,
    pub doc_type: DocType,
    pub customer_code: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: Currency,
    pub amount: Decimal,
    /// The customer's own payment reference (ledger payments only).
    pub reference: String,
}

/// A line of one of the company's bank accounts: credits positive, debits negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankLine {
    pub line_id: String,
    pub account_iban: &'static str,
    pub booking_date: NaiveDate,
    pub value_date: NaiveDate,
    pub amount: Decimal,
    pub currency: Currency,
    pub counterparty_name: String,
    pub counterparty_iban: String,
    pub remittance: String,
    pub end_to_end_id: String,
}

/// How a bank line came about: the label of its ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// One invoice paid in full with its number in the remittance text.
    Exact,
    /// ... with the number mangled (spacing, prefix dropped, digits transposed, RF reference).
    NoisyReference,
    /// No usable reference: the amount and the payer's IBAN identify the invoice.
    AmountAndPayer,
    /// Several invoices in one payment (the text may name only some).
    Combined,
    /// Several invoices less a credit note.
    CombinedWithCreditNote,
    /// Part of an invoice; the rest stays open.
    Partial,
    /// An invoice paid in two halves (two lines).
    Split,
    /// Short by a bank fee: the invoice is settled, the fee a difference.
    ShortBankFee,
    /// 2% early-payment discount taken.
    EarlyPaymentDiscount,
    /// More than the invoice: the excess stays on the line.
    Overpayment,
    /// An invoice in another currency paid in the customer's own.
    ForeignCurrency,
    /// A second payment of an invoice already paid: stays unapplied.
    DuplicatePayment,
    /// Two open invoices of the same amount, no reference: the oldest is settled.
    OldestFirst,
    /// Interest, refunds, unrelated transfers: no customer's payment.
    NoOwner,
    /// Paid by another party for the customer (parent company, factoring company, collection
    /// agency, payment provider) or from an account not in master data (`PaymentHabit::ThirdParty`).
    ThirdPartyPayer,
    /// Several invoices in one amount without any reference (`PaymentHabit::BulkWithoutReference`).
    BulkWithoutReference,
    /// The customer's purchase-order number instead of ours (`PaymentHabit::PurchaseOrder`).
    PurchaseOrder,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Exact => "exact",
            Scenario::NoisyReference => "noisy_reference",
            Scenario::AmountAndPayer => "amount_and_payer",
            Scenario::Combined => "combined",
            Scenario::CombinedWithCreditNote => "combined_with_credit_note",
            Scenario::Partial => "partial",
            Scenario::Split => "split",
            Scenario::ShortBankFee => "short_bank_fee",
            Scenario::EarlyPaymentDiscount => "early_payment_discount",
            Scenario::Overpayment => "overpayment",
            Scenario::ForeignCurrency => "foreign_currency",
            Scenario::DuplicatePayment => "duplicate_payment",
            Scenario::OldestFirst => "oldest_first",
            Scenario::NoOwner => "no_owner",
            Scenario::ThirdPartyPayer => "third_party_payer",
            Scenario::BulkWithoutReference => "bulk_without_reference",
            Scenario::PurchaseOrder => "purchase_order",
        }
    }
}

/// The correct application of a bank line to a document (amount in the document's currency;
/// negative for a credit note netted in a payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthAllocation {
    pub line_id: String,
    pub doc_no: String,
    pub amount: Decimal,
    pub scenario: Scenario,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DifferenceReason {
    BankFee,
    Discount,
    Fx,
    Overpayment,
    Duplicate,
}

impl DifferenceReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceReason::BankFee => "bank_fee",
            DifferenceReason::Discount => "discount",
            DifferenceReason::Fx => "fx",
            DifferenceReason::Overpayment => "overpayment",
            DifferenceReason::Duplicate => "duplicate",
        }
    }
}

/// What a bank line should end as: applied to `TruthAllocation`s or unapplied, and what it leaves
/// over (positive) or short (negative) after applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthLine {
    pub line_id: String,
    pub scenario: Scenario,
    pub applied: bool,
    pub difference: Decimal,
    pub difference_reason: Option<DifferenceReason>,
}

/// The kinds a statement reconciliation reports (the service's own names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatementDifferenceKind {
    MissingOnCustomerSide,
    MissingOnOurSide,
    AmountMismatch,
    DuplicateOnCustomerSide,
    /// Only with `Options::cause_cases` (a late posting).
    DateMismatch,
}

impl StatementDifferenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementDifferenceKind::MissingOnCustomerSide => "missing_on_customer_side",
            StatementDifferenceKind::MissingOnOurSide => "missing_on_our_side",
            StatementDifferenceKind::AmountMismatch => "amount_mismatch",
            StatementDifferenceKind::DuplicateOnCustomerSide => "duplicate_on_customer_side",
            StatementDifferenceKind::DateMismatch => "date_mismatch",
        }
    }
}

/// A difference planted in a customer's statement, which reconciliation must find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthDifference {
    pub customer_code: String,
    pub kind: StatementDifferenceKind,
    pub our_ref: String,
    pub their_ref: String,
    pub our_amount: Option<Decimal>,
    pub their_amount: Option<Decimal>,
}

/// A line of a customer's statement: what the customer's own books say. `our_ref` is the invoice
/// the line is about (for a payment: the invoice it pays); with habits it is what their column
/// for our number holds, often nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    pub customer_code: String,
    pub their_ref: String,
    pub our_ref: String,
    pub date: NaiveDate,
    pub kind: DocType,
    pub amount: Decimal,
    pub currency: Currency,
    /// Their booking text (habits only; the default statements have none).
    pub text: String,
}

/// The language a customer's system writes its statement in: headers, document types, texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Chinese,
    German,
    English,
    French,
}

/// How amounts are written: debit and credit columns of their books (our invoices are credits),
/// or one signed column with invoices negative (their books) or positive (our view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignHabit {
    DebitCredit,
    SignedInvoicesNegative,
    SignedInvoicesPositive,
}

/// How one customer's system writes its statement (generated with `Options::habits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementHabits {
    pub customer_code: String,
    pub language: Language,
    pub sign: SignHabit,
    /// A document type column (else kinds follow from the sides).
    pub type_column: bool,
    /// SAP document type codes (KR, KZ, KG) instead of words: the mapping lists them.
    pub sap_codes: bool,
    /// A column for our invoice number (filled on about half the lines).
    pub our_ref_column: bool,
    /// chrono format of the dates.
    pub date_format: &'static str,
    pub gbk: bool,
    /// Title lines (ledger name, company) before the header.
    pub title_rows: bool,
    /// A total line at the end.
    pub total_row: bool,
    /// Thousands separators in amounts.
    pub thousands: bool,
    /// The saved mapping names the date format (else it is detected).
    pub mapping_dates: bool,
    /// The saved mapping says which side invoices are on (else the types or the books tell).
    pub mapping_side: bool,
}

/// A whole generated data set, in the order its files list it.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    pub customers: Vec<Customer>,
    /// Sorted by issue date, then document number.
    pub ledger: Vec<Document>,
    /// Sorted by booking date (shuffled within a day, as banks list them).
    pub bank: Vec<BankLine>,
    pub truth_allocations: Vec<TruthAllocation>,
    pub truth_lines: Vec<TruthLine>,
    pub truth_differences: Vec<TruthDifference>,
    /// The cause of each planted difference (with `Options::cause_cases`).
    pub truth_causes: Vec<super::difference_causes::TruthCause>,
    /// Grouped by customer.
    pub statements: Vec<StatementRow>,
    /// Per statement customer, how its statement is written (empty without `Options::habits`).
    pub statement_habits: Vec<StatementHabits>,
    /// The customers that pay their own way (empty unless `Options::months` >= 2); the same in
    /// every month.
    pub payment_habits: Vec<CustomerHabit>,
}

/// Who pays for a customer with a `PaymentHabit::ThirdParty` habit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThirdPartyKind {
    /// Its parent company (one name and account per customer).
    ParentCompany,
    /// A factoring company that bought its receivables; quotes the invoice its own way.
    Factoring,
    /// A collection agency; quotes its file number and the invoice its way.
    CollectionAgency,
    /// A payment provider's payout (PayPal, Stripe): one name and account for all its payers.
    PaymentProvider,
    /// The customer itself, from a bank account not in master data.
    NewBankAccount,
}

impl ThirdPartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ThirdPartyKind::ParentCompany => "parent_company",
            ThirdPartyKind::Factoring => "factoring",
            ThirdPartyKind::CollectionAgency => "collection_agency",
            ThirdPartyKind::PaymentProvider => "payment_provider",
            ThirdPartyKind::NewBankAccount => "new_bank_account",
        }
    }
}

/// How a customer pays most of its ordinary payments, month after month: what a person teaches
/// the first month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentHabit {
    /// Another party pays, under a name and from an IBAN that are not in master data.
    ThirdParty { kind: ThirdPartyKind, name: String, iban: String },
    /// Several invoices in one amount, without any reference.
    BulkWithoutReference,
    /// Quotes only its own purchase-order number (the invoices' `reference` in our ledger).
    PurchaseOrder,
}

impl PaymentHabit {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentHabit::ThirdParty { kind, .. } => kind.as_str(),
            PaymentHabit::BulkWithoutReference => "bulk_without_reference",
            PaymentHabit::PurchaseOrder => "purchase_order",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerHabit {
    pub customer_code: String,
    pub habit: PaymentHabit,
}
