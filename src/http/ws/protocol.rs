//! The two subprotocols' messages: `graphql-transport-ws` and the legacy `graphql-ws`.

use serde_json::{Map, Value, json};

use crate::auth;
use crate::http::request::Params;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    TransportWs,
    Legacy,
}

impl Protocol {
    pub(super) fn next_type(self) -> &'static str {
        match self {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        }
    }
}

/// A `next` (or legacy `data`) message, serialised straight from the response: going through
/// a `serde_json::Value` would build and drop a tree per event and subscriber.
pub(super) fn next_message(protocol: Protocol, id: &str, response: &async_graphql::Response) -> String {
    #[derive(serde::Serialize)]
    struct Next<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        id: &'a str,
        payload: &'a async_graphql::Response,
    }
    let next = Next {
        kind: protocol.next_type(),
        id,
        payload: response,
    };
    serde_json::to_string(&next).unwrap_or_else(|e| {
        error_message(
            protocol,
            id,
            vec![json!({ "message": format!("cannot serialise the result: {e}") })],
        )
    })
}

/// The API key a `connection_init` payload carries: `Authorization` (`Bearer <key>` or the key
/// alone) or `apiKey`.
pub(super) fn presented_secret(payload: &Map<String, Value>) -> Option<&str> {
    for name in ["Authorization", "authorization", "apiKey"] {
        if let Some(Value::String(v)) = payload.get(name) {
            return Some(auth::bearer(v).unwrap_or(v.as_str()));
        }
    }
    None
}

/// An `error` message: graphql-transport-ws carries a list, the legacy protocol one error.
pub(super) fn error_message(protocol: Protocol, id: &str, errors: Vec<Value>) -> String {
    let payload = match protocol {
        Protocol::TransportWs => Value::Array(errors),
        Protocol::Legacy => errors.into_iter().next().unwrap_or(Value::Null),
    };
    json!({ "type": "error", "id": id, "payload": payload }).to_string()
}

/// The request a `subscribe` (or legacy `start`) payload carries.
pub(super) fn request_from(mut payload: Map<String, Value>) -> Option<Params> {
    let Some(Value::String(query)) = payload.remove("query") else {
        return None;
    };
    let operation_name = match payload.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return None,
    };
    let variables = match payload.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return None,
    };
    Some(Params {
        query,
        operation_name,
        variables,
        extensions: Map::new(),
    })
}
