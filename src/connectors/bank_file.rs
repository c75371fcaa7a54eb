//! A bank statement file (camt.053/054, MT940, CSV, BAI2) fetched over HTTP(S), skipped when
//! unchanged (ETag / Last-Modified, then the file's SHA-256).

use super::http::{status_error, MAX_FILE_BYTES};
use super::{Batch, Page, StatementFile, SyncEnv};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `config` of a bank file connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankFileConfig {
    pub url: String,
    /// camt053, camt054, mt940, csv or bai2; absent: detected from the file.
    pub format: Option<String>,
    /// Forces the bank account of every line (files that do not name one).
    pub bank_account: Option<String>,
}

/// Optional credentials of a bank file connector: a bearer token or HTTP basic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankFileCredentials {
    pub bearer_token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl BankFileCredentials {
    /// The `Authorization` header value, if any.
    pub fn authorization(&self) -> Option<String> {
        if let Some(token) = &self.bearer_token {
            Some(format!("Bearer {token}"))
        } else {
            self.username.as_ref().map(|user| {
                let pair = format!("{user}:{}", self.password.as_deref().unwrap_or(""));
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
            })
        }
    }
}

pub async fn sync(env: &SyncEnv<'_>, config: &BankFileConfig, creds: &BankFileCredentials) -> Result<(), String> {
    let http = env.http;
    let target = http.check_target(&config.url)?;
    let cursor = env.cursor;
    let etag = cursor.get("etag").and_then(Value::as_str).map(str::to_string);
    let last_modified = cursor.get("last_modified").and_then(Value::as_str).map(str::to_string);
    let auth = creds.authorization();
    let response = http
        .send_with_retries(|| {
            let mut r = http.client.get(target.clone());
            if let Some(a) = &auth {
                r = r.header(reqwest::header::AUTHORIZATION, a);
            }
            if let Some(e) = &etag {
                r = r.header(reqwest::header::IF_NONE_MATCH, e);
            } else if let Some(m) = &last_modified {
                r = r.header(reqwest::header::IF_MODIFIED_SINCE, m);
            }
            r
        })
        .await?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(());
    }
    if !status.is_success() {
        return Err(status_error(status));
    }
    let header = |name: reqwest::header::HeaderName| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    };
    let new_etag = header(reqwest::header::ETAG);
    let new_last_modified = header(reqwest::header::LAST_MODIFIED);
    let body = http.read_limited(response, MAX_FILE_BYTES).await?;
    if body.is_empty() {
        return Err("the file is empty".into());
    }
    let sha256 = hex::encode(Sha256::digest(&body));
    if cursor.get("sha256").and_then(Value::as_str) == Some(sha256.as_str()) {
        // The server ignores conditional requests, but the file is the one already imported.
        let cursor = json!({ "etag": new_etag, "last_modified": new_last_modified });
        return env.sink.commit(Page { cursor, ..Page::default() }).await;
    }
    let cursor = json!({ "etag": new_etag, "last_modified": new_last_modified, "sha256": sha256 });
    let file = StatementFile { format: config.format.clone(), bank_account: config.bank_account.clone(), body, sha256 };
    env.sink.commit(Page { cursor, batches: vec![Batch::BankStatement(file)], rejected: vec![] }).await
}
