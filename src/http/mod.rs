//! The axum router: GraphQL over HTTP and websocket, GraphiQL and its assets, health.

mod assets;
mod cache;
mod graphql;
mod health;
mod media;
mod operation;
mod request;
pub mod ws;

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use tokio::sync::watch;

use crate::graphql::TtfdSchema;
use crate::limits::{LimitConfig, Limits};
use crate::state::AppState;

#[derive(Clone)]
pub struct HttpState {
    pub schema: TtfdSchema,
    pub app: AppState,
    pub ws: ws::WsConfig,
    pub limits: Limits,
    /// Turns true when the server shuts down: websockets then close with 1001.
    pub shutdown: watch::Receiver<bool>,
    /// Identical subscriptions of this process, sharing one execution each.
    pub shared: std::sync::Arc<ws::SharedStreams>,
    /// Responses of leaderboard top pages, served without running again.
    pub cache: std::sync::Arc<cache::ResponseCache>,
}

#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    pub ws: ws::WsConfig,
    pub limits: LimitConfig,
    /// Responses of leaderboard top pages kept (`cache.rs`); 0 turns the cache off.
    pub cached_responses: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: 256 * 1024,
            ws: ws::WsConfig::default(),
            limits: LimitConfig::default(),
            cached_responses: cache::DEFAULT_ENTRIES,
        }
    }
}

pub fn router(app: AppState, config: &HttpConfig) -> Router {
    router_with_shutdown(app, config, watch::channel(false).1)
}

/// The router, with a signal that tells open websockets the server is going away.
pub fn router_with_shutdown(app: AppState, config: &HttpConfig, shutdown: watch::Receiver<bool>) -> Router {
    crate::metrics::install();
    let state = HttpState {
        cache: cache::ResponseCache::start(app.events.clone(), app.boards.clone(), config.cached_responses),
        schema: crate::graphql::build(app.clone()),
        limits: Limits::new(config.limits.clone(), app.pool.clone()),
        app,
        ws: config.ws.clone(),
        shutdown,
        shared: Default::default(),
    };
    Router::new()
        .route("/", get(assets::site))
        .route("/feed", get(assets::site))
        .route("/u/{id}", get(assets::site))
        .route("/graphql", get(graphql_get).post(graphql::post))
        .route("/graphql/ws", get(websocket))
        .route("/assets/{name}", get(assets::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        // Every request gets an id (or keeps the caller's x-request-id), in its log span and
        // in the response.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql`: a websocket upgrade, GraphiQL for a browser, or a query.
async fn graphql_get(State(state): State<HttpState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if is_websocket_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip());
                ws::upgrade(upgrade, state, peer)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    graphql::get(&state, &parts.headers, peer, parts.uri.query()).await
}

async fn websocket(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    ws::upgrade(upgrade, state, peer.map(|Extension(ConnectInfo(addr))| addr.ip()))
}
