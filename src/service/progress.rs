//! XP and coins. Each change writes its ledger entry (an `xp_change` or `coins_change` event
//! with the amounts before and after, the reason and the key) in the same transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Actor;
use super::idempotency::Idempotency;
use super::{one_call, unit};
use crate::db::boosts;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, UserRow};
use crate::domain::{EventType, IdempotencyKey, Platform, Reason, UserKey, activity, xp};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The result of an XP-changing mutation, describing its whole transaction (the change, and
/// what the achievements it unlocked paid); also what an idempotent retry gets back.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct XpChange {
    pub user_id: Uuid,
    /// The requested change as applied.
    pub delta: i32,
    /// XP when the transaction ends.
    pub xp: i32,
    /// Coins when the transaction ends (results stored before this field read 0).
    #[serde(default)]
    pub coins: i32,
    /// The rank before the transaction.
    pub old_rank_id: i32,
    /// The rank when the transaction ends.
    pub new_rank_id: i32,
    /// Coins paid for every rank crossed upward in the transaction.
    pub reward_coins: i32,
    /// Every rank crossed upward, lowest first, with the coins it paid (0: paid before).
    #[serde(default)]
    pub ranks_crossed: Vec<RankReward>,
    /// The achievements the transaction unlocked, with their rewards.
    #[serde(default)]
    pub achievements_unlocked: Vec<Unlocked>,
    /// The last event the transaction wrote (none when it wrote none): a read passed it as
    /// `consistentAfter` sees the change.
    #[serde(default)]
    pub event_cursor: Option<crate::domain::cursor::EventCursor>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankReward {
    pub rank_id: i32,
    pub reward_coins: i32,
}

/// An achievement a change unlocked, and what it paid.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Unlocked {
    pub code: String,
    pub name: String,
    pub reward_xp: i32,
    pub reward_coins: i32,
}

impl XpChange {
    /// No XP change at all, for a user as they are (a result that still reports unlocks).
    pub fn unchanged(user: &UserRow) -> XpChange {
        XpChange {
            user_id: user.id,
            delta: 0,
            xp: user.xp,
            coins: user.coins,
            old_rank_id: user.rank_id,
            new_rank_id: user.rank_id,
            reward_coins: 0,
            ranks_crossed: Vec::new(),
            achievements_unlocked: Vec::new(),
            event_cursor: None,
        }
    }

    /// The change with the cursor of the last event its transaction wrote.
    pub async fn with_cursor(mut self, tx: &mut PgConnection) -> AppResult<XpChange> {
        self.event_cursor = events::last_of_transaction(tx).await?;
        Ok(self)
    }

    /// The change, then what unlocking achievements added to the same transaction.
    pub fn with_unlocks(mut self, unlocks: super::achievements::Unlocks) -> XpChange {
        self.xp = unlocks.user.xp;
        self.coins = unlocks.user.coins;
        self.new_rank_id = unlocks.user.rank_id;
        self.reward_coins += unlocks.ranks_crossed.iter().map(|r| r.reward_coins).sum::<i32>();
        self.ranks_crossed.extend(unlocks.ranks_crossed);
        self.achievements_unlocked = unlocks.unlocked;
        self
    }
}

/// The one rank event of an XP change: `rank_up` naming every rank crossed with its reward,
/// `rank_down` for a loss that lowers the rank, none when the rank holds.
pub fn rank_event(
    ranks: &crate::domain::RankTable,
    o: &xp::XpOutcome,
) -> Option<(EventType, serde_json::Value)> {
    let name = |id: i32| ranks.get(id).map(|r| r.name.clone());
    if let Some((top, _)) = o.ranks_up.last() {
        let crossed: Vec<_> = o
            .ranks_up
            .iter()
            .map(|(r, reward)| json!({ "rankId": r.id, "rankName": r.name, "rewardCoins": reward }))
            .collect();
        return Some((
            EventType::RankUp,
            json!({
                "oldRankId": o.old_rank_id, "oldRankName": name(o.old_rank_id),
                "rankId": top.id, "rankName": top.name, "rewardCoins": o.reward_coins,
                "ranksCrossed": crossed, "xp": o.xp,
            }),
        ));
    }
    (o.new_rank_id < o.old_rank_id).then(|| {
        (
            EventType::RankDown,
            json!({
                "oldRankId": o.old_rank_id, "oldRankName": name(o.old_rank_id),
                "rankId": o.new_rank_id, "rankName": name(o.new_rank_id), "xp": o.xp,
            }),
        )
    })
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct CoinsChange {
    pub user_id: Uuid,
    pub delta: i32,
    pub coins: i32,
}

/// What an XP change wrote: its result, its `xp_change` event (none when nothing moved) and
/// the user row as saved (still locked by the transaction).
pub struct XpApplied {
    pub change: XpChange,
    pub event: Option<Uuid>,
    pub user: UserRow,
}

/// What a coin change wrote: its result, its `coins_change` event and the saved user row.
pub struct CoinsApplied {
    pub change: CoinsChange,
    pub event: Uuid,
    pub user: UserRow,
}

/// Why a change happened: the caller's reason, the event it reverts, the boost applied.
#[derive(Clone, Copy, Debug, Default)]
pub struct Note<'a> {
    pub reason: Option<&'a str>,
    pub revert_of: Option<Uuid>,
    pub multiplier: Option<f64>,
}

impl<'a> Note<'a> {
    pub fn because(reason: Option<&'a str>) -> Note<'a> {
        Note {
            reason,
            ..Note::default()
        }
    }

    fn annotate(&self, mut data: serde_json::Value) -> serde_json::Value {
        data["reason"] = json!(self.reason);
        if let Some(id) = self.revert_of {
            data["revertOf"] = json!(id);
        }
        if let Some(m) = self.multiplier {
            data["multiplier"] = json!(m);
        }
        data
    }
}

/// Earned XP: the boosts in force for the user multiply a gain (rounding down) and the
/// multiplier is recorded on the `xp_change` event. Losses are applied as they are.
pub async fn gain_xp(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    source: Platform,
    user: &UserRow,
    xp: i32,
    note: Note<'_>,
) -> AppResult<XpApplied> {
    let multipliers = if xp > 0 {
        boosts::in_force(&mut *tx, user.id).await?
    } else {
        Vec::new()
    };
    let (boosted, factor) = activity::boosted(xp, &multipliers);
    let note = Note {
        multiplier: Some(factor),
        ..note
    };
    apply_xp(tx, state, actor, source, user, boosted, note).await
}

/// An XP or coin change as the caller requested it.
pub struct DeltaRequest {
    pub key: UserKey,
    pub delta: i32,
    pub reason: Option<Reason>,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl DeltaRequest {
    /// The request checked (a delta of 0 is refused), with its idempotency key for
    /// `operation`. The key's fingerprint is the request as sent, not the account it resolves
    /// to.
    fn idempotency(&self, actor: &Actor, operation: &'static str) -> AppResult<Option<Idempotency>> {
        if self.delta == 0 {
            return Err(AppError::invalid("delta must not be 0"));
        }
        let reason = self.reason.as_ref().map_or("", Reason::as_str);
        let fingerprint = format!("{}|{}|{reason}", self.key, self.delta);
        Ok(Idempotency::requested(
            actor,
            self.idempotency_key.clone(),
            operation,
            fingerprint,
        ))
    }

    fn note(&self) -> Note<'_> {
        Note::because(self.reason.as_ref().map(Reason::as_str))
    }
}

pub async fn award_xp(state: &AppState, actor: &Actor, request: &DeltaRequest) -> AppResult<XpChange> {
    let idem = request.idempotency(actor, "awardXp")?;
    let (key, delta) = (&request.key, request.delta);
    let reason = request.reason.as_ref().map(Reason::as_str);
    if let Some(change) = one_call::attempt(state, actor, key, delta, reason, None, idem.as_ref()).await? {
        return Ok(change);
    }
    unit::for_user(state, key, idem, async |tx, user| {
        let source = actor.source(key, &user);
        let applied = gain_xp(tx, state, actor, source, &user, delta, request.note()).await?;
        let unlocks = super::achievements::unlock_earned(tx, state, actor, source, applied.user).await?;
        applied.change.with_unlocks(unlocks).with_cursor(tx).await
    })
    .await
}

/// Applies an XP delta to a locked user inside the caller's transaction and writes its
/// events.
pub async fn apply_xp(
    tx: &mut PgConnection,
    state: &AppState,
    actor: &Actor,
    source: Platform,
    user: &UserRow,
    delta: i32,
    note: Note<'_>,
) -> AppResult<XpApplied> {
    let outcome = xp::apply(&state.ranks, user.progress(), delta)
        .map_err(|_| AppError::invalid("the change would take xp or coins past the Int range"))?;
    let saved = users::save_progress(tx, user.id, &outcome).await?;
    let event = |event_type, data| NewEvent {
        user_id: user.id,
        event_type,
        source,
        data,
    };
    let mut log = Vec::new();
    if outcome.applied != 0 {
        let data = json!({ "delta": outcome.applied, "xp": saved.xp, "previousXp": user.xp });
        log.push(event(EventType::XpChange, note.annotate(data)));
    }
    if let Some((kind, data)) = rank_event(&state.ranks, &outcome) {
        log.push(event(kind, data));
    }
    if outcome.reward_coins > 0 {
        log.push(event(
            EventType::CoinsChange,
            json!({
                "delta": outcome.reward_coins, "coins": saved.coins, "previousCoins": user.coins,
                "reason": "rank_reward",
            }),
        ));
    }
    let written = events::append(tx, actor.key_id(), &log).await?;
    let change = XpChange {
        user_id: user.id,
        delta: outcome.applied,
        xp: saved.xp,
        coins: saved.coins,
        old_rank_id: outcome.old_rank_id,
        new_rank_id: outcome.new_rank_id,
        reward_coins: outcome.reward_coins,
        ranks_crossed: outcome
            .ranks_up
            .iter()
            .map(|(r, reward)| RankReward {
                rank_id: r.id,
                reward_coins: *reward,
            })
            .collect(),
        achievements_unlocked: Vec::new(),
        event_cursor: None,
    };
    Ok(XpApplied {
        change,
        event: (outcome.applied != 0).then(|| written[0].0),
        user: saved,
    })
}

pub async fn adjust_coins(state: &AppState, actor: &Actor, request: &DeltaRequest) -> AppResult<CoinsChange> {
    let idem = request.idempotency(actor, "adjustCoins")?;
    let (key, delta) = (&request.key, request.delta);
    unit::for_user(state, key, idem, async |tx, user| {
        let source = actor.source(key, &user);
        Ok(apply_coins(tx, actor, source, &user, delta, request.note())
            .await?
            .change)
    })
    .await
}

/// Applies a coin delta to a locked user inside the caller's transaction; INSUFFICIENT_COINS
/// when the balance would go below 0.
pub async fn apply_coins(
    tx: &mut PgConnection,
    actor: &Actor,
    source: Platform,
    user: &UserRow,
    delta: i32,
    note: Note<'_>,
) -> AppResult<CoinsApplied> {
    let coins = i64::from(user.coins) + i64::from(delta);
    if coins < 0 {
        return Err(AppError::InsufficientCoins {
            balance: user.coins,
            delta,
        });
    }
    let coins = i32::try_from(coins).map_err(|_| AppError::invalid("coins would exceed the Int range"))?;
    let saved = users::save_coins(tx, user.id, coins).await?;
    let data = json!({ "delta": delta, "coins": saved.coins, "previousCoins": user.coins });
    let event = NewEvent {
        user_id: user.id,
        event_type: EventType::CoinsChange,
        source,
        data: note.annotate(data),
    };
    let written = events::append(tx, actor.key_id(), &[event]).await?;
    Ok(CoinsApplied {
        change: CoinsChange {
            user_id: user.id,
            delta,
            coins: saved.coins,
        },
        event: written[0].0,
        user: saved,
    })
}
