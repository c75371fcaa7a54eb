//! The guarded HTTP client every connector uses (its resolver and error description serve the
//! webhook sender too): no redirects, no proxy, a resolver that
//! refuses non-public addresses (unless the tenant allows them), timeouts, retries only where a
//! repeat is harmless, and size limits on answers. Secrets travel in headers and are never part
//! of an error text.

use crate::domain::ssrf;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const MAX_JSON_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// Tries of one request (connect errors, 5xx and 429 are tried again).
const REQUEST_TRIES: u32 = 3;

/// Two clients: one whose resolver refuses non-public addresses, one for tenants that allow
/// private targets (`PUT /webhook-settings allow_private_targets`).
pub struct Clients {
    strict: reqwest::Client,
    permissive: reqwest::Client,
    timeout: Duration,
}

impl Clients {
    pub fn new(request_timeout: Duration) -> reqwest::Result<Clients> {
        let build = |allow_private: bool| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver { allow_private }))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(request_timeout)
                .connect_timeout(CONNECT_TIMEOUT.min(request_timeout))
                .user_agent(concat!("duizhang-connectors/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        Ok(Clients { strict: build(false)?, permissive: build(true)?, timeout: request_timeout })
    }

    pub fn for_tenant(&self, allow_private: bool) -> Http<'_> {
        let client = if allow_private { &self.permissive } else { &self.strict };
        Http { client, allow_private, timeout: self.timeout }
    }
}

/// The client of one sync, with the tenant's SSRF setting.
#[derive(Clone, Copy)]
pub struct Http<'a> {
    pub client: &'a reqwest::Client,
    pub allow_private: bool,
    timeout: Duration,
}

impl<'a> Http<'a> {
    /// Refuses an address literal that is not public unless allowed (the resolver only vets names).
    pub fn check_target(&self, url: &str) -> Result<url::Url, String> {
        ssrf::validate_url(url, self.allow_private).map_err(|e| format!("refused by the SSRF guard: {e}"))
    }

    /// Sends with retries on connect errors, 5xx and 429 (short exponential pauses). Only for
    /// requests that read: a repeat changes nothing on the remote side.
    pub async fn send_with_retries(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let mut last = String::new();
        for attempt in 0..REQUEST_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
            }
            match build().send().await {
                Ok(r) if r.status().is_server_error() || r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    last = format!("HTTP {}", r.status());
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    let (text, refused) = error_chain(&e);
                    if e.is_timeout() {
                        return Err(self.timed_out());
                    }
                    if refused || !e.is_connect() {
                        return Err(text);
                    }
                    last = text;
                }
            }
        }
        Err(format!("{last} (after {REQUEST_TRIES} tries)"))
    }

    fn timed_out(&self) -> String {
        format!("the request timed out (limit {} ms)", self.timeout.as_millis())
    }

    /// The body, refused beyond `limit` bytes.
    pub async fn read_limited(&self, mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
        let mut body = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(body),
                Err(e) if e.is_timeout() => return Err(self.timed_out()),
                Err(e) => return Err(error_chain(&e).0),
            };
            if body.len() + chunk.len() > limit {
                return Err(format!("the answer is larger than {limit} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
    }

    /// GET of a JSON document (2xx), with retries; `system` names the remote side in errors.
    pub async fn get_json(&self, url: &str, headers: &[(HeaderName, String)], system: &str) -> Result<Value, String> {
        let target = self.check_target(url)?;
        let headers = header_values(headers)?;
        let response = self
            .send_with_retries(|| {
                let mut r = self.client.get(target.clone()).header(reqwest::header::ACCEPT, "application/json");
                for (name, value) in &headers {
                    r = r.header(name, value.clone());
                }
                r
            })
            .await?;
        self.json_answer(response, system).await
    }

    /// POST of a JSON body answered with JSON. Only for calls that read (JSON-RPC searches),
    /// since it is retried like a GET.
    pub async fn post_json(&self, url: &str, body: &Value, system: &str) -> Result<Value, String> {
        let target = self.check_target(url)?;
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let response = self
            .send_with_retries(|| {
                self.client
                    .post(target.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::ACCEPT, "application/json")
                    .body(bytes.clone())
            })
            .await?;
        self.json_answer(response, system).await
    }

    async fn json_answer(&self, response: reqwest::Response, system: &str) -> Result<Value, String> {
        let status = response.status();
        if !status.is_success() {
            return Err(status_error(status));
        }
        let body = self.read_limited(response, MAX_JSON_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| format!("malformed JSON from {system}: {e}"))
    }
}

fn header_values(headers: &[(HeaderName, String)]) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let mut v =
                HeaderValue::from_str(value).map_err(|_| format!("the {name} header has invalid characters"))?;
            v.set_sensitive(true);
            Ok((name.clone(), v))
        })
        .collect()
}

/// The error a refused resolution carries through reqwest.
#[derive(Debug)]
pub(crate) struct TargetRefused(pub(crate) String);

impl std::fmt::Display for TargetRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TargetRefused {}

/// Resolves with the system resolver and refuses the whole name when any address is not
/// public (unless allowed). The connection only uses the addresses returned here, so a DNS
/// answer that changes between check and connect (rebinding) cannot slip through.
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            let ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
            if let Some((ip, reason)) = ssrf::refused(&ips, allow_private) {
                return Err(Box::new(TargetRefused(refusal(&format!("{host} resolves to {ip}"), reason))) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub(crate) fn refusal(what: &str, reason: &str) -> String {
    format!(
        "refused by the SSRF guard: {what}, which is {reason}; the tenant does not allow private targets \
         (PUT /api/v1/webhook-settings)"
    )
}

pub(crate) fn error_chain(e: &reqwest::Error) -> (String, bool) {
    let mut text = if e.is_timeout() { "timeout".to_string() } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<TargetRefused>() {
            return (r.0.clone(), true);
        }
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    (text, false)
}

pub fn status_error(status: reqwest::StatusCode) -> String {
    match status.as_u16() {
        401 | 403 => format!("authentication failed (HTTP {status}): check the connector's credentials"),
        _ => format!("HTTP {status}"),
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A link from an answer (absolute or relative to `base`), accepted only on the same origin as
/// `base`: a remote answer must not steer our requests (and the credentials) elsewhere.
pub fn same_origin_link(base: &str, href: &str) -> Result<String, String> {
    let base = url::Url::parse(base).map_err(|e| format!("invalid base URL: {e}"))?;
    let next = base.join(href).map_err(|e| format!("invalid link {href:?}: {e}"))?;
    if next.origin() != base.origin() {
        return Err(format!("refused a link to another origin: {}", next.origin().ascii_serialization()));
    }
    Ok(next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_on_the_origin() {
        let base = "https://bank.example.com/psd2/v1/accounts";
        assert_eq!(
            same_origin_link(base, "/psd2/v1/accounts/a1/transactions?page=2").unwrap(),
            "https://bank.example.com/psd2/v1/accounts/a1/transactions?page=2"
        );
        assert!(same_origin_link(base, "https://evil.example.net/x").is_err());
        assert!(same_origin_link(base, "http://bank.example.com/x").is_err(), "scheme change");
    }
}
