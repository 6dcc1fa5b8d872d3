//! The one request path both transports share: who asks (a presented key, verified), what
//! their requests are charged to, and the GraphQL request built with what every resolver
//! reads (its phase, its loaders, the actor). HTTP charges each request; a websocket verifies
//! its key once, at `connection_init`, and charges each operation.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::Variables;
use serde_json::{Map, Value};

use super::HttpState;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::graphql::phases::RequestPhase;
use crate::limits::Caller;
use crate::service::Actor;

/// A key as presented: none (the public), one that could not even be read (a malformed
/// header), or a secret to verify.
pub enum Presented<'a> {
    Nothing,
    Unreadable(AppError),
    Secret(&'a str),
}

/// The actor a presented key makes. A refused key costs its address, like a request without
/// a key, so guessing keys costs the guesser on either transport.
pub async fn identify(
    state: &HttpState,
    presented: Presented<'_>,
    peer: Option<IpAddr>,
) -> Result<Actor, AppError> {
    let verified = match presented {
        Presented::Nothing => return Ok(Actor::default()),
        Presented::Unreadable(e) => Err(e),
        Presented::Secret(secret) => state.app.keys.verify(secret).await,
    };
    match verified {
        Ok(key) => Ok(Actor { key: Some(key) }),
        Err(refused) => {
            if let Some(ip) = peer {
                state.limits.check(&Caller::Address(ip)).await?;
            }
            Err(refused)
        }
    }
}

/// Whom the actor's requests are charged to: the key, or the address without one.
pub fn caller(actor: &Actor, peer: Option<IpAddr>) -> Option<Caller> {
    match (actor.key_id(), peer) {
        (Some(id), _) => Some(Caller::Key(id)),
        (None, Some(ip)) => Some(Caller::Address(ip)),
        (None, None) => None,
    }
}

/// Charges one request (or websocket operation) to the actor's rate limit.
pub async fn charge(state: &HttpState, actor: &Actor, peer: Option<IpAddr>) -> Result<(), AppError> {
    match caller(actor, peer) {
        Some(caller) => state.limits.check(&caller).await,
        None => Ok(()),
    }
}

/// What a request asks, whichever transport brought it.
#[derive(Clone, Debug)]
pub struct Params {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
    pub extensions: Map<String, Value>,
}

/// The GraphQL request and its phase (which tells whether it was rejected before running).
pub fn build(
    params: Params,
    actor: Actor,
    loaders: Loaders,
    read_only: bool,
) -> (async_graphql::Request, Arc<RequestPhase>) {
    let phase = Arc::new(RequestPhase {
        read_only,
        operation_name: params.operation_name.clone(),
        ..RequestPhase::default()
    });
    let mut request = async_graphql::Request::new(params.query)
        .variables(Variables::from_json(Value::Object(params.variables)))
        .data(phase.clone())
        .data(loaders)
        .data(actor);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    request.extensions = async_graphql::Extensions(
        params
            .extensions
            .into_iter()
            .filter_map(|(k, v)| async_graphql::Value::from_json(v).ok().map(|v| (k, v)))
            .collect(),
    );
    (request, phase)
}
