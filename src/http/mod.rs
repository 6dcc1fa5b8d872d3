//! The axum router: GraphQL over HTTP, GraphiQL and its assets, health.

mod assets;
mod graphql;

use axum::Router;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::TtfdSchema;
use crate::state::AppState;

#[derive(Clone)]
pub struct HttpState {
    pub schema: TtfdSchema,
    pub app: AppState,
}

#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 256 * 1024,
        }
    }
}

pub fn router(app: AppState, config: &HttpConfig) -> Router {
    let state = HttpState {
        schema: crate::graphql::build(app.clone()),
        app,
    };
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/assets/{name}", get(assets::asset))
        .route("/healthz", get(|| async { "ok" }))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
