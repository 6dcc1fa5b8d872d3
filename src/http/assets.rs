//! Static files compiled into the binary, so the service works with no internet access.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub const GRAPHIQL_HTML: &str = include_str!("../../web/graphiql.html");
/// The website's one page: it routes `/`, `/feed` and `/u/ID` itself.
pub const SITE_HTML: &str = include_str!("../../web/index.html");

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.css",
        "text/css",
        include_bytes!("../../web/vendor/graphiql.min.css"),
    ),
    (
        "graphiql.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/graphiql.min.js"),
    ),
    (
        "react.production.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/react-dom.production.min.js"),
    ),
    (
        "graphql-ws.min.js",
        "text/javascript",
        include_bytes!("../../web/vendor/graphql-ws.min.js"),
    ),
    (
        "graphiql-init.js",
        "text/javascript",
        include_bytes!("../../web/graphiql-init.js"),
    ),
    ("app.js", "text/javascript", include_bytes!("../../web/app.js")),
    ("app.css", "text/css", include_bytes!("../../web/app.css")),
    ("icon.svg", "image/svg+xml", include_bytes!("../../web/icon.svg")),
];

/// Everything from this server, nothing from elsewhere; styles only from files and the
/// CSSOM (no inline style attributes), scripts only from files.
const SITE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn site() -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, SITE_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Html(SITE_HTML),
    )
        .into_response()
}

pub fn graphiql() -> Response {
    (
        [(header::CONTENT_SECURITY_POLICY, "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:")],
        Html(GRAPHIQL_HTML),
    )
        .into_response()
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
