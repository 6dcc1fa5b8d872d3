//! The admin's ledger and reverts. A revert is a compensating change recorded as such (its
//! event carries `revertOf`), never an edit of history. Rank rewards follow the rule of every
//! XP loss: reverting a gain lowers xp and rank, and coins already paid for reaching a rank stay
//! paid (each rank pays once per user, so climbing back pays nothing again).

use uuid::Uuid;

use super::Actor;
use super::progress::{Note, apply_coins, apply_xp};
use super::unit;
use crate::db::ledger::{self, LedgerRow};
use crate::db::users;
use crate::domain::{EventType, Platform, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Reverts an XP or coin change. Reverting it again changes nothing and returns the first
/// revert's entry; `None` when the revert moved nothing (xp already at 0).
pub async fn revert(state: &AppState, actor: &Actor, event_id: Uuid) -> AppResult<Option<LedgerRow>> {
    let mut tx = unit::begin(state).await?;
    // The event's user, locked before anything is written. A merge can move the event to
    // another user while we wait for the lock: then lock that one.
    let (original, user) = loop {
        let original = ledger::entry(&mut *tx, event_id)
            .await?
            .ok_or_else(|| AppError::NotFound("no such event".into()))?;
        let user = users::lock(&mut tx, &UserKey::Id(original.event.user_id)).await?;
        let now = ledger::entry(&mut *tx, event_id).await?;
        if let (Some(user), Some(now)) = (user, now)
            && now.event.user_id == user.id
        {
            break (now, user);
        }
    };
    let event = &original.event;
    let kind = EventType::parse(&event.event_type);
    if !matches!(kind, Some(EventType::XpChange | EventType::CoinsChange)) {
        return Err(AppError::invalid("only XP and coin changes can be reverted"));
    }
    if event.data.get("revertOf").is_some() {
        return Err(AppError::invalid("a revert cannot itself be reverted"));
    }
    if !ledger::claim_revert(&mut tx, event_id).await? {
        drop(tx);
        return match ledger::reverted_by(&state.pool, event_id).await? {
            Some(id) => ledger::entry(&state.pool, id).await,
            None => Ok(None),
        };
    }
    let delta = event.data["delta"]
        .as_i64()
        .and_then(|d| i32::try_from(d).ok())
        .unwrap_or(0);
    let undo = delta
        .checked_neg()
        .ok_or_else(|| AppError::invalid("this change cannot be reverted"))?;
    let source = Platform::parse(&event.source_platform).unwrap_or(Platform::Website);
    let note = Note {
        reason: Some("revert"),
        revert_of: Some(event_id),
        multiplier: None,
    };
    let revert_event = if kind == Some(EventType::XpChange) {
        apply_xp(&mut tx, state, actor, source, &user, undo, note)
            .await?
            .event
    } else {
        Some(
            apply_coins(&mut tx, actor, source, &user, undo, note)
                .await?
                .event,
        )
    };
    ledger::set_revert_event(&mut tx, event_id, revert_event).await?;
    unit::commit(state, tx).await?;
    match revert_event {
        Some(id) => ledger::entry(&state.pool, id).await,
        None => Ok(None),
    }
}
