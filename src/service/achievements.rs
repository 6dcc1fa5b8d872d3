//! Unlocking achievements inside the transaction of the change that earned them.

use serde_json::json;

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::{Note, RankReward, Unlocked, apply_coins, apply_xp};
use super::unit;
use crate::db::achievements;
use crate::db::events::{self, NewEvent};
use crate::db::users::UserRow;
use crate::domain::achievements::{Standing, is_earned, newly_earned};
use crate::domain::{AchievementCode, EventType, IdempotencyKey, Platform, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

fn standing(state: &AppState, u: &UserRow) -> Standing {
    Standing {
        games_played: u.games_played,
        games_won: u.games_won,
        voice_seconds: u.total_voice_time,
        messages_sent: u.messages_sent,
        daily_streak: u.daily_streak,
        xp: u.xp,
        tier: state.ranks.get(u.rank_id).map(|r| r.tier),
    }
}

/// What unlocking achievements did to a user: the user after it, the achievements unlocked
/// with their rewards, and the ranks their XP rewards crossed.
pub struct Unlocks {
    pub user: UserRow,
    pub unlocked: Vec<Unlocked>,
    pub ranks_crossed: Vec<RankReward>,
}

impl Unlocks {
    fn none(user: UserRow) -> Unlocks {
        Unlocks {
            user,
            unlocked: Vec::new(),
            ranks_crossed: Vec::new(),
        }
    }
}

/// Unlocks everything `user` (locked by the caller) has now earned, each exactly once, paying
/// its rewards; rewards can earn more (XP reaching a tier), so it repeats until nothing new.
pub async fn unlock_earned(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    source: Platform,
    user: UserRow,
) -> AppResult<Unlocks> {
    let mut done = Unlocks::none(user);
    loop {
        let user = &done.user;
        let standing = standing(state, user);
        // Most changes earn nothing at all: then there is no need to read what is held.
        if !state
            .rules
            .achievements
            .iter()
            .any(|a| is_earned(&a.unlock, &standing))
        {
            return Ok(done);
        }
        let held = achievements::held(&mut *tx, user.id).await?;
        let earned: Vec<_> = newly_earned(&state.rules.achievements, &standing, &held)
            .into_iter()
            .map(|a| a.code.clone())
            .collect();
        if earned.is_empty() {
            return Ok(done);
        }
        for code in earned {
            done = unlock(tx, state, actor, source, done, &code).await?;
        }
    }
}

/// Unlocks one achievement for a locked user (no-op when held) and pays its rewards, adding
/// to what `done` records.
async fn unlock(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    source: Platform,
    mut done: Unlocks,
    code: &str,
) -> AppResult<Unlocks> {
    let user = &done.user;
    // The rules this server runs with are the catalog: an achievement they do not name is
    // retired, whatever a database row says.
    let Some(a) = state.rules.achievements.iter().find(|a| a.code == code) else {
        return Err(AppError::NotFound(format!("no achievement {code}")));
    };
    if !achievements::unlock(&mut *tx, user.id, code).await? {
        return Ok(done);
    }
    let event = NewEvent {
        user_id: user.id,
        event_type: EventType::AchievementUnlock,
        source,
        data: json!({ "code": a.code, "name": a.name, "rewardXp": a.reward_xp, "rewardCoins": a.reward_coins }),
    };
    events::append(tx, actor.key_id(), &[event]).await?;
    let reason = format!("achievement:{code}");
    let note = Note::because(Some(&reason));
    let mut user = done.user.clone();
    // At the very top of the Int range a reward is cut to what still fits.
    let reward_xp = a.reward_xp.min(i32::MAX - user.xp);
    if reward_xp > 0 {
        let applied = apply_xp(tx, state, actor, source, &user, reward_xp, note).await?;
        done.ranks_crossed.extend(applied.change.ranks_crossed);
        user = applied.user;
    }
    let reward_coins = a.reward_coins.min(i32::MAX - user.coins);
    if reward_coins > 0 {
        user = apply_coins(tx, actor, source, &user, reward_coins, note)
            .await?
            .user;
    }
    done.unlocked.push(Unlocked {
        code: a.code.clone(),
        name: a.name.clone(),
        reward_xp,
        reward_coins,
    });
    done.user = user;
    Ok(done)
}

/// An admin's grant: unlocks `code` for the user (no-op when held), with its rewards.
pub async fn grant(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    code: &AchievementCode,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<UserRow> {
    let code = code.as_str();
    let fingerprint = format!("{key}|{code}");
    let idem = Idempotency::requested(actor, idempotency_key, "grantAchievement", fingerprint);
    unit::for_user(state, key, idem, async |tx, user| {
        let source = actor.source(key, &user);
        let done = unlock(tx, state, actor, source, Unlocks::none(user), code).await?;
        Ok(unlock_earned(tx, state, actor, source, done.user).await?.user)
    })
    .await
}
