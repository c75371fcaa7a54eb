//! Names and texts as they appear in real files: company names (European and Chinese), payer
//! names as banks render them, and remittance texts as customers type them.

use super::rng::DemoRng;

const LEGAL: [&str; 10] = ["GmbH", "Ltd", "SARL", "S.p.A.", "B.V.", "Inc.", "AG", "Oy", "AB", "LLC"];
const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mer", "tin", "vo", "sa", "ri", "ben", "tor", "qua", "lux", "dor", "fen", "gal", "hor", "ix", "jun",
    "kel", "mon", "nor", "pel", "rus", "sel", "tam",
];
/// Family names and trades, for names like "Müller Maschinenbau GmbH" or "Rossi Tessuti S.p.A.".
const FAMILY: [&str; 16] = [
    "Müller",
    "Schneider",
    "Dubois",
    "Lefèvre",
    "Rossi",
    "Bianchi",
    "van Dijk",
    "Janssen",
    "Nowak",
    "García",
    "Svensson",
    "Virtanen",
    "Fischer",
    "Moreau",
    "Kowalski",
    "O'Brien",
];
const TRADE: [&str; 12] = [
    "Maschinenbau",
    "Logistik",
    "Trading",
    "Textiles",
    "Foods",
    "Elettronica",
    "Bouw",
    "Chemie",
    "Components",
    "Packaging",
    "Möbel",
    "Automotive",
];
const CHINESE: [&str; 12] = [
    "上海宏达贸易有限公司",
    "北京华信科技有限公司",
    "深圳市鹏程电子有限公司",
    "广州恒泰物流有限公司",
    "杭州天成服饰有限公司",
    "苏州金鼎机械有限公司",
    "宁波东方进出口有限公司",
    "成都锦程食品有限公司",
    "天津海联化工有限公司",
    "厦门鼎盛包装有限公司",
    "武汉长江汽车零部件有限公司",
    "青岛瑞丰家具有限公司",
];
pub const NOISE_TEXT: [&str; 8] = [
    "INTEREST CREDIT",
    "REFUND SUPPLIER",
    "CARD SETTLEMENT",
    "CASH DEPOSIT",
    "TRANSFER OWN ACCOUNT",
    "INSURANCE CLAIM",
    "TAX REFUND",
    "MISC CREDIT",
];
pub const NOISE_PAYERS: [&str; 4] = ["BANK", "HMRC", "VISA EU", ""];

fn capitalized(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => s,
    }
}

fn syllables(rng: &mut DemoRng, n: usize) -> String {
    capitalized((0..n).map(|_| *rng.pick(&SYLLABLES)).collect())
}

/// A company name: Chinese with probability `chinese_share` (sometimes a branch, 分公司), else a
/// European family-and-trade or invented name with a legal form. Never a comma.
pub fn company(rng: &mut DemoRng, chinese_share: f64) -> String {
    if rng.chance(chinese_share) {
        let name = *rng.pick(&CHINESE);
        return if rng.chance(0.5) { name.to_string() } else { format!("{name}{}分公司", rng.range(2, 99)) };
    }
    let legal = *rng.pick(&LEGAL);
    if rng.chance(0.3) {
        return format!("{} {} {legal}", rng.pick(&FAMILY), rng.pick(&TRADE));
    }
    let n = rng.range(2, 3) as usize;
    let word = syllables(rng, n);
    if rng.chance(0.6) {
        format!("{word} {legal}")
    } else {
        format!("{word} {} {legal}", syllables(rng, 2))
    }
}

/// The payment providers whose payouts customers pay through: name as the bank shows it, and
/// the account number behind the check digits of their IBAN.
pub const PAYMENT_PROVIDERS: [(&str, &str, &str); 2] = [
    ("PAYPAL EUROPE S.A R.L. ET CIE S.C.A", "LU", "0019175551234567"),
    ("STRIPE PAYMENTS EUROPE LTD", "IE", "STRP99000012345678"),
];

/// A name for a party that pays for a customer: a holding or group company, a factoring company
/// or a collection agency (never a comma).
pub fn third_party(rng: &mut DemoRng, kind: super::ThirdPartyKind) -> String {
    use super::ThirdPartyKind as K;
    let n = rng.range(2, 3) as usize;
    let word = syllables(rng, n);
    let legal = *rng.pick(&LEGAL);
    match kind {
        K::Factoring => format!("{word} {} {legal}", rng.pick(&["Factoring", "Finance", "Factor Bank"])),
        K::CollectionAgency => format!("{word} {}", rng.pick(&["Inkasso GmbH", "Collections Ltd", "Recouvrement SAS"])),
        _ => format!("{word} {} {legal}", rng.pick(&["Holding", "Group", "Beteiligungen", "Industries"])),
    }
}

/// How a bank renders the payer: upper-cased, cut to 18 characters, legal form dropped, or as is.
pub fn payer(rng: &mut DemoRng, name: &str) -> String {
    let v = rng.unit();
    if v < 0.4 {
        name.to_uppercase()
    } else if v < 0.6 {
        name.to_uppercase().chars().take(18).collect::<String>().trim_end().to_string()
    } else if v < 0.75 {
        name.rsplit_once(' ').map(|(head, _)| head.to_string()).unwrap_or_else(|| name.to_string())
    } else {
        name.to_string()
    }
}

/// A remittance text naming the document: clean (`noisy == false`) or mangled as customers and
/// their banks do (another spelling, digits dropped or transposed, an RF creditor reference).
pub fn reference_text(rng: &mut DemoRng, doc_no: &str, noisy: bool) -> String {
    if !noisy {
        return match rng.below(4) {
            0 => doc_no.to_string(),
            1 => format!("Invoice {doc_no}"),
            2 => format!("{doc_no} / payment"),
            _ => format!("REF {doc_no} THANK YOU"),
        };
    }
    // INV-2026-0000123 -> year "2026", seq "0000123", n 123
    let mut parts = doc_no.splitn(3, '-');
    let (_, year, seq) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let n: u64 = seq.parse().unwrap_or(0);
    match rng.below(9) {
        0 => format!("INV{year}{n}"),
        1 => format!("inv {year}/{seq}"),
        2 => format!("{year}-{seq}"),
        3 => format!("Rechnung {n}"),
        4 => format!("INVOICE NO {n}"),
        5 => format!("payment inv-{year}-{n:07}"),
        6 => rf_reference(doc_no),
        7 => format!("PMT {}", doc_no.replace('-', " ")),
        _ => {
            let b = seq.as_bytes();
            if b.len() < 2 {
                return doc_no.to_string();
            }
            let (head, tail) = seq.split_at(b.len() - 2);
            let swapped: String = tail.chars().rev().collect();
            format!("INV-{year}-{head}{swapped}")
        }
    }
}

/// ISO 11649 creditor reference ("RF" + two check digits + the document number's letters and
/// digits): the check digits make the number mod 97 equal 1.
pub fn rf_reference(doc_no: &str) -> String {
    let body: String = doc_no.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase();
    format!("RF{:02}{body}", 98 - mod97(&format!("{body}RF00")))
}

/// An IBAN of `country` with the given account digits and valid check digits (ISO 13616).
pub fn iban(country: &str, account: &str) -> String {
    format!("{country}{:02}{account}", 98 - mod97(&format!("{account}{country}00")))
}

/// The remainder mod 97 of the number a text stands for, letters counting 10 to 35 (the
/// computation of IBAN and creditor-reference check digits).
fn mod97(text: &str) -> u32 {
    let mut rest = 0u32;
    for c in text.chars() {
        let value = c.to_digit(36).unwrap_or(0);
        let factor = if value >= 10 { 100 } else { 10 };
        rest = (rest * factor + value) % 97;
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rf_references_carry_valid_check_digits() {
        // The standard's example: RF18 5390 0754 7034.
        assert_eq!(rf_reference("539007547034"), "RF18539007547034");
        assert_eq!(&rf_reference("INV-2026-0000155")[4..], "INV20260000155");
        assert!(crate::bank_formats::is_iso11649(&rf_reference("INV-2026-0000155")));
    }

    #[test]
    fn ibans_carry_valid_check_digits() {
        // The standard's example.
        assert_eq!(iban("GB", "WEST12345698765432"), "GB82WEST12345698765432");
        assert!(crate::bank_formats::is_iban(&iban("DE", "370400440532013000")));
    }

    #[test]
    fn noisy_references_keep_a_trace_of_the_number() {
        let mut rng = DemoRng::new(3);
        for _ in 0..200 {
            let t = reference_text(&mut rng, "INV-2026-0001234", true);
            assert!(t.contains("1234") || t.contains("1243") || t.starts_with("RF"), "{t}");
        }
    }

    #[test]
    fn names_have_no_commas_and_payers_at_most_the_name() {
        let mut rng = DemoRng::new(5);
        for _ in 0..500 {
            let n = company(&mut rng, 0.2);
            assert!(!n.contains(',') && !n.is_empty(), "{n}");
            let p = payer(&mut rng, &n);
            assert!(p.chars().count() <= n.chars().count() + 1, "{p} / {n}");
        }
    }
}
