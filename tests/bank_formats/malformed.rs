//! Hostile and broken input: always a ParseError with a position, never a panic.

use std::path::Path;

use duizhang::bank_formats::{parse, parse_input, CollectSink, CsvMapping, Format, Input, ParseError};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

fn err(format: Format, data: &[u8]) -> ParseError {
    err_with(format, data, None)
}

/// The error of the streaming parse, checked to be the same as that of the in-place parse of the
/// same bytes (the path of uploads held in memory or mapped from a spooled file).
fn err_with(format: Format, data: &[u8], mapping: Option<&CsvMapping>) -> ParseError {
    let streamed = match parse(format, data, mapping, &mut CollectSink::default()) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    };
    match parse_input(format, Input::Bytes(data), mapping, &mut CollectSink::default()) {
        Ok(s) => panic!("the in-place parse accepted what the streaming parse refused ({streamed}): {s:?}"),
        Err(e) => assert_eq!(e.message, streamed.message, "in-place and streaming parses disagree"),
    }
    streamed
}

fn camt() -> String {
    String::from_utf8(fixture("camt053_v08_batch.xml")).unwrap()
}

fn assert_xml_err(data: &str, needle: &str) -> ParseError {
    let e = err(Format::Camt053, data.as_bytes());
    assert!(e.message.contains(needle), "expected '{needle}' in: {e}");
    assert!(e.byte_offset.is_some() && e.message.starts_with("byte "), "{e:?}");
    e
}

#[test]
fn camt_truncated_anywhere_is_an_error() {
    let data = camt();
    let end = data.rfind("</Document>").unwrap();
    for cut in (0..end).step_by(37) {
        let e = err(Format::Camt053, &data.as_bytes()[..cut]);
        assert!(e.byte_offset.is_some(), "cut at {cut}: {e}");
    }
    let e = assert_xml_err(&data[..data.find("<Ntry>").unwrap() + 6], "end of file");
    assert!(e.message.contains("Ntry") || e.message.contains("truncated"), "{e}");
}

#[test]
fn camt_wrong_namespace() {
    let data = camt();
    assert_xml_err(&data.replace("camt.053.001.08", "camt.052.001.08"), "unsupported namespace");
    assert_xml_err(
        &data.replace("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "urn:example"),
        "unsupported namespace",
    );
    assert_xml_err(
        &data.replace(r#" xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08""#, ""),
        "unsupported namespace",
    );
    assert_xml_err("<html><body>hi</body></html>", "no ISO 20022 <Document>");
}

#[test]
fn camt_bad_amounts_and_currencies() {
    let data = camt();
    let e = assert_xml_err(&data.replacen("594.00", "59x.00", 1), "'59x.00' is not a decimal");
    assert!(e.byte_offset.unwrap() > 1000);
    assert_xml_err(&data.replacen(">594.00<", ">-594.00<", 1), "is not a decimal");
    assert_xml_err(&data.replacen(">594.00<", ">1e3<", 1), "is not a decimal");
    assert_xml_err(&data.replacen(">594.00<", ">594.001<", 1), "more decimals than GBP");
    assert_xml_err(
        &data.replacen(r#"<Amt Ccy="GBP">594.00"#, r#"<Amt Ccy="GBX">594.00"#, 1),
        "'GBX' is not an ISO 4217",
    );
    assert_xml_err(&data.replacen(r#"<Amt Ccy="GBP">594.00"#, r#"<Amt Ccy="gbp">594.00"#, 1), "three upper-case");
    assert_xml_err(&data.replacen(r#"<Amt Ccy="GBP">594.00"#, r#"<Amt>594.00"#, 1), "without Ccy");
    assert_xml_err(
        &data.replacen("<CdtDbtInd>CRDT</CdtDbtInd>\n    <Sts>", "<CdtDbtInd>CRED</CdtDbtInd>\n    <Sts>", 1),
        "CdtDbtInd",
    );
    assert_xml_err(&data.replacen("2026-03-02</Dt></ValDt>", "2026-02-30</Dt></ValDt>", 1), "not a valid date");
}

#[test]
fn camt_entity_expansion_and_doctype_rejected() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>"#;
    assert_xml_err(laughs, "DOCTYPE");
    let external = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document/>"#;
    assert_xml_err(external, "DOCTYPE");
    // No DOCTYPE, but a reference to an undeclared entity.
    let data = camt().replacen("<Id>BATCH-1</Id>", "<Id>&lol9;</Id>", 1);
    assert_xml_err(&data, "undefined entity '&lol9;'");
}

#[test]
fn camt_huge_nodes_are_capped() {
    let data = camt();
    let huge = "A".repeat(100 * 1024);
    assert_xml_err(&data.replacen("INV-2", &huge, 1), "longer than 65536");
    // Many small entity references still add up to one huge text value.
    let amps = "&amp;".repeat(70 * 1024);
    assert_xml_err(&data.replacen("INV-2", &amps, 1), "longer than 65536");
    let comment = format!("<!--{}-->", "x".repeat(10 * 1024 * 1024));
    assert_xml_err(&data.replacen("<Ntry>", &format!("{comment}<Ntry>"), 1), "longer than 65536");
    let attr = format!("<Ntry a=\"{}\">", "y".repeat(200 * 1024));
    assert_xml_err(&data.replacen("<Ntry>", &attr, 1), "longer than 65536");
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert_xml_err(&data.replacen("<Ntry>", &format!("{deep}<Ntry>"), 1), "nested deeper");
}

#[test]
fn camt_invalid_utf8_is_an_error() {
    let mut data = camt().into_bytes();
    let at = data.windows(5).position(|w| w == b"INV-2").unwrap();
    data[at] = 0xFF;
    let e = err(Format::Camt053, &data);
    assert!(e.byte_offset.is_some(), "{e}");
}

#[test]
fn mt940_errors_name_the_line() {
    let ok = ":20:X\n:25:DE89370400440532013000\n:60F:C260101EUR100,00\n:61:260102C5,00NTRFNONREF\n:62F:C260102EUR105,00\n-\n";
    assert!(parse(Format::Mt940, ok.as_bytes(), None, &mut CollectSink::default()).is_ok());
    let cases = [
        (ok.replace("C5,00", "C5,0x"), 4, "not a decimal"),
        (ok.replace("C5,00", "C5.00"), 4, "not a decimal"),
        (ok.replace("C5,00", "C5,001"), 4, "more decimals"),
        (ok.replace("EUR100", "XYZ100"), 3, "'XYZ' is not an ISO 4217"),
        (ok.replace("EUR100", "eur100"), 3, "three upper-case"),
        (ok.replace(":60F:C260101", ":60F:X260101"), 3, "C or D"),
        (ok.replace("260102C", "261302C"), 4, "YYMMDD"),
        (ok.replace(":60F:C260101EUR100,00\n", ""), 3, "before the opening balance"),
    ];
    for (data, line, needle) in cases {
        let e = err(Format::Mt940, data.as_bytes());
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.starts_with(&format!("line {line}: ")) && e.message.contains(needle), "{e}");
    }
    let huge = format!(":20:X\n:86:{}\n", "A".repeat(100 * 1024));
    assert!(err(Format::Mt940, huge.as_bytes()).message.contains("longer than 65536"));
    // A field may not grow past the cap through continuation lines either.
    let long_field = format!(":20:X\n:25:1\n:60F:C260101EUR1,00\n:61:260102C5,00NTRF\n:86:{}", "B\n".repeat(40_000));
    assert!(err(Format::Mt940, long_field.as_bytes()).message.contains("field longer"));
    assert!(err(Format::Mt940, b"hello\nworld\n").message.contains("no MT940 statement"));
}

#[test]
fn csv_errors_name_the_line() {
    let head = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n";
    let row =
        |amount: &str, ccy: &str, date: &str| format!("{head}BL1,DE89370400440532013000,{date},,{amount},{ccy},,,,\n");
    let cases = [
        (row("12.3x", "EUR", "2026-01-05"), "amount '12.3x' is not a decimal"),
        (row("12.30", "EUX", "2026-01-05"), "'EUX' is not an ISO 4217"),
        (row("12.30", "", "2026-01-05"), "currency is empty"),
        (row("12.301", "EUR", "2026-01-05"), "more decimals than EUR"),
        (row("1", "EUR", "05.01.2026"), "does not match '%Y-%m-%d'"),
    ];
    for (data, needle) in cases {
        let e = err(Format::Csv, data.as_bytes());
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.starts_with("line 2: ") && e.message.contains(needle), "{e}");
    }
    // Decimal comma, as in the brief's example message.
    let mapping = CsvMapping { delimiter: ';', decimal_separator: ',', ..CsvMapping::default() };
    let data = format!("{}BL1;X;2026-01-05;;12,3x;EUR;;;;\n", head.replace(',', ";"));
    let e = err_with(Format::Csv, data.as_bytes(), Some(&mapping));
    assert_eq!(e.message, "line 2: amount '12,3x' is not a decimal");

    let missing = "line_id,booking_date\nBL1,2026-01-01\n";
    let e = err(Format::Csv, missing.as_bytes());
    assert!(e.message.contains("no header row found with the columns 'booking_date', 'amount'"), "{e}");
    assert!(e.message.contains("line_id, booking_date"), "the first row is shown: {e}");
    assert!(err(Format::Csv, b"").message.contains("no header row"));

    let huge = format!("{head}BL1,X,2026-01-05,,1,EUR,{},,,\n", "N".repeat(100 * 1024));
    assert!(err(Format::Csv, huge.as_bytes()).message.contains("longer than 65536"));
    // A quoted field with many line breaks is one record and capped as such.
    let multiline = format!("{head}BL1,X,2026-01-05,,1,EUR,\"{}\",,,\n", "ab\n".repeat(30_000));
    assert!(err(Format::Csv, multiline.as_bytes()).message.contains("longer than 65536"));

    let gbk = CsvMapping { encoding: duizhang::bank_formats::CsvEncoding::Gbk, ..CsvMapping::default() };
    let mut bad = head.as_bytes().to_vec();
    bad.extend_from_slice(b"BL1,X,2026-01-05,,1,EUR,\x81\x20,,,\n");
    let e = err_with(Format::Csv, &bad, Some(&gbk));
    assert!(e.message.contains("invalid GBK byte sequence"), "{e}");

    let bad_mapping = CsvMapping { decimal_separator: ';', ..CsvMapping::default() };
    assert!(err_with(Format::Csv, head.as_bytes(), Some(&bad_mapping)).message.starts_with("CSV mapping:"));
}

#[test]
fn bai2_errors() {
    let ok = String::from_utf8(fixture("sample.bai2")).unwrap();
    let cases = [
        (ok.replace("16,195,50000,", "16,195,500.00,"), 4, "minor units"),
        (ok.replace("2400,USD,2/", "2400,USX,2/"), 2, "'USX' is not an ISO 4217"),
        (ok.replace("16,475,9795,1,", "16,475,9795,Q,"), 7, "funds type"),
        (ok.replace("16,195,", "17,195,"), 4, "record type 17"),
        (ok.replace("02,123456789", "xx,123456789"), 2, "not a BAI2 record"),
    ];
    for (data, line, needle) in cases {
        let e = err(Format::Bai2, data.as_bytes());
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains(needle), "{e}");
    }
    let truncated = &ok[..ok.find("49,474790").unwrap()];
    assert!(err(Format::Bai2, truncated.as_bytes()).message.contains("no 49 trailer"));
}

/// xorshift: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const ALL: [Format; 5] = [Format::Camt053, Format::Camt054, Format::Mt940, Format::Csv, Format::Bai2];

#[test]
fn binary_garbage_is_an_error_for_every_format() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..100 {
        let len = (rng.next() % 8192) as usize + 1;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        data[0] = 0; // make it undeniably binary (a printable prefix could be a valid CSV header)
        for format in ALL {
            let e = err(format, &data);
            assert!(!e.message.is_empty(), "round {round} {format:?}");
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let files = [
        ("camt053_v02.xml", Format::Camt053),
        ("camt053_v08_batch.xml", Format::Camt053),
        ("camt054_prefixed_envelope.xml", Format::Camt054),
        ("mt940_multi.sta", Format::Mt940),
        ("gbk_debit_credit.csv", Format::Csv),
        ("sample.bai2", Format::Bai2),
    ];
    let mut rng = Rng(42);
    for (name, format) in files {
        let original = fixture(name);
        for _ in 0..400 {
            let mut data = original.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % data.len();
                match rng.next() % 3 {
                    0 => data[i] = rng.next() as u8,
                    1 => {
                        data.remove(i);
                    }
                    _ => {
                        let alphabet = b"<>:?/,;\"&0C-\n";
                        data.insert(i, alphabet[(rng.next() as usize) % alphabet.len()])
                    }
                }
            }
            // Ok or Err are both fine; a panic fails the test. The in-place parse (uploads in
            // memory or mapped from disk) must answer exactly as the streaming one.
            let streamed = parse(format, &data[..], None, &mut CollectSink::default()).map_err(|e| e.message);
            let in_place =
                parse_input(format, Input::Bytes(&data), None, &mut CollectSink::default()).map_err(|e| e.message);
            assert_eq!(streamed, in_place, "{name}: the in-place and streaming parses disagree");
            let _ = parse(Format::Csv, &data[..], None, &mut CollectSink::default());
        }
    }
}

/// Found by `cargo fuzz run mt940`: a field tag cut inside a multi-byte character.
#[test]
fn fuzz_regressions_do_not_panic() {
    let data = fixture("fuzz_mt940_crash_1.bin");
    for format in [Format::Mt940, Format::Csv, Format::Bai2, Format::Camt053] {
        let mut sink = CollectSink::default();
        let _ = parse(format, &data[..], None, &mut sink);
        let _ = parse_input(format, Input::Bytes(&data), None, &mut CollectSink::default());
    }
}
