use super::*;
use crate::bank_formats::Column;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn ymd(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}
fn kinds(r: &[Resolved]) -> Vec<(Option<DocType>, Decimal)> {
    r.iter().map(|x| (x.kind, x.amount)).collect()
}

/// A Chinese payables ledger in GBK: a title row, debit/credit columns of their books (our
/// invoices are credits), their words, a total row.
#[test]
fn a_chinese_ledger_in_gbk_with_debit_and_credit_columns() {
    let text = "应付账款明细账 2026年3月\n\
                日期,凭证号,摘要,发票号,单据类型,借方金额,贷方金额,余额,币种\n\
                2026/03/02,记-0012,采购 INV-2026-0000155,,发票,,\"1,234.50\",1234.50,CNY\n\
                2026/03/20,付-0031,货款,INV-2026-0000155,付款,1234.50,,0,CNY\n\
                2026/03/25,记-0040,红字发票,,发票,100.00,,,CNY\n\
                ,,合计,,,\"1,334.50\",\"1,234.50\",,\n";
    let r = read_csv(&gbk(text), &StatementMapping::default(), None).unwrap();
    assert_eq!(r.lines.len(), 3, "{r:?}");
    assert_eq!(r.invoices, Some(Side::Credit));
    let first = &r.lines[0];
    assert_eq!((first.row, first.date, first.their_ref.as_str()), (3, ymd(2026, 3, 2), "记-0012"));
    assert_eq!((first.text.as_str(), first.currency.as_str()), ("采购 INV-2026-0000155", "CNY"));
    assert_eq!(r.lines[1].our_ref.as_deref(), Some("INV-2026-0000155"));
    assert_eq!(
        kinds(&r.resolve(Side::Credit)),
        [
            (Some(DocType::Invoice), d("1234.50")),
            (Some(DocType::Payment), d("1234.50")),
            (Some(DocType::CreditNote), d("100.00"))
        ]
    );
    let notes = r.notes.join(" | ");
    assert!(notes.contains("GB18030"), "{notes}");
    assert!(notes.contains("header on row 2"), "{notes}");
    assert!(notes.contains("'余额'"), "{notes}");
    assert!(notes.contains("1 total or balance row"), "{notes}");
}

#[test]
fn a_german_export_with_semicolons_decimal_commas_and_a_saved_mapping() {
    let text = "Belegdatum;Belegnr.;Buchungstext;Belegart;Soll;Haben;Währung\n\
                02.03.2026;ER-1;Rechnung 155;Eingangsrechnung;;1.234,50;EUR\n\
                20.03.2026;ZA-7;Zahlung;Zahlung;1.234,50;;EUR\n\
                21.03.2026;GS-2;;Gutschrift;50,00;;EUR\n";
    let r = read_csv(text.as_bytes(), &StatementMapping::default(), None).unwrap();
    assert_eq!(r.invoices, Some(Side::Credit));
    assert_eq!(
        kinds(&r.resolve(Side::Credit)),
        [
            (Some(DocType::Invoice), d("1234.50")),
            (Some(DocType::Payment), d("1234.50")),
            (Some(DocType::CreditNote), d("50.00"))
        ]
    );
    assert!(r.notes.iter().any(|n| n.contains("decimal comma")), "{:?}", r.notes);
    // The same file with a mapping that names the columns and says where invoices are.
    let m: StatementMapping = serde_json::from_value(serde_json::json!({
        "delimiter": ";", "date": "Belegdatum", "their_ref": "Belegnr.", "text": ["Buchungstext"],
        "amount": {"convention": "debit_credit", "debit": "Soll", "credit": "Haben", "invoices": "credit"},
        "currency": "Währung", "date_formats": ["%d.%m.%Y"], "decimal_separator": ","
    }))
    .unwrap();
    let r2 = read_csv(text.as_bytes(), &m, None).unwrap();
    assert_eq!(r2.invoices, Some(Side::Credit));
    // Without a type column the kinds come from the sides alone.
    assert_eq!(kinds(&r2.resolve(Side::Credit))[2], (None, d("-50.00")));
}

#[test]
fn signed_amounts_with_or_without_document_types() {
    let typed = "Posting Date,Document No,Description,Type,Amount,Currency\n\
                 03/13/2026,V-1,INV-2026-0000155,Invoice,\"-1,234.50\",USD\n\
                 04/01/2026,P-1,,Payment,\"1,234.50\",USD\n\
                 04/02/2026,C-1,,Credit Memo,25.00,USD\n";
    let r = read_csv(typed.as_bytes(), &StatementMapping::default(), None).unwrap();
    assert_eq!(r.invoices, Some(Side::Credit));
    assert_eq!(r.lines[0].date, ymd(2026, 3, 13));
    let untyped = "Posting Date,Document No,Description,Amount\n\
                   2026-03-13,V-1,INV-2026-0000155,-1234.50\n\
                   2026-04-01,P-1,,1234.50\n";
    let r = read_csv(untyped.as_bytes(), &StatementMapping::default(), Some("EUR")).unwrap();
    assert_eq!(r.invoices, None, "undecided: both readings are tried against our books");
    assert_eq!(kinds(&r.resolve(Side::Credit)), [(None, d("1234.50")), (None, d("-1234.50"))]);
    assert_eq!(r.lines[0].currency, "EUR");
}

#[test]
fn our_own_layout_reads_as_before() {
    let csv = "customer_code,their_ref,our_ref,date,kind,amount,currency\n\
               C1,R-1,INV-2026-0000101,2026-01-05,invoice,100.00,EUR\n\
               C1,A-1,,2026-01-06,adjustment,-5.00,EUR\n";
    let r = read_csv(csv.as_bytes(), &StatementMapping::default(), None).unwrap();
    assert_eq!(r.invoices, None);
    assert_eq!(r.customer_codes, ["C1"]);
    assert_eq!(
        kinds(&r.resolve(Side::Credit)),
        [(Some(DocType::Invoice), d("100.00")), (Some(DocType::Adjustment), d("-5.00"))]
    );
    // A negative payment makes the column signed: the invoice's side is the payment's opposite.
    let csv = "customer_code,their_ref,our_ref,date,kind,amount,currency\n\
               C1,R-1,INV-2026-0000101,2026-01-05,invoice,100.00,EUR\n\
               C1,P-1,,2026-02-01,payment,-100.00,EUR\n";
    let r = read_csv(csv.as_bytes(), &StatementMapping::default(), None).unwrap();
    assert_eq!(r.invoices, Some(Side::Debit));
    assert_eq!(
        kinds(&r.resolve(Side::Debit)),
        [(Some(DocType::Invoice), d("100.00")), (Some(DocType::Payment), d("100.00"))]
    );
}

#[test]
fn columns_by_position_and_an_indicator() {
    let m = StatementMapping {
        date: Some(Column::Index(0)),
        their_ref: Some(Column::Index(1)),
        amount: Some(AmountConvention::Indicator {
            amount: Column::Index(2),
            indicator: Column::Index(3),
            debit_values: mapping::default_debit_values(),
            credit_values: mapping::default_credit_values(),
            invoices: InvoiceSide::Credit,
        }),
        default_currency: Some("EUR".into()),
        date_formats: vec!["%Y%m%d".into()],
        ..Default::default()
    };
    let r =
        read_csv(b"20260302|X1|100.00|H\n20260303|X2|40.00|S\n", &StatementMapping { delimiter: Some('|'), ..m }, None)
            .unwrap();
    assert_eq!(kinds(&r.resolve(Side::Credit)), [(None, d("100.00")), (None, d("-40.00"))]);
}

#[test]
fn unreadable_files_and_lines_are_refused_with_the_reason() {
    let no_header = read_csv(b"a,b\n1,2\n", &StatementMapping::default(), None).unwrap_err();
    assert!(no_header.message.contains("header row"), "{no_header:?}");
    let lines = "date,kind,amount,currency\n2026-03-01,invoice,10.00,EUR\n2026-03-02,Lieferschein,5.00,EUR\n";
    let e = read_csv(lines.as_bytes(), &StatementMapping::default(), None).unwrap_err();
    assert_eq!(e.rows.len(), 1, "{e:?}");
    assert_eq!(e.rows[0].0, 3);
    let both = "Datum;Soll;Haben;Währung\n01.03.2026;1,00;2,00;EUR\n";
    let e = read_csv(both.as_bytes(), &StatementMapping::default(), None).unwrap_err();
    assert!(e.rows[0].1.contains("both the debit and the credit"), "{e:?}");
    let dates = "date,kind,amount,currency\n2026-03-01,invoice,10.00,EUR\nyesterday,invoice,5.00,EUR\n";
    let e = read_csv(dates.as_bytes(), &StatementMapping::default(), None).unwrap_err();
    assert!(e.message.contains("yesterday"), "{e:?}");
    let bad_mapping = StatementMapping { decimal_separator: Some(';'), ..Default::default() };
    assert!(read_csv(b"x", &bad_mapping, None).unwrap_err().message.contains("decimal_separator"));
    let not_gbk =
        read_csv(b"\xff\xff\xff", &StatementMapping { encoding: Some(CsvEncoding::Gbk), ..Default::default() }, None);
    assert!(not_gbk.is_err());
    let unsigned = "Datum,Betrag\n01.03.2026,10.00\n";
    let e = read_csv(unsigned.as_bytes(), &StatementMapping::default(), Some("EUR")).unwrap_err();
    assert!(e.message.contains("no sign"), "{e:?}");
}
