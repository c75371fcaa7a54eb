//! A tenant's slug: the short name its people log in with (`acme`, `hangzhou-duizhang`).

/// Lower-case ASCII letters, digits and inner hyphens, 1 to 63 characters.
pub fn check_slug(slug: &str) -> Result<(), &'static str> {
    let bytes = slug.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    if bytes.is_empty() || bytes.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !bytes.iter().all(allowed) || bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return Err("lower-case letters, digits and inner hyphens only (like acme-gmbh)");
    }
    Ok(())
}

/// A slug from a tenant's name: `Acme GmbH & Co.` -> `acme-gmbh-co`; `tenant` when nothing of
/// the name is ASCII (the same rule the migration applied to existing tenants).
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(50);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "tenant".into()
    } else {
        slug.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names_are_valid() {
        for (name, slug) in [
            ("Acme GmbH & Co.", "acme-gmbh-co"),
            ("  Test Tenant ", "test-tenant"),
            ("杭州对账科技有限公司", "tenant"),
            ("Über-Bau 2026!", "ber-bau-2026"),
            (&"x".repeat(80), &"x".repeat(50)),
        ] {
            assert_eq!(slug_from_name(name), slug, "{name}");
            assert_eq!(check_slug(slug), Ok(()), "{slug}");
        }
    }

    #[test]
    fn bad_slugs_are_refused() {
        for slug in ["", "-acme", "acme-", "Acme", "acme co", "acme_co", &"a".repeat(64)] {
            assert!(check_slug(slug).is_err(), "{slug:?}");
        }
    }
}
