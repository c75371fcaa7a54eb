//! The rules of a statement import over HTTP: what counts as a line already imported, foreign
//! currency entries, accounts registered from the file, presets chosen by name or header, and
//! the fingerprint the database computes for stored lines.

use std::path::Path;

use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{spawn_app, Response, TestApp};

async fn upload(app: &TestApp, query: &str, body: impl Into<Vec<u8>>) -> Response {
    upload_as(app, &app.api_key, query, body).await
}

async fn upload_as(app: &TestApp, key: &str, query: &str, body: impl Into<Vec<u8>>) -> Response {
    let path = format!("/api/v1/bank-statements{query}");
    app.send("POST", &path, Some(key), Some(("application/octet-stream", body.into())), &[]).await
}

fn real(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real").join(path)).unwrap()
}

const HEAD: &str = "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,\
                    remittance,end_to_end_id\n";

#[tokio::test]
async fn a_reference_with_other_content_is_another_line_and_identical_lines_both_count() {
    let app = spawn_app().await;
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "EUR"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Three payments under one reference (as Danske Bank's "melding"), and two identical fees.
    let file = format!(
        "{HEAD}\
         melding,DE89370400440532013000,2026-03-23,,-5968.64,EUR,,,Overforing med melding / DBTS 1234365263,\n\
         melding,DE89370400440532013000,2026-04-06,,-681920.00,EUR,,,Overforing med melding / DBT.MVA 1T2010,\n\
         melding,DE89370400440532013000,2026-04-13,,-128593.75,EUR,,,Overforing uten melding / DBT.Feil,\n\
         NONREF,DE89370400440532013000,2026-04-13,,-2.50,EUR,,,Fee,\n\
         NONREF,DE89370400440532013000,2026-04-13,,-2.50,EUR,,,Fee,\n"
    );
    let r = upload(&app, "", file.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(5), Some(0)),
        "{}",
        r.text
    );
    let first = r.body["statement_id"].as_str().unwrap().to_string();

    // Again: nothing new; every skipped line is named with the line it repeats.
    let r = upload(&app, "", file).await;
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(0), Some(5)),
        "{}",
        r.text
    );
    let dups = r.body["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 5);
    assert_eq!(dups[0]["line_id"], "melding");
    assert_eq!(dups[0]["position"], "line 2");
    assert_eq!(dups[0]["amount"], "-5968.64");
    assert_eq!(dups[0]["bank_account"], "DE89370400440532013000");
    assert!(dups[0]["reason"].as_str().unwrap().contains("same reference"), "{}", r.text);
    assert_eq!(dups[3]["line_id"], serde_json::Value::Null, "NONREF is no reference");
    assert!(dups.iter().all(|d| d["existing_statement_id"] == first.as_str()));
    let ids: std::collections::HashSet<&str> = dups.iter().map(|d| d["existing_line_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "each skipped line points at its own stored line");

    // The reference once more with other content: a new line. One of the two fees alone: a
    // duplicate; three of them: the third is new.
    let later = format!(
        "{HEAD}\
         melding,DE89370400440532013000,2026-05-02,,-10.00,EUR,,,Overforing med melding / NEW,\n\
         NONREF,DE89370400440532013000,2026-04-13,,-2.50,EUR,,,Fee,\n"
    );
    let r = upload(&app, "", later).await;
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        r.text
    );
    assert_eq!(r.body["duplicates"][0]["position"], "line 3");
    let three = format!("{HEAD}{}", "NONREF,DE89370400440532013000,2026-04-13,,-2.50,EUR,,,Fee,\n".repeat(3));
    let r = upload(&app, "", three).await;
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(1), Some(2)),
        "{}",
        r.text
    );
    assert_eq!(app.count("bank_lines"), 7);

    // The Danske Bank file the issue found losing lines: all 24 on a fresh tenant.
    let r = upload(&app, "?register_accounts=true", real("mt940/mt940rs__MT940_NO_Example.sta")).await;
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(24), Some(0)),
        "{}",
        r.text
    );
    let melding = app.get("/api/v1/bank-lines?q=melding&limit=100").await;
    let meldings = melding.body["items"].as_array().unwrap().iter().filter(|l| l["line_id"] == "melding").count();
    assert_eq!(meldings, 3 + 4, "three from the file, four from the CSVs: {}", melding.text);
}

/// A camt.053 for a EUR account with one entry booked in USD that gives its EUR counter value
/// and one that gives none.
fn fx_statement() -> String {
    let entry = |amount: &str, ccy: &str, details: &str, reference: &str| {
        format!(
            "<Ntry><Amt Ccy=\"{ccy}\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-03-02</Dt></BookgDt><AcctSvcrRef>{reference}</AcctSvcrRef>{details}</Ntry>"
        )
    };
    let counter_value = "<AmtDtls><InstdAmt><Amt Ccy=\"USD\">110.00</Amt></InstdAmt>\
                         <CntrValAmt><Amt Ccy=\"EUR\">100.00</Amt></CntrValAmt></AmtDtls>";
    format!(
        "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.12\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>FX</MsgId><CreDtTm>2026-03-03T08:00:00</CreDtTm></GrpHdr><Stmt><Id>FX-1</Id>\
         <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy><Svcr><FinInstnId><BICFI>COBADEFFXXX</BICFI>\
         <Nm>Commerzbank</Nm></FinInstnId></Svcr></Acct>\
         <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
         <Dt><Dt>2026-03-01</Dt></Dt></Bal>\
         <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">1150.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
         <Dt><Dt>2026-03-02</Dt></Dt></Bal>{}{}{}</Stmt></BkToCstmrStmt></Document>",
        entry("50.00", "EUR", "", "E-1"),
        entry("110.00", "USD", counter_value, "E-2"),
        entry("33.00", "USD", "", "E-3"),
    )
}

#[tokio::test]
async fn entries_in_another_currency_take_the_counter_value_or_keep_their_own() {
    let app = spawn_app().await;
    let r = upload(&app, "?register_accounts=true", fx_statement()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["lines_imported"], 3, "{}", r.text);
    let created = &r.body["accounts_created"][0];
    assert_eq!(
        (&created["account_id"], &created["currency"], &created["bic"], &created["bank_name"]),
        (&json!("DE89370400440532013000"), &json!("EUR"), &json!("COBADEFFXXX"), &json!("Commerzbank")),
        "the account is registered with what the file says of it"
    );
    let warnings: Vec<&str> = r.body["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("E-2") && w.contains("110.00 USD") && w.contains("100.00 EUR")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("E-3") && w.contains("imported in USD")), "{warnings:?}");
    // Without the USD entry's EUR value the balances cannot be checked: said, not guessed.
    assert!(warnings.iter().any(|w| w.contains("balances not checked")), "{warnings:?}");
    let lines = app.get("/api/v1/bank-lines?limit=10").await;
    let amounts: Vec<(String, String)> = lines.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["amount"].as_str().unwrap().to_string(), l["currency"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        amounts,
        [("50.00".into(), "EUR".into()), ("100.00".into(), "EUR".into()), ("33.00".into(), "USD".into())]
    );

    // The same entry in a camt.054 (no balances, no account currency in the file) takes the
    // counter value from the registered account's currency.
    let ntf = fx_statement()
        .replace("camt.053.001.12", "camt.054.001.08")
        .replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
        .replace("<Stmt>", "<Ntfctn>")
        .replace("</Stmt>", "</Ntfctn>")
        .replace("<Ccy>EUR</Ccy>", "")
        .replace("E-", "N-");
    let ntf = ntf[..ntf.find("<Bal>").unwrap()].to_string() + &ntf[ntf.find("<Ntry>").unwrap()..];
    let r = upload(&app, "", ntf).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let n2 = app.get("/api/v1/bank-lines?q=N-2").await;
    assert_eq!(
        (&n2.body["items"][0]["amount"], &n2.body["items"][0]["currency"]),
        (&json!("100.00"), &json!("EUR")),
        "{}",
        n2.text
    );
}

#[tokio::test]
async fn accounts_are_registered_from_the_file_only_when_asked() {
    let app = spawn_app().await;
    let file = real("mt940/wolph-cmxl__mt940.sta");
    // Not asked: the unknown account is an error that says what to do, and nothing is written.
    let r = upload(&app, "", file.clone()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("register_accounts=true"), "{}", r.text);
    assert_eq!(app.count("bank_accounts"), 0);
    // A bank feed's key may import but not register accounts.
    let k =
        app.post("/api/v1/api-keys", &json!({"name": "feed", "role": "accountant", "scopes": ["bank:write"]})).await;
    assert_eq!(k.status, 201, "{}", k.text);
    let feed = k.body["api_key"].as_str().unwrap().to_string();
    assert_eq!(upload_as(&app, &feed, "?register_accounts=true", file.clone()).await.status, 403);

    // The tenant's setting: admins' uploads register, the feed's do not.
    let s = app.get("/api/v1/bank-import-settings").await;
    assert_eq!(s.body, json!({"register_accounts": false}));
    let put = app
        .send(
            "PUT",
            "/api/v1/bank-import-settings",
            Some(&app.api_key),
            Some(("application/json", br#"{"register_accounts": true}"#.to_vec())),
            &[],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(upload_as(&app, &feed, "", file.clone()).await.status, 422);
    let r = upload(&app, "", file.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created: Vec<(&str, &str, &serde_json::Value)> = r.body["accounts_created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["account_id"].as_str().unwrap(), a["currency"].as_str().unwrap(), &a["bic"]))
        .collect();
    assert_eq!(
        created,
        [
            ("4505005076198810", "DEM", &json!(null)),
            ("100200301234567", "EUR", &json!(null)),
            ("BPHKPLPK320000546101", "PLN", &json!("BPHKPLPK")),
        ]
    );
    assert!(r.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("DEM is a currency ISO 4217 has withdrawn")));
    // Audited, and now known: the feed's second upload is all duplicates.
    assert_eq!(
        app.count("audit_log WHERE action = 'bank_account.created'")
            + app.count("audit_pending WHERE action = 'bank_account.created'"),
        3
    );
    let again = upload_as(&app, &feed, "", file).await;
    assert_eq!((again.status, again.body["duplicates_skipped"].as_u64()), (201, Some(16)), "{}", again.text);
    // A registered account keeps its currency: a statement in another one is refused.
    let r =
        app.post("/api/v1/bank-accounts", &json!({"account_id": "DE89370400440532013000", "currency": "USD"})).await;
    assert_eq!(r.status, 201);
    let r = upload(&app, "", fx_statement()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text.contains("statement currency EUR differs from account DE89370400440532013000 currency USD"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn presets_by_name_by_family_and_by_header() {
    let app = spawn_app().await;
    let formats = app.get("/api/v1/bank-formats").await;
    assert_eq!(formats.status, 200, "{}", formats.text);
    let names: Vec<&str> =
        formats.body["presets"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in
        ["abc_debit", "alipay", "bmo_credit", "boc_debit", "icbc_credit", "icbc_debit", "td", "viseca", "wechat"]
    {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(formats.body["formats"].as_array().unwrap().iter().any(|f| f["name"] == "mt940"));
    let icbc = formats.body["presets"].as_array().unwrap().iter().find(|p| p["name"] == "icbc_debit").unwrap();
    assert_eq!(icbc["mapping"]["amount"]["convention"], "debit_credit", "{icbc}");

    let r = app.post("/api/v1/bank-accounts", &json!({"account_id": "ICBC9876", "currency": "CNY"})).await;
    assert_eq!(r.status, 201);
    let icbc_file = real("csv/debsig__example-icbc-debit-v2-records.csv");
    // By header, by family (icbc: credit or debit, told by the header), by name.
    for query in ["", "&preset=icbc", "&preset=ICBC_DEBIT"] {
        let r = upload(&app, &format!("?bank_account=ICBC9876{query}"), icbc_file.clone()).await;
        assert_eq!(r.status, 201, "{query}: {}", r.text);
        assert_eq!((&r.body["format"], &r.body["preset"]), (&json!("csv"), &json!("icbc_debit")), "{query}");
        assert_eq!(r.body["lines_in_file"], 11, "{query}");
    }
    let line = app.get("/api/v1/bank-lines?bank_account=ICBC9876&q=ABC").await;
    let l = &line.body["items"][0];
    assert_eq!(
        (&l["amount"], &l["currency"], &l["counterparty_name"]),
        (&json!("1234.56"), &json!("CNY"), &json!("ABC公司")),
        "padded cells trimmed, 人民币 is CNY: {}",
        line.text
    );
    assert_eq!(l["additional_info"], "工资");
    // A preset that does not fit, an unknown one, a preset for a non-CSV format.
    let r = upload(&app, "?bank_account=ICBC9876&preset=cmb", icbc_file.clone()).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("no header row found"), "{}", r.text);
    let r = upload(&app, "?bank_account=ICBC9876&preset=nosuchbank", icbc_file.clone()).await;
    assert!(r.status == 422 && r.text.contains("icbc_debit"), "the answer lists the presets: {}", r.text);
    let r = upload(&app, "?format=mt940&preset=icbc", icbc_file).await;
    assert_eq!(r.status, 422, "{}", r.text);
    // GBK without any hint: recognised, decoded, and its preamble's count checked.
    let r = app.post("/api/v1/bank-accounts", &json!({"account_id": "ALIPAY0001", "currency": "CNY"})).await;
    assert_eq!(r.status, 201);
    let r = upload(&app, "?bank_account=ALIPAY0001", real("csv/debsig__example-alipay-records.csv")).await;
    assert_eq!((r.status, &r.body["preset"]), (201, &json!("alipay")), "{}", r.text);
    assert!(r.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("announces 66 rows, the file holds 10")));
    let stored = app.get(&format!("/api/v1/bank-statements/{}", r.body["statement_id"].as_str().unwrap())).await;
    assert_eq!((&stored.body["preset"], &stored.body["lines_not_imported"]), (&json!("alipay"), &json!(5)));
}

#[derive(QueryableByName)]
struct Keys {
    #[diesel(sql_type = diesel::sql_types::Text)]
    stored: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    computed: String,
}

/// The migration's SQL fingerprint is the import's: stored keys are computed again from the
/// stored columns, and keys of the earlier form are rewritten to exactly what the import writes.
#[tokio::test]
async fn the_database_computes_the_same_fingerprint_as_the_import() {
    let app = spawn_app().await;
    for (file, query) in [
        ("csv/debsig-boc-debit__example-boc-records.csv", "?register_accounts=true&bank_account=BOC3167"),
        ("csv/debsig__example-alipay-records.csv", "?register_accounts=true&bank_account=ALIPAY0001"),
        (
            "camt053/dvbern__camt.053_P_CH0309000000250090342_380000000_0_2016053100163801.xml",
            "?register_accounts=true",
        ),
        ("camt053/camtli__CAMT.053-TEST-1.xml", "?register_accounts=true"),
        ("mt940/betterplace__sepa_mt9401.txt", "?register_accounts=true"),
        ("mt940/fruitl00p-kontist__sample", "?register_accounts=true"),
        ("bai2/moovbai2__sample4-continuations-newline-delimited.txt", "?register_accounts=true"),
    ] {
        if let Some(account) = query.split("bank_account=").nth(1) {
            let r = app.post("/api/v1/bank-accounts", &json!({"account_id": account, "currency": "CNY"})).await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        let r = upload(&app, query, real(file)).await;
        assert_eq!(r.status, 201, "{file}: {}", r.text);
    }
    let lines = app.count("bank_lines");
    assert!(lines > 150, "{lines}");
    let compute = "bank_line_fingerprint(bank_reference, booking_date, amount, currency, counterparty_name, \
                   counterparty_iban, counterparty_account, remittance, creditor_reference, end_to_end_id)";
    let mut conn = app.db.connect();
    let keys: Vec<Keys> =
        diesel::sql_query(format!("SELECT dedupe_key AS stored, {compute} AS computed FROM bank_lines ORDER BY id"))
            .load(&mut conn)
            .unwrap();
    for k in &keys {
        assert_eq!(k.stored.split('#').next(), Some(k.computed.as_str()), "{}", k.stored);
    }
    // Keys as they were before migration 000019 ('ref:<reference>', 'hash:<...>#<n>'), then the
    // migration's own UPDATE: back to what the import wrote.
    let before: Vec<String> = keys.iter().map(|k| k.stored.clone()).collect();
    diesel::sql_query(
        "UPDATE bank_lines SET dedupe_key = CASE WHEN bank_reference IS NOT NULL AND dedupe_key LIKE '%#1' \
         AND NOT EXISTS (SELECT 1 FROM bank_lines o WHERE o.bank_account_id = bank_lines.bank_account_id \
                         AND o.bank_reference = bank_lines.bank_reference AND o.id < bank_lines.id) \
         THEN 'ref:' || bank_reference ELSE 'hash:old' || md5(id::text) || '#' || split_part(dedupe_key, '#', 2) END",
    )
    .execute(&mut conn)
    .unwrap();
    let up = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/2026-12-06-000019_bank_lines_as_banks_send_them/up.sql"),
    )
    .unwrap();
    let start = up.find("UPDATE bank_lines SET dedupe_key").unwrap();
    let update = &up[start..start + up[start..].find(';').unwrap()];
    diesel::sql_query(update).execute(&mut conn).unwrap();
    let after: Vec<Keys> = diesel::sql_query("SELECT dedupe_key AS stored, '' AS computed FROM bank_lines ORDER BY id")
        .load(&mut conn)
        .unwrap();
    assert_eq!(after.into_iter().map(|k| k.stored).collect::<Vec<_>>(), before);
    // So a file imported before the migration is still recognised line by line.
    let r = upload(&app, "?register_accounts=true", real("mt940/betterplace__sepa_mt9401.txt")).await;
    assert_eq!(
        (r.body["lines_imported"].as_u64(), r.body["duplicates_skipped"].as_u64()),
        (Some(0), Some(97)),
        "{}",
        r.text
    );
}
