//! An open-banking account information API in the Berlin Group NextGenPSD2 shape:
//! `GET {base}/v1/accounts`, then per account
//! `GET {base}/v1/accounts/{resourceId}/transactions?bookingStatus=booked&dateFrom=...`, paged by
//! `_links.next.href`. Booked transactions become lines of a CSV in the default bank CSV layout
//! and go through the ordinary statement import, so lines are deduplicated by bank reference
//! (`transactionId`, else `entryReference`) exactly as for uploaded statements.

use super::http::same_origin_link;
use super::{text, Batch, Page, StatementFile, SyncEnv};
use chrono::NaiveDate;
use reqwest::header::{HeaderName, AUTHORIZATION};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `config` of an open banking connector.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBankingConfig {
    /// e.g. `https://api.bank.example.com/psd2` (`/v1/accounts` is appended).
    pub base_url: String,
    /// IBANs to sync (each registered with `POST /bank-accounts`); absent: every account of the consent.
    #[serde(default)]
    pub accounts: Option<Vec<String>>,
    /// First booking date asked for when an account has no cursor yet.
    pub date_from: NaiveDate,
}

/// An OAuth access token of the consent, and the consent id (sent as `Consent-ID`) when the
/// bank wants one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBankingCredentials {
    pub access_token: String,
    #[serde(default)]
    pub consent_id: Option<String>,
}

/// Where one account's sync stands. `date_from` is the first booking date of the current pass;
/// `next` the next page of an unfinished pass (an interrupted sync resumes there);
/// `max_booking_date` the latest booking date the pass has seen. When a pass ends, the next one
/// starts at that date: the last day is read again (banks add late bookings to it) and the
/// import's deduplication by bank reference skips what is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountCursor {
    pub date_from: Option<NaiveDate>,
    pub next: Option<String>,
    pub max_booking_date: Option<NaiveDate>,
}

struct Account {
    resource_id: String,
    iban: String,
}

fn headers(creds: &OpenBankingCredentials) -> Vec<(HeaderName, String)> {
    let mut h = vec![
        (AUTHORIZATION, format!("Bearer {}", creds.access_token)),
        // NextGenPSD2 wants a fresh request id on every call.
        (HeaderName::from_static("x-request-id"), uuid::Uuid::new_v4().to_string()),
    ];
    if let Some(consent) = &creds.consent_id {
        h.push((HeaderName::from_static("consent-id"), consent.clone()));
    }
    h
}

async fn accounts(
    env: &SyncEnv<'_>,
    config: &OpenBankingConfig,
    creds: &OpenBankingCredentials,
) -> Result<Vec<Account>, String> {
    let url = format!("{}/v1/accounts", config.base_url);
    let answer = env.http.get_json(&url, &headers(creds), "the bank").await?;
    let list = answer
        .get("accounts")
        .and_then(Value::as_array)
        .ok_or("malformed answer from the bank: expected {\"accounts\":[...]}")?;
    let wanted: Option<Vec<String>> = config.accounts.as_ref().map(|a| a.iter().map(|i| normalize_iban(i)).collect());
    let mut out = vec![];
    for a in list {
        let (Some(resource_id), Some(iban)) = (text(a, "resourceId"), text(a, "iban")) else { continue };
        let iban = normalize_iban(&iban);
        if wanted.as_ref().is_none_or(|w| w.contains(&iban)) {
            out.push(Account { resource_id, iban });
        }
    }
    if let Some(w) = &wanted {
        if let Some(missing) = w.iter().find(|i| !out.iter().any(|a| &a.iban == *i)) {
            return Err(format!("the bank does not list account {missing} under this consent"));
        }
    }
    Ok(out)
}

fn normalize_iban(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase()
}

pub async fn sync(env: &SyncEnv<'_>, config: &OpenBankingConfig, creds: &OpenBankingCredentials) -> Result<(), String> {
    for account in accounts(env, config, creds).await? {
        sync_account(env, config, creds, &account).await?;
    }
    Ok(())
}

async fn sync_account(
    env: &SyncEnv<'_>,
    config: &OpenBankingConfig,
    creds: &OpenBankingCredentials,
    account: &Account,
) -> Result<(), String> {
    // One top-level cursor key per account: a page's cursor patch replaces only its account.
    let key = format!("account:{}", account.resource_id);
    let stored = env.cursor.get(&key);
    let mut cursor: AccountCursor = stored.cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
    let date_from = cursor.date_from.unwrap_or(config.date_from);
    let first = format!(
        "{}/v1/accounts/{}/transactions?bookingStatus=booked&dateFrom={date_from}",
        config.base_url,
        super::http::urlencode(&account.resource_id)
    );
    let mut url = cursor.next.clone().unwrap_or(first);
    let mut pages = 0;
    loop {
        pages += 1;
        let answer = env.http.get_json(&url, &headers(creds), "the bank").await?;
        let tx = answer.get("transactions").ok_or("malformed answer from the bank: expected \"transactions\"")?;
        let booked = match tx.get("booked") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(b)) => b.clone(),
            Some(_) => return Err("malformed answer from the bank: \"booked\" is not a list".into()),
        };
        let next = match tx.pointer("/_links/next/href").or_else(|| answer.pointer("/_links/next/href")) {
            Some(Value::String(href)) => Some(same_origin_link(&url, href)?),
            _ => None,
        };
        let mut rejected = vec![];
        let mut lines = vec![];
        for t in &booked {
            match to_line(t) {
                Ok(line) => {
                    cursor.max_booking_date = cursor.max_booking_date.max(Some(line.booking_date));
                    lines.push(line);
                }
                Err(error) => rejected.push(json!({ "kind": "transactions", "record": reference(t), "error": error })),
            }
        }
        cursor.date_from = Some(date_from);
        cursor.next = next.clone();
        if next.is_none() {
            // The pass is complete: the next one starts at the last booking day seen.
            cursor.date_from = Some(cursor.max_booking_date.unwrap_or(date_from).max(date_from));
            cursor.max_booking_date = None;
        }
        let batches =
            if lines.is_empty() { vec![] } else { vec![Batch::BankStatement(statement_file(&lines, &account.iban))] };
        let patch = json!({ key.clone(): cursor });
        env.sink.commit(Page { cursor: patch, batches, rejected }).await?;
        match next {
            // A pass that never ends (an API that pages forever) stops here; the stored resume
            // point lets the next sync continue where this one stopped.
            Some(_) if pages >= super::MAX_PAGES_PER_SYNC => return Ok(()),
            Some(n) => url = n,
            None => return Ok(()),
        }
    }
}

fn reference(t: &Value) -> String {
    text(t, "transactionId").or_else(|| text(t, "entryReference")).unwrap_or_default()
}

/// A booked transaction in the default bank CSV layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub bank_reference: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub amount: String,
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance: Option<String>,
    pub end_to_end_id: Option<String>,
}

fn date(t: &Value, field: &str) -> Result<Option<NaiveDate>, String> {
    text(t, field)
        .map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| format!("{field} {d:?} is not a date")))
        .transpose()
}

pub fn to_line(t: &Value) -> Result<Line, String> {
    let booking_date = date(t, "bookingDate")?.ok_or("bookingDate is missing")?;
    let amount = t.get("transactionAmount").ok_or("transactionAmount is missing")?;
    let currency = text(amount, "currency").ok_or("transactionAmount.currency is missing")?;
    let raw = text(amount, "amount").ok_or("transactionAmount.amount is missing")?;
    let value = super::amount(&raw, &currency).map_err(|e| format!("transactionAmount.amount {e}"))?;
    // The counterparty is the debtor of money coming in and the creditor of money going out.
    let side = if value.is_sign_negative() { "creditor" } else { "debtor" };
    let remittance = match t.get("remittanceInformationUnstructured") {
        Some(v) => super::text_value(v),
        None => t
            .get("remittanceInformationUnstructuredArray")
            .and_then(Value::as_array)
            .map(|parts| parts.iter().filter_map(super::text_value).collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty()),
    };
    Ok(Line {
        bank_reference: text(t, "transactionId").or_else(|| text(t, "entryReference")),
        booking_date,
        value_date: date(t, "valueDate")?,
        amount: value.to_string(),
        currency,
        counterparty_name: text(t, &format!("{side}Name")),
        counterparty_iban: t.get(format!("{side}Account")).and_then(|a| text(a, "iban")).map(|i| normalize_iban(&i)),
        remittance,
        end_to_end_id: text(t, "endToEndId").filter(|e| e != "NOTPROVIDED"),
    })
}

/// The lines as a CSV in the layout `bank_formats::CsvMapping::default()` reads.
pub fn statement_file(lines: &[Line], account_iban: &str) -> StatementFile {
    let mut csv = String::from(
        "line_id,account_iban,booking_date,value_date,amount,currency,counterparty_name,counterparty_iban,remittance,end_to_end_id\n",
    );
    let cell = |s: Option<&str>| {
        let s = s.unwrap_or("");
        format!("\"{}\"", s.replace('"', "\"\"").replace(['\r', '\n'], " "))
    };
    for l in lines {
        let fields = [
            cell(l.bank_reference.as_deref()),
            cell(Some(account_iban)),
            cell(Some(&l.booking_date.to_string())),
            cell(l.value_date.map(|d| d.to_string()).as_deref()),
            cell(Some(&l.amount)),
            cell(Some(&l.currency)),
            cell(l.counterparty_name.as_deref()),
            cell(l.counterparty_iban.as_deref()),
            cell(l.remittance.as_deref()),
            cell(l.end_to_end_id.as_deref()),
        ];
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    let body = csv.into_bytes();
    let sha256 = hex::encode(Sha256::digest(&body));
    StatementFile { format: Some("csv".into()), bank_account: None, body, sha256 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_credits_and_debits_to_their_counterparty() {
        let credit = to_line(&json!({"transactionId":"T1","bookingDate":"2026-10-02","valueDate":"2026-10-02",
                "transactionAmount":{"currency":"EUR","amount":"1190.00"},"debtorName":"Acme GmbH",
                "debtorAccount":{"iban":"DE02 1203 0000 0000 2020 51"},"creditorName":"Us",
                "remittanceInformationUnstructured":"INV-2026-0001"}))
        .unwrap();
        assert_eq!(credit.counterparty_name.as_deref(), Some("Acme GmbH"));
        assert_eq!(credit.counterparty_iban.as_deref(), Some("DE02120300000000202051"));
        assert_eq!(credit.amount, "1190");
        let debit = to_line(&json!({"entryReference":"E2","bookingDate":"2026-10-03",
                "transactionAmount":{"currency":"EUR","amount":"-12.5"},"creditorName":"Bank fees"}))
        .unwrap();
        assert_eq!(debit.bank_reference.as_deref(), Some("E2"));
        assert_eq!(debit.counterparty_name.as_deref(), Some("Bank fees"));
        assert_eq!(debit.amount, "-12.5");
        assert!(to_line(&json!({"bookingDate":"2026-13-01","transactionAmount":{}})).is_err());
        let f = statement_file(&[debit], "DE89370400440532013000");
        let text = String::from_utf8(f.body).unwrap();
        assert!(text.ends_with("\"E2\",\"DE89370400440532013000\",\"2026-10-03\",\"\",\"-12.5\",\"EUR\",\"Bank fees\",\"\",\"\",\"\"\n"), "{text}");
    }
}
