//! Liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;

/// Ready when the database answers, its migrations are this binary's, the event listener is
/// connected and the boards in memory have loaded; 503 with the failing checks otherwise.
pub async fn ready(State(state): State<HttpState>) -> Response {
    let pool = &state.app.pool;
    let latest = crate::db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, Option<i64>>("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool),
    )
    .await;
    let (database, migrations) = match applied {
        Ok(Ok(version)) => (true, version == Some(latest)),
        _ => (false, false),
    };
    let listener = state.app.events.stats.listening.load(Ordering::Relaxed);
    let boards = state.app.boards.started();
    let ready = database && migrations && listener && boards;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "ready": ready, "database": database, "migrations": migrations, "eventListener": listener, "boards": boards });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<HttpState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::render(&state.app),
    )
        .into_response()
}
