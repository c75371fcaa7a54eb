//! Master data beside customers: products and services, and customers' contacts and addresses.

use crate::helpers::spawn_app;
use serde_json::{json, Value};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[tokio::test]
async fn products_are_created_validated_listed_and_updated() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/products",
            &json!({"code": "P-100", "name": "Steel bracket", "unit": "pcs", "default_price": "12.500",
                    "currency": "cny", "tax_rate": "13%"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["kind"], "product");
    assert_eq!(r.body["default_price"], "12.5");
    assert_eq!(r.body["currency"], "CNY");
    assert_eq!(r.body["tax_rate"], "13");
    assert_eq!(app.post("/api/v1/products", &json!({"code": "P-100", "name": "Again"})).await.status, 409);

    for (body, field) in [
        (json!({"code": "P-2", "name": "x", "tax_rate": "100"}), "tax_rate"),
        (json!({"code": "P-2", "name": "x", "tax_rate": "abc"}), "tax_rate"),
        (json!({"code": "P-2", "name": "x", "default_price": "1.0000001", "currency": "EUR"}), "default_price"),
        (json!({"code": "P-2", "name": "x", "default_price": "-1", "currency": "EUR"}), "default_price"),
        (json!({"code": "P-2", "name": "x", "default_price": "10"}), "currency"),
        (json!({"code": "P-2", "name": "x", "currency": "EURO"}), "currency"),
        (json!({"code": "P-2", "name": "x", "kind": "gadget"}), "kind"),
        (json!({"code": "", "name": "x"}), "code"),
        (json!({"code": "P-2", "name": "x", "unit": "a very long unit name indeed"}), "unit"),
    ] {
        let r = app.post("/api/v1/products", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], field, "{body}: {}", r.text);
    }
    assert_eq!(app.count("products"), 1, "refused products are not stored");

    let r = app.patch_as(&app.api_key, "/api/v1/products/P-100", &json!({"tax_rate": "9", "unit": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["tax_rate"], "9");
    assert!(r.body["unit"].is_null());
    assert_eq!(r.body["name"], "Steel bracket", "absent fields stay");
    let r = app.patch_as(&app.api_key, "/api/v1/products/P-100", &json!({"currency": null})).await;
    assert_eq!(r.status, 422, "a price keeps its currency: {}", r.text);
    assert_eq!(app.get("/api/v1/products/NOPE").await.status, 404);

    app.post("/api/v1/products", &json!({"code": "S-1", "name": "Installation", "kind": "service", "active": false}))
        .await;
    let services = app.get("/api/v1/products?active=false").await;
    assert_eq!(services.body["items"].as_array().unwrap().len(), 1, "{}", services.text);
    assert_eq!(services.body["items"][0]["kind"], "service");
    let by_name = app.get("/api/v1/products?name=BRACK").await;
    assert_eq!(by_name.body["items"][0]["code"], "P-100");
    let page = app.get("/api/v1/products?limit=1").await;
    assert!(page.body["next_cursor"].is_string());

    let audited = app.count(&format!(
        "audit_trail WHERE tenant_id = '{}' AND entity_type = 'product' AND action IN ('product.created', 'product.updated')",
        app.tenant_id
    ));
    assert_eq!(audited, 3, "two creations and one change are audited (the refused change is not)");
}

#[tokio::test]
async fn products_import_from_csv_json_and_xlsx_with_rejections() {
    let app = spawn_app().await;
    let csv = "code,name,kind,unit,default_price,currency,tax_rate,active\n\
               P-1,Bracket,product,pcs,12.50,CNY,13,yes\n\
               P-2,Bolt,,pcs,0.0125,CNY,13,\n\
               S-1,安装服务,service,h,300,CNY,6,是\n\
               P-3,Bad rate,product,pcs,1,CNY,113,\n\
               P-1,Again,product,pcs,1,CNY,13,\n";
    let r = app.post_csv("/api/v1/products/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 3, "{}", r.text);
    let rejected = r.body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{}", r.text);
    assert_eq!(rejected[0]["row"], 4);
    assert!(rejected[0]["error"].as_str().unwrap().contains("tax_rate"), "{}", r.text);
    assert_eq!(rejected[1]["row"], 5);
    assert!(rejected[1]["error"].as_str().unwrap().contains("first in row 1"), "{}", r.text);
    assert_eq!(app.get("/api/v1/products/P-2").await.body["default_price"], "0.0125");

    // The same rows again change nothing; a changed price is an update.
    let again = app
        .post_csv(
            "/api/v1/products/import",
            "code,name,unit,default_price,currency,tax_rate\nP-1,Bracket,pcs,12.50,CNY,13\nP-2,Bolt,pcs,0.02,CNY,13\n",
        )
        .await;
    assert_eq!(
        (again.body["unchanged"].as_u64(), again.body["updated"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        again.text
    );

    let json_body = json!([{"code": "P-9", "name": "From JSON", "tax_rate": "9"}, {"code": "P-10"}]);
    let r = app.post("/api/v1/products/import", &json_body).await;
    assert_eq!(r.status, 422, "a row without its name is off the schema: {}", r.text);
    assert_eq!(r.body["error"]["details"]["rows"][0]["row"], 2, "{}", r.text);
    let json_body =
        json!([{"code": "P-9", "name": "From JSON", "tax_rate": "9"}, {"code": "P-10", "name": "x", "tax_rate": "-1"}]);
    let r = app.post("/api/v1/products/import", &json_body).await;
    assert_eq!(r.body["created"], 1, "{}", r.text);
    assert_eq!(r.body["rejected"][0]["row"], 2, "{}", r.text);

    let xlsx = {
        use rust_xlsxwriter::Workbook;
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["code", "name", "unit", "default_price", "currency", "tax_rate"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "X-1").unwrap();
        sheet.write_string(1, 1, "From a workbook").unwrap();
        sheet.write_string(1, 2, "kg").unwrap();
        sheet.write_number(1, 3, 7.25).unwrap();
        sheet.write_string(1, 4, "EUR").unwrap();
        sheet.write_number(1, 5, 19).unwrap();
        book.save_to_buffer().unwrap()
    };
    let r = app.send("POST", "/api/v1/products/import", Some(&app.api_key), Some((XLSX, xlsx)), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 1, "{}", r.text);
    let x = app.get("/api/v1/products/X-1").await;
    assert_eq!(
        (x.body["default_price"].as_str(), x.body["tax_rate"].as_str()),
        (Some("7.25"), Some("19")),
        "{}",
        x.text
    );

    let unknown = app.post_csv("/api/v1/products/import", "code,name,colour\nP-1,x,red\n").await;
    assert_eq!(unknown.status, 422, "an unknown column is refused whole: {}", unknown.text);
}

async fn contact(app: &crate::helpers::TestApp, code: &str, body: Value) -> Value {
    let r = app.post(&format!("/api/v1/customers/{code}/contacts"), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[tokio::test]
async fn contacts_carry_addresses_and_one_each_receives_statements_and_dunning() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let wang = contact(
        &app,
        "C1",
        json!({"name": "王芳", "role": "财务经理", "email": "wang.fang@huadong.example", "phone": "+86 21  6888 0000",
               "address_lines": ["浦东新区世纪大道88号", " ", "1201室"], "postal_code": "200120", "city": "上海",
               "country": "cn", "for_statements": true, "for_dunning": true}),
    )
    .await;
    assert_eq!(wang["phone"], "+86 21 6888 0000");
    assert_eq!(wang["address_lines"], json!(["浦东新区世纪大道88号", "1201室"]));
    assert_eq!(wang["country"], "CN");
    // A second contact takes dunning letters: the first one loses that role, keeps statements.
    let li = contact(&app, "C1", json!({"name": "Li Lei", "email": "li@huadong.example", "for_dunning": true})).await;
    let list = app.get("/api/v1/customers/C1/contacts").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 2);
    let by_name = |n: &str| items.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(
        (by_name("王芳")["for_statements"].as_bool(), by_name("王芳")["for_dunning"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(by_name("Li Lei")["for_dunning"], true);

    // Personal data is sealed at rest (the tenant encrypts customer data by default).
    assert_eq!(app.count("customer_contacts WHERE name LIKE 'dz1:%' AND email LIKE 'dz1:%' AND phone LIKE 'dz1:%'"), 1);
    assert_eq!(app.count("customer_contacts WHERE name = '王芳' OR email LIKE '%huadong%'"), 0);
    assert_eq!(
        app.count("audit_trail WHERE entity_type = 'customer_contact' AND after::text LIKE '%huadong%'"),
        0,
        "audit keeps no contact data in clear"
    );

    let id = li["id"].as_str().unwrap();
    let r = app
        .patch_as(
            &app.api_key,
            &format!("/api/v1/customers/C1/contacts/{id}"),
            &json!({"for_statements": true, "email": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["email"].is_null());
    let list = app.get("/api/v1/customers/C1/contacts").await;
    let statements: Vec<&Value> =
        list.body.as_array().unwrap().iter().filter(|c| c["for_statements"] == true).collect();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["name"], "Li Lei");

    for (body, field) in [
        (json!({"name": "x", "email": "not an address"}), "email"),
        (json!({"name": "x", "phone": "12"}), "phone"),
        (json!({"name": "x", "address_lines": ["1", "2", "3", "4", "5", "6"]}), "address_lines"),
        (json!({"name": "x", "country": "China"}), "country"),
        (json!({"name": " "}), "name"),
    ] {
        let r = app.post("/api/v1/customers/C1/contacts", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["field"], field, "{body}: {}", r.text);
    }
    assert_eq!(app.post("/api/v1/customers/NOPE/contacts", &json!({"name": "x"})).await.status, 404);
    let other = app.create_customer("C2").await;
    assert_eq!(other["code"], "C2");
    let wrong_customer =
        app.patch_as(&app.api_key, &format!("/api/v1/customers/C2/contacts/{id}"), &json!({"name": "x"})).await;
    assert_eq!(wrong_customer.status, 404, "a contact is reached through its own customer only");

    let gone = app.send("DELETE", &format!("/api/v1/customers/C1/contacts/{id}"), Some(&app.api_key), None, &[]).await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(app.get("/api/v1/customers/C1/contacts").await.body.as_array().unwrap().len(), 1);
    assert_eq!(app.count("audit_trail WHERE entity_type = 'customer_contact'"), 4, "created twice, updated, deleted");

    // Erasure on request removes the customer's contacts with the rest of its personal data.
    let erased = app.post("/api/v1/customers/C1/erasure", &json!({})).await;
    assert_eq!(erased.status, 200, "{}", erased.text);
    assert!(erased.body["erased_fields"].as_array().unwrap().contains(&json!("contacts")), "{}", erased.text);
    assert_eq!(app.count("customer_contacts"), 0);
}

#[tokio::test]
async fn contacts_import_by_customer_and_name() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    app.create_customer("C2").await;
    let csv = "customer_code,name,role,email,phone,address,postal_code,city,country,for_statements,for_dunning\n\
               C1,Anna Schmidt,AP,ap@c1.example,+49 30 1234567,Hauptstr. 1|Hinterhaus,10115,Berlin,DE,yes,no\n\
               C1,Bernd Bauer,CFO,cfo@c1.example,,,,,,no,yes\n\
               C2,王芳,财务,wang@c2.example,,,,,CN,x,\n\
               C9,Nobody,,,,,,,,,\n\
               C1,Bad Mail,,not-mail,,,,,,,\n";
    let r = app.post_csv("/api/v1/customer-contacts/import", csv).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["created"], 3, "{}", r.text);
    let rejected: Vec<u64> =
        r.body["rejected"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert_eq!(rejected, vec![4, 5], "{}", r.text);
    let anna = app.get("/api/v1/customers/C1/contacts").await;
    let anna = anna.body.as_array().unwrap().iter().find(|c| c["name"] == "Anna Schmidt").unwrap().clone();
    assert_eq!(anna["address_lines"], json!(["Hauptstr. 1", "Hinterhaus"]));
    assert_eq!(anna["for_statements"], true);

    // Same rows again: unchanged; a new statement contact takes the role from Anna.
    let again = app
        .post_csv(
            "/api/v1/customer-contacts/import",
            "customer_code,name,role,email,phone,address,postal_code,city,country,for_statements,for_dunning\n\
             C1,anna schmidt,AP,ap@c1.example,+49 30 1234567,Hauptstr. 1|Hinterhaus,10115,Berlin,DE,no,no\n\
             C1,Carla Chen,AR contact,carla@c1.example,,,,,,yes,\n",
        )
        .await;
    assert_eq!((again.body["updated"].as_u64(), again.body["created"].as_u64()), (Some(1), Some(1)), "{}", again.text);
    let list = app.get("/api/v1/customers/C1/contacts").await;
    let json_rows = json!([{"customer_code": "C2", "name": "Zhao Lei", "email": "zhao@c2.example"},
                           {"customer_code": "C2", "nme": "a typo"}]);
    let r = app.post("/api/v1/customer-contacts/import", &json_rows).await;
    assert_eq!(r.status, 422, "a misspelt field is off the schema: {}", r.text);
    assert!(r.body["error"]["details"]["rows"][0]["error"].as_str().unwrap().contains("nme"), "{}", r.text);
    let json_rows = json!([{"customer_code": "C2", "name": "Zhao Lei", "email": "zhao@c2.example"},
                           {"customer_code": "C404", "name": "Nobody"}]);
    let r = app.post("/api/v1/customer-contacts/import", &json_rows).await;
    assert_eq!(r.body["created"], 1, "{}", r.text);
    assert_eq!(r.body["rejected"][0]["row"], 2, "{}", r.text);
    let not_rows = app.post("/api/v1/customer-contacts/import", &json!(["D", "æ"])).await;
    assert_eq!(not_rows.status, 422, "an array of strings is not rows: {}", not_rows.text);
    assert_eq!(not_rows.body["error"]["details"]["field"], "[0]", "{}", not_rows.text);
    let flagged: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["for_statements"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, vec!["Carla Chen"]);
}

#[tokio::test]
async fn master_data_through_graphql() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "mutation { createProduct(input: {code: \"P-1\", name: \"Bracket\", taxRate: \"13\", kind: SERVICE}) { code kind taxRate } }",
            json!({}),
        )
        .await;
    assert_eq!(r.body["data"]["createProduct"]["kind"], "SERVICE", "{}", r.text);
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "mutation { updateProduct(code: \"P-1\", patch: {taxRate: null}) { taxRate } }",
            json!({}),
        )
        .await;
    assert!(r.body["data"]["updateProduct"]["taxRate"].is_null(), "{}", r.text);
    let r = app.graphql_as(Some(&app.api_key), "{ products { items { code } nextCursor } }", json!({})).await;
    assert_eq!(r.body["data"]["products"]["items"][0]["code"], "P-1", "{}", r.text);
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "mutation { createCustomerContact(code: \"C1\", input: {name: \"Anna\", forStatements: true}) { id name forStatements } }",
            json!({}),
        )
        .await;
    assert_eq!(r.body["data"]["createCustomerContact"]["forStatements"], true, "{}", r.text);
    let id = r.body["data"]["createCustomerContact"]["id"].as_str().unwrap().to_string();
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "mutation($id: UUID!) { updateCustomerContact(code: \"C1\", id: $id, patch: {city: \"Berlin\"}) { city } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(r.body["data"]["updateCustomerContact"]["city"], "Berlin", "{}", r.text);
    let r = app.graphql_as(Some(&app.api_key), "{ customerContacts(code: \"C1\") { name city } }", json!({})).await;
    assert_eq!(r.body["data"]["customerContacts"][0]["city"], "Berlin", "{}", r.text);
}
