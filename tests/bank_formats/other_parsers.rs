//! The parsers outside src/bank_formats, fed random and mutated input in the regular test run
//! (the same calls as their cargo-fuzz targets in tests/fuzz, which CI cannot afford to build):
//! customer statements (CSV, JSON), customer and document imports (CSV, JSON), money, the
//! matching engine's reference and name parsers, webhook signatures and Retry-After.
//! Each must answer with a value or an error, never panic.

use duizhang::services::customer_statements::{csv_customer_codes, parse_statement, StatementOptions};
use duizhang::services::import::ImportFormat;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"[",
    b"]",
    b"{",
    b"}",
    b"-",
    b".",
    b"e99",
    b"99999999999999999999999999999",
    b"0.0000001",
    b"\xe5\xaf\xb9\xe8\xb4\xa6",
    b"null",
    b"true",
    b":",
    b"\\u0000",
];

/// Seeds mutated by replacing, inserting, deleting and duplicating bytes and splicing in
/// interesting tokens, plus pure random bytes.
fn inputs(seeds: &[&[u8]], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        if i % 10 == 0 {
            let len = rng.below(200);
            out.push((0..len).map(|_| rng.next() as u8).collect());
            continue;
        }
        let mut data = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(5) {
                0 if !data.is_empty() => {
                    let last = data.len() - 1;
                    data[at.min(last)] = rng.next() as u8;
                }
                1 => data.insert(at, rng.next() as u8),
                2 if at < data.len() => {
                    let end = (at + 1 + rng.below(8)).min(data.len());
                    data.drain(at..end);
                }
                3 => {
                    let token = INTERESTING[rng.below(INTERESTING.len())];
                    data.splice(at..at, token.iter().copied());
                }
                _ => {
                    let end = (at + rng.below(16)).min(data.len());
                    let copy = data[at..end].to_vec();
                    data.splice(at..at, copy);
                }
            }
        }
        out.push(data);
    }
    out
}

const STATEMENT_CSV: &[u8] = b"customer_code,their_ref,our_ref,date,kind,amount,currency\n\
C1,R-1,INV-2026-0000101,2026-01-05,invoice,100.00,EUR\n\
C1,P-1,,2026-02-01,payment,-100.00,EUR\n";
const STATEMENT_JSON: &[u8] = br#"{"period_from":"2026-01-01","period_to":"2026-01-31","date_tolerance_days":7,
"lines":[{"their_ref":"R-1","our_ref":"INV-1","date":"2026-01-05","kind":"invoice","amount":"100.00","currency":"EUR"}]}"#;
const DOCUMENTS_CSV: &[u8] = b"doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
INV-2026-0000101,invoice,C1,2026-01-05,2026-02-04,EUR,100.00,\n\
CN-1,credit_note,C2,2026-01-06,,JPY,1200,ref\n";
const DOCUMENTS_JSON: &[u8] =
    br#"[{"doc_type":"invoice","doc_no":"INV-1","customer_code":"C1","issue_date":"2026-11-01",
"due_date":"2026-12-01","currency":"EUR","amount":"1234.50"}]"#;
const CUSTOMERS_CSV: &[u8] = b"code,name,country,iban,email\nC1,Kalomer GmbH,DE,DE11111111111111111111,a@b.example\n";
const CUSTOMERS_JSON: &[u8] = br#"[{"code":"C1","name":"Kalomer GmbH","bank_accounts":["DE11111111111111111111"]}]"#;

#[test]
fn statement_parsers_never_panic() {
    for data in inputs(&[STATEMENT_CSV, STATEMENT_JSON], 10_000, 0x5eed_0001) {
        let _ = csv_customer_codes(&data);
        let _ = parse_statement(ImportFormat::Csv, &data, StatementOptions::default());
        let _ = parse_statement(ImportFormat::Json, &data, StatementOptions::default());
    }
    // The seeds themselves parse: the mutations start from valid input.
    assert_eq!(parse_statement(ImportFormat::Csv, STATEMENT_CSV, StatementOptions::default()).unwrap().lines.len(), 2);
    assert_eq!(
        parse_statement(ImportFormat::Json, STATEMENT_JSON, StatementOptions::default()).unwrap().lines.len(),
        1
    );
}

/// A customer's own layout: a title row, debit/credit columns, their words, a total row.
const STATEMENT_LAYOUT: &[u8] = "Kreditorenkonto\nBelegdatum;Belegnr.;Buchungstext;Belegart;Soll;Haben;W\u{e4}hrung\n\
02.03.2026;ER-1;Rechnung INV2026155;Rechnung;;1.234,50;EUR\n\
20.03.2026;ZA-7;Zahlung;Zahlung;1.234,50;;EUR\n;;Summe;;1.234,50;1.234,50;\n"
    .as_bytes();

#[test]
fn statement_layouts_never_panic() {
    use duizhang::statement_formats::{read_csv, StatementMapping};
    let mapping: StatementMapping = serde_json::from_str(
        r#"{"delimiter": ";", "date": "Belegdatum", "their_ref": "Belegnr.", "text": ["Buchungstext"],
            "doc_type": "Belegart", "currency": 6, "date_formats": ["%d.%m.%Y"],
            "amount": {"convention": "debit_credit", "debit": "Soll", "credit": "Haben", "invoices": "credit"}}"#,
    )
    .unwrap();
    let gbk = encoding_rs::GBK
        .encode("日期,凭证号,摘要,借方金额,贷方金额,币种\n2026/03/02,记-1,发票 155,,100.00,CNY\n")
        .0
        .into_owned();
    for data in inputs(&[STATEMENT_LAYOUT, &gbk], 5_000, 0x5eed_0005) {
        let _ = parse_statement(ImportFormat::Csv, &data, StatementOptions::default());
        if let Ok(read) = read_csv(&data, &mapping, Some("EUR")) {
            let _ = read.resolve(duizhang::statement_formats::Side::Credit);
        }
    }
    assert_eq!(read_csv(STATEMENT_LAYOUT, &mapping, None).unwrap().lines.len(), 2);
    assert_eq!(parse_statement(ImportFormat::Csv, &gbk, StatementOptions::default()).unwrap().lines.len(), 1);
}

#[test]
fn import_parsers_never_panic() {
    use duizhang::services::{customers, documents};
    for data in inputs(&[DOCUMENTS_CSV, DOCUMENTS_JSON, CUSTOMERS_CSV, CUSTOMERS_JSON], 10_000, 0x5eed_0002) {
        for format in [ImportFormat::Csv, ImportFormat::Json] {
            if let Ok((rows, _)) = documents::parse_import(format, &data) {
                for (_, input) in &rows {
                    let _ = documents::validate_input(input);
                }
            }
            if let Ok((rows, _)) = customers::parse_import(format, &data) {
                for (_, input) in &rows {
                    let _ = customers::validate_code(&input.code);
                    let _ = customers::validate_fields(input);
                }
            }
        }
    }
    let (rows, rejected) = documents::parse_import(ImportFormat::Csv, DOCUMENTS_CSV).unwrap();
    assert_eq!((rows.len(), rejected.len()), (2, 0));
    assert!(rows.iter().all(|(_, input)| documents::validate_input(input).is_ok()));
    let (rows, rejected) = customers::parse_import(ImportFormat::Json, CUSTOMERS_JSON).unwrap();
    assert_eq!((rows.len(), rejected.len()), (1, 0));
}

#[test]
fn money_parses_or_refuses_and_what_it_shows_reads_back() {
    use duizhang::domain::money::Currency;
    let seeds: &[&[u8]] = &[b"EUR1234.50", b"JPY1200", b"KWD1.125", b"EUR-0.01", b"USD1e3", b"CNY 12.0 "];
    let mut accepted = 0;
    for data in inputs(seeds, 10_000, 0x5eed_0003) {
        if data.len() < 3 {
            continue;
        }
        let code = String::from_utf8_lossy(&data[..3]);
        let text = String::from_utf8_lossy(&data[3..]);
        if let Ok(currency) = Currency::parse(&code) {
            if let Ok(amount) = currency.parse_amount(&text) {
                accepted += 1;
                let shown = currency.format(amount);
                assert_eq!(currency.parse_amount(&shown).ok(), Some(amount), "{text:?} shown as {shown:?}");
            }
        }
    }
    assert!(accepted > 300, "the mutations must also reach valid amounts ({accepted})");
}

#[test]
fn reference_name_and_signature_parsers_never_panic() {
    use duizhang::domain::cash_application::names::{loose_name, normalize_name, PreparedName};
    use duizhang::domain::cash_application::references::{
        doc_keys, extract_references, is_valid_creditor_reference, normalize_reference, transposed_variants,
    };
    use duizhang::domain::webhook_signature::{secret_key, verify};
    use duizhang::services::webhook_worker::parse_retry_after;
    let seeds: &[&[u8]] = &[
        b"Rechnung 155 RF18539007547034 INV-2026-0000155 / 2026-156",
        "上海对账有限公司 SHANGHAI DUIZHANG CO LTD".as_bytes(),
        b"msg_1\n1700000000\nv1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n{\"a\":1}",
        b"Wed, 21 Oct 2015 07:28:00 GMT",
    ];
    let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    for data in inputs(seeds, 10_000, 0x5eed_0004) {
        let text = String::from_utf8_lossy(&data);
        let _ = extract_references(&text);
        let normalized = normalize_reference(&text);
        let _ = doc_keys(&text);
        let _ = is_valid_creditor_reference(&text);
        if normalized.len() < 64 {
            let _ = transposed_variants(&normalized);
        }
        let _ = normalize_name(&text);
        let _ = loose_name(&text);
        let _ = PreparedName::new(&text);
        let mut parts = text.splitn(4, '\n');
        let (id, ts, sigs) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let body = parts.next().unwrap_or("").as_bytes();
        let _ = verify(std::slice::from_ref(&key), id, ts, sigs, body, 1_700_000_000);
        let _ = secret_key(id);
        let _ = parse_retry_after(&text, now);
    }
}

/// A customer list in the tenant's own layout (a title, a header over two rows, Chinese words,
/// numbers and dates as text), read through a saved import mapping.
const CUSTOMERS_LAYOUT: &[u8] = "客户清单,,,\n客户,客户,账期,信用额度\n编号,名称,天,\n00123,甲公司,30,\"1,000.50\"\n\
                                  C-2,乙公司,x,12\n"
    .as_bytes();

#[test]
fn mapped_imports_never_panic() {
    use duizhang::domain::import_mapping::ImportMapping;
    use duizhang::services::customers;
    let mapping: ImportMapping = serde_json::from_value(serde_json::json!({
        "columns": {"客户 / 编号": "code", "客户 / 名称": "name", "账期 / 天": "payment_terms_days", "信用额度": "credit_limit"},
        "header_rows": 2, "date_formats": ["%d/%m/%Y"]
    }))
    .unwrap();
    for data in inputs(&[CUSTOMERS_LAYOUT, CUSTOMERS_CSV], 10_000, 0x5eed_0005) {
        if let Ok(read) = customers::parse_import_with(ImportFormat::Csv, &data, Some(&mapping)) {
            for (_, input) in &read.rows {
                let _ = customers::validate_fields(input);
            }
        }
    }
    let read = customers::parse_import_with(ImportFormat::Csv, CUSTOMERS_LAYOUT, Some(&mapping)).unwrap();
    assert_eq!((read.rows.len(), read.rejected.len()), (1, 1));
    assert_eq!(read.rows[0].1.credit_limit.as_deref(), Some("1000.50"));
    assert_eq!(read.rejected[0].row, 2, "rows counted from the line after the header");
}
