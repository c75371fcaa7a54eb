//! What makes a bank line "the same line" when a statement is imported twice or statements
//! overlap: the bank's own reference when it gives one, else a hash of the line's content.

use sha2::{Digest, Sha256};

/// The content that identifies a line without a bank reference.
pub struct LineContent<'a> {
    pub booking_date: chrono::NaiveDate,
    pub amount: rust_decimal::Decimal,
    pub currency: &'a str,
    pub counterparty_iban: Option<&'a str>,
    pub counterparty_name: Option<&'a str>,
    pub remittance: Option<&'a str>,
    pub end_to_end_id: Option<&'a str>,
}

pub fn content_hash(c: &LineContent<'_>) -> String {
    let mut h = Sha256::new();
    let amount = c.amount.normalize().to_string();
    for part in [
        c.booking_date.to_string().as_str(),
        amount.as_str(),
        c.currency,
        c.counterparty_iban.unwrap_or(""),
        c.counterparty_name.unwrap_or(""),
        c.remittance.unwrap_or(""),
        c.end_to_end_id.unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// `ref:<bank reference>`, or `hash:<content hash>#<n>` where n counts identical lines earlier in
/// the same file, so two genuinely identical lines (two equal fees on one day) both survive,
/// while the same file imported again maps onto the same keys.
pub fn dedupe_key(bank_reference: Option<&str>, content_hash: &str, occurrence: u32) -> String {
    match bank_reference {
        Some(r) => format!("ref:{r}"),
        None => format!("hash:{content_hash}#{occurrence}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(amount: &str) -> String {
        content_hash(&LineContent {
            booking_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            amount: amount.parse().unwrap(),
            currency: "EUR",
            counterparty_iban: None,
            counterparty_name: Some("ACME"),
            remittance: Some("INV-1"),
            end_to_end_id: None,
        })
    }

    #[test]
    fn same_content_same_hash_regardless_of_scale() {
        assert_eq!(content("10.5"), content("10.50"));
        assert_ne!(content("10.5"), content("10.51"));
    }

    #[test]
    fn references_win_over_hashes() {
        assert_eq!(dedupe_key(Some("BL1"), "abc", 0), "ref:BL1");
        assert_eq!(dedupe_key(None, "abc", 1), "hash:abc#1");
    }
}
