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

/// Runs `apply` on the locked user `key` names, as one unit of work. A retry of `idem` gets
/// the first result, also when the user has since been merged away (the key's fingerprint
/// names the request, not the account it resolved to).
pub async fn for_user<T, F>(
    state: &AppState,
    key: &UserKey,
    idem: Option<Idempotency<'_>>,
    apply: F,
) -> AppResult<T>
where
    T: Serialize + DeserializeOwned,
    F: AsyncFnOnce(&mut PgConnection, UserRow) -> AppResult<T>,
{
    let mut tx = begin(state).await?;
    let user = users::lock(&mut tx, key).await?;
    if let Some(previous) = replay_or(idem.as_ref(), &mut tx).await? {
        return Ok(previous);
    }
    let user = user.ok_or_else(not_found)?;
    let result = apply(&mut tx, user).await?;
    record_if(idem.as_ref(), &mut tx, &result).await?;
    commit(state, tx).await?;
    Ok(result)
}
