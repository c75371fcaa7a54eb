//! What makes a bank line "the same line" when a statement is imported twice or statements
//! overlap: its reference **and** its content. Banks reuse references (`NONREF`, free text, one
//! reference per batch, the same journal number for two postings), so a reference alone would
//! drop real payments; a line is only "already imported" when its reference, date, amount (and
//! so its direction), currency, counterparty and text all agree. The text is the remittance
//! information, else the structured creditor reference: a camt.053 giving only `Strd/CdtrRefInf`
//! and a CSV export of the same line with the reference as its text are one line.
//!
//! The key is the content's fingerprint plus the line's occurrence number among identical lines
//! in its file: two genuinely identical lines (two equal fees on one day) both survive, while the
//! same file imported again maps onto the same keys. The database enforces uniqueness of
//! (tenant, account, key); `bank_line_fingerprint()` in migration 000019 computes the same
//! fingerprint from stored columns (a test holds the two together).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

// How much of a bank line is applied to documents (or that it is set aside), as the API shows it
// and the database stores it. (No doc comment: it would become the schema's description in the
// OpenAPI and GraphQL documents.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum BankLineStatus {
    Unapplied,
    PartlyApplied,
    Applied,
    Ignored,
}

impl BankLineStatus {
    pub const ALL: [BankLineStatus; 4] =
        [BankLineStatus::Unapplied, BankLineStatus::PartlyApplied, BankLineStatus::Applied, BankLineStatus::Ignored];

    pub fn as_str(self) -> &'static str {
        match self {
            BankLineStatus::Unapplied => "unapplied",
            BankLineStatus::PartlyApplied => "partly_applied",
            BankLineStatus::Applied => "applied",
            BankLineStatus::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<BankLineStatus> {
        BankLineStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The content that identifies a line, as stored.
pub struct LineContent<'a> {
    pub reference: Option<&'a str>,
    pub booking_date: chrono::NaiveDate,
    /// Signed: the direction is part of the content.
    pub amount: rust_decimal::Decimal,
    pub currency: &'a str,
    pub counterparty_name: Option<&'a str>,
    pub counterparty_iban: Option<&'a str>,
    pub counterparty_account: Option<&'a str>,
    pub remittance: Option<&'a str>,
    pub creditor_reference: Option<&'a str>,
    pub end_to_end_id: Option<&'a str>,
}

impl LineContent<'_> {
    fn text(&self) -> Option<&str> {
        self.remittance.or(self.creditor_reference)
    }
}

/// 16 bytes of SHA-256 over the length-prefixed parts (a missing part is empty).
pub fn fingerprint(c: &LineContent<'_>) -> [u8; 16] {
    let mut h = Sha256::new();
    let mut part = |p: &str| {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    };
    part(c.reference.unwrap_or(""));
    // ISO date and the amount without trailing zeros, as PostgreSQL writes them
    // (to_char(d, 'YYYY-MM-DD'), trim_scale(amount)::text); written on the stack, as this runs
    // for every imported line.
    use std::io::Write;
    let mut buf = [0u8; 64];
    let mut w = std::io::Cursor::new(&mut buf[..]);
    let d = c.booking_date;
    let _ = write!(
        w,
        "{:04}-{:02}-{:02}",
        chrono::Datelike::year(&d),
        chrono::Datelike::month(&d),
        chrono::Datelike::day(&d)
    );
    let n = w.position() as usize;
    part(std::str::from_utf8(&buf[..n]).unwrap_or(""));
    let amount = c.amount.normalize();
    let mut w = std::io::Cursor::new(&mut buf[..]);
    let _ = if amount.is_zero() { write!(w, "0") } else { write!(w, "{amount}") };
    let n = w.position() as usize;
    part(std::str::from_utf8(&buf[..n]).unwrap_or(""));
    for p in
        [Some(c.currency), c.counterparty_name, c.counterparty_iban, c.counterparty_account, c.text(), c.end_to_end_id]
    {
        part(p.unwrap_or(""));
    }
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// `<fingerprint in hex>#<n>`: n counts identical lines earlier in the same file (from 1).
pub fn dedupe_key(fingerprint: &[u8; 16], occurrence: u32) -> String {
    format!("{}#{occurrence}", hex::encode(fingerprint))
}

/// Counts identical lines per account within one file. Most lines are unique, so a set of
/// 8-byte keys holds them and only repeats get a counter: about 10 bytes a line.
#[derive(Default)]
pub struct Occurrences {
    seen: std::collections::HashSet<u64>,
    repeats: std::collections::HashMap<u64, u32>,
}

impl Occurrences {
    /// The occurrence number (1, 2, ...) of this content on this account within the file.
    pub fn next(&mut self, account: uuid::Uuid, fingerprint: &[u8; 16]) -> u32 {
        let (a, b) = account.as_u64_pair();
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&fingerprint[..8]);
        let key = u64::from_le_bytes(fp) ^ a.rotate_left(17) ^ b;
        if self.seen.insert(key) {
            return 1;
        }
        let n = self.repeats.entry(key).or_insert(1);
        *n += 1;
        *n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content<'a>(reference: Option<&'a str>, amount: &str, remittance: &'a str) -> [u8; 16] {
        fingerprint(&LineContent {
            reference,
            booking_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            amount: amount.parse().unwrap(),
            currency: "EUR",
            counterparty_name: Some("ACME"),
            counterparty_iban: None,
            counterparty_account: None,
            remittance: Some(remittance),
            creditor_reference: None,
            end_to_end_id: None,
        })
    }

    #[test]
    fn same_content_same_fingerprint_regardless_of_scale() {
        assert_eq!(content(None, "10.5", "INV-1"), content(None, "10.50", "INV-1"));
        assert_ne!(content(None, "10.5", "INV-1"), content(None, "10.51", "INV-1"));
        assert_ne!(content(None, "10.5", "INV-1"), content(None, "-10.5", "INV-1"), "direction counts");
        assert_eq!(content(None, "0.00", "x"), content(None, "0", "x"));
        // The parts as PostgreSQL writes them, byte for byte.
        let mut h = Sha256::new();
        for p in ["", "2026-03-01", "-1234.5", "EUR", "ACME", "", "", "INV-1", ""] {
            h.update((p.len() as u64).to_be_bytes());
            h.update(p.as_bytes());
        }
        assert_eq!(content(None, "-1234.50", "INV-1")[..], h.finalize()[..16]);
    }

    #[test]
    fn a_structured_reference_is_the_text_when_there_is_no_other() {
        let line = |remittance: Option<&'static str>, creditor_reference: Option<&'static str>| {
            fingerprint(&LineContent {
                reference: Some("BL1"),
                booking_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                amount: rust_decimal::Decimal::ONE,
                currency: "EUR",
                counterparty_name: None,
                counterparty_iban: None,
                counterparty_account: None,
                remittance,
                creditor_reference,
                end_to_end_id: None,
            })
        };
        let rf = Some("RF18539007547034");
        assert_eq!(line(None, rf), line(rf, rf), "camt Strd only, and a CSV with the reference as text");
        assert_ne!(line(None, rf), line(None, Some("RF71539007547035")));
        assert_eq!(line(Some("INV 1"), rf), line(Some("INV 1"), None));
    }

    #[test]
    fn a_repeated_reference_with_other_content_is_another_line() {
        let a = content(Some("melding"), "5968.64", "Overforing med melding / DBTS 1234365263");
        let b = content(Some("melding"), "681920.00", "Overforing med melding / DBT.MVA 1T2010");
        assert_ne!(a, b);
        assert_ne!(a, content(None, "5968.64", "Overforing med melding / DBTS 1234365263"), "the reference counts");
        // Parts are length-prefixed: moving text between fields changes the fingerprint.
        assert_ne!(content(Some("AB"), "1", "C"), content(Some("A"), "1", "BC"));
        assert_eq!(dedupe_key(&a, 2).len(), 34);
        assert!(dedupe_key(&a, 2).ends_with("#2"));
    }

    #[test]
    fn occurrences_count_per_account() {
        let mut o = Occurrences::default();
        let (acct, other) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let fp = content(None, "1", "fee");
        assert_eq!((o.next(acct, &fp), o.next(acct, &fp), o.next(acct, &fp)), (1, 2, 3));
        assert_eq!(o.next(other, &fp), 1);
        assert_eq!(o.next(acct, &content(None, "2", "fee")), 1);
    }
}
