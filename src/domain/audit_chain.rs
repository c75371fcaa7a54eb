//! The audit trail's hash chain: each entry's hash covers its content and the previous hash, so
//! changing, removing or reordering any entry breaks every hash after it. Pure: no IO.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of a tenant's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, in a fixed order.
pub struct ChainedFields<'a> {
    pub tenant_id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: &'a str,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
    pub prev_hash: &'a str,
}

pub fn entry_hash(f: &ChainedFields<'_>) -> String {
    let mut hasher = Sha256::new();
    // Length-prefixed fields: no choice of field contents can make two entries hash alike.
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(b"duizhang-audit-v1");
    field(f.tenant_id.as_bytes());
    field(&f.seq.to_be_bytes());
    field(f.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
    field(f.actor_type.as_bytes());
    field(f.actor_id.as_bytes());
    field(f.action.as_bytes());
    field(f.entity_type.as_bytes());
    field(f.entity_id.as_bytes());
    field(canonical_json(f.before).as_bytes());
    field(canonical_json(f.after).as_bytes());
    field(f.prev_hash.as_bytes());
    hex::encode(hasher.finalize())
}

/// JSON with object keys sorted at every level, so the text is the same before and after a
/// round trip through PostgreSQL's jsonb (which reorders keys).
pub fn canonical_json(value: Option<&Value>) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    match value {
        None => out.push_str("null"),
        Some(v) => write(v, &mut out),
    }
    out
}

/// Timestamps are stored with microsecond precision; hash what will be read back.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields<'a>(after: &'a Value, prev: &'a str) -> ChainedFields<'a> {
        ChainedFields {
            tenant_id: Uuid::nil(),
            seq: 1,
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            actor_type: "api_key",
            actor_id: "k",
            action: "customer.created",
            entity_type: "customer",
            entity_id: "C1",
            before: None,
            after: Some(after),
            prev_hash: prev,
        }
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a = json!({"b": 1, "a": {"y": "2", "x": [1, {"d": 0, "c": 1}]}});
        let b: Value = serde_json::from_str(r#"{"a":{"x":[1,{"c":1,"d":0}],"y":"2"},"b":1}"#).unwrap();
        assert_eq!(entry_hash(&fields(&a, GENESIS_HASH)), entry_hash(&fields(&b, GENESIS_HASH)));
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = json!({"amount": "10.00"});
        let b = json!({"amount": "10.01"});
        assert_ne!(entry_hash(&fields(&a, GENESIS_HASH)), entry_hash(&fields(&b, GENESIS_HASH)));
        assert_ne!(entry_hash(&fields(&a, GENESIS_HASH)), entry_hash(&fields(&a, "1")));
    }
}
