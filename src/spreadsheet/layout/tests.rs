use super::*;
use crate::domain::sheet_columns::{CUSTOMERS, DOCUMENTS};

fn table(sheet: &str, rows: &[&[&str]]) -> Table {
    Table {
        sheet: sheet.to_string(),
        rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
        notes: Vec::new(),
    }
}

fn csv_lines(a: &Arranged) -> Vec<String> {
    String::from_utf8(a.csv.clone()).unwrap().lines().map(String::from).collect()
}

#[test]
fn numbers_stored_as_text_lose_grouping_but_never_a_decimal_comma() {
    assert_eq!(clean_number("1,234,567.50").as_deref(), Some("1234567.50"));
    assert_eq!(clean_number(" ¥ 12 300 ").as_deref(), Some("12300"));
    assert_eq!(clean_number("-1，000").as_deref(), Some("-1000"));
    assert_eq!(clean_number("1,5"), None, "a decimal comma is left for the import to refuse");
    assert_eq!(clean_number("12,34.5"), None);
    assert_eq!(clean_number("abc"), None);
}

#[test]
fn dates_written_as_text_in_the_usual_formats() {
    let none: Vec<String> = Vec::new();
    for text in
        ["2026-03-01", "2026/3/1", "2026.03.01", "2026年3月1日", "20260301", "01.03.2026", "2026-03-01 00:00:00"]
    {
        assert_eq!(clean_date(text, &none, Source::Csv).as_deref(), Some("2026-03-01"), "{text}");
    }
    assert_eq!(clean_date("46082", &none, Source::Sheet).as_deref(), Some("2026-03-01"), "a day count in a sheet");
    assert_eq!(clean_date("46082", &none, Source::Csv), None, "not in a CSV file");
    assert_eq!(clean_date("03/01/2026", &none, Source::Csv), None, "ambiguous without a format");
    let day_first = vec!["%d/%m/%Y".to_string()];
    assert_eq!(clean_date("03/01/2026", &day_first, Source::Csv).as_deref(), Some("2026-01-03"));
}

/// A title above the header, Chinese headers and synonyms, an ignored column, a merged title.
#[test]
fn the_header_is_found_below_titles_in_chinese() {
    let t = table(
        "客户",
        &[
            &["2026年客户清单", "2026年客户清单", "2026年客户清单"],
            &[],
            &["客户编号", "Customer Name", "账期（天）"],
            &["00123", "上海甲公司", "30"],
            &[],
            &["C-2", "乙公司", "1,000"],
        ],
    );
    let a = arrange(&[t], CUSTOMERS, &ImportMapping::default(), Source::Sheet).unwrap();
    assert_eq!(csv_lines(&a), ["code,name,payment_terms_days", "00123,上海甲公司,30", "C-2,乙公司,1000"]);
    assert_eq!(a.rows, [4, 6]);
    assert_eq!(
        a.letters,
        [("code", "A".to_string()), ("name", "B".to_string()), ("payment_terms_days", "C".to_string())]
    );
}

#[test]
fn unknown_and_missing_columns_refuse_with_their_cells() {
    let t = table("Sheet1", &[&["code", "name", "颜色"], &["C1", "x", "red"]]);
    let e = arrange(std::slice::from_ref(&t), CUSTOMERS, &ImportMapping::default(), Source::Sheet).unwrap_err();
    assert!(e.contains("sheet \"Sheet1\"") && e.contains("\"颜色\" (C1)"), "{e}");
    let ignore = ImportMapping { ignore: vec!["颜色".into()], ..ImportMapping::default() };
    assert!(arrange(&[t], CUSTOMERS, &ignore, Source::Sheet).is_ok());
    let t = table("Sheet1", &[&["name"], &["x"]]);
    let e = arrange(&[t], CUSTOMERS, &ImportMapping::default(), Source::Sheet).unwrap_err();
    assert!(e.contains("column code is required"), "{e}");
}

/// A header over two rows: a merged group title above the column titles.
#[test]
fn a_header_spanning_two_rows_is_named_by_both() {
    let t = table(
        "台账",
        &[
            &["单据", "单据", "客户代码", "金额", "金额", "开票日期", "类型"],
            &["号码", "币种", "客户代码", "原币", "本位币", "开票日期", "类型"],
            &["INV-1", "USD", "C1", "100.00", "720.00", "2026/3/1", "发票"],
        ],
    );
    let merged_twice =
        arrange(std::slice::from_ref(&t), DOCUMENTS, &ImportMapping::default(), Source::Sheet).unwrap_err();
    assert!(merged_twice.contains("both read as") || merged_twice.contains("unknown column"), "{merged_twice}");
    let mapping = ImportMapping {
        columns: [("单据 / 号码", "doc_no"), ("单据 / 币种", "currency"), ("金额 / 原币", "amount")]
            .into_iter()
            .map(|(h, c)| (h.to_string(), c.to_string()))
            .collect(),
        ignore: vec!["金额 / 本位币".into()],
        header_rows: Some(2),
        ..ImportMapping::default()
    };
    let a = arrange(&[t], DOCUMENTS, &mapping, Source::Sheet).unwrap();
    assert_eq!(
        csv_lines(&a),
        ["doc_no,currency,customer_code,amount,issue_date,doc_type", "INV-1,USD,C1,100.00,2026-03-01,invoice"]
    );
    assert_eq!(a.rows, [3]);
}

#[test]
fn the_sheet_with_the_header_is_read_and_the_example_row_left_out() {
    let notes = table("Notes", &[&["code", "what"], &["name", "x"]]);
    let names: Vec<&str> = CUSTOMERS.iter().map(|c| c.name).collect();
    let example: Vec<&str> = CUSTOMERS.iter().map(|c| c.example).collect();
    let data = table("customers", &[&names, &example, &["C9", "Real"]]);
    let a = arrange(&[notes, data], CUSTOMERS, &ImportMapping::default(), Source::Sheet).unwrap();
    assert_eq!(a.sheet.as_deref(), Some("customers"));
    assert_eq!(a.rows, [3]);
    assert!(a.notes.iter().any(|n| n.contains("row 2 is the template's example row")), "{:?}", a.notes);
    let missing = ImportMapping { sheet: Some("Daten".into()), ..ImportMapping::default() };
    let t = table("customers", &[&names]);
    assert!(arrange(&[t], CUSTOMERS, &missing, Source::Sheet).unwrap_err().contains("\"Daten\" is not in the file"));
}

#[test]
fn a_gbk_csv_reads_as_its_text() {
    let (gbk, _, _) = encoding_rs::GBK.encode("客户编号,客户名称\nC1,甲公司\n");
    let t = csv_table(&gbk).unwrap();
    assert_eq!(t.rows[1], ["C1", "甲公司"]);
    assert!(csv_table(b"\xff\xfe\xff,\x80\n").is_err());
}

#[test]
fn a_wide_unknown_header_is_named_in_part() {
    let header: Vec<String> = (0..500).map(|i| format!("x{i}")).collect();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let t = table("wide", &[&refs]);
    let e = arrange(&[t], CUSTOMERS, &ImportMapping::default(), Source::Sheet).unwrap_err();
    assert!(e.contains("\"x9\" (J1), and 490 more") && !e.contains("x10"), "{e}");
}
