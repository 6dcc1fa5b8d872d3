//! Linking a second platform to an account with a one-time link code: a redeemed code joins
//! the identity to the code's account, or merges the two accounts (`merging.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Actor;
use super::users::not_found;
use crate::auth;
use crate::db::events::{self, NewEvent};
use crate::db::link_codes;
use crate::db::merges;
use crate::db::users::{self, UserRow};
use crate::domain::{EventType, ExternalId, LinkCode, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const CODE_TTL: Duration = Duration::from_secs(600);
/// Failed redemptions allowed for one target identity (whoever the callers) in
/// `FAILURE_WINDOW`.
pub const MAX_FAILURES: i64 = 5;
/// Failed redemptions allowed for one caller (whatever the targets) in `FAILURE_WINDOW`: one
/// request naming thousands of targets makes at most this many guesses.
pub const MAX_CALLER_FAILURES: i64 = 100;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);

fn new_code() -> AppResult<LinkCode> {
    let mut bytes = [0u8; LinkCode::LEN];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    Ok(LinkCode::from_random(bytes))
}

/// A new code for the user in front of the caller, valid for ten minutes.
pub async fn create_code(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
) -> AppResult<(LinkCode, DateTime<Utc>)> {
    let user = users::find(&state.pool, key).await?.ok_or_else(not_found)?;
    let code = new_code()?;
    let expires_at = Utc::now() + CODE_TTL;
    let platform = actor.source(key, &user);
    link_codes::create(
        &state.pool,
        &auth::hash(code.as_str()),
        user.id,
        platform.as_str(),
        expires_at,
    )
    .await?;
    Ok((code, expires_at))
}

/// Redeems a code for the user the caller addresses on another platform: that identity joins
/// the code's account, and when it already had an account of its own the two are merged into
/// the code's account.
pub async fn redeem(state: &AppState, actor: &Actor, code: &LinkCode, key: &UserKey) -> AppResult<UserRow> {
    let UserKey::External(external) = key else {
        return Err(AppError::invalid(
            "address the user by their id on the platform redeeming the code",
        ));
    };
    // A guess is counted before it is checked, so concurrent guesses cannot all slip under
    // the limit; a right guess gives its reservation back.
    let scopes = [
        (format!("target|{key}"), MAX_FAILURES),
        (format!("caller|{}", actor.scope()), MAX_CALLER_FAILURES),
    ];
    let window = Utc::now() - FAILURE_WINDOW;
    let reserved = match link_codes::reserve_guess(&state.pool, &scopes, window).await? {
        Ok(ids) => ids,
        Err(oldest) => {
            let free_at = oldest + FAILURE_WINDOW;
            let retry_after_secs = (free_at - Utc::now()).num_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs });
        }
    };
    let redeemed = redeem_code(state, actor, code, external, &reserved).await;
    if matches!(&redeemed, Err(e) if !matches!(e, AppError::NotFound(_))) {
        // Not a wrong guess (a code made on this platform, a conflict): not a failure either.
        link_codes::release_guess(&state.pool, &reserved).await?;
    }
    redeemed
}

/// Redeems a well-formed code; a right guess releases its `reserved` guesses in the same
/// transaction.
async fn redeem_code(
    state: &AppState,
    actor: &Actor,
    code: &LinkCode,
    external: &ExternalId,
    reserved: &[i64],
) -> AppResult<UserRow> {
    let side = external.platform();
    let key = &UserKey::External(external.clone());
    let hash = auth::hash(code.as_str());
    let mut tx = super::unit::begin(state).await?;
    let live = |c: &link_codes::CodeRow| c.used_at.is_none() && c.expires_at > Utc::now();
    // The accounts are locked before anything is written (the code's lock included), so
    // this change sorts after every change to them that committed first.
    let found = link_codes::find(&mut *tx, &hash).await?.filter(live);
    let found = match found {
        Some(row) => {
            match users::find(&mut *tx, key).await? {
                Some(existing) if existing.id != row.user_id => {
                    merges::lock_pair(&mut tx, row.user_id, existing.id).await?;
                }
                _ => {
                    users::lock(&mut tx, &UserKey::Id(row.user_id)).await?;
                }
            }
            link_codes::lock(&mut tx, &hash).await?.filter(live)
        }
        None => None,
    };
    let Some(row) = found else {
        tx.rollback().await?;
        return Err(AppError::NotFound(
            "no such link code, or it expired or was used".into(),
        ));
    };
    if row.platform == side.as_str() {
        return Err(AppError::invalid(format!(
            "this code was made on {0}; redeem it on another platform",
            side.as_str()
        )));
    }
    let result = match users::find(&mut *tx, key).await? {
        Some(existing) if existing.id == row.user_id => existing,
        Some(existing) => {
            super::merging::merge_locked(
                &mut tx,
                state,
                actor,
                row.user_id,
                existing.id,
                side,
                crate::domain::merge::RankRewards::Pay,
            )
            .await?
        }
        None => {
            let owner = users::lock(&mut tx, &UserKey::Id(row.user_id))
                .await?
                .ok_or_else(not_found)?;
            if owner.identities.get(side).is_some() {
                return Err(AppError::Conflict(format!(
                    "the account already has another {} identity",
                    side.as_str()
                )));
            }
            let linked = users::set_external_id(&mut tx, owner.id, external).await?;
            let event = NewEvent {
                user_id: owner.id,
                event_type: EventType::AccountLinked,
                source: side,
                data: json!({ "platform": side.as_str(), "via": "link_code" }),
            };
            events::append(&mut tx, actor.key_id(), &[event]).await?;
            linked
        }
    };
    link_codes::mark_used(&mut tx, &hash).await?;
    link_codes::release_guess(&mut *tx, reserved).await?;
    super::commit(state, tx).await?;
    Ok(result)
}
