//! Daily claims and users' time zones.

use chrono::Utc;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::{Note, XpChange, apply_coins, apply_xp};
use super::unit;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, UserRow};
use crate::domain::streak::{ClaimError, StreakState, claim};
use crate::domain::{EventType, IdempotencyKey, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct DailyClaim {
    pub user_id: Uuid,
    pub streak: i32,
    pub reward_coins: i32,
    pub reward_xp: i32,
    pub freezes_used: i32,
    /// The claim's whole effect on XP, coins and rank, with what it unlocked (results stored
    /// before this field have none).
    #[serde(default)]
    pub change: Option<XpChange>,
}

pub fn zone_of(state: &AppState, user: &UserRow) -> Tz {
    user.time_zone
        .as_deref()
        .or(Some(state.rules.time_zone.as_str()))
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// Claims today's reward, today being the user's own calendar day. A second claim on the same
/// day, also a racing one, is ALREADY_CLAIMED and changes nothing.
pub async fn claim_daily(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<DailyClaim> {
    let idem = Idempotency::requested(actor, idempotency_key, "claimDaily", key.to_string());
    unit::for_user(state, key, idem, async |tx, user| {
        claim_for(tx, state, actor, key, user).await
    })
    .await
}

/// Claims today's reward for the locked user.
async fn claim_for(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    user: UserRow,
) -> AppResult<DailyClaim> {
    let today = Utc::now().with_timezone(&zone_of(state, &user)).date_naive();
    let before = StreakState {
        streak: user.daily_streak,
        last_day: user.last_daily_day,
        freezes: user.streak_freezes,
    };
    let outcome = claim(&state.rules.daily, before, today).map_err(|ClaimError::AlreadyClaimed| {
        AppError::AlreadyClaimed(format!("the daily reward for {today} was already claimed"))
    })?;
    let saved = users::save_daily(tx, user.id, outcome.streak, outcome.freezes, today).await?;
    let source = actor.source(key, &user);
    let event = NewEvent {
        user_id: user.id,
        event_type: EventType::DailyClaimed,
        source,
        data: json!({
            "day": today, "streak": outcome.streak, "rewardCoins": outcome.reward_coins,
            "rewardXp": outcome.reward_xp, "freezesUsed": outcome.freezes_used, "freezes": outcome.freezes,
        }),
    };
    events::append(tx, actor.key_id(), &[event]).await?;
    let note = Note::because(Some("daily"));
    let mut change = XpChange::unchanged(&user);
    let mut current = saved;
    if outcome.reward_coins > 0 {
        current = apply_coins(tx, actor, source, &current, outcome.reward_coins, note)
            .await?
            .user;
    }
    if outcome.reward_xp > 0 {
        let applied = apply_xp(tx, state, actor, source, &current, outcome.reward_xp, note).await?;
        change = XpChange {
            old_rank_id: user.rank_id,
            ..applied.change
        };
        current = applied.user;
    }
    let unlocks = super::achievements::unlock_earned(tx, state, actor, source, current).await?;
    let change = change.with_unlocks(unlocks);
    Ok(DailyClaim {
        user_id: user.id,
        streak: outcome.streak,
        reward_coins: outcome.reward_coins,
        reward_xp: outcome.reward_xp,
        freezes_used: outcome.freezes_used,
        change: Some(change),
    })
}

/// Sets (or with `None` clears) the user's IANA time zone for daily claims.
pub async fn set_time_zone(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    zone: Option<&str>,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<UserRow> {
    if let Some(z) = zone
        && z.parse::<Tz>().is_err()
    {
        return Err(AppError::invalid(
            "timeZone must be an IANA zone such as Europe/Moscow",
        ));
    }
    let fingerprint = format!("{key}|{}", zone.unwrap_or(""));
    let idem = Idempotency::requested(actor, idempotency_key, "setUserTimeZone", fingerprint);
    unit::for_user(state, key, idem, async |tx, user| {
        users::set_time_zone(tx, user.id, zone).await
    })
    .await
}
