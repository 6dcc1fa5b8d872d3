//! Retried mutations: the first result is stored under the caller's key in the mutation's own
//! transaction; a retry returns it and changes nothing.

use serde::{Serialize, de::DeserializeOwned};
use sqlx::PgConnection;

use super::Actor;
use crate::db::idempotency as store;
use crate::domain::IdempotencyKey;
use crate::error::{AppError, AppResult};

pub struct Idempotency {
    /// Keys are unique per API key (`Actor::scope`).
    scope: String,
    key: IdempotencyKey,
    operation: &'static str,
    fingerprint: String,
}

impl Idempotency {
    /// The caller's `idempotencyKey` in the actor's scope; `None` without one. `fingerprint`
    /// names the request's arguments, so a key reused for another request is refused rather
    /// than answered with an unrelated result.
    pub fn requested(
        actor: &Actor,
        key: Option<IdempotencyKey>,
        operation: &'static str,
        fingerprint: String,
    ) -> Option<Self> {
        key.map(|key| Idempotency {
            scope: actor.scope(),
            key,
            operation,
            fingerprint,
        })
    }

    /// Serialises attempts with this key (an advisory lock until the transaction ends, which
    /// takes no transaction id): for mutations that lock no user row before `replay`.
    pub async fn lock(&self, tx: &mut PgConnection) -> AppResult<()> {
        store::lock(tx, &self.scope, self.key.as_str()).await
    }

    /// The stored result of an earlier attempt. Call it after locking the rows the mutation
    /// changes (or the key itself): a concurrent attempt with the same key then has either
    /// committed (and is seen here) or not started.
    pub async fn replay<T: DeserializeOwned>(&self, tx: &mut PgConnection) -> AppResult<Option<T>> {
        let Some(stored) = store::find(tx, &self.scope, self.key.as_str()).await? else {
            return Ok(None);
        };
        if stored.operation != self.operation || stored.fingerprint != self.fingerprint {
            return Err(AppError::Conflict(
                "idempotencyKey was already used for a different request".into(),
            ));
        }
        serde_json::from_value(stored.response)
            .map(Some)
            .map_err(|e| AppError::internal(format!("stored idempotent result: {e}")))
    }

    /// The key as a single-statement mutation stores it.
    pub fn stored_under(&self) -> store::StoredUnder {
        store::StoredUnder {
            scope: self.scope.clone(),
            key: self.key.as_str().to_owned(),
            operation: self.operation,
            fingerprint: self.fingerprint.clone(),
        }
    }

    pub async fn record<T: Serialize>(&self, tx: &mut PgConnection, result: &T) -> AppResult<()> {
        let value = serde_json::to_value(result).map_err(AppError::internal)?;
        store::store(
            tx,
            &self.scope,
            self.key.as_str(),
            self.operation,
            &self.fingerprint,
            &value,
        )
        .await
    }
}

pub async fn replay_or<T: DeserializeOwned>(
    idem: Option<&Idempotency>,
    tx: &mut PgConnection,
) -> AppResult<Option<T>> {
    match idem {
        Some(i) => i.replay(tx).await,
        None => Ok(None),
    }
}

pub async fn record_if<T: Serialize>(
    idem: Option<&Idempotency>,
    tx: &mut PgConnection,
    result: &T,
) -> AppResult<()> {
    match idem {
        Some(i) => i.record(tx, result).await,
        None => Ok(()),
    }
}
