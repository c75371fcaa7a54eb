//! A generic JSON/REST connector: any API that lists invoices as JSON, described by a config:
//! a URL template, where the records are in the answer, how each of our document fields is
//! found in a record, which record field orders the sync (the incremental cursor), and how the
//! API pages. Paths use the small syntax of `domain::json_path` (`data.items`, `lines[0].total`).

use super::http::{same_origin_link, urlencode};
use super::{text_value, Batch, Page, SyncEnv};
use crate::domain::json_path::JsonPath;
use base64::Engine;
use reqwest::header::{HeaderName, AUTHORIZATION};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `config` of a generic JSON connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericJsonConfig {
    /// The list URL. Placeholders: `{base}` (base_url), `{cursor}` (the incremental cursor,
    /// URL-encoded; empty on the first sync), and `{page}`, `{offset}`, `{limit}` for paging
    /// (absent: the paging parameters are appended to the query).
    pub url: String,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Path to the array of records in an answer; empty: the answer is the array.
    #[serde(default)]
    pub records_path: String,
    pub mapping: DocumentMapping,
    /// Path (in a record) of the value the sync advances by, e.g. `updated_at`: after a
    /// complete pass the cursor is the largest value seen.
    #[serde(default)]
    pub cursor_field: Option<String>,
    #[serde(default)]
    pub paging: Paging,
    /// Used when `mapping.currency` is absent or empty in a record.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// Values found at `mapping.doc_type` and the kind they mean; empty: the values must be
    /// `invoice` or `credit_note` themselves.
    #[serde(default)]
    pub doc_type_values: BTreeMap<String, DocKind>,
    /// A negative amount makes a credit note of the absolute amount.
    #[serde(default = "yes")]
    pub negative_amount_is_credit_note: bool,
    /// Recorded on the documents (`source_system`).
    #[serde(default = "default_source")]
    pub source_system: String,
}

fn yes() -> bool {
    true
}

fn default_source() -> String {
    "generic_json".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Invoice,
    CreditNote,
}

/// Our document fields and the path of each in a record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentMapping {
    pub doc_no: String,
    pub customer_code: String,
    pub issue_date: String,
    pub amount: String,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub external_reference: Option<String>,
    /// Path of the kind (see `doc_type_values`); absent: invoices (or credit notes by sign).
    #[serde(default)]
    pub doc_type: Option<String>,
}

/// How the API pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
    /// One request.
    #[default]
    None,
    /// `param=start, start+1, ...` until a page is empty or shorter than `page_size`.
    Page {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default = "one")]
        start: u64,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        page_size: Option<u32>,
    },
    /// `param=0, limit, 2*limit, ...` with `limit_param=limit`, until a page is shorter than `limit`.
    Offset {
        #[serde(default = "offset_param")]
        param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        #[serde(default = "default_limit")]
        limit: u32,
    },
    /// The answer's value at `next_path` is sent as `param` for the next page; absent or empty: done.
    Cursor {
        next_path: String,
        #[serde(default = "cursor_param")]
        param: String,
    },
    /// The answer's value at `next_path` is the next page's URL (same origin); absent: done.
    Link { next_path: String },
}

fn page_param() -> String {
    "page".into()
}
fn one() -> u64 {
    1
}
fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn default_limit() -> u32 {
    100
}
fn cursor_param() -> String {
    "cursor".into()
}

/// Optional credentials: one of a bearer token, a header (name and value) or HTTP basic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericJsonCredentials {
    pub bearer_token: Option<String>,
    pub header_name: Option<String>,
    pub header_value: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl GenericJsonCredentials {
    /// Checks that exactly one way to authenticate is given, completely.
    pub fn validate(&self) -> Result<(), String> {
        let styles = [
            self.bearer_token.is_some(),
            self.header_name.is_some() || self.header_value.is_some(),
            self.username.is_some() || self.password.is_some(),
        ];
        if styles.iter().filter(|s| **s).count() > 1 {
            return Err("give one of bearer_token, header_name/header_value or username/password".into());
        }
        if self.header_name.is_some() != self.header_value.is_some() {
            return Err("header_name and header_value go together".into());
        }
        if let Some(name) = &self.header_name {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("header_name {name:?} is not a header name"))?;
        }
        if self.password.is_some() && self.username.is_none() {
            return Err("password needs a username".into());
        }
        Ok(())
    }

    fn headers(&self) -> Result<Vec<(HeaderName, String)>, String> {
        if let Some(token) = &self.bearer_token {
            return Ok(vec![(AUTHORIZATION, format!("Bearer {token}"))]);
        }
        if let (Some(name), Some(value)) = (&self.header_name, &self.header_value) {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "invalid header_name".to_string())?;
            return Ok(vec![(name, value.clone())]);
        }
        if let Some(user) = &self.username {
            let pair = format!("{user}:{}", self.password.as_deref().unwrap_or(""));
            let basic = base64::engine::general_purpose::STANDARD.encode(pair);
            return Ok(vec![(AUTHORIZATION, format!("Basic {basic}"))]);
        }
        Ok(vec![])
    }
}

/// The config with its paths parsed.
struct Compiled {
    records: JsonPath,
    doc_no: JsonPath,
    customer_code: JsonPath,
    issue_date: JsonPath,
    amount: JsonPath,
    due_date: Option<JsonPath>,
    currency: Option<JsonPath>,
    external_reference: Option<JsonPath>,
    doc_type: Option<JsonPath>,
    cursor_field: Option<JsonPath>,
    next: Option<JsonPath>,
}

/// A config mistake: the field (under `config.`) and what is wrong.
pub type Invalid = (String, String);

const PLACEHOLDERS: [&str; 5] = ["base", "cursor", "page", "offset", "limit"];

impl GenericJsonConfig {
    fn compile(&self) -> Result<Compiled, Invalid> {
        let path = |field: &str, p: &str| JsonPath::parse(p).map_err(|e| (format!("config.{field}"), e));
        let opt = |field: &str, p: &Option<String>| p.as_deref().map(|p| path(field, p)).transpose();
        let m = &self.mapping;
        let next = match &self.paging {
            Paging::Cursor { next_path, .. } | Paging::Link { next_path } => Some(path("paging.next_path", next_path)?),
            _ => None,
        };
        Ok(Compiled {
            records: path("records_path", &self.records_path)?,
            doc_no: path("mapping.doc_no", &m.doc_no)?,
            customer_code: path("mapping.customer_code", &m.customer_code)?,
            issue_date: path("mapping.issue_date", &m.issue_date)?,
            amount: path("mapping.amount", &m.amount)?,
            due_date: opt("mapping.due_date", &m.due_date)?,
            currency: opt("mapping.currency", &m.currency)?,
            external_reference: opt("mapping.external_reference", &m.external_reference)?,
            doc_type: opt("mapping.doc_type", &m.doc_type)?,
            cursor_field: opt("cursor_field", &self.cursor_field)?,
            next,
        })
    }

    /// Everything a sync would trip over, found when the config is saved. Returns the URL of
    /// the first request (for the SSRF check).
    pub fn validate(&self) -> Result<String, Invalid> {
        self.compile()?;
        let bad = |field: &str, msg: String| Err((format!("config.{field}"), msg));
        let mut rest = self.url.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').map(|c| c + open);
            let Some(close) = close else { return bad("url", "a '{' is not closed".into()) };
            let name = &rest[open + 1..close];
            if !PLACEHOLDERS.contains(&name) {
                return bad(
                    "url",
                    format!(
                        "unknown placeholder {{{name}}}: use {{base}}, {{cursor}}, {{page}}, {{offset}} or {{limit}}"
                    ),
                );
            }
            rest = &rest[close + 1..];
        }
        if self.url.contains("{base}") && self.base_url.is_none() {
            return bad("base_url", "required by the {base} placeholder".into());
        }
        if self.mapping.currency.is_none() && self.default_currency.is_none() {
            return bad("mapping.currency", "map a currency or set default_currency".into());
        }
        if let Some(c) = &self.default_currency {
            crate::domain::money::Currency::parse(c)
                .map_err(|e| ("config.default_currency".to_string(), e.to_string()))?;
        }
        if !self.doc_type_values.is_empty() && self.mapping.doc_type.is_none() {
            return bad("doc_type_values", "needs mapping.doc_type".into());
        }
        match &self.paging {
            Paging::Page { page_size: Some(0), .. } => return bad("paging.page_size", "at least 1".into()),
            Paging::Offset { limit, .. } if !(1..=10_000).contains(limit) => {
                return bad("paging.limit", "1 to 10000".into())
            }
            _ => {}
        }
        if self.source_system.trim().is_empty() || self.source_system.len() > 50 {
            return bad("source_system", "1 to 50 characters".into());
        }
        Ok(self.page_url(None, &Resume::Start))
    }

    fn page_url(&self, since: Option<&str>, at: &Resume) -> String {
        if let Resume::Url(u) = at {
            return u.clone();
        }
        let mut url = self
            .url
            .replace("{base}", self.base_url.as_deref().unwrap_or("").trim_end_matches('/'))
            .replace("{cursor}", &urlencode(since.unwrap_or("")));
        let mut params: Vec<(String, String)> = vec![];
        let mut put = |url: &mut String, placeholder: &str, param: &str, value: String| {
            if url.contains(placeholder) {
                *url = url.replace(placeholder, &value);
            } else {
                params.push((param.to_string(), value));
            }
        };
        match (&self.paging, at) {
            (Paging::Page { param, start, size_param, page_size }, _) => {
                let n = if let Resume::Page(n) = at { *n } else { *start };
                put(&mut url, "{page}", param, n.to_string());
                if let (Some(sp), Some(size)) = (size_param, page_size) {
                    put(&mut url, "{limit}", sp, size.to_string());
                }
            }
            (Paging::Offset { param, limit_param, limit }, _) => {
                let n = if let Resume::Offset(n) = at { *n } else { 0 };
                put(&mut url, "{offset}", param, n.to_string());
                put(&mut url, "{limit}", limit_param, limit.to_string());
            }
            (Paging::Cursor { param, .. }, Resume::Cursor(c)) => params.push((param.clone(), c.clone())),
            _ => {}
        }
        for (k, v) in params {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{}={}", urlencode(&k), urlencode(&v)));
        }
        url
    }
}

/// Where the next request of a pass starts.
#[derive(Debug, Clone, PartialEq)]
enum Resume {
    Start,
    Page(u64),
    Offset(u64),
    Cursor(String),
    Url(String),
}

impl Resume {
    fn from_value(v: Option<&Value>) -> Resume {
        let Some(v) = v else { return Resume::Start };
        if let Some(n) = v.get("page").and_then(Value::as_u64) {
            Resume::Page(n)
        } else if let Some(n) = v.get("offset").and_then(Value::as_u64) {
            Resume::Offset(n)
        } else if let Some(c) = v.get("cursor").and_then(Value::as_str) {
            Resume::Cursor(c.into())
        } else if let Some(u) = v.get("url").and_then(Value::as_str) {
            Resume::Url(u.into())
        } else {
            Resume::Start
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Resume::Start => Value::Null,
            Resume::Page(n) => json!({ "page": n }),
            Resume::Offset(n) => json!({ "offset": n }),
            Resume::Cursor(c) => json!({ "cursor": c }),
            Resume::Url(u) => json!({ "url": u }),
        }
    }
}

/// The larger of two cursor values: numbers numerically, anything else as text (ISO dates and
/// timestamps order correctly as text).
fn later(a: Option<Value>, b: &Value) -> Option<Value> {
    let text = |v: &Value| text_value(v);
    match (&a, b) {
        (_, Value::Null) => a,
        (None, _) => text(b).map(|_| b.clone()),
        (Some(Value::Number(x)), Value::Number(y)) => {
            if y.as_f64() > x.as_f64() {
                Some(b.clone())
            } else {
                a
            }
        }
        (Some(x), y) => {
            if text(y) > text(x) {
                Some(y.clone())
            } else {
                a
            }
        }
    }
}

fn kind_of(config: &GenericJsonConfig, raw: &str) -> Result<DocKind, String> {
    if config.doc_type_values.is_empty() {
        return match raw {
            "invoice" => Ok(DocKind::Invoice),
            "credit_note" => Ok(DocKind::CreditNote),
            _ => Err(format!("doc_type {raw:?} is not invoice or credit_note (map it with doc_type_values)")),
        };
    }
    config.doc_type_values.get(raw).copied().ok_or_else(|| format!("doc_type {raw:?} is not in doc_type_values"))
}

/// A date, or the date part of a timestamp (`2026-10-01T10:00:00Z`).
fn date_text(field: &str, raw: String) -> Result<String, String> {
    let day = raw.get(..10).unwrap_or(&raw);
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| format!("{field} {raw:?} is not a date"))?;
    Ok(day.to_string())
}

fn map_record(config: &GenericJsonConfig, c: &Compiled, r: &Value) -> Result<Value, String> {
    let get = |p: &JsonPath| p.get(r).and_then(text_value);
    let req = |field: &str, p: &JsonPath| get(p).ok_or_else(|| format!("{field} (at {p}) is missing"));
    let doc_no = req("doc_no", &c.doc_no)?;
    let currency =
        c.currency.as_ref().and_then(get).or_else(|| config.default_currency.clone()).ok_or("currency is missing")?;
    let raw = req("amount", &c.amount)?;
    let signed = super::amount(&raw, &currency).map_err(|e| format!("amount {e}"))?;
    let mut kind = match c.doc_type.as_ref().and_then(get) {
        Some(raw) => kind_of(config, &raw)?,
        None => DocKind::Invoice,
    };
    if signed.is_sign_negative() && config.negative_amount_is_credit_note && kind == DocKind::Invoice {
        kind = DocKind::CreditNote;
    }
    let due = c.due_date.as_ref().and_then(get).map(|d| date_text("due_date", d)).transpose()?;
    Ok(json!({
        "doc_type": if kind == DocKind::CreditNote { "credit_note" } else { "invoice" },
        "doc_no": doc_no,
        "customer_code": req("customer_code", &c.customer_code)?,
        "issue_date": date_text("issue_date", req("issue_date", &c.issue_date)?)?,
        "due_date": due,
        "currency": currency,
        "amount": signed.abs().to_string(),
        "external_reference": c.external_reference.as_ref().and_then(get).unwrap_or_else(|| doc_no.clone()),
        "source_system": config.source_system,
    }))
}

pub async fn sync(env: &SyncEnv<'_>, config: &GenericJsonConfig, creds: &GenericJsonCredentials) -> Result<(), String> {
    let c = config.compile().map_err(|(field, e)| format!("invalid config: {field}: {e}"))?;
    let headers = creds.headers()?;
    let stored = env.cursor;
    let since = stored.get("since").and_then(text_value);
    let mut max_seen = stored.get("max_seen").cloned().filter(|v| !v.is_null());
    let mut at = Resume::from_value(stored.get("resume").filter(|v| !v.is_null()));
    let mut pages = 0;
    loop {
        pages += 1;
        let url = config.page_url(since.as_deref(), &at);
        let answer = env.http.get_json(&url, &headers, "the API").await?;
        let records = match c.records.get(&answer) {
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(format!("malformed answer from the API: {:?} is not an array", config.records_path)),
            None => return Err(format!("malformed answer from the API: nothing at {:?}", config.records_path)),
        };
        let (mut rows, mut names, mut rejected) = (vec![], vec![], vec![]);
        for r in &records {
            if let Some(f) = &c.cursor_field {
                if let Some(v) = f.get(r) {
                    max_seen = later(max_seen, v);
                }
            }
            let name = c.doc_no.get(r).and_then(text_value).unwrap_or_default();
            match map_record(config, &c, r) {
                Ok(row) => {
                    rows.push(row);
                    names.push(name);
                }
                Err(error) => rejected.push(json!({ "kind": "documents", "record": name, "error": error })),
            }
        }
        let n = records.len() as u64;
        let next = match &config.paging {
            Paging::None => None,
            Paging::Page { start, page_size, .. } => {
                let current = if let Resume::Page(p) = at { p } else { *start };
                let short = page_size.is_some_and(|s| n < s as u64);
                (n > 0 && !short).then_some(Resume::Page(current + 1))
            }
            Paging::Offset { limit, .. } => {
                let current = if let Resume::Offset(o) = at { o } else { 0 };
                (n >= *limit as u64).then_some(Resume::Offset(current + n))
            }
            Paging::Cursor { .. } => {
                c.next.as_ref().and_then(|p| p.get(&answer)).and_then(text_value).filter(|_| n > 0).map(Resume::Cursor)
            }
            Paging::Link { .. } => match c.next.as_ref().and_then(|p| p.get(&answer)).and_then(text_value) {
                Some(href) => Some(Resume::Url(same_origin_link(&url, &href)?)),
                None => None,
            },
        };
        if next.as_ref() == Some(&at) || matches!(&next, Some(Resume::Url(u)) if *u == url) {
            return Err("the API answered the same next page again".into());
        }
        let cursor = match &next {
            Some(resume) => json!({ "since": since, "resume": resume.to_value(), "max_seen": max_seen }),
            // A complete pass: the next one asks for records from the largest value seen on.
            None => {
                json!({ "since": max_seen.as_ref().and_then(text_value).or(since.clone()), "resume": null, "max_seen": null })
            }
        };
        let batches = vec![Batch::Documents { kind: "documents", rows, names }];
        env.sink.commit(Page { cursor, batches, rejected }).await?;
        match next {
            // A pass that never ends (an API that pages forever) stops here; the stored resume
            // point lets the next sync continue where this one stopped.
            Some(_) if pages >= super::MAX_PAGES_PER_SYNC => return Ok(()),
            Some(resume) => at = resume,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> GenericJsonConfig {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> Value {
        json!({
            "url": "{base}/invoices?updated_since={cursor}",
            "base_url": "https://api.example.com/",
            "records_path": "data.items",
            "mapping": { "doc_no": "number", "customer_code": "customer.code", "issue_date": "issued_at",
                         "amount": "totals[0].gross", "currency": "currency", "doc_type": "type" },
            "doc_type_values": { "INV": "invoice", "CRN": "credit_note" },
            "cursor_field": "updated_at",
            "paging": { "style": "page", "param": "page", "start": 1 },
        })
    }

    #[test]
    fn builds_page_urls_and_maps_records() {
        let c = config(base());
        assert_eq!(c.validate().unwrap(), "https://api.example.com/invoices?updated_since=&page=1");
        assert_eq!(
            c.page_url(Some("2026-10-05T10:00:00Z"), &Resume::Page(3)),
            "https://api.example.com/invoices?updated_since=2026-10-05T10%3A00%3A00Z&page=3"
        );
        let compiled = c.compile().unwrap();
        let row = map_record(
            &c,
            &compiled,
            &json!({"number":"F-1","customer":{"code":"C1"},"issued_at":"2026-10-01T08:00:00Z",
                    "totals":[{"gross":"-119.00"}],"currency":"EUR","type":"INV"}),
        )
        .unwrap();
        assert_eq!(row["doc_type"], "credit_note", "negative invoice");
        assert_eq!(row["amount"], "119");
        assert_eq!(row["issue_date"], "2026-10-01");
        let err = map_record(
            &c,
            &compiled,
            &json!({"number":"F-2","customer":{"code":"C1"},"issued_at":"2026-10-01",
            "totals":[{"gross":1}],"currency":"EUR","type":"XX"}),
        )
        .unwrap_err();
        assert!(err.contains("XX"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let invalid = |patch: Value| {
            let mut v = base();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            config(v).validate().unwrap_err().0
        };
        assert_eq!(invalid(json!({"records_path": "data..items"})), "config.records_path");
        assert_eq!(invalid(json!({"url": "{base}/x?since={since}"})), "config.url");
        let mut v = base();
        v["mapping"]["amount"] = json!("totals[x]");
        assert_eq!(config(v).validate().unwrap_err().0, "config.mapping.amount");
        let mut v = base();
        v["mapping"].as_object_mut().unwrap().remove("currency");
        assert_eq!(config(v).validate().unwrap_err().0, "config.mapping.currency");
        assert!(serde_json::from_value::<GenericJsonConfig>(json!({"url":"x","mapping":{"doc_no":"a"}})).is_err());
        let mut v = base();
        v["paging"] = json!({"style":"cursor","next_path":"meta.next","bogus":1});
        assert!(serde_json::from_value::<GenericJsonConfig>(v).is_err(), "unknown paging field");
    }

    #[test]
    fn cursor_values_compare_by_type() {
        assert_eq!(later(None, &json!("2026-10-01")), Some(json!("2026-10-01")));
        assert_eq!(later(Some(json!("2026-10-02")), &json!("2026-10-01")), Some(json!("2026-10-02")));
        assert_eq!(later(Some(json!(9)), &json!(10)), Some(json!(10)));
    }
}
