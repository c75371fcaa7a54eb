//! Statement of account as files: CSV, XLSX (read back with calamine) and PDF (text extracted with
//! lopdf), for the tenant and through the portal; format negotiation.
//!
//! Known data (EUR), period 2026-02-01..2026-03-31:
//!   before the period: INV-1 1,200.00 and PAY-0 200.00           -> opening    1,000.00
//!   2026-02-05 INV-2   invoice      2,500.00                     -> balance    3,500.00
//!   2026-02-10 CN-1    credit note    300.00                     -> balance    3,200.00
//!   2026-02-20 PAY-1   payment      1,000.00 (partial, of INV-2) -> balance    2,200.00
//!   2026-03-15 INV-3   invoice     12,345.67                     -> balance   14,545.67
//!   after the period: INV-4 999.00 (not shown)
//!   totals: debit 14,845.67, credit 1,300.00; closing 14,545.67
//! JPY (no minor unit): 2026-03-01 INV-J1 5,000 -> closing 5,000.

use crate::helpers::{spawn_app, TestApp};
use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use serde_json::json;
use std::io::Cursor;

const CUSTOMER: &str = "SH001";
const CUSTOMER_NAME: &str = "上海华东贸易有限公司";
const COMPANY: &str = "杭州对账科技有限公司";
const PERIOD: &str = "from=2026-02-01&to=2026-03-31";

struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    bytes: Vec<u8>,
}

impl Download {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

async fn download(app: &TestApp, key: &str, path: &str, accept: Option<&str>) -> Download {
    let mut req = app.client.get(format!("{}{}", app.address, path)).bearer_auth(key);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = req.send().await.expect("request sent");
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, content_type, disposition) =
        (res.status().as_u16(), header("content-type"), header("content-disposition"));
    Download { status, content_type, disposition, bytes: res.bytes().await.unwrap().to_vec() }
}

/// A tenant with a Chinese name, the customer above with its documents, and another customer.
async fn setup() -> (TestApp, String) {
    let app = spawn_app().await;
    let (_, key) = app.create_tenant(COMPANY);
    for (code, name) in [(CUSTOMER, CUSTOMER_NAME), ("OTHER", "Other Customer GmbH")] {
        let r = app
            .post_as(&key, "/api/v1/customers", &json!({"code": code, "name": name, "default_currency": "EUR"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let docs = [
        ("invoice", "INV-1", "2026-01-10", "EUR", "1200.00", CUSTOMER),
        ("payment", "PAY-0", "2026-01-20", "EUR", "200.00", CUSTOMER),
        ("invoice", "INV-2", "2026-02-05", "EUR", "2500.00", CUSTOMER),
        ("credit_note", "CN-1", "2026-02-10", "EUR", "300.00", CUSTOMER),
        ("payment", "PAY-1", "2026-02-20", "EUR", "1000.00", CUSTOMER),
        ("invoice", "INV-3", "2026-03-15", "EUR", "12345.67", CUSTOMER),
        ("invoice", "INV-4", "2026-04-05", "EUR", "999.00", CUSTOMER),
        ("invoice", "INV-J1", "2026-03-01", "JPY", "5000", CUSTOMER),
        ("invoice", "OTHER-INV", "2026-02-15", "EUR", "77.00", "OTHER"),
    ];
    for (doc_type, doc_no, date, currency, amount, customer) in docs {
        let r = app
            .post_as(
                &key,
                "/api/v1/documents",
                &json!({"doc_type": doc_type, "doc_no": doc_no, "customer_code": customer, "issue_date": date,
                        "due_date": date, "currency": currency, "amount": amount}),
            )
            .await;
        assert_eq!(r.status, 201, "{doc_no}: {}", r.text);
    }
    (app, key)
}

fn path(format: &str) -> String {
    format!("/api/v1/customers/{CUSTOMER}/statement-of-account?{PERIOD}&format={format}")
}

/// Days since 1899-12-30: how a spreadsheet stores a date.
fn serial(date: &str) -> f64 {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    (d - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64
}

/// The text of a PDF (all pages, or pages `first..=last`), decoded through each font's ToUnicode
/// map: what a reader copies out of the file. One line per text object.
pub fn pdf_text(bytes: &[u8], pages: Option<(u32, u32)>) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can read");
    let numbers: Vec<u32> = match pages {
        Some((first, last)) => (first..=last).collect(),
        None => doc.get_pages().keys().copied().collect(),
    };
    doc.extract_text(&numbers).expect("the text of every page extracts")
}

#[tokio::test]
async fn csv_has_opening_items_and_closing_per_currency() {
    let (app, key) = setup().await;
    let d = download(&app, &key, &path("csv"), None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert_eq!(d.disposition, r#"attachment; filename="statement-of-account-SH001-2026-02-01-2026-03-31.csv""#);
    let mut reader = csv::Reader::from_reader(d.bytes.as_slice());
    assert_eq!(reader.headers().unwrap(), vec!["currency", "date", "kind", "reference", "debit", "credit", "balance"]);
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let expected = [
        ["EUR", "2026-02-01", "opening_balance", "", "", "", "1000.00"],
        ["EUR", "2026-02-05", "invoice", "INV-2", "2500.00", "", "3500.00"],
        ["EUR", "2026-02-10", "credit_note", "CN-1", "", "300.00", "3200.00"],
        ["EUR", "2026-02-20", "payment", "PAY-1", "", "1000.00", "2200.00"],
        ["EUR", "2026-03-15", "invoice", "INV-3", "12345.67", "", "14545.67"],
        ["EUR", "2026-03-31", "closing_balance", "", "14845.67", "1300.00", "14545.67"],
        ["JPY", "2026-02-01", "opening_balance", "", "", "", "0"],
        ["JPY", "2026-03-01", "invoice", "INV-J1", "5000", "", "5000"],
        ["JPY", "2026-03-31", "closing_balance", "", "5000", "0", "5000"],
    ];
    assert_eq!(rows, expected.map(|r| r.map(str::to_string)).to_vec());
}

#[tokio::test]
async fn xlsx_has_number_and_date_cells_one_sheet_per_currency() {
    let (app, key) = setup().await;
    let d = download(&app, &key, &path("xlsx"), None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(d.disposition.contains(r#"filename="statement-of-account-SH001-2026-02-01-2026-03-31.xlsx""#));
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(d.bytes)).expect("a valid xlsx");
    assert_eq!(wb.sheet_names(), vec!["EUR".to_string(), "JPY".to_string(), "Open items".to_string()]);
    // The open items sheet: real number cells for the open amounts.
    let open = wb.worksheet_range("Open items").unwrap();
    assert_eq!(open.get_value((0, 6)), Some(&Data::String("Open".into())));
    assert!(
        (1..open.height() as u32).any(|r| matches!(open.get_value((r, 6)), Some(Data::Float(_)))),
        "no numeric open amount in {open:?}"
    );
    let eur = wb.worksheet_range("EUR").unwrap();
    let cell = |r: u32, c: u32| eur.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(cell(1, 1), Data::String(COMPANY.into()));
    assert_eq!(cell(2, 1), Data::String(format!("{CUSTOMER_NAME} ({CUSTOMER})")));
    // Header row 7, frozen below; opening at 8, the four items, total, closing.
    let header: Vec<Data> = (0..6).map(|c| cell(7, c)).collect();
    assert_eq!(header, ["Date", "Kind", "Reference", "Debit", "Credit", "Balance"].map(|s| Data::String(s.into())));
    assert_eq!(cell(8, 1), Data::String("Opening balance".into()));
    assert_eq!(cell(8, 5), Data::Float(1000.0));
    let items = [
        ("2026-02-05", "Invoice", "INV-2", Some(2500.0), None, 3500.0),
        ("2026-02-10", "Credit note", "CN-1", None, Some(300.0), 3200.0),
        ("2026-02-20", "Payment", "PAY-1", None, Some(1000.0), 2200.0),
        ("2026-03-15", "Invoice", "INV-3", Some(12345.67), None, 14545.67),
    ];
    for (i, (date, kind, reference, debit, credit, balance)) in items.into_iter().enumerate() {
        let r = 9 + i as u32;
        match cell(r, 0) {
            Data::DateTime(dt) => assert_eq!(dt.as_f64(), serial(date), "row {r}"),
            other => panic!("row {r}: date cell expected, got {other:?}"),
        }
        assert_eq!(cell(r, 1), Data::String(kind.into()));
        assert_eq!(cell(r, 2), Data::String(reference.into()));
        assert_eq!(cell(r, 3), debit.map_or(Data::Empty, Data::Float), "row {r}");
        assert_eq!(cell(r, 4), credit.map_or(Data::Empty, Data::Float), "row {r}");
        assert_eq!(cell(r, 5), Data::Float(balance), "row {r}");
    }
    assert_eq!(cell(13, 1), Data::String("Total".into()));
    assert_eq!(cell(13, 3), Data::Float(14845.67));
    assert_eq!(cell(13, 4), Data::Float(1300.0));
    assert_eq!(cell(14, 1), Data::String("Closing balance".into()));
    assert_eq!(cell(14, 5), Data::Float(14545.67));
    let jpy = wb.worksheet_range("JPY").unwrap();
    assert_eq!(jpy.get_value((9, 3)), Some(&Data::Float(5000.0)));
    assert_eq!(jpy.get_value((11, 5)), Some(&Data::Float(5000.0)));
}

#[tokio::test]
async fn pdf_renders_chinese_names_amounts_and_page_numbers() {
    let (app, key) = setup().await;
    let d = download(&app, &key, &path("pdf"), None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.content_type, "application/pdf");
    assert!(d.bytes.starts_with(b"%PDF-"));
    assert!(d.disposition.contains(r#"filename="statement-of-account-SH001-2026-02-01-2026-03-31.pdf""#));
    // The font is embedded as a subset, so the file stays small.
    assert!(d.bytes.len() < 200_000, "{} bytes", d.bytes.len());
    let text = pdf_text(&d.bytes, None);
    for needle in [
        COMPANY,
        CUSTOMER_NAME,
        "SH001",
        "对账单",
        "2026-02-01 – 2026-03-31",
        "Currency EUR",
        "Opening balance",
        "1,000.00",
        "2,500.00",
        "3,500.00",
        "300.00",
        "3,200.00",
        "2,200.00",
        "12,345.67",
        "14,845.67",
        "1,300.00",
        "14,545.67",
        "Currency JPY",
        "5,000",
        "Page 1 of 1",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("999.00"), "an item after the period is shown:\n{text}");
    assert!(!text.contains("OTHER-INV"), "another customer's item is shown:\n{text}");
}

#[tokio::test]
async fn a_long_pdf_repeats_the_table_header_and_counts_pages() {
    let app = spawn_app().await;
    app.create_customer("LONG").await;
    for i in 0..70 {
        let r = app
            .post(
                "/api/v1/documents",
                &json!({"doc_type": "invoice", "doc_no": format!("L-{i:03}"), "customer_code": "LONG",
                        "issue_date": "2026-03-01", "due_date": "2026-03-31", "currency": "EUR", "amount": "10.00"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let d = download(&app, &app.api_key, "/api/v1/customers/LONG/statement-of-account?format=pdf", None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert!(d.disposition.contains(r#"filename="statement-of-account-LONG.pdf""#), "{}", d.disposition);
    let all = pdf_text(&d.bytes, None);
    // 70 items fill two pages of the account table; the open items (all 70) follow.
    assert!(all.contains("Page 1 of 4") && all.contains("Page 4 of 4"), "{all}");
    for needle in ["Open items", "L-069", "Aging (days past due)", "total 700.00"] {
        assert!(all.contains(needle), "{needle:?} missing:\n{all}");
    }
    let second = pdf_text(&d.bytes, Some((2, 2)));
    for needle in ["Currency EUR (continued)", "Date", "Reference", "Balance", "L-069", "700.00", "Closing balance"] {
        assert!(second.contains(needle), "{needle:?} missing from page 2:\n{second}");
    }
}

#[tokio::test]
async fn accept_header_picks_the_format_and_unknown_formats_are_422() {
    let (app, key) = setup().await;
    let base = format!("/api/v1/customers/{CUSTOMER}/statement-of-account?{PERIOD}");
    let d = download(&app, &key, &base, Some("text/csv")).await;
    assert_eq!((d.status, d.content_type.as_str()), (200, "text/csv; charset=utf-8"));
    let d = download(&app, &key, &base, Some("application/pdf")).await;
    assert_eq!((d.status, d.content_type.as_str()), (200, "application/pdf"));
    let d =
        download(&app, &key, &base, Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).await;
    assert!(d.content_type.starts_with("application/vnd.openxmlformats"), "{}", d.content_type);
    // JSON stays the default, for browsers' Accept too; the parameter wins over the header.
    for accept in [None, Some("text/html,*/*;q=0.8")] {
        let d = download(&app, &key, &base, accept).await;
        assert_eq!(d.status, 200);
        assert!(d.content_type.starts_with("application/json"), "{}", d.content_type);
        assert!(d.disposition.is_empty());
    }
    let d = download(&app, &key, &format!("{base}&format=json"), Some("application/pdf")).await;
    assert!(d.content_type.starts_with("application/json"), "{}", d.content_type);
    let json: serde_json::Value = serde_json::from_slice(&d.bytes).unwrap();
    assert_eq!(json["currencies"][0]["closing_balance"], "14545.67");

    let r = app.get_as(&key, &format!("{base}&format=docx")).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["field"], "format", "{}", r.text);
    let r = app.get_as(&key, "/api/v1/portal/statement-of-account?format=docx").await;
    assert!(r.status == 401 || r.status == 403, "a tenant key is no portal token: {}", r.text);
}

#[tokio::test]
async fn the_portal_gets_the_same_formats_for_its_own_customer_only() {
    let (app, key) = setup().await;
    let r = app.post_as(&key, &format!("/api/v1/customers/{CUSTOMER}/portal-tokens"), &json!({"ttl_hours": 1})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_string();
    let base = format!("/api/v1/portal/statement-of-account?{PERIOD}");

    let csv = download(&app, &token, &format!("{base}&format=csv"), None).await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    assert!(csv.disposition.contains("statement-of-account-SH001-2026-02-01-2026-03-31.csv"));
    assert!(csv.text().contains("EUR,2026-03-31,closing_balance,,14845.67,1300.00,14545.67"), "{}", csv.text());
    assert!(!csv.text().contains("OTHER"));

    let xlsx = download(&app, &token, &format!("{base}&format=xlsx"), None).await;
    assert_eq!(xlsx.status, 200);
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.bytes)).expect("a valid xlsx");
    let eur = wb.worksheet_range("EUR").unwrap();
    assert_eq!(eur.get_value((14, 5)), Some(&Data::Float(14545.67)));

    let pdf = download(&app, &token, &format!("{base}&format=pdf"), None).await;
    assert_eq!(pdf.status, 200);
    let text = pdf_text(&pdf.bytes, None);
    assert!(text.contains(CUSTOMER_NAME) && text.contains("14,545.67") && text.contains("Page 1 of"), "{text}");
    assert!(!text.contains("Other Customer"), "{text}");

    let d = download(&app, &token, &base, Some("application/pdf")).await;
    assert_eq!(d.content_type, "application/pdf");
    let r = app.get_as(&token, &format!("{base}&format=xml")).await;
    assert_eq!(r.status, 422, "{}", r.text);
    // The portal token reaches no other customer's statement, in any format.
    let r = app.get_as(&token, "/api/v1/customers/OTHER/statement-of-account?format=pdf").await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn aging_as_xlsx_with_number_cells_and_totals() {
    let app = spawn_app().await;
    let r = app.post("/api/v1/customers", &json!({"code": "R1", "name": CUSTOMER_NAME})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // As of 2026-06-30 by due date: A current, B 30 days (1-30); U in JPY 61 days (61-90).
    let ledger = "doc_no,doc_type,customer_code,issue_date,due_date,currency,amount,reference\n\
        INV-A,invoice,R1,2026-06-01,2026-06-30,EUR,1000.00,\n\
        INV-B,invoice,R1,2026-05-01,2026-05-31,EUR,500.50,\n\
        INV-U,invoice,R1,2026-04-01,2026-04-30,JPY,7000,\n";
    let r = app.post_csv("/api/v1/documents/import", ledger).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let d = download(&app, &app.api_key, "/api/v1/reports/aging?as_of=2026-06-30&format=xlsx", None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(d.disposition.contains(r#"filename="aging-2026-06-30.xlsx""#), "{}", d.disposition);
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(d.bytes)).expect("a valid xlsx");
    let ws = wb.worksheet_range("Aging").unwrap();
    let cell = |r: u32, c: u32| ws.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    assert_eq!(cell(1, 1), Data::String("Test Tenant".into()));
    let header: Vec<Data> = (0..11).map(|c| cell(6, c)).collect();
    let expected = ["Customer code", "Customer name", "Currency", "current", "1-30", "31-60", "61-90", "90+"]
        .into_iter()
        .chain(["Total", "Overdue", "Open items"])
        .map(|s| Data::String(s.into()))
        .collect::<Vec<_>>();
    assert_eq!(header, expected);
    let rows: Vec<Vec<Data>> = (7..11).map(|r| (0..11).map(|c| cell(r, c)).collect()).collect();
    let s = |v: &str| Data::String(v.into());
    let f = Data::Float;
    let eur = rows.iter().find(|r| r[2] == s("EUR") && r[0] == s("R1")).expect("an EUR row");
    assert_eq!(eur[1], s(CUSTOMER_NAME));
    assert_eq!(eur[3..], [f(1000.0), f(500.5), f(0.0), f(0.0), f(0.0), f(1500.5), f(500.5), f(2.0)]);
    let jpy = rows.iter().find(|r| r[2] == s("JPY") && r[0] == s("R1")).expect("a JPY row");
    assert_eq!(jpy[3..10], [f(0.0), f(0.0), f(0.0), f(7000.0), f(0.0), f(7000.0), f(7000.0)]);
    let eur_total = rows.iter().find(|r| r[2] == s("EUR") && r[0] == s("TOTAL")).expect("an EUR total");
    assert_eq!(eur_total[8], f(1500.5));

    let csv = download(&app, &app.api_key, "/api/v1/reports/aging?as_of=2026-06-30&format=csv", None).await;
    assert!(csv.text().contains("TOTAL,,EUR,1000.00,500.50,0.00,0.00,0.00,1500.50,500.50"), "{}", csv.text());
    let d = download(
        &app,
        &app.api_key,
        "/api/v1/reports/aging?as_of=2026-06-30",
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    .await;
    assert!(d.content_type.starts_with("application/vnd.openxmlformats"), "{}", d.content_type);
    let r = app.get("/api/v1/reports/aging?format=pdf").await;
    assert_eq!(r.status, 422, "{}", r.text);
}
