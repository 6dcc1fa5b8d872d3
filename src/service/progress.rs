//! XP and coins.

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Actor;
use super::idempotency::{Idempotency, record_if, replay_or};
use super::users::not_found;
use crate::db::events::{self, NewEvent};
use crate::db::users;
use crate::domain::{EventType, UserKey, validate, xp};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The result of an XP change; also what an idempotent retry gets back.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct XpChange {
    pub user_id: Uuid,
    pub delta: i32,
    pub xp: i32,
    pub old_rank_id: i32,
    pub new_rank_id: i32,
    pub reward_coins: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CoinsChange {
    pub user_id: Uuid,
    pub delta: i32,
    pub coins: i32,
}

pub async fn award_xp(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    delta: i32,
    reason: Option<&str>,
    idempotency_key: Option<&str>,
) -> AppResult<XpChange> {
    if delta == 0 {
        return Err(AppError::invalid("delta must not be 0"));
    }
    let reason = validate::reason(reason).map_err(AppError::InvalidInput)?;
    let idempotency_key = validate::idempotency_key(idempotency_key).map_err(AppError::InvalidInput)?;

    let mut tx = state.pool.begin().await?;
    let user = users::lock(&mut tx, key).await?.ok_or_else(not_found)?;
    let scope = actor.scope();
    let idem = Idempotency::new(
        &scope,
        idempotency_key,
        "awardXp",
        format!("{}|{delta}|{}", user.id, reason.as_deref().unwrap_or("")),
    );
    if let Some(previous) = replay_or(idem.as_ref(), &mut tx).await? {
        return Ok(previous);
    }

    let outcome = xp::apply(&state.ranks, user.progress(), delta)
        .map_err(|_| AppError::invalid("the change would take xp or coins past the Int range"))?;
    let saved = users::save_progress(&mut tx, user.id, &outcome).await?;

    let source = actor.source(key, &user);
    let event = |event_type, data| NewEvent {
        user_id: user.id,
        event_type,
        source,
        data,
    };
    let mut log = Vec::new();
    if outcome.applied != 0 {
        log.push(event(
            EventType::XpChange,
            json!({ "delta": outcome.applied, "xp": saved.xp, "previousXp": user.xp, "reason": reason }),
        ));
    }
    let mut from_rank = outcome.old_rank_id;
    for (rank, reward) in &outcome.ranks_up {
        log.push(event(
            EventType::RankUp,
            json!({
                "oldRankId": from_rank, "rankId": rank.id, "rankName": rank.name,
                "rewardCoins": reward, "xp": saved.xp,
            }),
        ));
        from_rank = rank.id;
    }
    if outcome.reward_coins > 0 {
        log.push(event(
            EventType::CoinsChange,
            json!({ "delta": outcome.reward_coins, "coins": saved.coins, "reason": "rank_reward" }),
        ));
    }
    events::append(&mut tx, actor.key_id(), &log).await?;

    let change = XpChange {
        user_id: user.id,
        delta: outcome.applied,
        xp: saved.xp,
        old_rank_id: outcome.old_rank_id,
        new_rank_id: outcome.new_rank_id,
        reward_coins: outcome.reward_coins,
    };
    record_if(idem.as_ref(), &mut tx, &change).await?;
    tx.commit().await?;
    Ok(change)
}

pub async fn adjust_coins(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    delta: i32,
    reason: Option<&str>,
    idempotency_key: Option<&str>,
) -> AppResult<CoinsChange> {
    if delta == 0 {
        return Err(AppError::invalid("delta must not be 0"));
    }
    let reason = validate::reason(reason).map_err(AppError::InvalidInput)?;
    let idempotency_key = validate::idempotency_key(idempotency_key).map_err(AppError::InvalidInput)?;

    let mut tx = state.pool.begin().await?;
    let user = users::lock(&mut tx, key).await?.ok_or_else(not_found)?;
    let scope = actor.scope();
    let idem = Idempotency::new(
        &scope,
        idempotency_key,
        "adjustCoins",
        format!("{}|{delta}|{}", user.id, reason.as_deref().unwrap_or("")),
    );
    if let Some(previous) = replay_or(idem.as_ref(), &mut tx).await? {
        return Ok(previous);
    }

    let coins = i64::from(user.coins) + i64::from(delta);
    if coins < 0 {
        return Err(AppError::InsufficientCoins {
            balance: user.coins,
            delta,
        });
    }
    let coins = i32::try_from(coins).map_err(|_| AppError::invalid("coins would exceed the Int range"))?;
    let saved = users::save_coins(&mut tx, user.id, coins).await?;
    events::append(
        &mut tx,
        actor.key_id(),
        &[NewEvent {
            user_id: user.id,
            event_type: EventType::CoinsChange,
            source: actor.source(key, &user),
            data: json!({ "delta": delta, "coins": saved.coins, "reason": reason }),
        }],
    )
    .await?;
    let change = CoinsChange {
        user_id: user.id,
        delta,
        coins: saved.coins,
    };
    record_if(idem.as_ref(), &mut tx, &change).await?;
    tx.commit().await?;
    Ok(change)
}
