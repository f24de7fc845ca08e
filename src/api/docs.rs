//! The API docs page at `/api/openadr/v1/docs`: Swagger UI on this server's OpenAPI document.
//!
//! Every asset is embedded in the binary and served from here (see `openapi/docs/README.md`),
//! so the page works offline; its Content-Security-Policy allows this origin only. Asset URLs
//! carry a hash of their contents, so browsers may cache them for a year.

use crate::error::ApiError;
use actix_web::http::header::{self, ContentType};
use actix_web::middleware::Compress;
use actix_web::{web, HttpResponse};
use std::sync::LazyLock;

/// Version of the vendored `swagger-ui-dist`.
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// Nothing but this origin: scripts and styles are files served here, the page calls only this
/// server. Swagger UI sets inline `style` attributes and uses `data:` images, hence those two.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/swagger-ui.css"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/init.js"),
    },
    Asset {
        name: "favicon-32x32.png",
        content_type: "image/png",
        bytes: include_bytes!("../../openapi/docs/favicon-32x32.png"),
    },
    Asset {
        name: "LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/LICENSE"),
    },
    Asset {
        name: "NOTICE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/NOTICE"),
    },
    Asset {
        name: "swagger-ui-bundle.js.LICENSE.txt",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("../../openapi/docs/swagger-ui-bundle.js.LICENSE.txt"),
    },
];

/// A short hash of every asset, appended to their URLs (`?v=`) so a new build is fetched anew.
static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    for asset in ASSETS {
        digest.update(asset.name.as_bytes());
        digest.update(asset.bytes);
    }
    digest
        .finish()
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let v = ASSET_VERSION.as_str();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>openadr3-vtn API</title>
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png?v={v}">
  <link rel="stylesheet" href="docs/swagger-ui.css?v={v}">
</head>
<body>
  <noscript>This page shows the OpenAPI document of the server (<a href="openapi.json">openapi.json</a>) and needs JavaScript.</noscript>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js?v={v}"></script>
  <script src="docs/init.js?v={v}"></script>
</body>
</html>
"#
    )
});

/// Routes under the API base path.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/docs", web::get().to(page))
        .route("/docs/", web::get().to(redirect_to_page))
        .service(
            web::resource("/docs/{asset}")
                .wrap(Compress::default())
                .route(web::get().to(asset)),
        );
}

/// The page (Swagger UI with this server's OpenAPI document).
async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(PAGE.as_str())
}

/// `docs/` would resolve the page's relative links one level too deep.
async fn redirect_to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "../docs"))
        .finish()
}

async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name.as_str())
        .ok_or_else(|| ApiError::NotFound("no such file of the docs page".into()))?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(asset.bytes))
}
