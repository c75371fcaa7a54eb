//! Validation and normalisation of customer master data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Active,
    Inactive,
    Blocked,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Inactive => "inactive",
            CustomerStatus::Blocked => "blocked",
        }
    }
    pub const ALL: [CustomerStatus; 3] = [CustomerStatus::Active, CustomerStatus::Inactive, CustomerStatus::Blocked];

    pub fn parse(s: &str) -> Option<CustomerStatus> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Customer codes and document numbers are identifiers other systems key on: printable,
/// no surrounding space, bounded length.
pub fn check_identifier(value: &str, max_len: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > max_len {
        return Err(format!("must be at most {max_len} characters"));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err("must not contain control characters".into());
    }
    Ok(v.to_string())
}

pub fn check_name(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".into());
    }
    if v.chars().count() > 300 || v.chars().any(|c| c.is_control()) {
        return Err("must be at most 300 printable characters".into());
    }
    Ok(v.to_string())
}

/// ISO 3166-1 alpha-2 shape (two upper-case letters); the code list itself is not enforced.
pub fn check_country(value: &str) -> Result<String, String> {
    let v = value.trim().to_ascii_uppercase();
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err(format!("{value:?} is not an ISO 3166 alpha-2 country code"))
    }
}

/// Bank accounts are kept in IBAN's electronic form (no spaces, upper case). The checksum is
/// not enforced: ERPs hold non-IBAN account numbers and test data with made-up IBANs; a bank
/// line's payer account is matched by equality, so a wrong digit only costs a match.
/// Separators banks print inside account numbers (spaces, `/` between bank code and account,
/// `-`, `.`) are dropped.
pub fn normalize_account(value: &str) -> Result<String, String> {
    let v: String = value
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '/' | '-' | '.'))
        .collect::<String>()
        .to_ascii_uppercase();
    if (5..=34).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(v)
    } else {
        Err(format!("{value:?} is not a bank account number or IBAN (5 to 34 letters and digits)"))
    }
}

pub fn check_email(value: &str) -> Result<String, String> {
    let v = value.trim();
    let parts: Vec<&str> = v.split('@').collect();
    if v.len() <= 254
        && parts.len() == 2
        && !parts[0].is_empty()
        && parts[1].contains('.')
        && !v.contains(char::is_whitespace)
    {
        Ok(v.to_string())
    } else {
        Err(format!("{value:?} is not an e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_normalised() {
        assert_eq!(normalize_account("de89 3704 0044 0532 0130 00").unwrap(), "DE89370400440532013000");
        assert!(normalize_account("DE-89").is_err());
        assert_eq!(normalize_account("37040044/0532013000").unwrap(), "370400440532013000");
        assert!(normalize_account("DE89_3704").is_err());
        assert!(normalize_account("").is_err());
    }

    #[test]
    fn identifiers_and_emails() {
        assert_eq!(check_identifier("  C000001 ", 64).unwrap(), "C000001");
        assert!(check_identifier("", 64).is_err());
        assert!(check_identifier("a\nb", 64).is_err());
        assert!(check_email("ap@c1.example").is_ok());
        assert!(check_email("nope").is_err());
        assert!(check_country("de").is_ok());
        assert!(check_country("DEU").is_err());
    }
}
