//! The real files of tests/fixtures/real (and real-extra) at the parser: each dialect read as it
//! is meant, the streaming and in-place parses alike, and mutated copies never a panic.

use std::path::{Path, PathBuf};

use duizhang::bank_formats::{
    detect_format, detect_preset, parse, parse_input, presets, select_presets, CollectSink, CsvMapping, CsvPreset,
    Format, Input, ParseSummary, ParsedLine,
};
use rust_decimal::Decimal;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Format and mapping as the import chooses them without hints: the content's format, else a
/// preset recognised by its header (TD's export has no header: by name).
fn choose(name: &str, data: &[u8]) -> (Format, Option<CsvMapping>) {
    let head = &data[..data.len().min(8192)];
    match detect_format(head) {
        Some(f) if f != Format::Csv => (f, None),
        _ if name.contains("-td__") => (Format::Csv, Some(select_presets("td")[0].mapping.clone())),
        _ => {
            let all: Vec<&CsvPreset> = presets().iter().collect();
            let (p, encoding) = detect_preset(head, &all).unwrap_or_else(|| panic!("{name}: no preset"));
            (Format::Csv, Some(CsvMapping { encoding, ..p.mapping.clone() }))
        }
    }
}

/// Parsed twice, streamed and in place: the same statements, lines and summary.
fn run(path: &str) -> (CollectSink, ParseSummary) {
    let data = read(path);
    let (format, mapping) = choose(path, &data);
    let mut sink = CollectSink::default();
    let summary = parse(format, &data[..], mapping.as_ref(), &mut sink).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut again = CollectSink::default();
    let in_place = parse_input(format, Input::Bytes(&data), mapping.as_ref(), &mut again).unwrap();
    assert_eq!(in_place, summary, "{path}");
    assert_eq!(again.statements.len(), sink.statements.len(), "{path}");
    for (a, b) in again.statements.iter().zip(&sink.statements) {
        assert_eq!((&a.header, &a.lines), (&b.header, &b.lines), "{path}");
    }
    (sink, summary)
}

fn all_files() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["real/camt053", "real/camt054", "real/mt940", "real/bai2", "real/csv", "real-extra/csv"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            out.push(format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn lines(sink: &CollectSink) -> Vec<&ParsedLine> {
    sink.lines().collect()
}

fn warned(summary: &ParseSummary, needle: &str) -> usize {
    summary.warnings.iter().filter(|w| w.contains(needle)).count()
}

#[test]
fn every_real_file_parses_and_every_line_has_its_position() {
    let files = all_files();
    assert_eq!(files.len(), 70, "68 files of SOURCES.md and 2 more");
    for path in files {
        let (sink, summary) = run(&path);
        assert!(summary.statements > 0, "{path}");
        for l in sink.lines() {
            assert!(l.position.is_some(), "{path}: {l:?}");
        }
    }
}

#[test]
fn mt940_dialects() {
    // Short type codes padded with a blank (Triodos "NIT ", ING "NGT ").
    let (sink, s) = run("real/mt940/fruitl00p-triodos__sample");
    let l = lines(&sink);
    // (000 is the GVC of its structured :86:, whose separator is '>'.)
    assert_eq!((l[0].bank_transaction_code.as_deref(), l[0].amount), (Some("NIT+000"), d("-10.00")));
    assert_eq!(warned(&s, "transaction type"), 0, "a short code is a code");
    let (sink, _) = run("real/mt940/sharpmt940-ing__MING01_Uitgaande_SECT_en_Incasso.txt");
    assert_eq!(lines(&sink)[0].bank_transaction_code.as_deref(), Some("NGT"));
    // No type code at all (Penta): read, and said once per statement.
    let (sink, s) = run("real/mt940/fruitl00p-penta__sample");
    assert_eq!(sink.lines().filter(|l| l.bank_transaction_code.is_none()).count(), 30);
    assert_eq!(warned(&s, "30 :61: fields have no transaction type code"), 1, "{:?}", s.warnings);
    // A blank between amount and code, and charges in the supplementary details.
    let (sink, _) = run("real/mt940/jejik__deutschebank.txt");
    let l = lines(&sink)[0];
    assert_eq!(
        (l.amount, l.charges, l.bank_transaction_code.as_deref()),
        (d("-12.35"), Some(d("0.50")), Some("NRTI+109"))
    );
    // Balances zero-padded beyond 15 characters (Rabobank), an indented end of message (Moneyou).
    let (sink, _) = run("real/mt940/jejik__rabobank.txt");
    assert_eq!(sink.statements[1].header.opening_balance.as_ref().unwrap().amount, d("1000.89"));
    let (sink, s) = run("real/mt940/zilverline__moneyou.txt");
    assert_eq!(sink.statements[0].header.closing_balance.as_ref().unwrap().amount, d("43131.47"));
    assert_eq!(warned(&s, "closing balance"), 0);
    // A withdrawn currency, read and said.
    let (sink, s) = run("real/mt940/wolph-cmxl__mt940.sta");
    assert_eq!(sink.statements[0].header.currency.as_deref(), Some("DEM"));
    assert_eq!(warned(&s, "DEM is a currency ISO 4217 has withdrawn"), 1);
    assert_eq!(sink.statements[2].header.servicer_bic.as_deref(), Some("BPHKPLPK"), ":25: BIC/account");
    // Supplementary details after the :61: line (ASN), where Python's mt-940 gives up.
    let (sink, _) = run("real/mt940/wolph-asnb__mt940.txt");
    assert!(sink.lines().any(|l| l.additional_info.as_deref() == Some("hr gjlm paulissen")));
    // The file header before the first field is one warning, with its lines.
    let (_, s) = run("real/mt940/jejik__abnamro.txt");
    assert_eq!(warned(&s, "lines 1-3: text outside any MT940 field ignored ('ABNANL2A')"), 1, "{:?}", s.warnings);
    // Danske Bank: three payments with the bank reference "melding", all of them lines.
    let (sink, _) = run("real/mt940/mt940rs__MT940_NO_Example.sta");
    assert_eq!(sink.lines().filter(|l| l.bank_reference.as_deref() == Some("melding")).count(), 3);
}

#[test]
fn camt_dialects() {
    // ".05" (LUKB), read as 0.05.
    let (sink, _) = run("real/camt053/camtli__CAMT.053-2017-11-07T13-24-48.418.xml");
    assert!(sink.lines().any(|l| l.amount.abs() == d("0.05")), "{:?}", lines(&sink));
    // camt.053.001.12 in a SWIFT envelope, without BookgDt.
    let (sink, s) = run("real/camt053/cbprplus__CBPR+_p.2.5.1_camt.053-BtoDbtr.xml");
    assert_eq!((lines(&sink)[0].amount, lines(&sink)[0].currency.as_str()), (d("-45250"), "EUR"));
    assert_eq!(warned(&s, "later than the versions known"), 0);
    assert_eq!(warned(&s, "no BookgDt; value date used"), 1);
    // BCV marks the transactions of debit batches CRDT: split with the entry's direction.
    let (sink, s) = run("real/camt053/camtli__CAMT.053-TEST-1.xml");
    assert_eq!(warned(&s, "the entry's direction is used"), 6);
    assert_eq!(sink.lines().map(|l| l.amount).sum::<Decimal>(), d("-3829.5"));
    let first = lines(&sink)[0];
    assert_eq!((first.bank_reference.as_deref(), first.amount), (Some("322830300417297/3/1"), d("-54")));
    // A truncated statement says so, besides its balances.
    let (_, s) = run("real/camt053/viafintech__valid_example_with_batch.xml");
    assert_eq!(warned(&s, "TxsSummry announces 35 entries, the statement holds 3"), 1);
    // One transaction whose amount is not what was booked: the booked amount, with a warning;
    // one that gives the instructed amount too: that one, silently.
    let (sink, s) = run("real/camt053/dvbern__Business_Sample_camt.053.001.04.xml");
    assert_eq!(warned(&s, "the booked 105678.50 SEK is imported"), 1);
    assert!(sink.lines().any(|l| l.amount == d("105678.50") && l.counterparty_name.as_deref() == Some("MUELLER")));
    let (sink, s) = run("real/camt053/viafintech__valid_example_with_instdamt.xml");
    assert_eq!((lines(&sink)[0].amount, warned(&s, "TxDtls")), (d("4500.00"), 0));
    // A SEK entry detailed in CHF: one line of what was booked, never CHF lines on a SEK entry.
    let (sink, s) = run("real/camt054/genkgo__camt054.v8.xml");
    let l = lines(&sink);
    assert_eq!((l.len(), l[0].amount, l[0].currency.as_str()), (1, d("-200000"), "SEK"));
    assert_eq!(warned(&s, "gives no amount in SEK; imported as one line of -200000 SEK"), 1);
    assert!(l[0].remittance.as_deref().unwrap().contains("Unstructured Remittance Information V1"));
    // 520 transactions of one collective booking.
    let (sink, _) = run("real/camt054/camtli__CAMT.054-TEST-2.xml");
    assert_eq!(sink.lines().count(), 520);
    assert_eq!(sink.lines().map(|l| l.amount).sum::<Decimal>(), d("64040.06"));
}

#[test]
fn bai2_dialects() {
    let (_, s) = run("real/bai2/mojbai2__account_trailer_amount_blank_example.bai2");
    assert_eq!(warned(&s, "trailer gives no control total"), 2);
    // 88 continuations without '/' (Goldman Sachs); trailers that disagree are reported.
    let (sink, s) = run("real/bai2/moovbai2__sample4-continuations-newline-delimited.txt");
    assert_eq!(sink.lines().count(), 17);
    assert_eq!(warned(&s, "account 107049932 trailer counts 26 records, found 18"), 1);
    assert!(lines(&sink)[0].remittance.as_deref().unwrap().contains("EREF: 1111"), "88 continuations kept as text");
}

#[test]
fn csv_presets_on_real_exports() {
    // ICBC: padded cells, 人民币, income/expense columns, totals row and balance column checked.
    let (sink, s) = run("real/csv/debsig__example-icbc-credit-records.csv");
    let l = lines(&sink);
    assert_eq!(
        (l[0].amount, l[0].currency.as_str(), l[0].booking_date.to_string()),
        (d("-0.01"), "CNY", "2023-04-22".into())
    );
    assert_eq!(l[0].remittance.as_deref(), Some("XX旗舰店"), "blanks and tab trimmed");
    assert_eq!(l[5].amount, d("4621.01"));
    assert_eq!(warned(&s, "totals row '合计金额' says credits 1234.56 and debits 6543.21"), 1);
    // BOC debit: newest first, every balance follows: nothing to say.
    let (sink, s) = run("real/csv/debsig-boc-debit__example-boc-records.csv");
    assert_eq!(warned(&s, "balance column"), 0, "{:?}", s.warnings);
    let l = lines(&sink);
    assert_eq!(
        (l[0].counterparty_name.as_deref(), l[0].counterparty_account.as_deref()),
        (Some("张三"), Some("6226******5669"))
    );
    assert_eq!(l[0].remittance, None, "a placeholder of dashes is no text");
    assert_eq!(l[7].amount, d("-2600.00"), "thousands separators");
    // BOCOM: currency in the amount cell, direction by the description's first word.
    let (sink, _) = run("real/csv/debsig__example-bocom_credit-records.csv");
    let suica = sink.lines().find(|l| l.remittance.as_deref() == Some("消费 Suica Charge")).unwrap();
    assert_eq!(
        (suica.amount, suica.currency.as_str(), suica.additional_info.as_deref()),
        (d("-49.85"), "CNY", Some("JPY 1000.00"))
    );
    assert!(sink.lines().any(|l| l.amount == d("123.18")), "退货 is a credit");
    // Card exports that show spending positive.
    let (sink, _) = run("real/csv/debsig__example-cgb_credit-records.csv");
    assert_eq!(lines(&sink)[0].amount, d("-15.90"));
    let (sink, s) = run("real/csv/camtcsv__viseca.csv");
    assert_eq!((lines(&sink)[0].amount, lines(&sink)[4].amount), (d("-29.000"), d("80.000")));
    assert_eq!(s.skipped, 0);
    // BMO: the card number quoted with apostrophes is the account; a preamble with a bad date.
    let (sink, _) = run("real/csv/debsig-bmo-debit__example-bmo-records.csv");
    assert_eq!(lines(&sink)[0].account.as_deref(), Some("5678653123124124"));
    assert_eq!(lines(&sink)[1].additional_info.as_deref(), Some("DEBIT"));
    // Alipay (GBK): closed trades and neither-income-nor-expense rows counted, not imported.
    let (sink, s) = run("real/csv/debsig__example-alipay-records.csv");
    assert_eq!((sink.lines().count(), s.skipped), (5, 5));
    assert_eq!(
        (warned(&s, "'交易关闭' is not booked"), warned(&s, "'不计收支' is neither income nor expense")),
        (2, 3)
    );
    assert!(!sink.lines().any(|l| l.counterparty_name.as_deref() == Some("蚂蚁财富-蚂蚁（杭州）基金销售有限公司")));
    // HSBC HK: a CNY row in an HKD account, each currency its own balance chain.
    let (sink, s) = run("real/csv/debsig__example-hsbchk-debit-records.csv");
    assert_eq!(sink.lines().filter(|l| l.currency == "CNY").count(), 1);
    assert_eq!(warned(&s, "1 of 8 consecutive rows"), 1, "{:?}", s.warnings);
    // WeChat: "¥12.00", transfers between one's own balances ("/") counted, not imported; a
    // reference shared by several different payments keeps them all.
    let (sink, s) = run("real-extra/csv/debsig-wechat__example-wechat-records.csv");
    assert_eq!((sink.lines().count(), s.skipped), (16, 11));
    assert_eq!(sink.lines().filter(|l| l.bank_reference.as_deref() == Some("3985734")).count(), 7);
    assert_eq!(lines(&sink)[0].amount, d("-28.16"));
}

#[test]
fn later_camt_versions_are_read_with_a_warning() {
    let data = String::from_utf8(read("real/camt053/genkgo__camt053.v8.xml")).unwrap();
    let data = data.replace("camt.053.001.08", "camt.053.001.14");
    let mut sink = CollectSink::default();
    let s = parse(Format::Camt053, data.as_bytes(), None, &mut sink).unwrap();
    assert_eq!(warned(&s, "camt.053.001.14 is later than the versions known (up to .12)"), 1);
    assert_eq!(s.lines, 1);
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

/// Every real file, cut and mutated where the new dialects live (amount edges, type codes,
/// padding, quotes, currency cells): an answer or a positioned error, never a panic, and the
/// streaming and in-place parses agree.
#[test]
fn mutated_real_files_never_panic() {
    let mut rng = Rng(0x005E_ED17);
    for path in all_files() {
        let original = read(&path);
        let (format, mapping) = choose(&path, &original);
        let rounds = if original.len() > 100_000 { 8 } else { 40 };
        for round in 0..rounds {
            let mut data = original.clone();
            if round % 5 == 0 {
                data.truncate((rng.next() as usize) % data.len().max(1));
            }
            for _ in 0..1 + rng.next() % 4 {
                if data.is_empty() {
                    break;
                }
                let i = (rng.next() as usize) % data.len();
                match rng.next() % 3 {
                    0 => data[i] = rng.next() as u8,
                    1 => {
                        data.remove(i);
                    }
                    _ => {
                        let alphabet = b" \t,.-'\"/:N\n0RCD>?\xe4\xbd";
                        data.insert(i, alphabet[(rng.next() as usize) % alphabet.len()]);
                    }
                }
            }
            let streamed = parse(format, &data[..], mapping.as_ref(), &mut CollectSink::default());
            let in_place = parse_input(format, Input::Bytes(&data), mapping.as_ref(), &mut CollectSink::default());
            match (&streamed, &in_place) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{path} round {round}"),
                (Err(a), Err(b)) => {
                    assert_eq!(a.message, b.message, "{path} round {round}");
                    assert!(
                        a.line.is_some() || a.byte_offset.is_some() || a.message.starts_with("CSV mapping"),
                        "{path}: {a}"
                    );
                }
                _ => panic!("{path} round {round}: streamed {streamed:?}, in place {in_place:?}"),
            }
        }
    }
}
