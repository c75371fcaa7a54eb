//! The GraphiQL explorer at `GET /graphql`, served entirely from the binary: GraphiQL, React
//! and ReactDOM are vendored in `assets/graphiql/` (see its README) and served under
//! `/graphql/assets/<file>`, so the page works offline and loads no third-party script. The page
//! pins every file with Subresource Integrity and has no inline script or style, so it runs
//! under a Content-Security-Policy of `'self'` (GraphiQL's stylesheet embeds its fonts and icons
//! as `data:` URLs).

use crate::error::{AppError, AppResult};
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha384};
use std::sync::LazyLock;

/// Where the assets are served; the page refers to them by this same-origin path.
pub const ASSETS_PATH: &str = "/graphql/assets";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

static ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "graphiql-page.css",
        content_type: CSS,
        bytes: include_bytes!("../../../assets/graphiql/graphiql-page.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: JS,
        bytes: include_bytes!("../../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JS,
        bytes: include_bytes!("../../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JS,
        bytes: include_bytes!("../../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql-boot.js",
        content_type: JS,
        bytes: include_bytes!("../../../assets/graphiql/graphiql-boot.js"),
    },
];

/// Per asset (same order): its version, a short digest of the content (the page asks for
/// `?v=<version>`, so a new build's files get new URLs and a year-long cache never serves an
/// old file to a new page), and its Subresource Integrity value (`sha384-<base64>`).
static DIGESTS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let version = hex::encode(&Sha256::digest(a.bytes)[..8]);
            let integrity =
                format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(a.bytes)));
            (version, integrity)
        })
        .collect()
});

/// The page, built once.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let tag = |(asset, (version, integrity)): (&Asset, &(String, String))| {
        let url = format!("{ASSETS_PATH}/{}?v={version}", asset.name);
        if asset.content_type == CSS {
            format!(r#"    <link rel="stylesheet" href="{url}" integrity="{integrity}">"#)
        } else {
            format!(r#"    <script defer src="{url}" integrity="{integrity}"></script>"#)
        }
    };
    let tags: Vec<String> = ASSETS.iter().zip(DIGESTS.iter()).map(tag).collect();
    format!(
        r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>duizhang GraphQL explorer</title>
{}
  </head>
  <body>
    <div id="graphiql" data-endpoint="/graphql">Loading the GraphQL explorer...</div>
  </body>
</html>
"#,
        tags.join("\n")
    )
});

pub fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page names the current assets' versions: always ask for the latest page.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(PAGE.as_str())
}

#[derive(Deserialize)]
pub struct AssetQuery {
    v: Option<String>,
}

/// `GET /graphql/assets/{file}`: cached for a year when asked for under its current version,
/// else revalidated on every use.
pub async fn asset(file: web::Path<String>, query: web::Query<AssetQuery>) -> AppResult<HttpResponse> {
    let (asset, (version, _)) = ASSETS
        .iter()
        .zip(DIGESTS.iter())
        .find(|(a, _)| a.name == file.as_str())
        .ok_or_else(|| AppError::not_found(format!("GraphiQL asset {:?}", file.as_str())))?;
    let caching = if query.v.as_deref() == Some(version.as_str()) {
        vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ]
    } else {
        vec![CacheDirective::NoCache]
    };
    Ok(HttpResponse::Ok().content_type(asset.content_type).insert_header(CacheControl(caching)).body(asset.bytes))
}
