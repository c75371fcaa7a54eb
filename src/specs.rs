//! The committed API descriptions (`openapi/openapi.json`, `schema/schema.graphql`) are
//! generated from the code; a test fails when the committed files are stale.

use std::path::Path;

pub const OPENAPI_PATH: &str = "openapi/openapi.json";
pub const GRAPHQL_PATH: &str = "schema/schema.graphql";

/// (relative path, content) of every generated spec.
pub fn generated() -> Vec<(&'static str, String)> {
    vec![(OPENAPI_PATH, crate::api::rest::openapi_json() + "\n"), (GRAPHQL_PATH, crate::api::graphql::sdl())]
}

/// Writes the specs under `root`; returns the paths written.
pub fn write_all(root: &Path) -> std::io::Result<Vec<String>> {
    let mut written = Vec::new();
    for (path, content) in generated() {
        let full = root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, content)?;
        written.push(path.to_string());
    }
    Ok(written)
}
