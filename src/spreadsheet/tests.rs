use super::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// A customer's statement as Excel keeps it: a title, a merged header over two columns, Chinese
/// headers, dates as dates, amounts as numbers (one stored as text), a comma in a text cell.
fn statement_workbook() -> Vec<u8> {
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("说明").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("对账单").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(0, 0, "上海宏达贸易有限公司 对账单").unwrap();
    sheet.write_string(2, 0, "日期").unwrap();
    sheet.write_string(2, 1, "单号").unwrap();
    sheet.merge_range(2, 2, 2, 3, "金额", &Format::new()).unwrap();
    sheet.write_string(3, 2, "借方").unwrap();
    sheet.write_string(3, 3, "贷方").unwrap();
    sheet.write_datetime_with_format(4, 0, ExcelDateTime::from_ymd(2026, 11, 3).unwrap(), &date).unwrap();
    sheet.write_string(4, 1, "INV-2026-0001, PO 77").unwrap();
    sheet.write_number(4, 2, 0.1 + 0.2).unwrap();
    sheet.write_datetime_with_format(5, 0, ExcelDateTime::from_ymd(2026, 11, 30).unwrap(), &date).unwrap();
    sheet.write_string(5, 1, "\"收款\"").unwrap();
    sheet.write_string(5, 3, "1234.50").unwrap();
    sheet.write_number(6, 2, 1_130_000.0).unwrap();
    sheet.write_number(7, 2, -12.345678901234567).unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn cells_read_as_a_person_sees_them() {
    let bytes = statement_workbook();
    assert!(is_xlsx(&bytes));
    let table = read_main_sheet(&bytes, Limits::default()).unwrap();
    assert_eq!(table.sheet, "对账单");
    assert_eq!(table.rows[0][0], "上海宏达贸易有限公司 对账单");
    assert!(table.rows[1].iter().all(String::is_empty), "row 2 is empty: {:?}", table.rows[1]);
    // The merged header names both columns it covers.
    assert_eq!(table.rows[2], ["日期", "单号", "金额", "金额"]);
    assert_eq!(table.rows[3][2..], ["借方", "贷方"]);
    assert_eq!(table.rows[4][..3], ["2026-11-03", "INV-2026-0001, PO 77", "0.3"]);
    assert_eq!(table.rows[5], ["2026-11-30", "\"收款\"", "", "1234.50"]);
    assert_eq!(table.rows[6][2], "1130000");
    assert_eq!(table.rows[7][2], "-12.3456789012346");
    assert!(table.notes.is_empty(), "an empty sheet is no news: {:?}", table.notes);
}

#[test]
fn csv_keeps_rows_in_place_and_quotes_what_needs_it() {
    let table = read_main_sheet(&statement_workbook(), Limits::default()).unwrap();
    let csv = String::from_utf8(to_csv(&table)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "one line per sheet row: {csv}");
    assert_eq!(lines[1], ",,,");
    assert_eq!(lines[4], "2026-11-03,\"INV-2026-0001, PO 77\",0.3,");
    assert_eq!(lines[5], "2026-11-30,\"\"\"收款\"\"\",,1234.50");
}

#[test]
fn other_sheets_are_named_and_far_columns_counted() {
    let mut book = Workbook::new();
    let first = book.add_worksheet();
    first.write_string(0, 0, "a").unwrap();
    first.write_string(0, 600, "far right").unwrap();
    book.add_worksheet().set_name("Archive").unwrap().write_string(0, 0, "old").unwrap();
    let table = read_main_sheet(&book.save_to_buffer().unwrap(), Limits::default()).unwrap();
    assert_eq!(table.rows, vec![vec!["a".to_string()]]);
    assert!(
        table
            .notes
            .iter()
            .any(|n| n == "read sheet \"Sheet1\", the one with most values; not read: \"Archive\" (1 cells)"),
        "{:?}",
        table.notes
    );
    assert!(table.notes.iter().any(|n| n == "1 cell(s) right of column SR not read"), "{:?}", table.notes);
}

#[test]
fn bounds_refuse_with_a_reason() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for row in 0..30 {
        sheet.write_number(row, 0, f64::from(row)).unwrap();
    }
    // Two cells at opposite corners: a dense grid would be 17 billion cells.
    sheet.write_string(1_048_575, 0, "last row").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let small = Limits { max_cells: 10, ..Limits::default() };
    assert!(read_main_sheet(&bytes, small).unwrap_err().0.contains("more than 10 cells"));
    let table = read_main_sheet(&bytes, Limits::default()).unwrap();
    assert_eq!(table.rows.len(), 1_048_576);
    let narrow = Limits { max_grid: 1_000_000, ..Limits::default() };
    assert!(read_main_sheet(&bytes, narrow).unwrap_err().0.contains("spans 1048576 rows by 1 columns"));
    let tight = Limits { max_unpacked_bytes: 1024, ..Limits::default() };
    assert!(read_main_sheet(&bytes, tight).unwrap_err().0.contains("unpacks to more than"));
}

#[test]
fn not_a_workbook() {
    let xls = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
    assert!(is_legacy_xls(&xls));
    assert_eq!(read_main_sheet(&xls, Limits::default()).unwrap_err().0, LEGACY_XLS);
    assert!(read_main_sheet(b"PK\x03\x04garbage", Limits::default()).unwrap_err().0.contains("not a readable"));
    assert!(read_main_sheet(b"date,amount\n", Limits::default()).is_err());
}

#[test]
fn numbers_as_excel_shows_them() {
    assert_eq!(number_text(0.1 + 0.2), "0.3");
    assert_eq!(number_text(1234.5), "1234.5");
    assert_eq!(number_text(-0.0), "0");
    assert_eq!(number_text(1e20), "100000000000000000000");
    assert_eq!(number_text(0.000_001_5), "0.0000015");
    assert_eq!(number_text(f64::NAN), "");
    assert_eq!(column_name(0), "A");
    assert_eq!(column_name(25), "Z");
    assert_eq!(column_name(26), "AA");
    assert_eq!(column_name(16_383), "XFD");
    assert_eq!(cell_name(6, 2), "C7");
}
