//! How deeply a JSON body or a GraphQL document nests, measured by one linear pass over the raw
//! text before any recursive parser sees it. serde_json, pest, async-graphql's parser and its
//! validation rules all recurse once per level of nesting (lists in lists, objects in objects,
//! selection sets, list types, fragment spreads): a few thousand levels overflow a worker's
//! stack and abort the whole process. The scans here never recurse and never allocate.

/// Where a text nests deeper than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    /// The allowed depth.
    pub max: usize,
    /// Byte offset of the bracket that went one level too deep.
    pub offset: usize,
}

/// Why a GraphQL document is refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentRefusal {
    TooDeep(TooDeep),
    /// More fragment definitions than allowed: chains of fragments spreading each other are
    /// followed recursively by validation, one level per fragment.
    TooManyFragments {
        max: usize,
    },
}

/// Checks that `[`/`{` never nest deeper than `max` outside of strings.
pub fn check_json(bytes: &[u8], max: usize) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_json_string(bytes, i + 1),
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(TooDeep { max, offset: i });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index of the closing quote of a JSON string whose content starts at `i` (or the end).
fn skip_json_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Checks a GraphQL document: brackets of every kind (`{` selection sets and input objects,
/// `[` lists and list types, `(` arguments and variable definitions) nest at most `max_depth`
/// deep, and at most `max_fragments` fragments are defined. Strings, block strings and comments
/// are skipped as the GraphQL lexer does, so brackets inside them do not count.
pub fn check_graphql(text: &str, max_depth: usize, max_fragments: usize) -> Result<(), DocumentRefusal> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut fragments = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = skip_block_string(bytes, i + 3),
            b'"' => i = skip_graphql_string(bytes, i + 1),
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > max_depth {
                    return Err(DocumentRefusal::TooDeep(TooDeep { max: max_depth, offset: i }));
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            b if is_name_start(b) => {
                let start = i;
                while i + 1 < bytes.len() && is_name_continue(bytes[i + 1]) {
                    i += 1;
                }
                // Only definitions start at depth 0; counting an operation named `fragment`
                // too errs on the safe side.
                if depth == 0 && &bytes[start..=i] == b"fragment" {
                    fragments += 1;
                    if fragments > max_fragments {
                        return Err(DocumentRefusal::TooManyFragments { max: max_fragments });
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn is_name_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic()
}

fn is_name_continue(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

/// The index of the closing quote of a one-line string (or of the line end, where the lexer
/// stops it too).
fn skip_graphql_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' | b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index of the last quote of the `"""` closing a block string whose content starts at
/// `i`; `\"""` inside is an escaped triple quote.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 2;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        assert_eq!(check_json(br#"{"a":[1,{"b":[]}]}"#, 4), Ok(()));
        assert_eq!(check_json(br#"{"a":[1,{"b":[]}]}"#, 3), Err(TooDeep { max: 3, offset: 13 }));
        assert_eq!(check_json(br#"{"a":"[[[[[[\"[[[[","b":{}}"#, 2), Ok(()));
        assert_eq!(check_json(br#"["\\",["#, 1), Err(TooDeep { max: 1, offset: 6 }), "an escaped backslash ends");
        let deep = "[".repeat(100_000);
        assert!(check_json(deep.as_bytes(), 64).is_err());
        // Unbalanced closers do not build up credit.
        assert!(check_json(b"]]]]][[", 1).is_err());
    }

    /// Every JSON parse in the service goes through serde_json (none turns its limit off), so
    /// even a body that skipped the check above stops after 127 levels with an error.
    #[test]
    fn serde_json_keeps_its_own_recursion_limit() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = serde_json::from_str::<serde_json::Value>(&deep).unwrap_err();
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        let at_127 = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        assert!(serde_json::from_str::<serde_json::Value>(&at_127).is_ok());
    }

    #[test]
    fn graphql_depth_skips_strings_block_strings_and_comments() {
        let ok = "query($a: [[String!]]) { customers(code: \"[[[{{{\") { items { code } } } # [[[[[[\n";
        assert_eq!(check_graphql(ok, 3, 10), Ok(()));
        assert!(matches!(check_graphql(ok, 2, 10), Err(DocumentRefusal::TooDeep(_))));
        let block = "{ f(a: \"\"\"  [[[[ \\\"\"\" {{{{ \"\"\") }";
        assert_eq!(check_graphql(block, 2, 10), Ok(()));
        let escaped = "{ f(a: \"\\\"[[[[\") }";
        assert_eq!(check_graphql(escaped, 2, 10), Ok(()));
        let lists = format!("{{customers(code: {}\"x\"{}){{items{{code}}}}}}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(check_graphql(&lists, 64, 10), Err(DocumentRefusal::TooDeep(TooDeep { max: 64, offset: 16 + 63 })));
    }

    #[test]
    fn fragments_are_counted_at_the_top_level_only() {
        let doc = "{ ...A } fragment A on Q { fragment: __typename ...B } fragment B on Q { x }";
        assert_eq!(check_graphql(doc, 10, 2), Ok(()));
        assert_eq!(check_graphql(doc, 10, 1), Err(DocumentRefusal::TooManyFragments { max: 1 }));
        assert_eq!(check_graphql("{ a } # fragment\n \"fragment\" fragmentation", 10, 0), Ok(()));
    }
}
