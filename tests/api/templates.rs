//! Spreadsheet templates (issue 24): downloaded, filled in the way a person fills them (dates as
//! date cells, amounts as numbers, the example row left in), imported, exported and compared;
//! rejected rows named by sheet, row and column; files refused whole leave nothing behind; and
//! customer statements as XLSX through the portal and the tenant API compared like their CSV.

use crate::helpers::{spawn_app, TestApp};
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::{json, Value};
use std::io::Cursor;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A cell as a person types it.
#[derive(Clone, Copy)]
pub enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Date(u16, u8, u8),
    Empty,
}

pub async fn download(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app.client.get(format!("{}{}", app.address, path)).bearer_auth(&app.api_key).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200, "{path}");
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// Every sheet of a workbook as rows of text.
pub fn sheets(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            let rows = range.rows().map(|r| r.iter().map(text).collect()).collect();
            (name, rows)
        })
        .collect()
}

/// The template filled in: its sheets as they came (header and example row kept, the notes
/// sheet copied), the data rows below the example.
pub fn fill(template: &[u8], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (i, (name, cells)) in sheets(template).into_iter().enumerate() {
        let sheet = book.add_worksheet();
        sheet.set_name(&name).unwrap();
        for (r, row) in cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                sheet.write_string(r as u32, c as u16, v).unwrap();
            }
        }
        if i > 0 {
            continue;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 2;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match *cell {
                    Cell::Text(t) => sheet.write_string(r, c, t).map(|_| ()),
                    Cell::Number(n) => sheet.write_number(r, c, n).map(|_| ()),
                    Cell::Date(y, m, d) => sheet
                        .write_datetime_with_format(r, c, ExcelDateTime::from_ymd(y, m, d).unwrap(), &date)
                        .map(|_| ()),
                    Cell::Empty => Ok(()),
                }
                .unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn import_xlsx(app: &TestApp, path: &str, bytes: Vec<u8>) -> crate::helpers::Response {
    app.send("POST", path, Some(&app.api_key), Some((XLSX, bytes)), &[]).await
}

fn header_of(template: &[u8]) -> Vec<String> {
    sheets(template)[0].1[0].clone()
}

/// Values of a row in the template's column order, by column name.
fn row<'a>(header: &[String], values: &[(&str, Cell<'a>)]) -> Vec<Cell<'a>> {
    header.iter().map(|h| values.iter().find(|(n, _)| n == h).map_or(Cell::Empty, |(_, v)| *v)).collect()
}

#[tokio::test]
async fn templates_are_listed_and_carry_header_lists_example_and_notes() {
    let app = spawn_app().await;
    let list = app.get("/api/v1/templates").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let kinds: Vec<&str> = list.body.as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["customers", "products", "customer-contacts", "documents", "bank-statement", "customer-statement"]
    );
    for kind in kinds {
        let (headers, bytes) = download(&app, &format!("/api/v1/templates/{kind}.xlsx")).await;
        assert_eq!(headers["content-type"], XLSX);
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.contains(&format!("duizhang-template-{kind}.xlsx")), "{disposition}");
        let book = sheets(&bytes);
        assert_eq!(book.len(), 2, "{kind}: a data sheet and a notes sheet");
        assert_eq!(book[1].0, "Notes");
        let listed = list.body.as_array().unwrap().iter().find(|t| t["kind"] == kind).unwrap();
        let names: Vec<&str> =
            listed["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(book[0].1[0], names, "{kind}: the header row is the CSV column names");
        assert_eq!(book[0].1.len(), 2, "{kind}: header and one example row");
        let notes = book[1].1.iter().flatten().cloned().collect::<Vec<_>>().join("\n");
        for name in &names {
            assert!(notes.contains(name), "{kind}: the notes explain {name}");
        }
        // Drop-down lists and header notes are in the sheet's XML.
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.clone())).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut xml).unwrap();
        let lists = listed["columns"].as_array().unwrap().iter().filter(|c| c.get("values").is_some()).count();
        assert_eq!(xml.matches("<dataValidation ").count(), lists, "{kind}: one list per enum column");
        assert!(
            (0..zip.len()).any(|i| zip.by_index(i).unwrap().name().unwrap().starts_with("xl/comments")),
            "{kind}: header notes"
        );
    }
    let contacts = list.body.as_array().unwrap().iter().find(|t| t["kind"] == "customer-contacts").unwrap();
    assert_eq!(contacts["columns"][9]["values"], json!(["yes", "no"]));
    let missing = app.get("/api/v1/templates/suppliers.xlsx").await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let anonymous = app.send("GET", "/api/v1/templates/customers.xlsx", None, None, &[]).await;
    assert_eq!(anonymous.status, 401, "templates need the tenant's credentials");
}

/// Download, fill with this test's data (the example row left in), import, export, compare.
#[tokio::test]
async fn template_round_trip_for_customers_products_contacts_and_documents() {
    let app = spawn_app().await;
    let (_, template) = download(&app, "/api/v1/templates/customers.xlsx").await;
    let h = header_of(&template);
    let rows = vec![
        row(
            &h,
            &[
                ("code", Cell::Text("00042")),
                ("name", Cell::Text("杭州甲公司")),
                ("country", Cell::Text("CN")),
                ("default_currency", Cell::Text("CNY")),
                ("payment_terms_days", Cell::Number(45.0)),
                ("credit_limit", Cell::Number(250000.5)),
                ("status", Cell::Text("active")),
            ],
        ),
        row(
            &h,
            &[
                ("code", Cell::Text("C-B")),
                ("name", Cell::Text("Beta GmbH")),
                ("aliases", Cell::Text("Beta;BETA GMBH")),
                ("email", Cell::Text("ap@beta.example")),
                ("status", Cell::Text("blocked")),
            ],
        ),
    ];
    let r = import_xlsx(&app, "/api/v1/customers/import", fill(&template, &rows)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["created"].as_u64(), r.body["rejected"].as_array().map(Vec::len)),
        (Some(2), Some(0)),
        "{}",
        r.text
    );
    assert!(r.body["notes"].to_string().contains("row 2 is the template's example row"), "{}", r.text);
    let a = app.get("/api/v1/customers/00042").await.body;
    assert_eq!(
        (
            a["name"].as_str(),
            a["payment_terms_days"].as_i64(),
            a["credit_limit"].as_str(),
            a["default_currency"].as_str()
        ),
        (Some("杭州甲公司"), Some(45), Some("250000.50"), Some("CNY"))
    );
    let b = app.get("/api/v1/customers/C-B").await.body;
    assert_eq!((b["status"].as_str(), b["aliases"].clone()), (Some("blocked"), json!(["Beta", "BETA GMBH"])));

    let (_, template) = download(&app, "/api/v1/templates/products.xlsx").await;
    let h = header_of(&template);
    let rows = vec![row(
        &h,
        &[
            ("code", Cell::Text("P-1")),
            ("name", Cell::Text("支架")),
            ("kind", Cell::Text("product")),
            ("unit", Cell::Text("件")),
            ("default_price", Cell::Number(12.5)),
            ("currency", Cell::Text("CNY")),
            ("tax_rate", Cell::Number(13.0)),
            ("active", Cell::Text("yes")),
        ],
    )];
    let r = import_xlsx(&app, "/api/v1/products/import", fill(&template, &rows)).await;
    assert_eq!(r.body["created"], 1, "{}", r.text);
    let exported = app.get("/api/v1/products?code=P-1").await.body;
    let p = &exported["items"][0];
    assert_eq!(
        (p["default_price"].as_str(), p["tax_rate"].as_str(), p["unit"].as_str()),
        (Some("12.5"), Some("13"), Some("件"))
    );

    let (_, template) = download(&app, "/api/v1/templates/customer-contacts.xlsx").await;
    let h = header_of(&template);
    let rows = vec![row(
        &h,
        &[
            ("customer_code", Cell::Text("00042")),
            ("name", Cell::Text("王芳")),
            ("email", Cell::Text("wf@jia.example")),
            ("for_statements", Cell::Text("yes")),
        ],
    )];
    let r = import_xlsx(&app, "/api/v1/customer-contacts/import", fill(&template, &rows)).await;
    assert_eq!(r.body["created"], 1, "{}", r.text);
    let contacts = app.get("/api/v1/customers/00042/contacts").await.body;
    assert_eq!(
        (contacts[0]["name"].as_str(), contacts[0]["for_statements"].as_bool()),
        (Some("王芳"), Some(true)),
        "{contacts}"
    );

    let (_, template) = download(&app, "/api/v1/templates/documents.xlsx").await;
    let h = header_of(&template);
    let docs = [("INV-1", "invoice", 1234.5, 3u8), ("CN-1", "credit_note", 100.0, 10)];
    let rows: Vec<Vec<Cell>> = docs
        .iter()
        .map(|(no, t, amount, day)| {
            row(
                &h,
                &[
                    ("doc_no", Cell::Text(no)),
                    ("doc_type", Cell::Text(t)),
                    ("customer_code", Cell::Text("00042")),
                    ("issue_date", Cell::Date(2026, 3, *day)),
                    ("due_date", Cell::Date(2026, 4, *day)),
                    ("currency", Cell::Text("CNY")),
                    ("amount", Cell::Number(*amount)),
                    ("reference", Cell::Text("PO-9")),
                ],
            )
        })
        .collect();
    let r = import_xlsx(&app, "/api/v1/documents/import", fill(&template, &rows)).await;
    assert_eq!(
        (r.body["created"].as_u64(), r.body["rejected"].as_array().map(Vec::len)),
        (Some(2), Some(0)),
        "{}",
        r.text
    );
    let exported = app.get("/api/v1/documents?customer=00042").await.body;
    let mut got: Vec<(String, String, String, String, String)> = exported["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("doc_no"), s("doc_type"), s("issue_date"), s("due_date"), s("amount"))
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("CN-1".into(), "credit_note".into(), "2026-03-10".into(), "2026-04-10".into(), "100.00".into()),
            ("INV-1".into(), "invoice".into(), "2026-03-03".into(), "2026-04-03".into(), "1234.50".into())
        ]
    );
    // Sent again, the same workbook changes nothing.
    let r = import_xlsx(&app, "/api/v1/documents/import", fill(&template, &rows)).await;
    assert_eq!(r.body["unchanged"], 2, "{}", r.text);
}

/// Rows that break a rule are answered with the sheet, the row Excel shows and the column.
#[tokio::test]
async fn rejected_rows_name_their_sheet_row_and_column() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let mut book = Workbook::new();
    book.add_worksheet().set_name("说明").unwrap().write_string(0, 0, "请从第4行开始填写").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("单据").unwrap();
    sheet.merge_range(0, 0, 0, 6, "2026年3月 销售单据", &Format::new()).unwrap();
    for (c, h) in ["单据编号", "单据类型", "客户编号", "开票日期", "币种", "金额", "备注"].iter().enumerate()
    {
        sheet.write_string(2, c as u16, *h).unwrap();
    }
    let data: [[&str; 6]; 4] = [
        ["INV-1", "invoice", "C1", "2026-03-01", "EUR", "10.00"],
        ["INV-2", "invoice", "C1", "2026-03-32", "EUR", "10.00"],
        ["INV-3", "invoice", "NOPE", "2026-03-01", "EUR", "10.00"],
        ["INV-4", "invoice", "C1", "2026-03-01", "EUR", "ten"],
    ];
    for (r, cells) in data.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            sheet.write_string(3 + r as u32, c as u16, *v).unwrap();
        }
    }
    let bytes = book.save_to_buffer().unwrap();
    let refused = import_xlsx(&app, "/api/v1/documents/import", bytes.clone()).await;
    assert_eq!(refused.status, 422, "备注 is not a column: {}", refused.text);
    assert!(refused.text.contains("\\\"备注\\\" (G3)"), "{}", refused.text);
    assert_eq!(app.count("documents"), 0);

    let mapping = json!({"kind": "documents", "name": "sales", "mapping": {"ignore": ["备注"]}});
    assert_eq!(app.post("/api/v1/import-mappings", &mapping).await.status, 201);
    let r = import_xlsx(&app, "/api/v1/documents/import?mapping=sales", bytes).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 1, "{}", r.text);
    let rejected: Vec<(u64, &str, &str, &str)> = r.body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["row"].as_u64().unwrap(),
                x["sheet"].as_str().unwrap(),
                x["column"].as_str().unwrap_or("-"),
                x["field"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [(5, "单据", "D", "issue_date"), (6, "单据", "C", "customer_code"), (7, "单据", "F", "amount")],
        "{}",
        r.text
    );
    // CSV rejections name the field too (no sheet, no letter).
    let csv = "doc_no,doc_type,customer_code,issue_date,currency,amount\nINV-9,invoice,C1,2026-03-01,EUR,x\n";
    let r = app.post_csv("/api/v1/documents/import", csv).await;
    assert_eq!(r.body["rejected"][0]["field"], "amount", "{}", r.text);
    assert!(
        r.body["rejected"][0].get("sheet").is_none() && r.body["rejected"][0].get("column").is_none(),
        "{}",
        r.text
    );
}

/// A file refused whole leaves nothing behind: an unknown column, a legacy .xls, a broken archive,
/// an unknown mapping name, a mapping that does not fit the file.
#[tokio::test]
async fn a_file_refused_whole_writes_nothing() {
    let app = spawn_app().await;
    let audit_before = app.count(&format!("audit_trail WHERE tenant_id = '{}'", app.tenant_id));
    let (_, template) = download(&app, "/api/v1/templates/customers.xlsx").await;
    let h = header_of(&template);
    let good = fill(&template, &[row(&h, &[("code", Cell::Text("C1")), ("name", Cell::Text("One"))])]);
    let mut unknown = Workbook::new();
    let s = unknown.add_worksheet();
    for (c, v) in ["code", "name", "颜色"].iter().enumerate() {
        s.write_string(0, c as u16, *v).unwrap();
        s.write_string(1, c as u16, "x").unwrap();
    }
    let unknown = unknown.save_to_buffer().unwrap();
    let mut broken = good.clone();
    broken.truncate(good.len() / 2);
    let legacy = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];
    let mapping = json!({"kind": "customers", "name": "erp", "mapping": {"sheet": "Kunden"}});
    assert_eq!(app.post("/api/v1/import-mappings", &mapping).await.status, 201);
    let audit_before = audit_before + 1;
    let cases: [(&str, &str, Vec<u8>, &str); 5] = [
        ("unknown column", "", unknown, "unknown column \\\"颜色\\\" (C1)"),
        ("legacy .xls", "", legacy, "save it as .xlsx"),
        ("broken archive", "", broken, "not a readable .xlsx"),
        ("unknown mapping", "?mapping=nope", good.clone(), "no import mapping \\\"nope\\\""),
        ("mapping that does not fit", "?mapping=erp", good.clone(), "sheet \\\"Kunden\\\" is not in the file"),
    ];
    for (what, query, body, message) in cases {
        let r = import_xlsx(&app, &format!("/api/v1/customers/import{query}"), body).await;
        assert_eq!(r.status, 422, "{what}: {}", r.text);
        assert!(r.text.contains(message), "{what}: {}", r.text);
    }
    assert_eq!(app.count("customers"), 0);
    assert_eq!(app.count(&format!("audit_trail WHERE tenant_id = '{}'", app.tenant_id)), audit_before);
    let json = app.post("/api/v1/customers/import?mapping=erp", &json!([{"code": "C1", "name": "x"}])).await;
    assert_eq!(json.status, 422, "a mapping is for CSV and .xlsx: {}", json.text);
    assert_eq!(app.count("customers"), 0);
}

async fn statement_books(app: &TestApp) -> String {
    app.create_customer("S1").await;
    for (no, amount) in [("INV-2026-0000201", "500.00"), ("INV-2026-0000202", "250.00"), ("INV-2026-0000203", "80.00")]
    {
        app.create_invoice("S1", no, amount).await;
    }
    let token = app.post("/api/v1/customers/S1/portal-tokens", &json!({})).await;
    token.body["token"].as_str().unwrap().to_string()
}

fn comparison(statement: &Value) -> Value {
    let mut differences: Vec<String> = statement["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let fields = ["kind", "our_ref", "their_ref", "our_amount", "their_amount", "balance_effect", "their_date"];
            fields.iter().map(|f| d[*f].to_string()).collect::<Vec<_>>().join(" ")
        })
        .collect();
    differences.sort();
    json!({
        "differences": differences, "balances": statement["balances"], "lines": statement["lines_count"],
        "matched": statement["matched_count"]
    })
}

/// Issue 24 part 6: a customer statement filled into the template and sent as XLSX, through the
/// portal and the tenant API, is compared exactly like the same statement as CSV.
#[tokio::test]
async fn customer_statements_as_xlsx_compare_like_csv_on_portal_and_tenant_api() {
    let app = spawn_app().await;
    let token = statement_books(&app).await;
    let (_, template) = download(&app, "/api/v1/templates/customer-statement.xlsx").await;
    let from_portal =
        app.send("GET", "/api/v1/portal/templates/customer-statement.xlsx", Some(&token), None, &[]).await;
    assert_eq!(from_portal.status, 200, "the customer downloads it too: {}", from_portal.text);
    assert_eq!(from_portal.headers["content-type"], XLSX);
    let h = header_of(&template);
    assert_eq!(h, ["customer_code", "their_ref", "our_ref", "date", "kind", "amount", "currency"]);
    // They booked 201 and 202 (202 for less), never got 203, and paid 300.
    let lines = [
        ("AP-1", "INV-2026-0000201", 1u8, "invoice", 500.0),
        ("AP-2", "INV-2026-0000202", 2, "invoice", 205.0),
        ("PAY-1", "INV-2026-0000201", 20, "payment", 300.0),
    ];
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|(their, our, day, kind, amount)| {
            row(
                &h,
                &[
                    ("customer_code", Cell::Text("S1")),
                    ("their_ref", Cell::Text(their)),
                    ("our_ref", Cell::Text(our)),
                    ("date", Cell::Date(2026, 3, *day)),
                    ("kind", Cell::Text(kind)),
                    ("amount", Cell::Number(*amount)),
                    ("currency", Cell::Text("EUR")),
                ],
            )
        })
        .collect();
    let xlsx = fill(&template, &rows);
    let mut csv = h.join(",") + "\n";
    for (their, our, day, kind, amount) in lines {
        csv += &format!("S1,{their},{our},2026-03-{day:02},{kind},{amount:.2},EUR\n");
    }
    let by_csv = app.post_csv("/api/v1/customers/S1/statements", &csv).await;
    assert_eq!(by_csv.status, 201, "{}", by_csv.text);
    let tenant =
        app.send("POST", "/api/v1/customers/S1/statements", Some(&app.api_key), Some((XLSX, xlsx.clone())), &[]).await;
    assert_eq!(tenant.status, 201, "{}", tenant.text);
    let portal = app.send("POST", "/api/v1/portal/statements", Some(&token), Some((XLSX, xlsx)), &[]).await;
    assert_eq!(portal.status, 201, "{}", portal.text);
    assert_eq!(portal.body["source"], "portal");
    let expected = comparison(&by_csv.body);
    assert!(
        by_csv.text.contains("amount_mismatch") && by_csv.text.contains("missing_on_customer_side"),
        "{}",
        by_csv.text
    );
    assert_eq!(comparison(&tenant.body), expected, "{}", tenant.text);
    assert_eq!(comparison(&portal.body), expected, "{}", portal.text);
    let notes = portal.body["notes"].to_string();
    assert!(notes.contains("template's example row"), "{notes}");
}

/// The bank statement template, filled and imported: its lines arrive as typed; its example row
/// is not read.
#[tokio::test]
async fn bank_statement_template_round_trip() {
    let app = spawn_app().await;
    let account = json!({"account_id": "DE89370400440532013000", "currency": "EUR"});
    assert_eq!(app.post("/api/v1/bank-accounts", &account).await.status, 201);
    let (_, template) = download(&app, "/api/v1/templates/bank-statement.xlsx").await;
    let h = header_of(&template);
    let lines = [("L-1", 2u8, 1134.5, "Mueller GmbH", "INV-2026-000123"), ("L-2", 3, -20.0, "Bank", "fee")];
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|(id, day, amount, who, text)| {
            row(
                &h,
                &[
                    ("line_id", Cell::Text(id)),
                    ("account_iban", Cell::Text("DE89370400440532013000")),
                    ("booking_date", Cell::Date(2026, 3, *day)),
                    ("amount", Cell::Number(*amount)),
                    ("currency", Cell::Text("EUR")),
                    ("counterparty_name", Cell::Text(who)),
                    ("remittance", Cell::Text(text)),
                ],
            )
        })
        .collect();
    let r = import_xlsx(&app, "/api/v1/bank-statements", fill(&template, &rows)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 2, "{}", r.text);
    assert!(r.text.contains("template's example row"), "{}", r.text);
    let exported = app.get("/api/v1/bank-lines?bank_account=DE89370400440532013000").await.body;
    let mut got: Vec<(String, String)> = exported["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["booking_date"].as_str().unwrap().to_string(), l["amount"].as_str().unwrap().to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("2026-03-02".to_string(), "1134.50".to_string()), ("2026-03-03".to_string(), "-20.00".to_string())]
    );
}

/// A customer list kept in Excel with Chinese headers under a merged title, numbers stored as
/// text: recognised without a mapping.
#[tokio::test]
async fn chinese_headers_are_recognised_without_a_mapping() {
    let app = spawn_app().await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("客户清单").unwrap();
    sheet.merge_range(0, 0, 0, 4, "客户清单（2026年）", &Format::new()).unwrap();
    for (c, h) in ["客户编号", "客户名称", "账期(天)", "信用额度", "币种"].iter().enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    for (c, v) in ["007", "宁波丙公司", "60", "1,500,000.00", "CNY"].iter().enumerate() {
        sheet.write_string(2, c as u16, *v).unwrap();
    }
    let r = import_xlsx(&app, "/api/v1/customers/import", book.save_to_buffer().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 1, "{}", r.text);
    assert!(r.body["notes"].to_string().contains("header in row 2"), "{}", r.text);
    let c = app.get("/api/v1/customers/007").await.body;
    assert_eq!(
        (c["name"].as_str(), c["payment_terms_days"].as_i64(), c["credit_limit"].as_str()),
        (Some("宁波丙公司"), Some(60), Some("1500000.00"))
    );
}
