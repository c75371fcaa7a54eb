//! Saved import mappings (issue 24): a finance team's own layout — a merged title, a header over
//! two rows with merged cells, Chinese headers, numbers stored as text, dates as text in their
//! own format, a running-number column — imported with `?mapping=`; the mapping's life audited.

use crate::helpers::spawn_app;
use crate::templates::XLSX;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::json;

#[tokio::test]
async fn mappings_are_checked_saved_replaced_listed_and_deleted_with_audit() {
    let app = spawn_app().await;
    let body = json!({"kind": "customers", "name": "erp", "mapping": {"columns": {"客户代码": "code", "公司": "name"}, "ignore": ["序号"]}});
    let created = app.post("/api/v1/import-mappings", &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["mapping"]["columns"]["客户代码"], "code");
    let again = app.post("/api/v1/import-mappings", &body).await;
    assert_eq!(again.status, 409, "a name is unique per kind: {}", again.text);
    let other_kind = json!({"kind": "products", "name": "erp", "mapping": {}});
    assert_eq!(app.post("/api/v1/import-mappings", &other_kind).await.status, 201);

    let bad = [
        (json!({"kind": "suppliers", "name": "x", "mapping": {}}), "unknown import kind"),
        (
            json!({"kind": "customers", "name": "x", "mapping": {"columns": {"颜色": "colour"}}}),
            "not a column of customers",
        ),
        (json!({"kind": "customers", "name": "x", "mapping": {"columns": {"a": "code", "b": "code"}}}), "both map to"),
        (json!({"kind": "customers", "name": "a/b", "mapping": {}}), "must not contain"),
        (json!({"kind": "documents", "name": "x", "mapping": {"date_formats": ["%Y"]}}), "date_formats"),
        (json!({"kind": "documents", "name": "x", "mapping": {"header_row": 0}}), "header_row"),
        (json!({"kind": "documents", "name": "x", "mapping": {"colour": 1}}), "colour"),
    ];
    for (body, message) in bad {
        let r = app.post("/api/v1/import-mappings", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.text.contains(message), "{body}: {}", r.text);
    }

    let path = format!("/api/v1/import-mappings/{id}");
    let replaced = app
        .send(
            "PUT",
            &path,
            Some(&app.api_key),
            Some((
                "application/json",
                json!({"name": "erp-2026", "mapping": {"header_row": 2}}).to_string().into_bytes(),
            )),
            &[],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!((replaced.body["name"].as_str(), replaced.body["kind"].as_str()), (Some("erp-2026"), Some("customers")));
    assert_eq!(app.get(&path).await.body["mapping"]["header_row"], 2);
    let listed = app.get("/api/v1/import-mappings?kind=customers").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1, "{}", listed.text);
    assert_eq!(app.get("/api/v1/import-mappings").await.body.as_array().unwrap().len(), 2);
    let deleted = app.send("DELETE", &path, Some(&app.api_key), None, &[]).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(app.get(&path).await.status, 404);
    let audited = app.count(&format!(
        "audit_trail WHERE tenant_id = '{}' AND entity_type = 'import_mapping' AND entity_id = '{id}'",
        app.tenant_id
    ));
    assert_eq!(audited, 3, "created, updated, deleted");
    let r = app.post_csv("/api/v1/customers/import?mapping=erp-2026", "code,name\nC1,x\n").await;
    assert_eq!(r.status, 422, "a deleted mapping refuses the import: {}", r.text);
}

/// The ledger as the team keeps it in Excel: a merged title over the table, a header over two
/// rows (金额 merged over 原币 and 本位币; 客户 merged over 编号 and 名称; single headers merged
/// down both rows), a running number column, amounts typed as text with thousands separators,
/// dates as text day-first, and Chinese document types.
#[tokio::test]
async fn a_user_layout_with_merged_headers_and_numbers_stored_as_text_imports_with_its_mapping() {
    let app = spawn_app().await;
    app.create_customer("00123").await;
    app.create_customer("K-2").await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("销售台账").unwrap();
    let plain = Format::new();
    sheet.merge_range(0, 0, 0, 7, "2026年3月 销售台账（单位：元）", &plain).unwrap();
    sheet.merge_range(1, 0, 2, 0, "序号", &plain).unwrap();
    sheet.merge_range(1, 1, 2, 1, "发票号码", &plain).unwrap();
    sheet.merge_range(1, 2, 1, 3, "客户", &plain).unwrap();
    sheet.write_string(2, 2, "编号").unwrap();
    sheet.write_string(2, 3, "名称").unwrap();
    sheet.merge_range(1, 4, 2, 4, "开票日期", &plain).unwrap();
    sheet.merge_range(1, 5, 2, 5, "类型", &plain).unwrap();
    sheet.merge_range(1, 6, 1, 7, "金额", &plain).unwrap();
    sheet.write_string(2, 6, "原币").unwrap();
    sheet.write_string(2, 7, "本位币").unwrap();
    let rows: [(f64, &str, &str, &str, &str, &str, &str); 4] = [
        (1.0, "FP-0001", "00123", "甲公司", "03/03/2026", "发票", "1,234,567.50"),
        (2.0, "FP-0002", "K-2", "乙公司", "15/03/2026", "invoice", " 880 "),
        (3.0, "HZ-0001", "K-2", "乙公司", "2026年3月20日", "红字发票", "100"),
        (4.0, "FP-0003", "K-2", "乙公司", "31/02/2026", "发票", "5"),
    ];
    for (i, (n, no, code, name, date, kind, amount)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        sheet.write_number(r, 0, *n).unwrap();
        sheet.write_string(r, 1, *no).unwrap();
        sheet.write_string(r, 2, *code).unwrap();
        sheet.write_string(r, 3, *name).unwrap();
        sheet.write_string(r, 4, *date).unwrap();
        sheet.write_string(r, 5, *kind).unwrap();
        sheet.write_string(r, 6, *amount).unwrap();
        sheet.write_string(r, 7, *amount).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();

    // Without a mapping the layout is not guessed: refused whole, nothing written.
    let refused =
        app.send("POST", "/api/v1/documents/import", Some(&app.api_key), Some((XLSX, bytes.clone())), &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(app.count("documents"), 0);

    let mapping = json!({"kind": "documents", "name": "台账", "mapping": {
        "columns": {"客户 / 编号": "customer_code", "金额 / 原币": "amount"},
        "ignore": ["序号", "客户 / 名称", "金额 / 本位币"],
        "header_rows": 2,
        "date_formats": ["%d/%m/%Y"]
    }});
    assert_eq!(app.post("/api/v1/import-mappings", &mapping).await.status, 201);
    // The layout has no currency column: the mapping's file is refused until it has one.
    let path = format!("/api/v1/documents/import?mapping={}", "%E5%8F%B0%E8%B4%A6");
    let no_currency = app.send("POST", &path, Some(&app.api_key), Some((XLSX, bytes.clone())), &[]).await;
    assert_eq!(no_currency.status, 422, "{}", no_currency.text);
    assert!(no_currency.text.contains("column currency is required"), "{}", no_currency.text);

    // The team adds a currency column (I), merged down both header rows.
    let mut book = Workbook::new();
    let copy = book.add_worksheet();
    copy.set_name("销售台账").unwrap();
    copy.merge_range(0, 0, 0, 8, "2026年3月 销售台账（单位：元）", &plain).unwrap();
    for (c, h) in ["序号", "发票号码"].iter().enumerate() {
        copy.merge_range(1, c as u16, 2, c as u16, h, &plain).unwrap();
    }
    copy.merge_range(1, 2, 1, 3, "客户", &plain).unwrap();
    copy.write_string(2, 2, "编号").unwrap();
    copy.write_string(2, 3, "名称").unwrap();
    copy.merge_range(1, 4, 2, 4, "开票日期", &plain).unwrap();
    copy.merge_range(1, 5, 2, 5, "类型", &plain).unwrap();
    copy.merge_range(1, 6, 1, 7, "金额", &plain).unwrap();
    copy.write_string(2, 6, "原币").unwrap();
    copy.write_string(2, 7, "本位币").unwrap();
    copy.merge_range(1, 8, 2, 8, "币种", &plain).unwrap();
    for (i, (n, no, code, name, date, kind, amount)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        copy.write_number(r, 0, *n).unwrap();
        for (c, v) in [no, code, name, date, kind, amount, amount].iter().enumerate() {
            copy.write_string(r, c as u16 + 1, **v).unwrap();
        }
        copy.write_string(r, 8, "CNY").unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let r = app.send("POST", &path, Some(&app.api_key), Some((XLSX, bytes)), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 3, "{}", r.text);
    let rejected = &r.body["rejected"][0];
    assert_eq!(
        (rejected["row"].as_u64(), rejected["sheet"].as_str(), rejected["column"].as_str()),
        (Some(7), Some("销售台账"), Some("E")),
        "31/02 is no date: {}",
        r.text
    );
    let docs = app.get("/api/v1/documents?limit=10").await.body;
    let mut got: Vec<(String, String, String, String, String)> = docs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("doc_no"), s("doc_type"), s("customer_code"), s("issue_date"), s("amount"))
        })
        .collect();
    got.sort();
    let want = [
        ("FP-0001", "invoice", "00123", "2026-03-03", "1234567.50"),
        ("FP-0002", "invoice", "K-2", "2026-03-15", "880.00"),
        ("HZ-0001", "credit_note", "K-2", "2026-03-20", "100.00"),
    ];
    let want: Vec<(String, String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d, e)| (a.to_string(), b.to_string(), c.to_string(), d.to_string(), e.to_string()))
        .collect();
    assert_eq!(got, want);

    // The same layout as CSV (what Excel saves as "CSV UTF-8"), read with the same mapping.
    let csv = "2026年3月 销售台账,,,,,,,,\n序号,发票号码,客户,客户,开票日期,类型,金额,金额,币种\n,,编号,名称,,,原币,本位币,\n\
               1,FP-0009,K-2,乙公司,01/03/2026,发票,\"2,000.00\",\"2,000.00\",CNY\n";
    let r = app.post_csv(&path, csv).await;
    assert_eq!((r.status, r.body["created"].as_u64()), (200, Some(1)), "{}", r.text);
}
