//! Content negotiation for GraphQL over HTTP: the response media type `Accept` asks for, and
//! response bodies in it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub(super) const JSON: &str = "application/json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    pub(super) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// A media type with its parameters, lower-cased.
pub(super) fn parse_media(raw: &str) -> (String, Vec<(String, String)>) {
    let mut parts = raw.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_ascii_lowercase(),
            ))
        })
        .collect();
    (essence, params)
}

pub(super) fn utf8_or_absent(params: &[(String, String)]) -> bool {
    params
        .iter()
        .all(|(k, v)| k != "charset" || v == "utf-8" || v == "utf8")
}

/// The response media type for `Accept`; `None` when nothing we speak is acceptable. No
/// `Accept`, or a wildcard, means `application/json` (what older clients expect).
pub(super) fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let mut best: Option<(f32, Media)> = None;
    for range in accept.split(',') {
        let (essence, params) = parse_media(range);
        let q = params
            .iter()
            .find(|(k, _)| k == "q")
            .and_then(|(_, v)| v.parse::<f32>().ok())
            .unwrap_or(1.0);
        if q <= 0.0 || !utf8_or_absent(&params) {
            continue;
        }
        let media = match essence.as_str() {
            GRAPHQL_RESPONSE_JSON => Media::GraphqlResponse,
            JSON | "application/*" | "*/*" => Media::Json,
            _ => continue,
        };
        // On equal weight the first listed wins.
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, media));
        }
    }
    best.map(|(_, m)| m)
}

pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|r| parse_media(r).0 == "text/html"))
}

pub(super) fn error_response(status: StatusCode, media: Media, message: &str) -> Response {
    body_response(status, media, json!({ "errors": [{ "message": message }] }))
}

pub(super) fn body_response(status: StatusCode, media: Media, body: Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    res
}
