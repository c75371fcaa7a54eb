//! Deeply nested input must never take the process down: GraphQL documents nested in every way
//! the grammar recurses (values in arguments, list types, selection sets, inline fragments,
//! fragment chains, directives), variables and REST JSON bodies nested 10,000 deep are refused
//! with `nesting_too_deep` (400) before a recursive parser sees them, and the server answers
//! the next request. Without credentials the document is not even read.

use crate::helpers::{spawn_app, spawn_app_with, Response, TestApp};
use serde_json::{json, Value};

const DEEP: usize = 10_000;

fn code(r: &Response) -> &str {
    r.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

async fn graphql_raw(app: &TestApp, key: Option<&str>, body: Vec<u8>) -> Response {
    app.send("POST", "/graphql", key, Some(("application/json", body)), &[]).await
}

/// The server still answers an ordinary query (a crashed worker aborts the whole process).
async fn assert_alive(app: &TestApp) {
    let r = app.graphql_as(Some(&app.api_key), "{ customers { items { code } } }", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["data"]["customers"]["items"].is_array(), "{}", r.text);
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[tokio::test]
async fn graphql_documents_nested_ten_thousand_deep_are_refused_and_the_server_keeps_answering() {
    let app = spawn_app().await;
    let documents = [
        ("list in an argument", format!("{{customers(code: {}){{items{{code}}}}}}", nested("[", "\"x\"", "]", DEEP))),
        ("object in an argument", format!("{{customers(code: {}){{items{{code}}}}}}", nested("{a:", "1", "}", DEEP))),
        ("list type of a variable", format!("query($a: {}) {{ __typename }}", nested("[", "String", "]", DEEP))),
        ("selection sets", format!("{{ customers {} }}", nested("{ items ", "code", "}", DEEP))),
        ("inline fragments", format!("{{ {} }}", nested("... on QueryRoot { ", "__typename", "}", DEEP))),
        ("value in a directive", format!("{{ __typename @include(if: {}) }}", nested("[", "true", "]", DEEP))),
    ];
    for (what, query) in documents {
        let r = app.graphql_as(Some(&app.api_key), &query, json!({})).await;
        assert_eq!(r.status, 400, "{what}: {}", &r.text[..r.text.len().min(400)]);
        assert_eq!(code(&r), "nesting_too_deep", "{what}: {}", r.text);
        assert_eq!(r.body["errors"][0]["extensions"]["details"]["max_depth"], 64, "{what}");
        assert_alive(&app).await;
    }
}

#[tokio::test]
async fn variables_and_rest_bodies_nested_ten_thousand_deep_are_refused() {
    let app = spawn_app().await;
    app.create_customer("C1").await;
    let query = "query($c: String) { customers(code: $c) { items { code } } }";
    for variables in [nested("[", "1", "]", DEEP), nested("{\"a\":", "1", "}", DEEP)] {
        let body = format!("{{\"query\": {}, \"variables\": {{\"c\": {variables}}}}}", json!(query));
        let r = graphql_raw(&app, Some(&app.api_key), body.into_bytes()).await;
        assert_eq!(r.status, 400, "{}", &r.text[..r.text.len().min(400)]);
        assert_eq!(code(&r), "nesting_too_deep", "{}", r.text);
        assert_alive(&app).await;
    }
    let deep_object = format!("{{\"code\": \"C9\", \"name\": \"x\", \"aliases\": {}}}", nested("[", "", "]", DEEP));
    let deep_array = nested("[", "", "]", DEEP);
    let routes: [(&str, &str, &str, &String); 7] = [
        ("POST", "/api/v1/customers", "application/json", &deep_object),
        ("PATCH", "/api/v1/customers/C1", "application/json", &deep_object),
        ("POST", "/api/v1/customers/import", "application/json", &deep_array),
        ("POST", "/api/v1/documents/import", "application/json", &deep_array),
        ("POST", "/api/v1/customers/C1/statements", "application/json", &deep_object),
        ("POST", "/api/v1/fx-rates", "application/json", &deep_array),
        // Undeclared bodies are read as JSON by the handlers, so they are checked too.
        ("POST", "/api/v1/webhook-endpoints", "", &deep_object),
    ];
    for (method, path, content_type, body) in routes {
        let headers: Vec<(&str, &str)> =
            if content_type.is_empty() { vec![] } else { vec![("content-type", content_type)] };
        let mut h = headers.clone();
        let auth = format!("Bearer {}", app.api_key);
        h.push(("authorization", &auth));
        let r = app
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.address))
            .headers(h.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 400, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "nesting_too_deep", "{method} {path}: {answer}");
    }
    assert_eq!(app.count("customers"), 1, "nothing written");
    assert_eq!(app.get("/api/v1/customers/C1").await.status, 200, "the server still answers");
}

#[tokio::test]
async fn nesting_at_the_limit_is_parsed_as_usual() {
    let app = spawn_app_with(|s| {
        s.graphql_max_nesting = 64;
        s.max_json_depth = 64;
    })
    .await;
    // 64 levels in all: `{`, `(`, then 62 lists.
    let at_limit = format!("{{customers(code: {}){{items{{code}}}}}}", nested("[", "\"x\"", "]", 62));
    let r = app.graphql_as(Some(&app.api_key), &at_limit, json!({})).await;
    assert_eq!(code(&r), "bad_request", "parsed, then refused by validation: {}", r.text);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("Invalid value"), "{}", r.text);
    let over = format!("{{customers(code: {}){{items{{code}}}}}}", nested("[", "\"x\"", "]", 63));
    let r = app.graphql_as(Some(&app.api_key), &over, json!({})).await;
    assert_eq!(code(&r), "nesting_too_deep", "{}", r.text);
    // The JSON body: the request object and `variables` are two levels, the value 62 more.
    let value: Value = serde_json::from_str(&nested("[", "1", "]", 62)).unwrap();
    let r = app
        .graphql_as(
            Some(&app.api_key),
            "query($c: String) { customers(code: $c) { items { code } } }",
            json!({"c": value}),
        )
        .await;
    assert_eq!(code(&r), "bad_request", "{}", r.text);
    let value: Value = serde_json::from_str(&nested("[", "1", "]", 63)).unwrap();
    let r = app.graphql_as(Some(&app.api_key), "{ __typename }", json!({"c": value})).await;
    assert_eq!(code(&r), "nesting_too_deep", "{}", r.text);
}

#[tokio::test]
async fn fragment_chains_and_directives_are_bounded() {
    let app = spawn_app().await;
    // Validation follows a chain of fragments recursively, reachable or not: 20,000 of them
    // overflowed the stack. The count is limited before parsing.
    let mut chain = String::from("{ __typename }\n");
    for i in 0..20_000 {
        chain.push_str(&format!("fragment F{i} on QueryRoot {{ ...F{} }}\n", i + 1));
    }
    let r = app.graphql_as(Some(&app.api_key), &chain, json!({})).await;
    assert_eq!(r.status, 400, "{}", &r.text[..r.text.len().min(400)]);
    assert_eq!(code(&r), "bad_request", "{}", r.text);
    assert_eq!(r.body["errors"][0]["extensions"]["details"]["limit"], "fragments", "{}", r.text);
    // A chain within the count but deeper than the recursion bound is refused by validation.
    let mut chain = String::from("{ ...F0 }\n");
    for i in 0..90 {
        chain.push_str(&format!("fragment F{i} on QueryRoot {{ ...F{} }}\n", i + 1));
    }
    chain.push_str("fragment F90 on QueryRoot { __typename }\n");
    let r = app.graphql_as(Some(&app.api_key), &chain, json!({})).await;
    assert_eq!(code(&r), "bad_request", "{}", r.text);
    assert!(r.text.contains("recursion depth"), "{}", r.text);
    let directives = format!("{{ __typename {} }}", "@include(if: true) ".repeat(11));
    let r = app.graphql_as(Some(&app.api_key), &directives, json!({})).await;
    assert_eq!(code(&r), "bad_request", "{}", r.text);
    assert!(r.text.contains("directives"), "{}", r.text);
    assert_alive(&app).await;
}

#[tokio::test]
async fn without_credentials_nothing_is_parsed_and_introspection_needs_credentials() {
    let app = spawn_app().await;
    let deep = format!("{{customers(code: {}){{items{{code}}}}}}", nested("[", "\"x\"", "]", DEEP));
    for query in ["{ __typename }", "{ __schema { queryType { name } } }", deep.as_str(), "{ not valid"] {
        let r = app.graphql_as(None, query, json!({})).await;
        assert_eq!(r.status, 401, "{}", &r.text[..r.text.len().min(300)]);
        assert_eq!(code(&r), "unauthenticated", "{}", r.text);
    }
    // Not even a malformed body is read.
    let r = graphql_raw(&app, None, b"\x00\x01 not json".to_vec()).await;
    assert_eq!((r.status, code(&r)), (401, "unauthenticated"), "{}", r.text);
    let r = app.graphql_as(Some("dz_000000000000_guess"), "{ __typename }", json!({})).await;
    assert_eq!((r.status, code(&r)), (401, "unauthenticated"), "{}", r.text);
    // With credentials, introspection and suggestions work.
    let r = app.graphql_as(Some(&app.api_key), "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(r.body["data"]["__schema"]["queryType"]["name"], "QueryRoot", "{}", r.text);
    let r = app.graphql_as(Some(&app.api_key), "{ customer { code } customerz }", json!({})).await;
    assert!(r.text.contains("Did you mean"), "suggestions for credentialed callers: {}", r.text);
}

#[tokio::test]
async fn introspection_can_be_public_or_off() {
    let public = spawn_app_with(|s| s.graphql_introspection = duizhang::config::Introspection::Public).await;
    let r = public.graphql_as(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(r.body["data"]["__schema"]["queryType"]["name"], "QueryRoot", "{}", r.text);
    // Only introspection: data stays behind credentials, and no suggestions leak field names.
    for query in
        ["{ customers { items { code } } }", "{ __typename ... on QueryRoot { customers { items { code } } } }"]
    {
        let r = public.graphql_as(None, query, json!({})).await;
        assert_eq!((r.status, code(&r)), (401, "unauthenticated"), "{}", r.text);
    }
    let r = public.graphql_as(None, "{ __type(name: \"CustomerVie\") { name fieldz } }", json!({})).await;
    assert!(r.body["errors"].is_array() && !r.text.contains("Did you mean"), "{}", r.text);
    // Anonymous documents are checked for nesting like any other.
    let deep = format!("{{ __type(name: {}) {{ name }} }}", nested("[", "\"x\"", "]", DEEP));
    let r = public.graphql_as(None, &deep, json!({})).await;
    assert_eq!(code(&r), "nesting_too_deep", "{}", r.text);
    // Invalid credentials are refused, not treated as none.
    let r = public.graphql_as(Some("dz_000000000000_guess"), "{ __typename }", json!({})).await;
    assert_eq!(code(&r), "unauthenticated", "{}", r.text);

    let off = spawn_app_with(|s| {
        s.graphql_introspection = duizhang::config::Introspection::Off;
        s.graphiql = false;
    })
    .await;
    let r = off.graphql_as(Some(&off.api_key), "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!((r.status, code(&r)), (403, "forbidden"), "{}", r.text);
    let r = off.graphql_as(Some(&off.api_key), "{ customers { items { code } } }", json!({})).await;
    assert!(r.body["data"]["customers"]["items"].is_array(), "{}", r.text);
    let r = off.send("GET", "/graphql", None, None, &[]).await;
    assert_eq!((r.status, r.error_code()), (404, "not_found"), "GraphiQL switched off: {}", r.text);
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random document nesting the grammar's recursive constructs `depth` frames deep, with
/// brackets hidden in strings, block strings and comments along the way. Returns the document
/// and its real bracket depth.
fn random_document(rng: &mut Rng, frames: usize) -> (String, usize) {
    const FRAMES: [(&str, &str, usize); 7] = [
        ("{ f ", " }", 1),
        (" f(a: [", "]) ", 2),
        ("[", "]", 1),
        ("{k: ", "}", 1),
        ("... on QueryRoot { ", " }", 1),
        (" @include(if: [", "]) ", 2),
        ("query($v: [", "]) { x }", 2),
    ];
    const NOISE: [&str; 5] = [" \"[[{{(( \\\" \" ", " \"\"\" {{[[ \\\"\"\" (( \"\"\" ", " # ((([[[{{{\n", ", ", " x "];
    let mut text = String::from("{");
    let mut closers = vec!["}"];
    let mut depth = 1;
    for _ in 0..frames {
        let (open, close, brackets) = FRAMES[rng.below(FRAMES.len() as u64) as usize];
        text.push_str(open);
        if rng.below(4) == 0 {
            text.push_str(NOISE[rng.below(NOISE.len() as u64) as usize]);
        }
        closers.push(close);
        depth += brackets;
    }
    text.push_str("true");
    while let Some(close) = closers.pop() {
        text.push_str(close);
    }
    (text, depth)
}

#[tokio::test]
async fn generated_nested_documents_never_stop_the_server() {
    let app = spawn_app().await;
    let max = 64;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut outcomes = [0, 0];
    for case in 0..120 {
        let frames = match case % 3 {
            0 => rng.below(40) as usize,
            1 => 20 + rng.below(40) as usize,
            _ => rng.below(6000) as usize,
        };
        let (document, depth) = random_document(&mut rng, frames);
        let r = app.graphql_as(Some(&app.api_key), &document, json!({})).await;
        let refused = code(&r) == "nesting_too_deep";
        assert_eq!(refused, depth > max, "case {case} (depth {depth}): {}", &r.text[..r.text.len().min(300)]);
        assert!(r.status == 200 || r.status == 400, "case {case}: {} {}", r.status, r.text);
        outcomes[usize::from(refused)] += 1;
        if !refused {
            assert!(r.body["errors"].is_array() || r.body["data"].is_object(), "case {case}: {}", r.text);
        }
    }
    assert!(outcomes[0] > 20 && outcomes[1] > 20, "both sides of the limit were tried: {outcomes:?}");
    assert_alive(&app).await;
}
