//! The unit of work every change to users goes through, in this order: begin, hold the season
//! steady, lock the user, answer a retried idempotency key with its first result, apply,
//! store the result under the key, commit, ring the event doorbell.
//!
//! Why the order matters: the event log is ordered by transaction id, and a transaction gets
//! its id at its first write (a row lock counts). Locking the user before anything else is
//! written makes every change to one user sort in the order the lock granted them. The season
//! lock is shared by every change and taken exclusively by `startSeason`, so a change counts
//! wholly in the season it started in: no season can start between reading a user's season
//! XP and writing it back. Advisory locks assign no transaction id.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, Postgres, Transaction};

use super::idempotency::{Idempotency, record_if, replay_or};
use super::users::not_found;
use crate::db::seasons;
use crate::db::users::{self, UserRow};
use crate::domain::UserKey;
use crate::error::AppResult;
use crate::state::AppState;

/// A transaction for changes to users: the season is held (shared) before anything else.
pub async fn begin(state: &AppState) -> AppResult<Transaction<'static, Postgres>> {
    let mut tx = state.pool.begin().await?;
    seasons::hold(&mut tx).await?;
    Ok(tx)
}

/// Commits a transaction that wrote events, then rings the event doorbell.
pub async fn commit(state: &AppState, tx: Transaction<'_, Postgres>) -> AppResult<()> {
    tx.commit().await?;
    state.events.committed();
    Ok(())
}

/// Runs `apply`, a change to no one user (a boost, a season start), as one unit of work: the
/// idempotency key, when given, is locked and answered before anything else.
pub async fn keyed<T, F>(state: &AppState, idem: Option<Idempotency>, apply: F) -> AppResult<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&mut PgConnection) -> AppResult<T>,
{
    let mut tx = state.pool.begin().await?;
    let outcome = async {
        if let Some(idem) = &idem {
            idem.lock(&mut tx).await?;
            if let Some(previous) = idem.replay(&mut tx).await? {
                return Ok(Err(previous));
            }
        }
        let result = apply(&mut tx).await?;
        record_if(idem.as_ref(), &mut tx, &result).await?;
        Ok(Ok(result))
    }
    .await;
    finish(state, tx, outcome).await
}

/// Runs `apply` on the locked user `key` names, as one unit of work. A retry of `idem` gets
/// the first result, also when the user has since been merged away (the key's fingerprint
/// names the request, not the account it resolved to).
pub async fn for_user<T, F>(
    state: &AppState,
    key: &UserKey,
    idem: Option<Idempotency>,
    apply: F,
) -> AppResult<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&mut PgConnection, UserRow) -> AppResult<T>,
{
    let mut tx = begin(state).await?;
    let outcome = async {
        let user = users::lock(&mut tx, key).await?;
        if let Some(previous) = replay_or(idem.as_ref(), &mut tx).await? {
            return Ok(Err(previous));
        }
        let user = user.ok_or_else(not_found)?;
        let result = apply(&mut tx, user).await?;
        record_if(idem.as_ref(), &mut tx, &result).await?;
        Ok(Ok(result))
    }
    .await;
    finish(state, tx, outcome).await
}

/// Ends a unit of work: commits a new result (`Ok(Ok)`), and rolls back, then and there, a
/// replayed one (`Ok(Err)`) or a failure, so its locks go with it rather than with the
/// connection's next use.
async fn finish<T>(
    state: &AppState,
    tx: Transaction<'static, Postgres>,
    outcome: AppResult<Result<T, T>>,
) -> AppResult<T> {
    match outcome {
        Ok(Ok(result)) => {
            commit(state, tx).await?;
            Ok(result)
        }
        Ok(Err(previous)) => {
            tx.rollback().await?;
            Ok(previous)
        }
        Err(e) => {
            // The failure is what the caller needs to hear; a failed rollback closes the
            // connection anyway.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}
