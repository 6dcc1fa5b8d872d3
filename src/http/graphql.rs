//! GraphQL over HTTP, as the spec (and the `graphql-http` audit) asks: content negotiation by
//! `Accept`, 400 for documents that do not parse or validate under
//! `application/graphql-response+json`, 405 for mutations over GET, 415 for bodies that are not
//! JSON in UTF-8. async-graphql-axum's stock handler does none of these, hence this one.

use tracing::Instrument;

use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::HttpState;
use super::assets;
use super::cache::CacheKey;
use super::media::{
    JSON, Media, body_response, error_response, negotiate, parse_media, utf8_or_absent, wants_html,
};
use super::request::{self, Presented};
use crate::auth;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::graphql::shown::ShownPages;
use crate::service::Actor;

/// The key an `Authorization: Bearer` header presents; none is the public. A key that is
/// presented but unreadable, unknown or revoked is refused rather than treated as public.
fn presented(headers: &HeaderMap) -> Presented<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Presented::Nothing;
    };
    match value.to_str().ok().and_then(auth::bearer) {
        Some(secret) => Presented::Secret(secret),
        None => Presented::Unreadable(AppError::Unauthenticated(
            "use Authorization: Bearer <API key>".into(),
        )),
    }
}

/// The request parameters of the spec, from a JSON body or a query string.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

fn object_or_null(v: Option<Value>, name: &str) -> Result<Option<Map<String, Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(format!("{name} must be an object")),
    }
}

fn params_from_json(body: Value) -> Result<Params, String> {
    let Value::Object(mut m) = body else {
        return Err("the body must be a JSON object".into());
    };
    let query = match m.remove("query") {
        Some(Value::String(q)) => q,
        None | Some(Value::Null) => return Err("query is missing".into()),
        Some(_) => return Err("query must be a string".into()),
    };
    let operation_name = match m.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("operationName must be a string".into()),
    };
    Ok(Params {
        query,
        operation_name,
        variables: object_or_null(m.remove("variables"), "variables")?,
        extensions: object_or_null(m.remove("extensions"), "extensions")?,
    })
}

fn params_from_query_string(raw: &str) -> Result<Option<Params>, String> {
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "query" => query = Some(v.into_owned()),
            "operationName" if !v.is_empty() => operation_name = Some(v.into_owned()),
            "variables" if !v.is_empty() => {
                let parsed = serde_json::from_str(&v).map_err(|_| "variables must be a JSON object")?;
                variables = object_or_null(Some(parsed), "variables")?;
            }
            "extensions" if !v.is_empty() => {
                let parsed = serde_json::from_str(&v).map_err(|_| "extensions must be a JSON object")?;
                extensions = object_or_null(Some(parsed), "extensions")?;
            }
            _ => {}
        }
    }
    Ok(query.map(|query| Params {
        query,
        operation_name,
        variables,
        extensions,
    }))
}

/// A request refused before it runs: 401, or 429 with `Retry-After`.
fn refusal(e: AppError, media: Media) -> Response {
    let status = match e {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let retry_after = match e {
        AppError::RateLimited { retry_after_secs } => Some(retry_after_secs),
        _ => None,
    };
    let error = async_graphql::Error::from(e).into_server_error(Default::default());
    let mut res = body_response(status, media, json!({ "errors": [error] }));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

/// Who asks, counted against their rate limit: the key's, or the address's for the public
/// (and for presented keys that turn out bad, so guessing keys costs the guesser).
async fn admitted(state: &HttpState, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Actor, AppError> {
    let actor = request::identify(state, presented(headers), peer).await?;
    request::charge(state, &actor, peer).await?;
    Ok(actor)
}

async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    media: Media,
    params: Params,
    read_only: bool,
) -> Response {
    let started = std::time::Instant::now();
    let actor = match admitted(state, headers, peer).await {
        Ok(actor) => actor,
        Err(e) => {
            let outcome = if matches!(e, AppError::RateLimited { .. }) {
                "rate_limited"
            } else {
                "unauthenticated"
            };
            let operation = params.operation_name.as_deref().unwrap_or("unnamed");
            crate::metrics::graphql_request(operation, outcome, started.elapsed());
            return refusal(e, media);
        }
    };
    let key_name = actor.key.as_ref().map(|k| k.name.clone());
    let params = request::Params {
        query: params.query,
        operation_name: params.operation_name,
        variables: params.variables.unwrap_or_default(),
        extensions: params.extensions.unwrap_or_default(),
    };
    let cache_key = CacheKey::of(&params, actor.key_id());
    if let Some(key) = &cache_key
        && let Some(body) = state.cache.get(key)
    {
        crate::metrics::graphql_request(key.label(), "cached", started.elapsed());
        return respond(StatusCode::OK, media, body);
    }
    let generation = state.cache.generation();
    let shown = cache_key.as_ref().map(|_| Arc::new(ShownPages::default()));
    let (mut request, phase) = request::build(params, actor, Loaders::new(&state.app), read_only);
    if let Some(shown) = &shown {
        request = request.data(shown.clone());
    }
    // Its own task: a client that hangs up must not cancel the request halfway through a
    // transaction (a connection dropped mid-statement can go back to the pool still inside
    // it, holding its locks). What was sent runs to its end, like a request that was answered.
    let schema = state.schema.clone();
    // The task keeps the request's span: its log lines still carry the request id.
    let task = async move { schema.execute(request).await }.in_current_span();
    let response = match tokio::spawn(task).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                "internal error",
                None,
            )])
        }
    };
    let outcome = if phase.rejected() || phase.mutation_refused() {
        "rejected"
    } else if response.errors.is_empty() {
        "ok"
    } else {
        "error"
    };
    let elapsed = started.elapsed();
    let operation = phase.label();
    crate::metrics::graphql_request(&operation, outcome, elapsed);
    // Names only: never a key's secret or an email.
    tracing::info!(
        operation = %operation,
        key = key_name.as_deref().unwrap_or("-"),
        outcome,
        ms = elapsed.as_secs_f64() * 1e3,
        "graphql"
    );

    let status = if phase.mutation_refused() {
        StatusCode::METHOD_NOT_ALLOWED
    } else if phase.rejected() && media == Media::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // A request rejected before execution has no `data` entry at all.
    let serialised = if phase.rejected() || phase.mutation_refused() {
        serde_json::to_string(&json!({ "errors": response.errors }))
    } else {
        serde_json::to_string(&response)
    };
    let body = match serialised {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a GraphQL response");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, media, "internal error");
        }
    };
    let pages = shown.and_then(|s| s.pages());
    if let (Some(key), Some(pages), true) = (
        cache_key,
        pages,
        status == StatusCode::OK && response.errors.is_empty(),
    ) {
        state.cache.put(key, generation, body.clone(), pages);
    }
    let mut res = respond(status, media, body);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    res
}

/// A GraphQL response with its content type.
fn respond(status: StatusCode, media: Media, body: Bytes) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    res
}

pub async fn post(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let Some(media) = negotiate(&headers) else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "only application/graphql-response+json and application/json responses are available",
        );
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (essence, params) = parse_media(content_type);
    if essence != JSON || !utf8_or_absent(&params) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "send the request as application/json in UTF-8",
        );
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return error_response(StatusCode::BAD_REQUEST, media, "the body is not valid JSON"),
    };
    match params_from_json(body) {
        Ok(params) => execute(&state, &headers, peer, media, params, false).await,
        Err(msg) => error_response(StatusCode::BAD_REQUEST, media, &msg),
    }
}

pub async fn get(
    state: &HttpState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    raw_query: Option<&str>,
) -> Response {
    let headers = headers.clone();
    let params = match params_from_query_string(raw_query.unwrap_or("")) {
        Ok(p) => p,
        Err(msg) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                negotiate(&headers).unwrap_or(Media::Json),
                &msg,
            );
        }
    };
    let Some(params) = params else {
        if wants_html(&headers) {
            return assets::graphiql();
        }
        return error_response(
            StatusCode::BAD_REQUEST,
            negotiate(&headers).unwrap_or(Media::Json),
            "query is missing",
        );
    };
    let Some(media) = negotiate(&headers) else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "only application/graphql-response+json and application/json responses are available",
        );
    };
    execute(state, &headers, peer, media, params, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(negotiate(&accept("application/json")), Some(Media::Json));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json")),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(Media::Json));
        assert_eq!(
            negotiate(&accept(
                "application/json;q=0.9, application/graphql-response+json"
            )),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Media::Json)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(negotiate(&accept("application/json; charset=utf-16")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }

    #[test]
    fn json_params() {
        let p =
            params_from_json(json!({"query": "{a}", "operationName": null, "variables": {"x": 1}})).unwrap();
        assert_eq!(p.query, "{a}");
        assert!(p.variables.is_some());
        assert!(params_from_json(json!({"query": 1})).is_err());
        assert!(params_from_json(json!({})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "operationName": 3})).is_err());
        assert!(params_from_json(json!([{"query": "{a}"}])).is_err());
    }
}
