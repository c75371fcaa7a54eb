//! Hand-made fixtures for every format and dialect.

use std::path::Path;

use chrono::NaiveDate;
use duizhang::bank_formats::{
    detect_format, parse, CollectSink, CsvMapping, Format, ParseError, ParseSummary, ParsedLine, StatementHeader,
    StatementSink,
};
use rust_decimal::Decimal;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

/// Streamed, and checked against the in-place parse of the same bytes.
fn run(format: Format, data: &[u8], mapping: Option<&CsvMapping>) -> (CollectSink, ParseSummary) {
    let mut sink = CollectSink::default();
    let summary = parse(format, data, mapping, &mut sink).unwrap_or_else(|e| panic!("{e}"));
    let mut in_place = CollectSink::default();
    let again =
        duizhang::bank_formats::parse_input(format, duizhang::bank_formats::Input::Bytes(data), mapping, &mut in_place)
            .unwrap_or_else(|e| panic!("in place: {e}"));
    assert_eq!(again, summary, "in-place and streaming summaries differ");
    assert_eq!(in_place.statements.len(), sink.statements.len());
    for (a, b) in in_place.statements.iter().zip(&sink.statements) {
        assert_eq!((&a.header, &a.lines), (&b.header, &b.lines), "in-place and streaming parses differ");
    }
    (sink, summary)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[test]
fn camt053_v02_older_layout() {
    let data = fixture("camt053_v02.xml");
    assert_eq!(detect_format(&data), Some(Format::Camt053));
    let (sink, summary) = run(Format::Camt053, &data, None);
    assert_eq!(summary.statements, 2);
    assert_eq!(summary.lines, 3);
    // Only the pending entry is reported; balances agree for both statements.
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(summary.warnings[0].contains("N2") && summary.warnings[0].contains("PDNG"));

    let s1 = &sink.statements[0];
    assert_eq!(s1.header.statement_id.as_deref(), Some("V02-STMT-1"));
    assert_eq!(s1.header.sequence_number.as_deref(), Some("17"));
    assert_eq!(s1.header.account_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(s1.header.currency.as_deref(), Some("EUR"));
    assert_eq!(s1.header.opening_balance.as_ref().unwrap().amount, dec("1000.00"), "PRCD used as opening");
    assert_eq!(s1.header.closing_balance.as_ref().unwrap().amount, dec("1224.50"));
    assert_eq!(s1.header.created_at.as_deref(), Some("2026-02-01T07:30:00+01:00"));

    let l = &s1.lines[0];
    assert_eq!(l.bank_reference.as_deref(), Some("2026013100001"), "AcctSvcrRef preferred over NtryRef");
    assert_eq!(l.amount, dec("250.00"));
    assert_eq!(l.counterparty_name.as_deref(), Some("Müller & Söhne GmbH"));
    assert_eq!(l.counterparty_iban.as_deref(), Some("DE44500105175407324931"), "spaces removed");
    assert_eq!(l.remittance.as_deref(), Some("INV-2026-0000123 INV-2026-0000124"));
    assert_eq!(l.end_to_end_id.as_deref(), Some("E2E-V02-1"));
    assert_eq!(l.bank_transaction_code.as_deref(), Some("PMNT/RCDT/ESCT"));
    assert_eq!(l.charges, Some(dec("0.50")), "two .02-style Chrgs summed");
    assert_eq!(l.account.as_deref(), Some("DE89370400440532013000"));

    let fee = &s1.lines[1];
    assert_eq!(fee.amount, dec("-25.50"));
    assert_eq!(fee.bank_transaction_code.as_deref(), Some("NCHG+805"), "proprietary code when no ISO domain");
    assert_eq!(fee.additional_info.as_deref(), Some("Kontoführung Januar"));
    assert_eq!(fee.counterparty_name, None);

    let s2 = &sink.statements[1];
    assert_eq!(s2.header.account_iban, None);
    assert_eq!(s2.header.account_number.as_deref(), Some("0532013001"));
    assert_eq!(s2.header.sequence_number.as_deref(), Some("4"), "LglSeqNb fallback");
    assert_eq!(s2.header.currency.as_deref(), Some("EUR"), "currency taken from the opening balance");
    assert_eq!(s2.header.closing_balance.as_ref().unwrap().amount, dec("-10.00"));
    let l = &s2.lines[0];
    assert_eq!(l.amount, dec("-10.00"));
    assert_eq!(l.counterparty_name.as_deref(), Some("Stadtwerke"), "debit: the creditor is the counterparty");
    assert_eq!(l.counterparty_account.as_deref(), Some("998877"));
    assert_eq!(l.end_to_end_id, None, "NOTPROVIDED is no id");
    assert_eq!(l.booking_date, d(2026, 1, 31));
    assert_eq!(l.value_date, None);
    assert_eq!(l.account.as_deref(), Some("0532013001"));
}

#[test]
fn camt053_v08_batch_reversal_and_charges() {
    let data = fixture("camt053_v08_batch.xml");
    let (sink, summary) = run(Format::Camt053, &data, None);
    assert_eq!(summary.statements, 1);
    // Batch of 3 -> 3 lines, reversal, RF entry; INFO entry skipped; SplmtryData ignored.
    assert_eq!(summary.lines, 5);
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(summary.warnings[0].contains("INFO-ENTRY"));
    let st = &sink.statements[0];
    assert_eq!(st.header.closing_available_balance.as_ref().unwrap().amount, dec("5400.00"));
    let refs: Vec<_> = st.lines.iter().map(|l| l.bank_reference.clone().unwrap_or_default()).collect();
    assert_eq!(refs, ["ASR-BATCH-1/1", "ASR-BATCH-1/2", "ASR-BATCH-1/3", "ASR-RVSL", "RF-ENTRY"]);

    let [a, b, c, rv, rf] = &st.lines[..] else { panic!() };
    assert_eq!((a.amount, b.amount, c.amount), (dec("100.00"), dec("200.00"), dec("300.00")));
    assert!(st.lines[..3].iter().all(|l| l.charges == Some(dec("2.00"))));
    assert!(st.lines[..3].iter().all(|l| l.booking_date == d(2026, 3, 1) && l.value_date == Some(d(2026, 3, 2))));
    assert_eq!(a.creditor_reference.as_deref(), Some("RF18539007547034"));
    assert_eq!(a.remittance, None);
    assert_eq!(a.counterparty_iban.as_deref(), Some("GB33BUKB20201555555555"));
    assert_eq!(a.additional_info.as_deref(), Some("SEPA SAMMLER"), "entry info when the tx has none");
    assert_eq!(b.counterparty_name.as_deref(), Some("Beta GmbH"));
    assert_eq!(b.currency, "GBP", "TxAmt, not the instructed EUR amount");
    assert_eq!(c.counterparty_name.as_deref(), Some("Gamma Holding"), "ultimate debtor as fallback");
    assert_eq!(c.remittance.as_deref(), Some("INV-3 PART 1 PART 2"));
    assert_eq!(c.additional_info.as_deref(), Some("Sammler Position 3"));
    assert_eq!(c.end_to_end_id.as_deref(), Some("E2E-C"));

    // Reversal of a credit: booked as a debit, still names the original payer.
    assert!(rv.reversal);
    assert_eq!(rv.amount, dec("-100.00"));
    assert_eq!(rv.counterparty_name.as_deref(), Some("Gamma Oy"));
    assert_eq!(rv.counterparty_iban.as_deref(), Some("FI2112345600000785"));
    assert_eq!(rv.bank_transaction_code.as_deref(), Some("PMNT/RCDT/RRTN"));

    assert_eq!(rf.creditor_reference.as_deref(), Some("RF18539007547034"), "RF recognised in Ustrd");
    assert_eq!(rf.remittance.as_deref(), Some("RF18 5390 0754 7034"));
}

#[test]
fn camt054_prefixed_in_envelope() {
    let data = fixture("camt054_prefixed_envelope.xml");
    assert_eq!(detect_format(&data), Some(Format::Camt054));
    let (sink, summary) = run(Format::Camt054, &data, None);
    assert_eq!((summary.statements, summary.lines), (1, 1));
    assert!(summary.warnings.is_empty());
    let st = &sink.statements[0];
    assert_eq!(st.header.statement_id.as_deref(), Some("NTF-1"));
    assert_eq!(st.header.created_at.as_deref(), Some("2026-04-01T09:00:00"), "from GrpHdr");
    let l = &st.lines[0];
    assert_eq!(l.amount, dec("1500.00"));
    assert_eq!(l.currency, "CHF");
    assert_eq!(l.counterparty_name.as_deref(), Some("Zürich Handels AG"), "character reference");
    assert_eq!(l.remittance.as_deref(), Some("Rechnung <2026-77> & Co"), "CDATA");

    // The same file read as camt.053 is a clear error, not an empty result.
    let err = parse(Format::Camt053, &data[..], None, &mut CollectSink::default()).unwrap_err();
    assert!(err.message.contains("camt.054"), "{err}");
}

#[test]
fn mt940_multi_statement_both_86_dialects() {
    let data = fixture("mt940_multi.sta");
    assert_eq!(detect_format(&data), Some(Format::Mt940));
    let (sink, summary) = run(Format::Mt940, &data, None);
    assert_eq!((summary.statements, summary.lines), (2, 5));
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);

    let s1 = &sink.statements[0];
    assert_eq!(s1.header.statement_id.as_deref(), Some("STARTUMSE"));
    assert_eq!(s1.header.account_number.as_deref(), Some("37040044/0532013000"));
    assert_eq!(s1.header.account_iban, None);
    assert_eq!(s1.header.sequence_number.as_deref(), Some("00012/001"));
    assert_eq!(s1.header.opening_balance.as_ref().unwrap().amount, dec("1000.00"));
    assert_eq!(s1.header.closing_balance.as_ref().unwrap().amount, dec("1224.50"));
    assert_eq!(s1.header.closing_available_balance.as_ref().unwrap().date, Some(d(2026, 1, 31)));
    let [g, fee] = &s1.lines[..] else { panic!() };
    assert_eq!(g.amount, dec("250.00"));
    assert_eq!(g.value_date, Some(d(2026, 1, 31)));
    assert_eq!(g.booking_date, d(2026, 1, 31));
    assert_eq!(g.bank_reference.as_deref(), Some("B6A31XY00001"));
    assert_eq!(g.customer_reference, None, "NONREF");
    assert_eq!(g.bank_transaction_code.as_deref(), Some("NTRF+166"));
    assert_eq!(g.end_to_end_id.as_deref(), Some("E2E-MT-1"));
    assert_eq!(g.remittance.as_deref(), Some("Rechnung INV-2026-0000123"), "27-char subfield joined without space");
    assert_eq!(g.counterparty_iban.as_deref(), Some("DE44500105175407324931"));
    assert_eq!(g.counterparty_name.as_deref(), Some("MÜLLER UND SÖHNE GMBH"), "Windows-1252 decoded");
    assert_eq!(g.additional_info.as_deref(), Some("SEPA-GUTSCHRIFT"));
    assert_eq!(g.account.as_deref(), Some("37040044/0532013000"));
    assert_eq!(fee.amount, dec("-25.50"));
    assert_eq!(fee.charges, Some(dec("25.50")));
    assert_eq!(fee.remittance.as_deref(), Some("Kontoführung Januar"));

    let s2 = &sink.statements[1];
    assert_eq!(s2.header.account_iban.as_deref(), Some("NL91ABNA0417164300"), "currency suffix removed");
    assert_eq!(s2.header.opening_balance.as_ref().unwrap().amount, dec("-100.00"));
    let [cr, db, rd] = &s2.lines[..] else { panic!() };
    assert_eq!(cr.amount, dec("1500.00"));
    assert_eq!(cr.customer_reference.as_deref(), Some("EREF"));
    assert_eq!(cr.end_to_end_id.as_deref(), Some("E2E-NL-1"));
    assert_eq!(cr.counterparty_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(cr.counterparty_name.as_deref(), Some("Kunde Eins GmbH"));
    assert_eq!(cr.remittance.as_deref(), Some("INV-2026-0000200 and INV-2026-0000201"));
    assert_eq!(db.amount, dec("-200.00"));
    assert_eq!(db.counterparty_name.as_deref(), Some("Supplier Ltd"));
    assert_eq!(db.counterparty_iban.as_deref(), Some("GB29NWBK60161331926819"));
    assert_eq!(db.creditor_reference.as_deref(), Some("RF18539007547034"));
    assert_eq!(db.additional_info.as_deref(), Some("SEPA OVERBOEKING"));
    assert_eq!(db.end_to_end_id, None);
    assert!(rd.reversal);
    assert_eq!(rd.amount, dec("10.00"), "RD = reversal of a debit, booked as a credit");
    assert_eq!(rd.remittance.as_deref(), Some("Return of direct debit payment reference 4711"));
}

#[test]
fn mt940_balance_mismatch_is_a_warning_with_both_figures() {
    let data = b":20:X\n:25:DE89370400440532013000\n:60F:C260101EUR100,00\n:61:260102C5,00NTRFNONREF\n:62F:C260102EUR106,00\n-\n";
    let (sink, summary) = run(Format::Mt940, data, None);
    assert_eq!(summary.lines, 1);
    assert_eq!(summary.warnings.len(), 1);
    let w = &summary.warnings[0];
    assert!(w.contains("105.00") && w.contains("106.00"), "{w}");
    assert_eq!(sink.statements[0].header.account_iban.as_deref(), Some("DE89370400440532013000"));
}

fn gbk_mapping() -> CsvMapping {
    // Also proves the mapping is plain JSON: only the differences from the default.
    serde_json::from_value(serde_json::json!({
        "delimiter": ";",
        "encoding": "gbk",
        "line_id": 8,
        "account": null,
        "booking_date": "交易日期",
        "value_date": "记账日期",
        "amount": { "convention": "debit_credit", "debit": "借方金额", "credit": "贷方金额" },
        "currency": "币种",
        "counterparty_name": "对方户名",
        "counterparty_iban": "对方账号",
        "remittance": ["摘要"],
        "end_to_end_id": null,
        "decimal_separator": ",",
        "thousands_separator": ".",
        "date_format": "%d.%m.%Y"
    }))
    .expect("mapping json")
}

#[test]
fn csv_gbk_decimal_comma_debit_credit_columns() {
    let data = fixture("gbk_debit_credit.csv");
    let mapping = gbk_mapping();
    let (sink, summary) = run(Format::Csv, &data, Some(&mapping));
    assert_eq!((summary.statements, summary.lines), (1, 4));
    let lines: Vec<&ParsedLine> = sink.lines().collect();
    let amounts: Vec<Decimal> = lines.iter().map(|l| l.amount).collect();
    assert_eq!(amounts, [dec("1234.56"), dec("-88.00"), dec("10000.00"), dec("500.5")]);
    assert_eq!(lines[0].counterparty_name.as_deref(), Some("上海宏达贸易有限公司"));
    assert_eq!(lines[0].remittance.as_deref(), Some("货款 INV-2026-0000001; 谢谢"), "quoted delimiter");
    assert_eq!(lines[0].bank_reference.as_deref(), Some("LS0001"), "column by index");
    assert_eq!(lines[0].booking_date, d(2026, 1, 5));
    assert_eq!(lines[2].value_date, None, "empty value date column");
    assert_eq!(lines[2].booking_date, d(2026, 1, 7));
    assert_eq!(lines[2].remittance.as_deref(), Some("多行\n摘要"), "quoted line break");
    assert_eq!(lines[3].creditor_reference.as_deref(), Some("RF18539007547034"));
    assert_eq!(sink.statements[0].header.currency.as_deref(), Some("CNY"));

    // Same bytes read as UTF-8 must fail loudly, not produce mojibake.
    let mut utf8 = mapping.clone();
    utf8.encoding = Default::default();
    let err = parse(Format::Csv, &data[..], Some(&utf8), &mut CollectSink::default()).unwrap_err();
    assert!(err.message.contains("UTF-8") && err.line == Some(1), "{err}");
}

#[test]
fn csv_default_mapping_with_bom_and_indicator_convention() {
    let data = "\u{feff}line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n\
                BL1,DE89370400440532013000,2026-01-07,,-12.30,EUR,,de44 5001 0517 5407 3249 31,\"A, B\",NOTPROVIDED\n";
    let (sink, _) = run(Format::Csv, data.as_bytes(), None);
    let l = sink.lines().next().unwrap();
    assert_eq!(l.amount, dec("-12.30"));
    assert_eq!(l.counterparty_iban.as_deref(), Some("DE44500105175407324931"));
    assert_eq!(l.remittance.as_deref(), Some("A, B"));
    assert_eq!(l.end_to_end_id, None);
    assert_eq!(sink.statements[0].header.account_iban.as_deref(), Some("DE89370400440532013000"));

    let mapping: CsvMapping = serde_json::from_value(serde_json::json!({
        "has_header": false, "skip_rows": 1, "line_id": null, "account": null, "value_date": null,
        "counterparty_name": null, "counterparty_iban": null, "end_to_end_id": null, "currency": null,
        "default_currency": "USD", "booking_date": 0, "remittance": [3, 4],
        "amount": { "convention": "indicator", "amount": 1, "indicator": 2 },
        "date_format": "%m/%d/%Y", "thousands_separator": ","
    }))
    .unwrap();
    let data = "Account 123 export\n01/31/2026,\"1,234.50\",CR,Invoice,42\n02/01/2026,99.99,d,Fee,\n";
    let (sink, _) = run(Format::Csv, data.as_bytes(), Some(&mapping));
    let lines: Vec<_> = sink.lines().collect();
    assert_eq!(lines[0].amount, dec("1234.50"));
    assert_eq!(lines[0].remittance.as_deref(), Some("Invoice 42"));
    assert_eq!(lines[1].amount, dec("-99.99"));
    assert_eq!(lines[1].currency, "USD");
    assert_eq!(lines[1].booking_date, d(2026, 2, 1));

    // A mapping round-trips through JSON.
    let json = serde_json::to_string(&CsvMapping::default()).unwrap();
    assert_eq!(serde_json::from_str::<CsvMapping>(&json).unwrap(), CsvMapping::default());
    assert!(serde_json::from_str::<CsvMapping>(r#"{"delimitr": ";"}"#).is_err(), "typos are rejected");
}

#[test]
fn bai2_sample() {
    let data = fixture("sample.bai2");
    assert_eq!(detect_format(&data), Some(Format::Bai2));
    let (sink, summary) = run(Format::Bai2, &data, None);
    assert_eq!((summary.statements, summary.lines), (2, 4));
    // Only the 890 detail (undefined direction) is reported; totals and counts agree.
    assert_eq!(summary.warnings.len(), 1, "{:?}", summary.warnings);
    assert!(summary.warnings[0].contains("890"));

    let s1 = &sink.statements[0];
    assert_eq!(s1.header.account_number.as_deref(), Some("0001234567"));
    assert_eq!(s1.header.statement_id.as_deref(), Some("FILE1/0001234567/2026-01-04"));
    assert_eq!(s1.header.created_at.as_deref(), Some("2026-01-05T08:00:00"));
    assert_eq!(s1.header.opening_balance.as_ref().unwrap().amount, dec("1000.00"));
    assert_eq!(s1.header.closing_balance.as_ref().unwrap().amount, dec("1525.50"));
    assert_eq!(s1.header.closing_available_balance.as_ref().unwrap().amount, dec("1500.00"));
    let [wire, lockbox, check] = &s1.lines[..] else { panic!() };
    assert_eq!(wire.amount, dec("500.00"));
    assert_eq!(wire.value_date, Some(d(2026, 1, 4)));
    assert_eq!(wire.bank_reference.as_deref(), Some("BR001"));
    assert_eq!(wire.customer_reference.as_deref(), Some("CR001"));
    assert_eq!(wire.remittance.as_deref(), Some("INCOMING WIRE FROM ACME CORP"));
    assert_eq!(wire.bank_transaction_code.as_deref(), Some("195"));
    assert_eq!(lockbox.amount, dec("123.45"));
    assert_eq!(lockbox.value_date, Some(d(2026, 1, 6)), "funds type V");
    assert_eq!(lockbox.remittance.as_deref(), Some("LOCKBOX DEPOSIT INV 1001 INV 1002"), "88 continues the text");
    assert_eq!(check.amount, dec("-97.95"));
    assert_eq!(check.value_date, Some(d(2026, 1, 5)), "funds type 1 = one day");

    let s2 = &sink.statements[1];
    assert_eq!(s2.header.currency.as_deref(), Some("USD"), "group currency");
    assert_eq!(s2.header.opening_balance.as_ref().unwrap().amount, dec("-50.00"));
    assert_eq!(s2.header.closing_balance.as_ref().unwrap().amount, dec("-25.00"), "88 continues the 03");
    assert_eq!(s2.lines[0].remittance.as_deref(), Some("DEPOSIT"));
    assert_eq!(s2.lines[0].booking_date, d(2026, 1, 4));
}

/// A sink that stops the import: its error comes back unchanged.
struct Refuse;
impl StatementSink for Refuse {
    fn begin_statement(&mut self, _: &StatementHeader) -> Result<(), ParseError> {
        Ok(())
    }
    fn line(&mut self, _: ParsedLine) -> Result<(), ParseError> {
        Err(ParseError::new("database is read-only"))
    }
    fn end_statement(&mut self, _: &StatementHeader) -> Result<(), ParseError> {
        Ok(())
    }
}

#[test]
fn sink_errors_abort_the_parse() {
    let err = parse(Format::Camt053, &fixture("camt053_v02.xml")[..], None, &mut Refuse).unwrap_err();
    assert_eq!(err.message, "database is read-only");
}

#[test]
fn camt_batch_that_does_not_add_up_is_reported() {
    let data = String::from_utf8(fixture("camt053_v08_batch.xml")).unwrap();
    let data = data.replacen(">594.00<", ">590.00<", 1).replacen(">5539.67<", ">5535.67<", 1);
    let (_, summary) = run(Format::Camt053, data.as_bytes(), None);
    assert!(
        summary.warnings.iter().any(|w| w.contains("books 590.00") && w.contains("add up to 600.00")),
        "{:?}",
        summary.warnings
    );
    // The balance check uses the booked entry amount, so it still agrees.
    assert!(!summary.warnings.iter().any(|w| w.contains("closing balance")), "{:?}", summary.warnings);

    // A batch transaction without any amount cannot be split: the entry is one line of what was
    // booked (never a guess at the parts, never the whole file refused).
    let data = String::from_utf8(fixture("camt053_v08_batch.xml")).unwrap();
    let data = data.replacen("<AmtDtls><TxAmt><Amt Ccy=\"GBP\">300.00</Amt></TxAmt></AmtDtls>", "", 1);
    let (sink, summary) = run(Format::Camt053, data.as_bytes(), None);
    assert!(summary.warnings[0].contains("TxDtls 3 of 3 has no amount"), "{:?}", summary.warnings);
    let first = &sink.statements[0].lines[0];
    assert_eq!((first.amount, first.bank_reference.as_deref()), (dec("594.00"), Some("ASR-BATCH-1")));
    assert_eq!(summary.lines, 3);
}

#[test]
fn a_pending_batch_entry_counts_as_its_transactions_said_once() {
    let data = String::from_utf8(fixture("camt053_v08_batch.xml")).unwrap();
    let pending = data.replacen("<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd>PDNG</Cd></Sts>", 1);
    assert_ne!(pending, data);
    let (_, summary) = run(Format::Camt053, pending.as_bytes(), None);
    // The batch of 3 and the INFO entry are not imported: 4 lines, 2 warnings.
    assert_eq!((summary.lines, summary.skipped), (2, 4), "{:?}", summary.warnings);
    assert_eq!(summary.warnings.iter().filter(|w| w.contains("(3 transactions) has status PDNG")).count(), 1);
}
