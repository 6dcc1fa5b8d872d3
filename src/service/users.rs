use serde_json::json;

use super::Actor;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, UserRow};
use crate::domain::{EventType, Platform, UserKey, validate};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub async fn find(state: &AppState, key: &UserKey) -> AppResult<Option<UserRow>> {
    users::find(&state.pool, key).await
}

/// A user with their all-time position (1 = best), read together.
pub async fn find_with_position(state: &AppState, key: &UserKey) -> AppResult<Option<(UserRow, i64)>> {
    users::find_with_position(&state.pool, key).await
}

pub struct UpsertInput {
    pub platform: Platform,
    pub external_id: String,
    pub username: String,
    pub display_name: Option<String>,
}

pub async fn upsert(state: &AppState, input: UpsertInput) -> AppResult<UserRow> {
    let external_id =
        validate::external_id(input.platform, &input.external_id).map_err(AppError::InvalidInput)?;
    let username = validate::name("username", &input.username).map_err(AppError::InvalidInput)?;
    let display_name = input
        .display_name
        .as_deref()
        .map(|d| validate::name("displayName", d))
        .transpose()
        .map_err(AppError::InvalidInput)?;
    let (user, _created) = users::upsert(
        &state.pool,
        input.platform,
        &external_id,
        &username,
        display_name.as_deref(),
    )
    .await?;
    Ok(user)
}

/// Adds a platform identity to a user. Linking the identity the user already has is a no-op;
/// an identity that belongs to someone else is a CONFLICT (accounts are merged explicitly).
pub async fn link_platform(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    platform: Platform,
    external_id: &str,
) -> AppResult<UserRow> {
    let external_id = validate::external_id(platform, external_id).map_err(AppError::InvalidInput)?;
    let mut tx = super::unit::begin(state).await?;
    let user = users::lock(&mut tx, key).await?.ok_or_else(not_found)?;
    match user.external_id(platform) {
        Some(current) if current == external_id => return Ok(user),
        Some(_) => {
            return Err(AppError::Conflict(format!(
                "the user already has another {} account linked",
                platform.as_str()
            )));
        }
        None => {}
    }
    if users::find(&mut *tx, &UserKey::External(platform, external_id.clone()))
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(format!(
            "that {} account belongs to another user; merge the accounts instead",
            platform.as_str()
        )));
    }
    let linked = users::set_external_id(&mut tx, user.id, platform, &external_id).await?;
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
