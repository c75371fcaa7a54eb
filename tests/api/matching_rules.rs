//! Matching rules as data (issue 22): created, listed in order, changed with versions and a
//! version check, reordered, retired (kept with their versions), audited, limited per tenant,
//! managed by admins only; templates listed and turned into rules; the same over GraphQL.

use crate::helpers::{spawn_app, Response, TestApp};
use serde_json::{json, Value};

const RULES: &str = "/api/v1/matching-rules";

fn ignore_rule(reason: &str) -> Value {
    json!({"when": {"remittance": "Umbuchung"}, "then": [{"type": "ignore", "reason": reason}]})
}

fn reference_rule() -> Value {
    json!({
        "when": {"sign": "credit", "remittance": r"Rechnung\s*(?P<ref>\d{3,})"},
        "then": [{"type": "document_reference", "from": "remittance", "prefix": "INV-2026-"}]
    })
}

async fn created(app: &TestApp, body: Value) -> Value {
    let r = app.post(RULES, &body).await;
    assert_eq!(r.status, 201, "{body}: {}", r.text);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn delete(app: &TestApp, key: &str, path: &str) -> Response {
    app.send("DELETE", path, Some(key), None, &[]).await
}

fn names(list: &Value) -> Vec<(String, Value)> {
    list.as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap().to_string(), r["position"].clone())).collect()
}

#[tokio::test]
async fn rules_are_ordered_versioned_retired_and_audited() {
    let app = spawn_app().await;
    let transfers = created(&app, json!({"name": "Transfers", "definition": ignore_rule("internal")})).await;
    assert_eq!((transfers["position"].as_i64(), transfers["version"].as_i64()), (Some(1), Some(1)));
    assert_eq!(transfers["enabled"], true, "a rule written by hand is enabled unless told otherwise");
    let refs =
        created(&app, json!({"name": "Rechnung", "description": "German payers", "definition": reference_rule()}))
            .await;
    let first =
        created(&app, json!({"name": "First", "definition": ignore_rule("first"), "position": 1, "enabled": false}))
            .await;
    let list = app.get(RULES).await;
    assert_eq!(
        names(&list.body),
        vec![("First".into(), json!(1)), ("Transfers".into(), json!(2)), ("Rechnung".into(), json!(3))],
        "{}",
        list.text
    );
    // Stored as validated: defaults dropped, the pattern as sent.
    assert_eq!(refs["definition"]["when"]["remittance"], r"Rechnung\s*(?P<ref>\d{3,})");
    assert!(refs["definition"]["candidates"].as_object().is_some_and(|c| c.is_empty()), "{}", refs["definition"]);

    // A change saves a new version with who and when; the old one stays readable.
    let path = format!("{RULES}/{}", id(&transfers));
    let r = app
        .patch_as(
            &app.api_key,
            &path,
            &json!({"name": "Own transfers", "definition": ignore_rule("own"), "expected_version": 1}),
        )
        .await;
    assert_eq!((r.status, r.body["version"].as_i64()), (200, Some(2)), "{}", r.text);
    let unchanged = app.patch_as(&app.api_key, &path, &json!({"name": "Own transfers"})).await;
    assert_eq!(unchanged.body["version"], 2, "no change, no version: {}", unchanged.text);
    let stale = app.patch_as(&app.api_key, &path, &json!({"enabled": false, "expected_version": 1})).await;
    assert_eq!((stale.status, stale.error_code()), (409, "conflict"), "{}", stale.text);
    assert_eq!(stale.body["error"]["details"]["current_version"], 2);
    let r = app
        .patch_as(&app.api_key, &path, &json!({"enabled": false, "description": "moved", "expected_version": 2}))
        .await;
    assert_eq!((r.body["version"].as_i64(), r.body["enabled"].as_bool()), (Some(3), Some(false)), "{}", r.text);
    let r = app.patch_as(&app.api_key, &path, &json!({"description": null})).await;
    assert_eq!((r.body["version"].as_i64(), &r.body["description"]), (Some(4), &Value::Null), "{}", r.text);
    let versions = app.get(&format!("{path}/versions")).await;
    let versions = versions.body.as_array().unwrap().clone();
    assert_eq!(versions.iter().map(|v| v["version"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(versions[0]["name"], "Transfers");
    assert_eq!(versions[0]["definition"]["then"][0]["reason"], "internal");
    assert_eq!(
        (versions[1]["changed_by_type"].as_str(), versions[2]["enabled"].as_bool()),
        (Some("api_key"), Some(false))
    );
    // Each version keeps the description it had: version 3 says why the rule was moved, 4 has none.
    let descriptions: Vec<&Value> = versions.iter().map(|v| &v["description"]).collect();
    assert_eq!(descriptions, vec![&Value::Null, &Value::Null, &json!("moved"), &Value::Null]);
    let v1 = app.get(&format!("{path}/versions/1")).await;
    assert_eq!((v1.status, v1.body["name"].as_str()), (200, Some("Transfers")), "{}", v1.text);
    assert_eq!(app.get(&format!("{path}/versions/9")).await.status, 404);

    // Names are unique among live rules.
    let taken = app.post(RULES, &json!({"name": "Rechnung", "definition": reference_rule()})).await;
    assert_eq!((taken.status, taken.body["error"]["details"]["field"].as_str()), (409, Some("name")), "{}", taken.text);
    let taken = app.patch_as(&app.api_key, &path, &json!({"name": "Rechnung"})).await;
    assert_eq!(taken.status, 409, "{}", taken.text);

    // Reorder: every live rule exactly once.
    let order = json!({"ids": [id(&refs), id(&transfers), id(&first)]});
    let r = app.put(&format!("{RULES}/order"), &order).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(names(&r.body)[0], ("Rechnung".into(), json!(1)));
    for (bad, field) in [
        (json!({"ids": [id(&refs), id(&transfers)]}), "ids"),
        (json!({"ids": [id(&refs), id(&refs), id(&first)]}), "ids[1]"),
        (json!({"ids": [id(&refs), id(&transfers), id(&first), id(&first)]}), "ids[3]"),
    ] {
        let r = app.put(&format!("{RULES}/order"), &bad).await;
        assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some(field)), "{bad}: {}", r.text);
    }
    let unknown = app.put(&format!("{RULES}/order"), &json!({"ids": [uuid::Uuid::now_v7()]})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);

    // Retire: out of the order (the rest close up), kept with its versions.
    let retired = delete(&app, &app.api_key, &path).await;
    assert_eq!((retired.status, &retired.body["position"]), (200, &Value::Null), "{}", retired.text);
    assert!(retired.body["retired_at"].is_string());
    let again = delete(&app, &app.api_key, &path).await;
    assert_eq!((again.status, &again.body["retired_at"]), (200, &retired.body["retired_at"]), "{}", again.text);
    let live = app.get(RULES).await;
    assert_eq!(names(&live.body), vec![("Rechnung".into(), json!(1)), ("First".into(), json!(2))]);
    let all = app.get(&format!("{RULES}?include_retired=true")).await;
    assert_eq!(names(&all.body)[2], ("Own transfers".into(), Value::Null), "{}", all.text);
    assert_eq!(app.get(&path).await.body["retired_at"], retired.body["retired_at"]);
    assert_eq!(app.get(&format!("{path}/versions")).await.body.as_array().map(Vec::len), Some(4));
    let r = app.patch_as(&app.api_key, &path, &json!({"enabled": true})).await;
    assert_eq!(r.status, 409, "a retired rule does not change: {}", r.text);
    let r = app.put(&format!("{RULES}/order"), &json!({"ids": [id(&first), id(&refs), id(&transfers)]})).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("ids[2]")), "{}", r.text);
    // A retired name can be used again.
    created(&app, json!({"name": "Own transfers", "definition": ignore_rule("again")})).await;

    let audit = app.get("/api/v1/audit?entity_type=matching_rule&limit=100").await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "matching_rule.created",
            "matching_rule.created",
            "matching_rule.created",
            "matching_rule.updated",
            "matching_rule.updated",
            "matching_rule.updated",
            "matching_rule.reordered",
            "matching_rule.retired",
            "matching_rule.created",
        ],
        "{}",
        audit.text
    );
    let update = &audit.body["items"][3];
    assert_eq!(
        (update["before"]["name"].as_str(), update["after"]["name"].as_str()),
        (Some("Transfers"), Some("Own transfers"))
    );
}

#[tokio::test]
async fn bad_definitions_and_bodies_answer_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"then": []}), "definition.then", "at least one action"),
        (
            json!({"when": {"remittance": "(unclosed"}, "then": [{"type": "propose_only"}]}),
            "definition.when.remittance",
            "not a valid pattern",
        ),
        (json!({"when": {"colour": "red"}, "then": [{"type": "propose_only"}]}), "definition.when", "colour"),
        (json!({"then": [{"type": "teleport"}]}), "definition.then[0]", "teleport"),
        (
            json!({"then": [{"type": "document_reference", "from": "remittance"}]}),
            "definition.then[0]",
            "when.remittance is not set",
        ),
        (
            json!({"when": {"remittance": "INV"}, "then": [{"type": "document_reference", "from": "remittance"}]}),
            "definition.then[0]",
            "capture group",
        ),
        (
            json!({"when": {"currencies": ["EURO"]}, "then": [{"type": "propose_only"}]}),
            "definition.when.currencies",
            "ISO currency",
        ),
        (
            json!({"then": [{"type": "write_off_remainder", "limit": "0", "reason": "bank_fee"}]}),
            "definition.then[0]",
            "limit",
        ),
        (
            json!({"then": [{"type": "ignore", "reason": "x"}, {"type": "propose_only"}]}),
            "definition.then",
            "cannot be combined",
        ),
        (json!({"then": [{"type": "restrict_candidates"}]}), "definition.candidates", "candidate condition"),
        (json!([1]), "definition", "invalid type"),
    ];
    for (definition, field, message) in cases {
        let r = app.post(RULES, &json!({"name": "x", "definition": definition})).await;
        assert_eq!(r.status, 422, "{definition}: {}", r.text);
        let got = r.body["error"]["details"]["field"].as_str().unwrap_or("");
        assert!(got == field || got.starts_with(&format!("{field}.")), "{definition}: {field} <> {}", r.text);
        assert!(r.text.contains(message), "{definition}: {}", r.text);
    }
    let ok = json!({"then": [{"type": "propose_only"}]});
    for (body, field) in [
        (json!({"name": "x", "definition": ok, "colour": "red"}), "colour"),
        (json!({"name": " ", "definition": ok}), "name"),
        (json!({"name": "x", "definition": ok, "position": 0}), "position"),
        (json!({"name": "x", "definition": ok, "position": 2}), "position"),
        (json!({"name": "x", "description": "d".repeat(2001), "definition": ok}), "description"),
    ] {
        let r = app.post(RULES, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert!(r.text.contains(field), "{body}: {}", r.text);
    }
    let rule = created(&app, json!({"name": "x", "definition": ok})).await;
    let r = app.patch_as(&app.api_key, &format!("{RULES}/{}", id(&rule)), &json!({"definition": {"then": []}})).await;
    assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some("definition.then")), "{}", r.text);
    let r = app.patch_as(&app.api_key, &format!("{RULES}/{}", id(&rule)), &json!({"priority": 1})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(app.get(&format!("{RULES}/{}", id(&rule))).await.body["version"], 1, "nothing saved");
    assert_eq!(app.get(&format!("{RULES}/{}", uuid::Uuid::now_v7())).await.status, 404);
}

#[tokio::test]
async fn a_tenant_has_at_most_200_live_rules() {
    let app = spawn_app().await;
    let mut last = Value::Null;
    for i in 0..200 {
        last =
            created(&app, json!({"name": format!("r{i}"), "definition": {"then": [{"type": "propose_only"}]}})).await;
    }
    assert_eq!(last["position"], 200);
    let r = app.post(RULES, &json!({"name": "one more", "definition": {"then": [{"type": "propose_only"}]}})).await;
    assert_eq!((r.status, r.body["error"]["details"]["limit"].as_i64()), (409, Some(200)), "{}", r.text);
    let r = app.post(&format!("{RULES}/from-template"), &json!({"template": "rounding_difference"})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(delete(&app, &app.api_key, &format!("{RULES}/{}", id(&last))).await.status, 200);
    created(&app, json!({"name": "one more", "definition": {"then": [{"type": "propose_only"}]}})).await;
}

#[tokio::test]
async fn admins_manage_rules_and_every_role_reads_them() {
    let app = spawn_app().await;
    let rule = created(&app, json!({"name": "r", "definition": {"then": [{"type": "propose_only"}]}})).await;
    let path = format!("{RULES}/{}", id(&rule));
    for role in ["viewer", "accountant"] {
        let key = app.post("/api/v1/api-keys", &json!({"name": role, "role": role})).await;
        let key = key.body["api_key"].as_str().unwrap().to_string();
        for read in [
            RULES.to_string(),
            path.clone(),
            format!("{path}/versions"),
            format!("{path}/versions/1"),
            "/api/v1/matching-rule-templates".into(),
        ] {
            let r = app.get_as(&key, &read).await;
            assert_eq!(r.status, 200, "{role} reads {read}: {}", r.text);
        }
        let writes = [
            app.post_as(&key, RULES, &json!({"name": "mine", "definition": {"then": [{"type": "propose_only"}]}}))
                .await,
            app.post_as(&key, &format!("{RULES}/from-template"), &json!({"template": "rounding_difference"})).await,
            app.patch_as(&key, &path, &json!({"enabled": false})).await,
            app.put_as(&key, &format!("{RULES}/order"), &json!({"ids": [id(&rule)]})).await,
            delete(&app, &key, &path).await,
        ];
        for r in writes {
            assert_eq!((r.status, r.error_code()), (403, "forbidden"), "{role}: {}", r.text);
        }
        let r = app
            .graphql_as(
                Some(&key),
                "mutation($id: UUID!) { retireMatchingRule(id: $id) { id } }",
                json!({"id": id(&rule)}),
            )
            .await;
        assert_eq!(r.body["errors"][0]["extensions"]["code"], "forbidden", "{role}: {}", r.text);
    }
    let r = app.get(&path).await;
    assert_eq!((r.body["version"].as_i64(), r.body["position"].as_i64()), (Some(1), Some(1)), "untouched: {}", r.text);
}

#[tokio::test]
async fn templates_are_listed_and_make_rules() {
    let app = spawn_app().await;
    let list = app.get("/api/v1/matching-rule-templates").await;
    let templates = list.body.as_array().unwrap();
    assert!(templates.len() >= 20, "{}", list.text);
    for t in templates {
        assert!(t["example"]["amount"].is_string() && t["example"]["currency"].is_string(), "{t}");
        assert!(!t["example_effects"].as_array().unwrap().is_empty(), "{t}");
        assert!(t["default_definition"]["then"].is_array(), "{t}");
    }
    let paypal = templates.iter().find(|t| t["key"] == "paypal_payout").expect("paypal_payout");
    assert_eq!(paypal["category"], "payment_services");
    let fee = paypal["parameters"].as_array().unwrap().iter().find(|p| p["key"] == "fee_percent").unwrap();
    assert_eq!(
        (fee["kind"].as_str(), fee["default"].as_str(), fee["max"].as_str()),
        (Some("decimal"), Some("0.035"), Some("0.5"))
    );

    let from = format!("{RULES}/from-template");
    let r = app
        .post(
            &from,
            &json!({"template": "paypal_payout", "parameters": {"fee_percent": "0.02", "customer": "AMAZON-EU"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["enabled"].as_bool(), r.body["template"].as_str()),
        (Some(false), Some("paypal_payout")),
        "starts disabled"
    );
    assert_eq!(r.body["name"], "PayPal payout");
    assert_eq!(r.body["definition"]["then"][0], json!({"type": "set_tolerance", "percent": "0.02"}));
    assert_eq!(r.body["definition"]["then"][1], json!({"type": "assign_customer", "customer": "AMAZON-EU"}));
    let again = app.post(&from, &json!({"template": "paypal_payout"})).await;
    assert_eq!(again.status, 409, "the default name is taken: {}", again.text);
    let r = app.post(&from, &json!({"template": "vat_rate_difference", "name": "VAT 13/6", "parameters": {"paid_rate": "0.06"}, "enabled": true, "position": 1})).await;
    assert_eq!(
        (r.status, r.body["enabled"].as_bool(), r.body["position"].as_i64()),
        (201, Some(true), Some(1)),
        "{}",
        r.text
    );
    assert_eq!(r.body["definition"]["then"][0]["type"], "write_off_remainder");

    for (body, field) in [
        (json!({"template": "teleport"}), "template"),
        (json!({"template": "paypal_payout", "name": "p2", "parameters": {"fee": "0.02"}}), "parameters.fee"),
        (
            json!({"template": "paypal_payout", "name": "p2", "parameters": {"fee_percent": "0.9"}}),
            "parameters.fee_percent",
        ),
        (json!({"template": "paypal_payout", "name": "p2", "parameters": {"payer": "("}}), "parameters.payer"),
        (
            json!({"template": "fx_tolerance", "parameters": {"currencies": ["USD", "DOLLARS"]}}),
            "parameters.currencies[1]",
        ),
        (
            json!({"template": "vat_rate_difference", "name": "v2", "parameters": {"paid_rate": "0.2"}}),
            "parameters.paid_rate",
        ),
        (json!({"template": "paypal_payout", "name": "p2", "parameters": ["x"]}), "parameters"),
    ] {
        let r = app.post(&from, &body).await;
        assert_eq!((r.status, r.body["error"]["details"]["field"].as_str()), (422, Some(field)), "{body}: {}", r.text);
    }
    assert_eq!(app.get(RULES).await.body.as_array().map(Vec::len), Some(2), "refused ones saved nothing");
}

#[tokio::test]
async fn graphql_mirrors_rest() {
    let app = spawn_app().await;
    let key = Some(app.api_key.as_str());
    let create = "mutation($i: MatchingRuleInput!) { createMatchingRule(input: $i) { id name position version enabled definition } }";
    let r = app.graphql_as(key, create, json!({"i": {"name": "Rechnung", "definition": reference_rule()}})).await;
    let rule = r.body["data"]["createMatchingRule"].clone();
    assert_eq!((rule["position"].as_i64(), rule["version"].as_i64()), (Some(1), Some(1)), "{}", r.text);
    assert_eq!(rule["definition"]["then"][0]["prefix"], "INV-2026-");
    let r = app.graphql_as(key, create, json!({"i": {"name": "bad", "definition": {"then": []}}})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "validation_failed", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["field"], "definition.then", "{}", r.text);

    let from = "mutation($i: MatchingRuleFromTemplateInput!) { createMatchingRuleFromTemplate(input: $i) { id enabled template position } }";
    let r = app
        .graphql_as(
            key,
            from,
            json!({"i": {"template": "internal_transfer", "parameters": {"own_accounts": ["DE89370400440532013000"]}}}),
        )
        .await;
    let transfer = r.body["data"]["createMatchingRuleFromTemplate"].clone();
    assert_eq!((transfer["enabled"].as_bool(), transfer["position"].as_i64()), (Some(false), Some(2)), "{}", r.text);

    let update = "mutation($id: UUID!, $p: MatchingRulePatchInput!) { updateMatchingRule(id: $id, input: $p) { version enabled description } }";
    let r = app
        .graphql_as(
            key,
            update,
            json!({"id": rule["id"], "p": {"enabled": false, "description": "d", "expectedVersion": 1}}),
        )
        .await;
    assert_eq!(
        r.body["data"]["updateMatchingRule"],
        json!({"version": 2, "enabled": false, "description": "d"}),
        "{}",
        r.text
    );
    let r = app.graphql_as(key, update, json!({"id": rule["id"], "p": {"enabled": true, "expectedVersion": 1}})).await;
    assert_eq!(r.body["errors"][0]["extensions"]["code"], "conflict", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["current_version"], 2, "{}", r.text);
    let r = app.graphql_as(key, update, json!({"id": rule["id"], "p": {"description": null}})).await;
    assert_eq!(r.body["data"]["updateMatchingRule"]["description"], Value::Null, "{}", r.text);

    let reorder = "mutation($ids: [UUID!]!) { reorderMatchingRules(ids: $ids) { id position } }";
    let r = app.graphql_as(key, reorder, json!({"ids": [transfer["id"], rule["id"]]})).await;
    assert_eq!(r.body["data"]["reorderMatchingRules"][0]["id"], transfer["id"], "{}", r.text);

    let read = "query($id: UUID!) { matchingRules { name position } matchingRule(id: $id) { version } \
                matchingRuleVersions(id: $id) { version enabled changedByType } \
                matchingRuleVersion(id: $id, version: 1) { enabled definition } matchingRuleTemplates { key example { currency } parameters { key kind default } } }";
    let r = app.graphql_as(key, read, json!({"id": rule["id"]})).await;
    let data = &r.body["data"];
    assert_eq!(
        data["matchingRules"],
        app.get(RULES)
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| json!({"name": x["name"], "position": x["position"]}))
            .collect::<Value>(),
        "{}",
        r.text
    );
    assert_eq!(data["matchingRule"]["version"], 3);
    assert_eq!(data["matchingRuleVersions"].as_array().map(Vec::len), Some(3));
    assert_eq!(data["matchingRuleVersion"]["enabled"], true);
    let rest_templates = app.get("/api/v1/matching-rule-templates").await.body;
    assert_eq!(data["matchingRuleTemplates"].as_array().map(Vec::len), rest_templates.as_array().map(Vec::len));

    let retire = "mutation($id: UUID!) { retireMatchingRule(id: $id) { position retiredAt } }";
    let r = app.graphql_as(key, retire, json!({"id": rule["id"]})).await;
    assert!(r.body["data"]["retireMatchingRule"]["retiredAt"].is_string(), "{}", r.text);
    let r = app.graphql_as(key, "{ matchingRules(includeRetired: true) { name position } }", json!({})).await;
    assert_eq!(r.body["data"]["matchingRules"].as_array().map(Vec::len), Some(2), "{}", r.text);
    assert_eq!(r.body["data"]["matchingRules"][1]["position"], Value::Null, "{}", r.text);
}

/// docs/matching-rules.md has a section per template, with its example line as the API lists it.
#[tokio::test]
async fn every_template_is_documented_with_its_example_line() {
    let app = spawn_app().await;
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/matching-rules.md")).unwrap();
    let list = app.get("/api/v1/matching-rule-templates").await;
    for t in list.body.as_array().unwrap() {
        let key = t["key"].as_str().unwrap();
        let section = docs.split(&format!("### `{key}`")).nth(1).unwrap_or_else(|| panic!("no section for {key}"));
        let section = section.split("\n### ").next().unwrap();
        for field in [
            "counterparty_name",
            "remittance",
            "creditor_reference",
            "end_to_end_id",
            "amount",
            "bank_transaction_code",
        ] {
            if let Some(v) = t["example"][field].as_str() {
                assert!(section.contains(&format!("`{v}`")), "{key}: the example's {field} {v} is not in its section");
            }
        }
        for effect in t["example_effects"].as_array().unwrap() {
            assert!(section.contains(effect.as_str().unwrap()), "{key}: {effect}");
        }
    }
}
