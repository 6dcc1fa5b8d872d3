//! Users: lookups, get-or-create by platform identity, and linking a platform identity the
//! caller vouches for.

use serde_json::json;

use super::Actor;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, UserRow};
use crate::domain::{EventType, ExternalId, Name, UserKey};
use crate::error::{AppError, AppResult};
use crate::events::PROFILES_CHANNEL;
use crate::state::AppState;

pub async fn find(state: &AppState, key: &UserKey) -> AppResult<Option<UserRow>> {
    users::find(&state.pool, key).await
}

/// A user with their all-time position (1 = best): the position from the boards in memory
/// (when `memory` allows), else read with the user in one statement.
pub async fn find_with_position(
    state: &AppState,
    key: &UserKey,
    memory: bool,
) -> AppResult<Option<(UserRow, i64)>> {
    if memory && state.boards.is_ready() {
        let Some(user) = users::find(&state.pool, key).await? else {
            return Ok(None);
        };
        let board = crate::db::leaderboard::Board::AllTime;
        if let Some(position) = super::leaderboard::position_in_memory(state, board, user.xp) {
            return Ok(Some((user, position)));
        }
    }
    users::find_with_position(&state.pool, key).await
}

/// Get-or-create by platform identity; an existing user gets the fresh names. A new account
/// or new names write no event, so every process hears of them on `PROFILES_CHANNEL`
/// (after the change committed): cached pages that show the account are dropped.
pub async fn upsert(
    state: &AppState,
    external_id: &ExternalId,
    username: &Name,
    display_name: Option<&Name>,
) -> AppResult<UserRow> {
    let (user, shown_anew) = users::upsert(&state.pool, external_id, username, display_name).await?;
    if shown_anew {
        events::ring(&state.pool, PROFILES_CHANNEL, &user.id.to_string()).await?;
    }
    Ok(user)
}

/// Adds a platform identity to a user. Linking the identity the user already has is a no-op;
/// an identity that belongs to someone else is a CONFLICT (accounts are merged explicitly).
pub async fn link_platform(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    external_id: &ExternalId,
) -> AppResult<UserRow> {
    let platform = external_id.platform();
    let mut tx = super::unit::begin(state).await?;
    let user = users::lock(&mut tx, key).await?.ok_or_else(not_found)?;
    match user.identities.get(platform) {
        Some(current) if current == external_id.as_str() => return Ok(user),
        Some(_) => {
            return Err(AppError::Conflict(format!(
                "the user already has another {} account linked",
                platform.as_str()
            )));
        }
        None => {}
    }
    if users::find(&mut *tx, &UserKey::External(external_id.clone()))
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "that {} account belongs to another user; merge the accounts instead",
            platform.as_str()
        )));
    }
    let linked = users::set_external_id(&mut tx, user.id, external_id).await?;
    events::append(
        &mut tx,
        actor.key_id(),
        &[NewEvent {
            user_id: user.id,
            event_type: EventType::AccountLinked,
            source: actor.source(key, &user),
            data: json!({ "platform": platform.as_str() }),
        }],
    )
    .await?;
    super::commit(state, tx).await?;
    Ok(linked)
}

pub fn not_found() -> AppError {
    AppError::NotFound("no such user".into())
}
