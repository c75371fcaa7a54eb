//! The OpenAPI document is a contract for client generators: it must validate against the
//! official OpenAPI 3.1 schema, name every operation uniquely, resolve every reference, carry a
//! valid example for every request body, and list exactly the routes the app serves.

use crate::helpers::spawn_app;
use jsonschema::{Draft, Registry};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];
/// Where the test registers the document, so examples can be checked against its schemas.
const DOCUMENT_URI: &str = "https://duizhang.invalid/openapi.json";

fn document() -> Value {
    serde_json::from_str(&duizhang::api::rest::openapi_json()).expect("the document is JSON")
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/openapi-3.1/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// (method, path template, operation) of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

#[test]
fn openapi_document_validates_against_the_official_openapi_3_1_schema() {
    // schema-base also checks every Schema Object against the OpenAPI dialect of draft 2020-12.
    let registry = Registry::new()
        .draft(Draft::Draft202012)
        .add("https://spec.openapis.org/oas/3.1/schema/2022-10-07", fixture("schema.json"))
        .unwrap()
        .add("https://spec.openapis.org/oas/3.1/dialect/base", fixture("dialect-base.json"))
        .unwrap()
        .add("https://spec.openapis.org/oas/3.1/meta/base", fixture("meta-base.json"))
        .unwrap()
        .prepare()
        .unwrap();
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .with_registry(&registry)
        .build(&fixture("schema-base.json"))
        .expect("the official schema compiles offline");
    let doc = document();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{} errors, first ones: {:#?}", errors.len(), &errors[..errors.len().min(10)]);
    assert_eq!(doc["openapi"], "3.1.0");

    // The validator is not vacuous: a duplicated path parameter name and a missing info fail.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("info");
    assert!(!validator.is_valid(&broken));
    let mut broken = doc;
    broken["paths"]["/customers"]["get"]["responses"] = json!({"200": {"content": {}}});
    assert!(!validator.is_valid(&broken), "a response without a description must fail");
}

#[test]
fn every_operation_has_a_unique_camel_case_operation_id_a_declared_tag_and_a_summary() {
    let doc = document();
    let declared: BTreeSet<&str> = doc["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut used_tags = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let here = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{here}: no operationId"));
        let camel = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric())
            && id.chars().any(|c| c.is_ascii_uppercase());
        assert!(camel, "{here}: operationId {id:?} is not camelCase verbNoun");
        if let Some(other) = seen.insert(id.to_string(), here.clone()) {
            panic!("operationId {id:?} used by both {other} and {here}");
        }
        let tags: Vec<&str> = op["tags"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(tags.len(), 1, "{here}: tags {tags:?}");
        assert!(declared.contains(tags[0]), "{here}: tag {} is not declared", tags[0]);
        used_tags.insert(tags[0].to_string());
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{here}: no summary (doc comment)");
    }
    assert!(seen.len() >= 90, "only {} operations", seen.len());
    let declared: BTreeSet<String> = declared.into_iter().map(String::from).collect();
    assert_eq!(used_tags, declared, "a declared tag has no operation");
}

/// Collects every `$ref` with the JSON pointer of where it sits.
fn refs(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push((at.clone(), target.clone())),
                    _ => refs(v, format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_ref_resolves_and_error_answers_are_described_once() {
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, String::new(), &mut found);
    assert!(found.len() > 500, "only {} references", found.len());
    for (at, target) in &found {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{at}: external reference {target}"));
        assert!(doc.pointer(pointer).is_some(), "{at}: {target} does not resolve");
    }
    // Error answers are components/responses, referenced from each operation.
    let responses = doc["components"]["responses"].as_object().unwrap();
    for (method, path, op) in operations(&doc) {
        for (status, answer) in op["responses"].as_object().unwrap() {
            if status.as_str() < "400" {
                continue;
            }
            let target = answer["$ref"].as_str();
            assert!(
                target.is_some_and(|t| t.starts_with("#/components/responses/")),
                "{method} {path} {status}: error answer not referenced: {answer}"
            );
        }
        for status in ["401", "404", "422", "429"] {
            assert!(op["responses"].get(status).is_some(), "{method} {path}: no {status}");
        }
    }
    for (name, response) in responses {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
            "{name}"
        );
    }
    // Every schema component is used somewhere (none is left behind by a removed route).
    let targets: BTreeSet<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(targets.contains(format!("#/components/schemas/{name}").as_str()), "schema {name} is never used");
    }
}

#[test]
fn every_request_body_has_an_example_and_json_examples_match_their_schema() {
    let doc = document();
    let registry = Registry::new().draft(Draft::Draft202012).add(DOCUMENT_URI, doc.clone()).unwrap().prepare().unwrap();
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let Some(body) = op.get("requestBody") else { continue };
        for (media_type, content) in body["content"].as_object().unwrap() {
            let here = format!("{method} {path} ({media_type})");
            let example = content.get("example").unwrap_or_else(|| panic!("{here}: no example"));
            if media_type != "application/json" {
                assert!(example.as_str().is_some_and(|s| s.lines().count() >= 2), "{here}: example is not a file");
                continue;
            }
            // The body's schema, with its references resolved inside the registered document.
            let mut schema = content["schema"].clone();
            let mut inner = Vec::new();
            refs(&schema, String::new(), &mut inner);
            absolutize(&mut schema);
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .with_registry(&registry)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("{here}: schema does not compile: {e}"));
            let errors: Vec<String> =
                validator.iter_errors(example).map(|e| format!("{}: {e}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{here}: example does not match its schema: {errors:#?}");
            // A wrong field name must be caught (the input schemas refuse unknown fields).
            if inner.iter().any(|(_, t)| t.starts_with("#/components/schemas/")) && example.is_object() {
                let mut wrong = example.clone();
                wrong["no_such_field"] = json!(1);
                assert!(!validator.is_valid(&wrong), "{here}: schema accepts unknown fields");
            }
            checked += 1;
        }
    }
    assert!(checked >= 35, "only {checked} JSON examples checked");
}

/// Rewrites `#/...` references to the registered document's URI.
fn absolutize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if k == "$ref" && s.starts_with('#') => *s = format!("{DOCUMENT_URI}{s}"),
                    _ => absolutize(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(absolutize),
        _ => {}
    }
}

#[test]
fn the_routes_actix_serves_are_exactly_the_documented_operations() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let mut registered = BTreeSet::new();
    for (path, methods) in duizhang::api::rest::routes() {
        for method in methods {
            let method = serde_json::to_value(&method).unwrap().as_str().unwrap().to_string();
            assert!(registered.insert((method.clone(), path.clone())), "{method} {path} registered twice");
        }
    }
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");
}

/// Asks the running app for every documented operation: each must reach a handler (whatever it
/// then answers), not the fallback that answers routes it does not know.
#[tokio::test]
async fn every_documented_operation_reaches_a_handler_of_the_running_app() {
    let app = spawn_app().await;
    let doc = document();
    let fallback = |r: &crate::helpers::Response| {
        r.status == 404 && r.body["error"]["message"].as_str().is_some_and(|m| m.starts_with("no route for"))
    };
    let unknown = app.get("/api/v1/no-such-route").await;
    assert!(fallback(&unknown), "{}", unknown.text);
    let tenant = app.tenant_id.to_string();
    let id = uuid::Uuid::new_v4().to_string();
    for (method, path, _) in operations(&doc) {
        let concrete = path
            .replace("{tenant_id}", &tenant)
            .replace("{code}", "C-PROBE")
            .replace("{action}", "confirm")
            .replace("{connector_id}", &id)
            .replace("{id}", &id);
        let r = app.send(&method.to_uppercase(), &format!("/api/v1{concrete}"), Some(&app.api_key), None, &[]).await;
        assert!(!fallback(&r), "{method} {path} is documented but the app has no route for it");
        assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.text);
    }
    // The routes outside the REST scope that the document does not describe.
    for (method, path) in [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/graphql"), ("GET", "/api/v1/docs/")] {
        let r = app.send(method, path, None, None, &[]).await;
        assert_eq!(r.status, 200, "{method} {path}");
    }
}
