//! A small JSONPath-like path for mappings of remote JSON: dotted keys with optional array
//! indexes, e.g. `data.items`, `customer.code`, `lines[0].amount`, `meta["next-cursor"]`.
//! An empty path (or `$`) is the value itself. Pure: parsing and lookup only.

use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    steps: Vec<Step>,
    source: String,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl JsonPath {
    /// Parses a path; the error says what is wrong and where.
    pub fn parse(source: &str) -> Result<JsonPath, String> {
        let s = source.strip_prefix('$').map(|r| r.strip_prefix('.').unwrap_or(r)).unwrap_or(source);
        let chars: Vec<char> = s.chars().collect();
        let mut steps = vec![];
        let mut i = 0;
        let mut expect_key = true;
        while i < chars.len() {
            match chars[i] {
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| p + i)
                        .ok_or_else(|| format!("{source:?}: '[' at {} is not closed", i + 1))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    if let Some(quoted) = inner.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                        steps.push(Step::Key(quoted.to_string()));
                    } else {
                        let n = inner.parse::<usize>().map_err(|_| {
                            format!("{source:?}: [{inner}] is not an array index (or a \"quoted\" key)")
                        })?;
                        steps.push(Step::Index(n));
                    }
                    i = close + 1;
                    expect_key = false;
                }
                '.' => {
                    if expect_key {
                        return Err(format!("{source:?}: empty key at {}", i + 1));
                    }
                    i += 1;
                    expect_key = true;
                    if i == chars.len() {
                        return Err(format!("{source:?}: ends with '.'"));
                    }
                }
                _ => {
                    if !expect_key {
                        return Err(format!("{source:?}: '.' or '[' expected at {}", i + 1));
                    }
                    let start = i;
                    while i < chars.len() && !matches!(chars[i], '.' | '[') {
                        let c = chars[i];
                        if !(c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | '$' | ':')) {
                            return Err(format!(
                                "{source:?}: character {c:?} at {} (quote such keys: [\"...\"])",
                                i + 1
                            ));
                        }
                        i += 1;
                    }
                    steps.push(Step::Key(chars[start..i].iter().collect()));
                    expect_key = false;
                }
            }
        }
        Ok(JsonPath { steps, source: source.to_string() })
    }

    /// The value at the path; `None` when a step is missing (or `null`).
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        let mut v = value;
        for step in &self.steps {
            v = match step {
                Step::Key(k) => v.get(k.as_str())?,
                Step::Index(n) => v.get(*n)?,
            };
        }
        (!v.is_null()).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_reads_paths() {
        let v = json!({"data":{"items":[{"a":{"b":[{"c":7}]}}]},"meta":{"next-cursor":"x","k.y":1}});
        let get = |p: &str| JsonPath::parse(p).unwrap().get(&v).cloned();
        assert_eq!(get("data.items[0].a.b[0].c"), Some(json!(7)));
        assert_eq!(get("$.meta.next-cursor"), Some(json!("x")));
        assert_eq!(get(r#"meta["k.y"]"#), Some(json!(1)));
        assert_eq!(get("data.items[5]"), None);
        assert_eq!(get("missing.x"), None);
        assert_eq!(get(""), Some(v.clone()));
        assert_eq!(get("$"), Some(v.clone()));
    }

    #[test]
    fn refuses_bad_syntax() {
        for bad in ["a..b", "a.", ".a", "a[x]", "a[1", "a b", "a[0]b", "a/b"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
