//! Merging two accounts of one person into one (after a redeemed link code, by an admin, or
//! by an import): the change that writes the merged account (`domain::merge` decides what it
//! holds) with its events.

use serde_json::json;

use super::Actor;
use super::users::not_found;
use crate::db::events::{self, NewEvent};
use crate::db::merges;
use crate::db::users::{self, UserRow};
use crate::domain::merge::{self, RankRewards};
use crate::domain::{EventType, Platform, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An admin's merge: `from` is folded into `into` and removed.
pub async fn merge(state: &AppState, actor: &Actor, into: &UserKey, from: &UserKey) -> AppResult<UserRow> {
    let mut tx = super::unit::begin(state).await?;
    let into_user = users::find(&mut *tx, into).await?.ok_or_else(not_found)?;
    let from_user = users::find(&mut *tx, from).await?.ok_or_else(not_found)?;
    if into_user.id == from_user.id {
        return Err(AppError::invalid("cannot merge an account into itself"));
    }
    let source = actor.source(into, &into_user);
    let merged = merge_locked(
        &mut tx,
        state,
        actor,
        into_user.id,
        from_user.id,
        source,
        RankRewards::Pay,
    )
    .await?;
    super::commit(state, tx).await?;
    Ok(merged)
}

/// Merges `from` into `into` inside the caller's transaction (each row locked here).
pub(crate) async fn merge_locked(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    into_id: uuid::Uuid,
    from_id: uuid::Uuid,
    source: crate::domain::Platform,
    rewards: RankRewards,
) -> AppResult<UserRow> {
    let (into, from) = merges::lock_pair(tx, into_id, from_id)
        .await?
        .ok_or_else(not_found)?;
    let (merged, outcome) = merge::merged(&state.ranks, &into.holdings(), &from.holdings(), rewards)
        .map_err(|e| AppError::Conflict(e.message()))?;
    merges::repoint(tx, from.id, into.id).await?;
    merges::delete(tx, from.id).await?;
    let saved = merges::save_merged(tx, into.id, &merged).await?;
    let moved: Vec<&str> = Platform::ALL
        .into_iter()
        .filter(|p| into.identities.get(*p).is_none() && from.identities.get(*p).is_some())
        .map(Platform::as_str)
        .collect();
    let event = |event_type, data| NewEvent {
        user_id: into.id,
        event_type,
        source,
        data,
    };
    let mut log = vec![event(
        EventType::AccountsMerged,
        json!({
            "fromUserId": from.id, "platforms": moved, "xpAdded": from.xp, "coinsAdded": from.coins,
            "xp": saved.xp, "coins": saved.coins,
        }),
    )];
    // The ledger's view of the merge: what the surviving account gained.
    log.push(event(
        EventType::XpChange,
        json!({ "delta": saved.xp - into.xp, "xp": saved.xp, "previousXp": into.xp, "reason": "merge" }),
    ));
    log.push(event(
        EventType::CoinsChange,
        json!({ "delta": saved.coins - into.coins, "coins": saved.coins, "previousCoins": into.coins, "reason": "merge" }),
    ));
    if let Some((kind, data)) = super::progress::rank_event(&state.ranks, &outcome) {
        log.push(event(kind, data));
    }
    events::append(tx, actor.key_id(), &log).await?;
    Ok(saved)
}
