//! What every resolver reads from the request: the app state, the caller, the loaders; the
//! helpers that load a user or a rank for a field, and the shared front of progress changes.

use async_graphql::{Context, Result};

use crate::domain::access::Action;
use crate::domain::{IdempotencyKey, Rank, UserKey};
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::graphql::types::{User, UserRef};
use crate::service::Actor;
use crate::state::AppState;

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

static PUBLIC: Actor = Actor { key: None };

/// The caller (the HTTP and websocket layers put it in every request; absent means public).
pub fn actor<'a>(ctx: &Context<'a>) -> &'a Actor {
    ctx.data_opt::<Actor>().unwrap_or(&PUBLIC)
}

pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

/// Whether this request's leaderboard reads may use the boards in memory. With
/// `consistent_after` (an event cursor, as a mutation's `eventCursor`), it first waits for
/// them to hold that event, at most `consistent_after_wait_ms`; past it, or without boards,
/// the request reads by SQL, which is always current.
pub async fn boards_usable(ctx: &Context<'_>, consistent_after: Option<&str>) -> Result<bool> {
    use std::sync::atomic::Ordering;
    let loaders = loaders(ctx)?;
    if let Some(raw) = consistent_after {
        let cursor = crate::domain::cursor::EventCursor::decode(raw)
            .ok_or_else(|| AppError::invalid("consistentAfter is not an event cursor"))?;
        let wait = std::time::Duration::from_millis(super::limits::LIMITS.consistent_after_wait_ms);
        if !state(ctx).boards.caught_up(cursor, wait).await {
            loaders.sql_only.store(true, Ordering::Relaxed);
        }
    }
    Ok(!loaders.sql_only.load(Ordering::Relaxed))
}

pub(super) fn rank_by_id(ctx: &Context<'_>, id: i32) -> Result<Rank> {
    Ok(state(ctx)
        .ranks
        .get(id)
        .cloned()
        .ok_or_else(|| AppError::internal(format!("unknown rank {id}")))?)
}

pub async fn load_user(ctx: &Context<'_>, id: uuid::Uuid) -> Result<User> {
    let row = loaders(ctx)?.users.load_one(id).await?;
    Ok(User(row.ok_or_else(|| {
        AppError::NotFound("the user no longer exists".into())
    })?))
}

/// The front of every change to one user's progress: the user the request addresses, checked
/// against what the caller may change, and the request's idempotency key, parsed.
pub fn progress_change(
    ctx: &Context<'_>,
    user: &UserRef,
    idempotency_key: Option<&str>,
) -> Result<(UserKey, Option<IdempotencyKey>)> {
    let key = user.key()?;
    actor(ctx).authorize(&Action::ChangeProgress(&key))?;
    Ok((key, IdempotencyKey::parse(idempotency_key)?))
}
