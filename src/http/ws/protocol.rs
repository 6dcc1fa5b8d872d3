//! The two subprotocols' messages, `graphql-transport-ws` and the legacy `graphql-ws`, as
//! serde-tagged enums: what a client sends and what the server answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::auth;
use crate::http::request::Params;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    TransportWs,
    Legacy,
}

/// A message from the client. Both protocols' names are here; `Session::handle` accepts each
/// only on its own protocol. Anything that does not parse (an unknown type, a missing id, a
/// payload of the wrong shape) is an invalid message.
#[derive(Deserialize, Debug)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Map<String, Value>>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    /// graphql-transport-ws.
    Subscribe {
        id: String,
        payload: Operation,
    },
    /// graphql-ws (legacy).
    Start {
        id: String,
        payload: Operation,
    },
    /// graphql-transport-ws.
    Complete {
        id: String,
    },
    /// graphql-ws (legacy).
    Stop {
        id: String,
    },
    /// graphql-ws (legacy).
    ConnectionTerminate {},
}

/// The request a `subscribe` (or legacy `start`) carries.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(super) struct Operation {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
}

impl From<Operation> for Params {
    fn from(op: Operation) -> Params {
        Params {
            query: op.query,
            operation_name: op.operation_name,
            variables: op.variables.unwrap_or_default(),
            extensions: Map::new(),
        }
    }
}

/// A message to the client.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ServerMessage<'a> {
    ConnectionAck,
    /// graphql-ws (legacy) keep-alive.
    Ka,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<Value>,
    },
    /// graphql-transport-ws: one result.
    Next {
        id: &'a str,
        payload: &'a async_graphql::Response,
    },
    /// graphql-ws (legacy): one result.
    Data {
        id: &'a str,
        payload: &'a async_graphql::Response,
    },
    /// graphql-transport-ws carries a list of errors, the legacy protocol one error.
    Error {
        id: &'a str,
        payload: Value,
    },
    Complete {
        id: &'a str,
    },
}

impl ServerMessage<'_> {
    pub(super) fn text(&self) -> String {
        // Only a response that cannot be serialised fails; it is one of ours.
        serde_json::to_string(self).unwrap_or_else(|e| {
            let message = format!("cannot serialise the result: {e}");
            json!({ "type": "error", "payload": [{ "message": message }] }).to_string()
        })
    }
}

/// A `next` (or legacy `data`) message, serialised straight from the response: going through
/// a `serde_json::Value` would build and drop a tree per event and subscriber.
pub(super) fn next_message(protocol: Protocol, id: &str, payload: &async_graphql::Response) -> String {
    match protocol {
        Protocol::TransportWs => ServerMessage::Next { id, payload },
        Protocol::Legacy => ServerMessage::Data { id, payload },
    }
    .text()
}

/// A `next` (or legacy `data`) message around a payload serialised once for a group of
/// subscribers (`shared.rs`): the same text `next_message` makes, without serialising again.
pub(super) fn next_frame(protocol: Protocol, id: &str, payload: &str) -> String {
    let kind = match protocol {
        Protocol::TransportWs => "next",
        Protocol::Legacy => "data",
    };
    let id = serde_json::to_string(id).unwrap_or_default();
    format!(r#"{{"type":"{kind}","id":{id},"payload":{payload}}}"#)
}

/// The errors of a response rejected before execution, for an `error` message.
pub(super) fn rejection(response: &async_graphql::Response) -> Vec<Value> {
    response
        .errors
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect()
}

/// An `error` message: graphql-transport-ws carries a list, the legacy protocol one error.
pub(super) fn error_message(protocol: Protocol, id: &str, errors: Vec<Value>) -> String {
    let payload = match protocol {
        Protocol::TransportWs => Value::Array(errors),
        Protocol::Legacy => errors.into_iter().next().unwrap_or(Value::Null),
    };
    ServerMessage::Error { id, payload }.text()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<ClientMessage> {
        serde_json::from_str(text).ok()
    }

    #[test]
    fn client_messages_parse_by_their_type() {
        assert!(matches!(
            parse(r#"{"type":"connection_init"}"#),
            Some(ClientMessage::ConnectionInit { payload: None })
        ));
        assert!(matches!(
            parse(r#"{"type":"connection_init","payload":null}"#),
            Some(ClientMessage::ConnectionInit { payload: None })
        ));
        let Some(ClientMessage::Subscribe { id, payload }) = parse(
            r#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":null,"extensions":{}}}"#,
        ) else {
            panic!("a subscribe message");
        };
        assert_eq!((id.as_str(), payload.query.as_str()), ("1", "{a}"));
        assert!(matches!(
            parse(r#"{"type":"pong"}"#),
            Some(ClientMessage::Pong {})
        ));
    }

    #[test]
    fn malformed_messages_do_not_parse() {
        for bad in [
            r#"{"type":"subscribe","payload":{"query":"{a}"}}"#,
            r#"{"type":"subscribe","id":1,"payload":{"query":"{a}"}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"variables":{}}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{a}","variables":[1]}}"#,
            r#"{"type":"connection_init","payload":"key"}"#,
            r#"{"type":"unknown"}"#,
            r#"{"id":"1"}"#,
            "[]",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_shared_payload_frames_like_a_serialised_response() {
        let response = async_graphql::Response::new(async_graphql::value!({ "events": { "id": "a\"b" } }));
        let payload = serde_json::to_string(&response).unwrap();
        for protocol in [Protocol::TransportWs, Protocol::Legacy] {
            assert_eq!(
                next_frame(protocol, "7\"", &payload),
                next_message(protocol, "7\"", &response)
            );
        }
    }

    #[test]
    fn server_messages_carry_their_type() {
        assert_eq!(
            ServerMessage::ConnectionAck.text(),
            r#"{"type":"connection_ack"}"#
        );
        assert_eq!(ServerMessage::Pong { payload: None }.text(), r#"{"type":"pong"}"#);
        assert_eq!(
            ServerMessage::Complete { id: "7" }.text(),
            r#"{"type":"complete","id":"7"}"#
        );
        let legacy = error_message(Protocol::Legacy, "1", vec![json!({"message": "no"})]);
        assert_eq!(legacy, r#"{"type":"error","id":"1","payload":{"message":"no"}}"#);
    }
}
