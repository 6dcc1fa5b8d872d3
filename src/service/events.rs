//! The pull API: each named consumer reads the events after its acknowledged position. A
//! consumer belongs to the role (and bot platform) that created it; admins see and reset all.

use super::Actor;
use crate::db::consumers;
use crate::db::events::{self, EventFilter, EventRow};
use crate::domain::ConsumerName;
use crate::domain::access::Role;
use crate::domain::cursor::EventCursor;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Consumers one owner may have: names are client-chosen, rows must not grow without bound.
pub const MAX_CONSUMERS_PER_OWNER: i64 = 100;

/// The caller's claim on `owner`'s consumer: its own, or an admin's.
fn check_owner(actor: &Actor, owner: Option<&str>) -> AppResult<()> {
    let role = actor
        .role()
        .ok_or_else(|| AppError::Unauthenticated("this needs an API key".into()))?;
    match owner {
        Some(owner) if owner != role.owner() && role != Role::Admin => Err(AppError::Forbidden(format!(
            "this consumer belongs to another role ({owner})"
        ))),
        _ => Ok(()),
    }
}

pub fn cursor(raw: &str) -> AppResult<EventCursor> {
    EventCursor::decode(raw).ok_or_else(|| AppError::invalid("not an event cursor"))
}

pub async fn pending(
    state: &AppState,
    actor: &Actor,
    consumer: &ConsumerName,
    limit: i64,
) -> AppResult<Vec<EventRow>> {
    let (from, owner) = consumers::position(&state.pool, consumer).await?;
    check_owner(actor, owner.as_deref())?;
    events::read(&state.pool, from, None, &EventFilter::default(), limit).await
}

/// Moves the consumer's position forward to `up_to` and returns how many events that
/// acknowledged. Acknowledging an older position changes nothing; a position past the
/// events that can be read is refused (it would skip events not delivered yet).
pub async fn ack(
    state: &AppState,
    actor: &Actor,
    consumer: &ConsumerName,
    up_to: EventCursor,
) -> AppResult<i32> {
    let role = actor
        .role()
        .ok_or_else(|| AppError::Unauthenticated("this needs an API key".into()))?;
    let mut tx = state.pool.begin().await?;
    if consumers::position(&mut *tx, consumer).await?.1.is_none()
        && consumers::count_owned(&mut *tx, &role.owner()).await? >= MAX_CONSUMERS_PER_OWNER
    {
        return Err(AppError::invalid(format!(
            "at most {MAX_CONSUMERS_PER_OWNER} consumers per role; an admin can reset unused ones"
        )));
    }
    let (current, owner) = consumers::lock(&mut tx, consumer, &role.owner()).await?;
    check_owner(actor, Some(&owner))?;
    if up_to > events::stable_head(&mut *tx).await? {
        return Err(AppError::invalid(
            "upTo is past the newest event that can be read",
        ));
    }
    if up_to <= current {
        tx.commit().await?;
        return Ok(0);
    }
    let acknowledged = consumers::count_between(&mut *tx, current, up_to).await?;
    consumers::set(&mut tx, consumer, up_to).await?;
    tx.commit().await?;
    Ok(i32::try_from(acknowledged).unwrap_or(i32::MAX))
}

/// A consumer as an admin sees it.
pub struct ConsumerInfo {
    pub name: String,
    pub owner: Option<String>,
    pub position: EventCursor,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Admin: consumers by name after `after`.
pub async fn list(state: &AppState, after: Option<&str>, limit: i64) -> AppResult<Vec<ConsumerInfo>> {
    let rows = consumers::list(&state.pool, after.unwrap_or(""), limit).await?;
    Ok(rows
        .into_iter()
        .map(|(name, owner, txid, seq, updated_at)| ConsumerInfo {
            name,
            owner,
            position: EventCursor { txid, seq },
            updated_at,
        })
        .collect())
}

/// Admin: forgets a consumer (its next read starts at the oldest retained event, and the next
/// role to acknowledge with its name owns it). False when there was none.
pub async fn reset(state: &AppState, consumer: &ConsumerName) -> AppResult<bool> {
    consumers::delete(&state.pool, consumer).await
}
