//! Validation of customers' contact data (people, phones, postal addresses).

/// At most this many address lines above postal code and city.
pub const MAX_ADDRESS_LINES: usize = 5;

/// A short free text (role, city, postal code): trimmed, printable, bounded.
pub fn check_short_text(value: &str, max_chars: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max_chars || v.chars().any(|c| c.is_control()) {
        return Err(format!("must be 1 to {max_chars} printable characters"));
    }
    Ok(v.to_string())
}

/// Phone numbers as people write them ("+86 21 6888 0000", "(030) 123-45 67", "ext. 12"):
/// digits with `+ - ( ) . /` spaces and an extension; at least 5 digits.
pub fn check_phone(value: &str) -> Result<String, String> {
    let v = value.trim();
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || " +-().#/".contains(c);
    if digits < 5 || v.chars().count() > 40 || !v.chars().all(allowed) {
        return Err("must be a phone number of at most 40 characters with at least 5 digits".into());
    }
    Ok(v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Address lines: empty ones dropped, each at most 200 printable characters; the error names
/// the line (`address_lines[2]`).
pub fn check_address_lines(lines: &[String]) -> Result<Vec<String>, (String, String)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(check_short_text(line, 200).map_err(|e| (format!("address_lines[{i}]"), e))?);
    }
    if out.len() > MAX_ADDRESS_LINES {
        return Err(("address_lines".into(), format!("at most {MAX_ADDRESS_LINES} lines")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_as_people_write_them() {
        assert_eq!(check_phone(" +86 21  6888 0000 ").unwrap(), "+86 21 6888 0000");
        assert!(check_phone("(030) 123-45 67 ext. 12").is_ok());
        assert!(check_phone("1234").is_err());
        assert!(check_phone("call me maybe 12345!").is_err());
    }

    #[test]
    fn address_lines_are_bounded() {
        let lines: Vec<String> = vec!["Room 1201".into(), "  ".into(), "88 Century Ave".into()];
        assert_eq!(check_address_lines(&lines).unwrap(), vec!["Room 1201", "88 Century Ave"]);
        let too_many: Vec<String> = (0..6).map(|i| format!("line {i}")).collect();
        assert!(check_address_lines(&too_many).is_err());
        let bad = vec!["ok".to_string(), "x".repeat(201)];
        assert_eq!(check_address_lines(&bad).unwrap_err().0, "address_lines[1]");
    }
}
