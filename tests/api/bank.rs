//! Bank statement ingestion over HTTP: accounts, every format, idempotency, hostile files.

use crate::helpers::{spawn_app, TestApp};
use serde_json::json;
use std::path::{Path, PathBuf};

const ACCOUNTS: [(&str, &str); 5] = [
    ("DE89370400440532013000", "EUR"),
    ("GB29NWBK60161331926819", "GBP"),
    ("DE44500105175407324931", "USD"),
    ("CN5810000000000123456789", "CNY"),
    ("GB33BUKB20201555555555", "JPY"),
];

async fn register_accounts(app: &TestApp) {
    for (iban, cur) in ACCOUNTS {
        let r = app
            .post("/api/v1/bank-accounts", &json!({"account_id": iban, "currency": cur, "bank_name": "Test Bank"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

async fn upload(app: &TestApp, query: &str, bytes: Vec<u8>) -> crate::helpers::Response {
    app.send(
        "POST",
        &format!("/api/v1/bank-statements{query}"),
        Some(&app.api_key),
        Some(("application/octet-stream", bytes)),
        &[],
    )
    .await
}

fn generate(lines: u32, seed: u32) -> (tempfile::TempDir, PathBuf) {
    generate_with(lines, seed, 200)
}

fn generate_with(lines: u32, seed: u32, camt_entries: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = crate::helpers::generated_folder(lines as usize, 2, seed as u64, Some(camt_entries as usize));
    let path = dir.path().to_path_buf();
    (dir, path)
}

fn camt_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("camt053")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[tokio::test]
async fn csv_and_camt_of_the_same_lines_import_once() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    let (_tmp, dir) = generate(600, 5);
    let csv = std::fs::read(dir.join("bank.csv")).unwrap();
    let total = String::from_utf8_lossy(&csv).lines().count() as u64 - 1;
    let r = upload(&app, "", csv.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["format"], "csv");
    assert_eq!(r.body["lines_imported"].as_u64(), Some(total));
    assert_eq!(r.body["duplicates_skipped"], 0);
    assert_eq!(app.count("bank_lines"), total as i64);

    // The same file again: nothing new.
    let r = upload(&app, "?format=csv", csv).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 0);
    assert_eq!(r.body["duplicates_skipped"].as_u64(), Some(total));

    // The camt.053 statements carry the same bank references: all duplicates, balances checked.
    let mut camt_lines = 0;
    for file in camt_files(&dir) {
        let r = upload(&app, "", std::fs::read(&file).unwrap()).await;
        assert_eq!(r.status, 201, "{}: {}", file.display(), r.text);
        assert_eq!(r.body["format"], "camt053");
        assert_eq!(r.body["lines_imported"], 0, "{}", r.text);
        assert_eq!(r.body["warnings"].as_array().unwrap().len(), 0, "balances agree: {}", r.text);
        let part = &r.body["statements"][0];
        assert!(part["opening_balance"].is_string() && part["closing_balance"].is_string(), "{}", r.text);
        camt_lines += r.body["duplicates_skipped"].as_u64().unwrap();
    }
    assert_eq!(camt_lines, total);
    assert_eq!(app.count("bank_lines"), total as i64);
    assert_eq!(app.count("bank_statements"), 2 + camt_files(&dir).len() as i64);
}

#[tokio::test]
async fn camt_first_then_overlapping_statement() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    let (_tmp, dir) = generate(300, 9);
    let files = camt_files(&dir);
    let first = std::fs::read(&files[0]).unwrap();
    let r = upload(&app, "", first.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let imported = r.body["lines_imported"].as_u64().unwrap();
    assert!(imported > 0);
    // An idempotent retry of the same upload replays the answer.
    let retry = app
        .send(
            "POST",
            "/api/v1/bank-statements",
            Some(&app.api_key),
            Some(("application/xml", first.clone())),
            &[("idempotency-key", "stmt-1")],
        )
        .await;
    let again = app
        .send(
            "POST",
            "/api/v1/bank-statements",
            Some(&app.api_key),
            Some(("application/xml", first)),
            &[("idempotency-key", "stmt-1")],
        )
        .await;
    assert_eq!(retry.body, again.body);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    // The whole CSV overlaps the first statement: only the rest is new.
    let csv = std::fs::read(dir.join("bank.csv")).unwrap();
    let total = String::from_utf8_lossy(&csv).lines().count() as u64 - 1;
    let r = upload(&app, "", csv).await;
    assert_eq!(r.body["lines_imported"].as_u64().unwrap(), total - imported, "{}", r.text);
    assert_eq!(app.count("bank_lines"), total as i64);
}

#[tokio::test]
async fn mt940_and_bai2_and_gbk_csv() {
    let app = spawn_app().await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (account, cur) in [("37040044/0532013000", "EUR"), ("NL91ABNA0417164300", "EUR")] {
        let id = account.replace('/', "");
        let r = app.post("/api/v1/bank-accounts", &json!({"account_id": id, "currency": cur})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = upload(&app, "?format=mt940", std::fs::read(fixtures.join("mt940_multi.sta")).unwrap()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["statements"].as_array().unwrap().len(), 2, "{}", r.text);
    let lines = app.get("/api/v1/bank-lines?q=INV-2026-0000200").await;
    assert_eq!(lines.body["items"].as_array().unwrap().len(), 1, "{}", lines.text);
    assert_eq!(lines.body["items"][0]["amount"], "1500.00");

    // GBK CSV with a saved mapping on its account.
    let mapping = json!({
        "delimiter": ";", "encoding": "gbk", "line_id": 8, "account": null, "booking_date": "交易日期",
        "value_date": "记账日期", "amount": {"convention": "debit_credit", "debit": "借方金额", "credit": "贷方金额"},
        "currency": "币种", "counterparty_name": "对方户名", "counterparty_iban": "对方账号",
        "remittance": ["摘要"], "end_to_end_id": null, "decimal_separator": ",", "thousands_separator": ".",
        "date_format": "%d.%m.%Y"
    });
    let r = app
        .post(
            "/api/v1/bank-accounts",
            &json!({"account_id": "CN5810000000000123456789", "currency": "CNY", "csv_mapping": mapping}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let account_id = r.body["id"].as_str().unwrap().to_string();
    // A mapping is an object or null; serde alone would read `[]` as "all defaults".
    for not_an_object in [json!([]), json!("x"), json!(3)] {
        let r = app
            .patch_as(
                &app.api_key,
                &format!("/api/v1/bank-accounts/{account_id}"),
                &json!({"csv_mapping": not_an_object}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text);
        assert!(r.text.contains("expected an object or null"), "{}", r.text);
    }
    let gbk = std::fs::read(fixtures.join("gbk_debit_credit.csv")).unwrap();
    let r = upload(&app, "?format=csv&bank_account=CN5810000000000123456789", gbk).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 4, "{}", r.text);
    let lines = app.get("/api/v1/bank-lines?bank_account=CN5810000000000123456789&q=INV-2026-0000001").await;
    assert_eq!(lines.body["items"][0]["amount"], "1234.56", "{}", lines.text);
    assert_eq!(lines.body["items"][0]["counterparty_name"], "上海宏达贸易有限公司");
}

#[tokio::test]
async fn hostile_and_broken_files_leave_nothing_behind() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    let (_tmp, dir) = generate(200, 13);
    let camt = std::fs::read(&camt_files(&dir)[0]).unwrap();
    let text = String::from_utf8(camt.clone()).unwrap();
    let ccy = &text[text.find("Ccy=\"").unwrap() + 5..][..3];
    let iban_at = text.find("<IBAN>").unwrap() + 6;
    let iban = &text[iban_at..iban_at + text[iban_at..].find('<').unwrap()];
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>&lol2;</BkToCstmrStmt></Document>"#;
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated xml", "", camt[..camt.len() * 2 / 3].to_vec()),
        ("wrong namespace", "?format=camt053", text.replace("camt.053.001.08", "camt.099.001.01").into_bytes()),
        ("bad amount", "", text.replacen("</Amt>", "x</Amt>", 1).into_bytes()),
        ("unknown currency", "", text.replace(&format!("Ccy=\"{ccy}\""), "Ccy=\"EUX\"").into_bytes()),
        ("entity expansion", "?format=camt053", bomb.as_bytes().to_vec()),
        ("binary garbage", "", (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ("binary as camt", "?format=camt053", vec![0, 159, 146, 150, 255, 0, 1, 2]),
        ("huge line", "?format=csv", format!("line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\nBL1,DE89370400440532013000,2026-01-01,,1.00,EUR,X,,{},\n", "A".repeat(200_000)).into_bytes()),
        ("unknown account", "", text.replace(iban, "DE00999999999999999999").into_bytes()),
        ("bad csv date", "?format=csv", b"line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\nBL1,DE89370400440532013000,2026-13-01,,1.00,EUR,X,,r,\n".to_vec()),
        ("too many decimals", "?format=csv", b"line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\nBL1,DE89370400440532013000,2026-01-01,,1.001,EUR,X,,r,\n".to_vec()),
        ("unknown format", "?format=pdf", b"%PDF-1.4".to_vec()),
    ];
    for (name, query, body) in cases {
        let r = upload(&app, query, body).await;
        assert_eq!(r.status, 422, "{name}: {}", r.text);
        assert_eq!(r.error_code(), "validation_failed", "{name}");
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    // Positions are reported.
    let r = upload(&app, "", camt[..camt.len() / 2].to_vec()).await;
    assert!(r.body["error"]["details"]["byte_offset"].is_u64(), "{}", r.text);
    let r = upload(&app, "?format=csv", b"line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\nBL1,DE89370400440532013000,2026-01-01,,1.00,EUR,X,,r,\nBL2,DE89370400440532013000,2026-01-01,,abc,EUR,X,,r,\n".to_vec()).await;
    assert_eq!(r.body["error"]["details"]["line"], 3, "{}", r.text);
    assert_eq!(app.count("bank_lines"), 0, "a failed file leaves no line");
    assert_eq!(app.count("bank_statements"), 0);
    let empty = upload(&app, "", vec![]).await;
    assert_eq!(empty.status, 422);
    let small = crate::helpers::spawn_app_with(|s| s.max_import_bytes = 1000).await;
    let r =
        small.send("POST", "/api/v1/bank-statements", Some(&small.api_key), Some(("application/xml", camt)), &[]).await;
    assert_eq!(r.status, 413, "{}", r.text);
}

#[tokio::test]
async fn querying_lines_and_isolation() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    let (_tmp, dir) = generate(300, 21);
    let r = upload(&app, "", std::fs::read(dir.join("bank.csv")).unwrap()).await;
    let statement_id = r.body["statement_id"].as_str().unwrap().to_string();
    let all = app.count("bank_lines");
    let eur = app.count(
        "bank_lines l JOIN bank_accounts a ON a.id = l.bank_account_id WHERE a.account_id = 'DE89370400440532013000'",
    );
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&format!("/api/v1/bank-lines?bank_account=DE89370400440532013000&limit=100&cursor={cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen += page.body["items"].as_array().unwrap().len() as i64;
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, eur);
    let credits = app.get("/api/v1/bank-lines?min_amount=0.01&limit=500").await;
    assert!(credits.body["items"].as_array().unwrap().iter().all(|l| !l["amount"].as_str().unwrap().starts_with('-')));
    let window = app.get("/api/v1/bank-lines?booked_from=2026-03-01&booked_to=2026-03-31&limit=500").await;
    assert!(window.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["booking_date"].as_str().unwrap().starts_with("2026-03")));
    let unapplied = app.get(&format!("/api/v1/bank-lines?status=unapplied&statement={statement_id}&limit=1")).await;
    assert_eq!(unapplied.body["items"][0]["status"], "unapplied");
    let text = app.get("/api/v1/bank-lines?q=INTEREST%20CREDIT&limit=500").await;
    assert!(text.body["items"].as_array().unwrap().iter().all(|l| l["remittance"] == "INTEREST CREDIT"));
    let r = app.get(&format!("/api/v1/bank-statements/{statement_id}")).await;
    assert_eq!(r.body["lines_imported"].as_i64(), Some(all));

    let gql = app
        .graphql_as(Some(&app.api_key), "{ bankLines(bankAccount: \"DE89370400440532013000\", limit: 2) { items { lineId amount currency status } nextCursor } bankAccounts { accountId currency } }", json!({}))
        .await;
    assert_eq!(gql.body["data"]["bankLines"]["items"].as_array().unwrap().len(), 2, "{}", gql.text);
    assert_eq!(gql.body["data"]["bankAccounts"].as_array().unwrap().len(), 5);

    let (_, other) = app.create_tenant("Other");
    assert_eq!(app.get_as(&other, &format!("/api/v1/bank-statements/{statement_id}")).await.status, 404);
    assert_eq!(app.get_as(&other, "/api/v1/bank-lines").await.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(app.get_as(&other, "/api/v1/bank-accounts").await.body.as_array().unwrap().len(), 0);
    // Their upload of our file fails: they have no such account.
    let r = app
        .send(
            "POST",
            "/api/v1/bank-statements",
            Some(&other),
            Some(("text/csv", std::fs::read(dir.join("bank.csv")).unwrap())),
            &[],
        )
        .await;
    assert_eq!(r.status, 422);
    let gql = app.graphql_as(Some(&other), "{ bankLines { items { lineId } } }", json!({})).await;
    assert_eq!(gql.body["data"]["bankLines"]["items"].as_array().unwrap().len(), 0, "{}", gql.text);
    // A ledger-only key may not import statements.
    let k =
        app.post("/api/v1/api-keys", &json!({"name": "erp", "role": "accountant", "scopes": ["ledger:write"]})).await;
    let erp = k.body["api_key"].as_str().unwrap();
    let r = app.send("POST", "/api/v1/bank-statements", Some(erp), Some(("text/csv", b"x".to_vec())), &[]).await;
    assert_eq!(r.status, 403);
}

fn csv_lines(from: usize, to: usize) -> String {
    let mut csv = String::from(
        "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,\
         remittance,end_to_end_id\n",
    );
    for i in from..to {
        csv.push_str(&format!(
            "BIG-{i},DE89370400440532013000,2026-11-02,2026-11-02,{}.{:02},EUR,BIG CUSTOMER GMBH,,\
             PAYMENT OF INVOICE INV-{i} AND SOME MORE REMITTANCE TEXT,\n",
            1 + i % 9000,
            i % 100
        ));
    }
    csv
}

#[tokio::test]
async fn small_files_in_memory_and_large_files_spooled_import_alike() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    // A small file: kept in memory, lines inserted with one INSERT.
    let r = upload(&app, "?format=csv", csv_lines(0, 5).into_bytes()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 5);
    // A file over the in-memory threshold (spooled to disk) with more lines than one plain INSERT
    // takes (staged through COPY, several batches): the 5 lines already there are skipped.
    let big = csv_lines(0, 12_000);
    assert!(big.len() > 1 << 20, "the file must be over the 1 MiB threshold: {}", big.len());
    let r = upload(&app, "?format=csv", big.clone().into_bytes()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 11_995, "{}", r.text);
    assert_eq!(r.body["duplicates_skipped"], 5);
    // Again: everything is a duplicate, whichever path each batch takes.
    let r = upload(&app, "?format=csv", big.into_bytes()).await;
    assert_eq!(r.body["lines_imported"], 0, "{}", r.text);
    assert_eq!(r.body["duplicates_skipped"], 12_000);
    let r = upload(&app, "?format=csv", csv_lines(11_990, 12_010).into_bytes()).await;
    assert_eq!(r.body["lines_imported"], 10, "{}", r.text);
    assert_eq!(app.count("bank_lines"), 12_010);
    assert_eq!(app.count("bank_statements WHERE lines_imported > 0"), 3);
}

#[tokio::test]
async fn a_large_camt_file_is_parsed_in_place_from_its_spooled_copy() {
    let app = spawn_app().await;
    register_accounts(&app).await;
    let (_tmp, dir) = generate_with(3000, 8, 3000);
    let file = camt_files(&dir).into_iter().max_by_key(|f| std::fs::metadata(f).unwrap().len()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    // Over the in-memory threshold: the server spools it to disk and maps that copy for the parse.
    assert!(bytes.len() > 1 << 20, "the file must be over the 1 MiB threshold: {}", bytes.len());
    let mut expected = duizhang::bank_formats::CollectSink::default();
    duizhang::bank_formats::parse(duizhang::bank_formats::Format::Camt053, &bytes[..], None, &mut expected).unwrap();
    let expected_lines: usize = expected.statements.iter().map(|s| s.lines.len()).sum();
    assert!(expected_lines > 1000, "{expected_lines}");

    // Cut short: refused with the position, and nothing of it is kept.
    let r = upload(&app, "", bytes[..bytes.len() - 200].to_vec()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.body["error"]["details"]["byte_offset"].is_u64(), "{}", r.text);
    assert_eq!(app.count("bank_lines"), 0);

    let r = upload(&app, "", bytes).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["format"], "camt053");
    assert_eq!(r.body["lines_imported"].as_u64(), Some(expected_lines as u64), "{}", r.text);
    assert_eq!(r.body["warnings"].as_array().unwrap().len(), 0, "balances agree: {}", r.text);
    assert_eq!(app.count("bank_lines"), expected_lines as i64);
}

/// An ICBC debit-card export saved as .xlsx: a preamble, the header, dates as date cells,
/// amounts as numbers and as text with a thousands separator, a totals row. It is read as the
/// CSV its rows make, the preset recognised by its header, and the answer says so.
#[tokio::test]
async fn a_bank_export_saved_as_xlsx_imports_like_its_csv() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let app = spawn_app().await;
    let r = app.post("/api/v1/bank-accounts", &json!({"account_id": "6222020200112233445", "currency": "CNY"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("明细").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(0, 0, "卡号: 6222****3445").unwrap();
    let header = [
        "交易日期",
        "摘要",
        "交易详情",
        "记账金额(收入)",
        "记账金额(支出)",
        "余额",
        "记账币种",
        "对方户名",
        "对方账户",
    ];
    for (col, name) in header.iter().enumerate() {
        sheet.write_string(2, col as u16, *name).unwrap();
    }
    sheet.write_datetime_with_format(3, 0, ExcelDateTime::from_ymd(2026, 11, 3).unwrap(), &date).unwrap();
    sheet.write_string(3, 1, "转账").unwrap();
    sheet.write_string(3, 2, "货款 INV-2026-0000001").unwrap();
    sheet.write_number(3, 3, 12_345.6).unwrap();
    sheet.write_string(3, 6, "人民币").unwrap();
    sheet.write_string(3, 7, "上海宏达贸易有限公司").unwrap();
    sheet.write_datetime_with_format(4, 0, ExcelDateTime::from_ymd(2026, 11, 4).unwrap(), &date).unwrap();
    sheet.write_string(4, 1, "手续费").unwrap();
    sheet.write_string(4, 4, "1,000.10").unwrap();
    sheet.write_string(4, 6, "人民币").unwrap();
    sheet.write_string(5, 0, "人民币合计").unwrap();
    sheet.write_number(5, 3, 12_345.6).unwrap();
    sheet.write_number(5, 4, 1_000.1).unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let r = upload(&app, "?bank_account=6222020200112233445", bytes.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 2, "{}", r.text);
    let warnings = r.body["warnings"].to_string();
    assert!(warnings.contains("read from the spreadsheet's sheet \\\"明细\\\""), "{}", r.text);
    let lines = app.get("/api/v1/bank-lines?bank_account=6222020200112233445").await;
    let mut amounts: Vec<String> =
        lines.body["items"].as_array().unwrap().iter().map(|l| l["amount"].as_str().unwrap().to_string()).collect();
    amounts.sort();
    assert_eq!(amounts, ["-1000.10", "12345.60"], "{}", lines.text);
    assert!(lines.text.contains("2026-11-03"), "{}", lines.text);
    // The same workbook again adds nothing.
    let again = upload(&app, "?bank_account=6222020200112233445", bytes).await;
    assert_eq!(again.body["lines_imported"], 0, "{}", again.text);

    let xls = upload(&app, "", vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0]).await;
    assert_eq!(xls.status, 422, "{}", xls.text);
    assert!(xls.text.contains("save it as .xlsx"), "{}", xls.text);
    let broken = upload(&app, "", b"PK\x03\x04 not really a workbook".to_vec()).await;
    assert_eq!(broken.status, 422, "{}", broken.text);
}
