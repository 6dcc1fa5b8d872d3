//! Merging two accounts of one person into one (after a redeemed link code, by an admin, or
//! by an import): the pure rule of what the merged account holds, and the change that writes
//! it with its events.

use serde_json::json;

use super::Actor;
use super::users::not_found;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, UserRow};
use crate::domain::xp::{self, Progress, XpOutcome};
use crate::domain::{EventType, Platform, RankTable, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An admin's merge: `from` is folded into `into` and removed.
pub async fn merge(state: &AppState, actor: &Actor, into: &UserKey, from: &UserKey) -> AppResult<UserRow> {
    let mut tx = super::unit::begin(state).await?;
    let into_user = users::find(&mut *tx, into).await?.ok_or_else(not_found)?;
    let from_user = users::find(&mut *tx, from).await?.ok_or_else(not_found)?;
    if into_user.id == from_user.id {
        return Err(AppError::invalid("cannot merge an account into itself"));
    }
    let source = actor.source(into, &into_user);
    let merged = merge_locked(
        &mut tx,
        state,
        actor,
        into_user.id,
        from_user.id,
        source,
        RankRewards::Pay,
    )
    .await?;
    super::commit(state, tx).await?;
    Ok(merged)
}

/// Whether ranks the merged XP reaches pay their coins: they do when people merge accounts,
/// not when an import joins the accounts of imported XP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankRewards {
    Pay,
    Withhold,
}

/// Merges `from` into `into` inside the caller's transaction (each row locked here).
pub(crate) async fn merge_locked(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    into_id: uuid::Uuid,
    from_id: uuid::Uuid,
    source: crate::domain::Platform,
    rewards: RankRewards,
) -> AppResult<UserRow> {
    let (into, from) = users::lock_pair(tx, into_id, from_id)
        .await?
        .ok_or_else(not_found)?;
    let (merged, outcome) = merged(&state.ranks, &into, &from, rewards).map_err(AppError::Conflict)?;
    users::repoint(tx, from.id, into.id).await?;
    users::delete(tx, from.id).await?;
    let saved = users::save_merged(tx, &merged).await?;
    let moved: Vec<&str> = Platform::ALL
        .into_iter()
        .filter(|p| into.external_id(*p).is_none() && from.external_id(*p).is_some())
        .map(Platform::as_str)
        .collect();
    let event = |event_type, data| NewEvent {
        user_id: into.id,
        event_type,
        source,
        data,
    };
    let mut log = vec![event(
        EventType::AccountsMerged,
        json!({
            "fromUserId": from.id, "platforms": moved, "xpAdded": from.xp, "coinsAdded": from.coins,
            "xp": saved.xp, "coins": saved.coins,
        }),
    )];
    // The ledger's view of the merge: what the surviving account gained.
    log.push(event(
        EventType::XpChange,
        json!({ "delta": saved.xp - into.xp, "xp": saved.xp, "previousXp": into.xp, "reason": "merge" }),
    ));
    log.push(event(
        EventType::CoinsChange,
        json!({ "delta": saved.coins - into.coins, "coins": saved.coins, "previousCoins": into.coins, "reason": "merge" }),
    ));
    if let Some((kind, data)) = super::progress::rank_event(&state.ranks, &outcome) {
        log.push(event(kind, data));
    }
    events::append(tx, actor.key_id(), &log).await?;
    Ok(saved)
}

/// The account two accounts of one person make: identities united, counters summed, the best
/// streak kept, the earliest creation date. XP is added as a gain, so the rank follows and
/// only ranks neither account was ever paid for pay their reward (unless `rewards` withholds
/// them: then every rank reached counts as paid, and the outcome pays and crosses nothing).
pub fn merged(
    table: &RankTable,
    into: &UserRow,
    from: &UserRow,
    rewards: RankRewards,
) -> Result<(UserRow, XpOutcome), String> {
    let mut m = into.clone();
    for p in Platform::ALL {
        match (into.external_id(p), from.external_id(p)) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!("both accounts have a different {} identity", p.as_str()));
            }
            (None, Some(b)) => match p {
                Platform::Telegram => m.telegram_id = Some(b.to_owned()),
                Platform::Discord => m.discord_id = Some(b.to_owned()),
                Platform::Website => m.website_email = Some(b.to_owned()),
            },
            _ => {}
        }
    }
    let overflow = || "the merged totals exceed the Int range".to_owned();
    let sum = |a: i32, b: i32| a.checked_add(b).ok_or_else(overflow);
    let progress = Progress {
        xp: into.xp,
        season_xp: into.current_season_xp,
        coins: sum(into.coins, from.coins)?,
        rank_id: into.rank_id,
        rewarded_rank_id: into.rewarded_rank_id.max(from.rewarded_rank_id),
    };
    let mut outcome = xp::apply(table, progress, from.xp).map_err(|_| overflow())?;
    if rewards == RankRewards::Withhold {
        outcome.coins = progress.coins;
        outcome.reward_coins = 0;
        outcome.rewarded_rank_id = outcome.rewarded_rank_id.max(outcome.new_rank_id);
        outcome.ranks_up.clear();
    }
    m.xp = outcome.xp;
    m.coins = outcome.coins;
    m.rank_id = outcome.new_rank_id;
    m.rewarded_rank_id = outcome.rewarded_rank_id;
    m.current_season_xp = sum(into.current_season_xp, from.current_season_xp)?;
    m.games_played = sum(into.games_played, from.games_played)?;
    m.games_won = sum(into.games_won, from.games_won)?;
    m.total_voice_time = sum(into.total_voice_time, from.total_voice_time)?;
    m.messages_sent = sum(into.messages_sent, from.messages_sent)?;
    m.daily_streak = into.daily_streak.max(from.daily_streak);
    m.last_daily = into.last_daily.max(from.last_daily);
    m.created_at = into.created_at.min(from.created_at);
    m.streak_freezes = into.streak_freezes.max(from.streak_freezes);
    m.last_daily_day = into.last_daily_day.max(from.last_daily_day);
    m.time_zone = into.time_zone.clone().or_else(|| from.time_zone.clone());
    m.last_message_xp_at = into.last_message_xp_at.max(from.last_message_xp_at);
    Ok((m, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ranks::sample_table;
    use chrono::Utc;

    fn user(tg: Option<&str>, dc: Option<&str>, xp: i32, coins: i32, rank: i32) -> UserRow {
        UserRow {
            id: uuid::Uuid::now_v7(),
            telegram_id: tg.map(Into::into),
            discord_id: dc.map(Into::into),
            website_email: None,
            username: "u".into(),
            display_name: "u".into(),
            xp,
            coins,
            rank_id: rank,
            rewarded_rank_id: rank,
            games_played: 3,
            games_won: 1,
            total_voice_time: 60,
            messages_sent: 10,
            current_season_xp: xp,
            daily_streak: rank,
            last_daily: None,
            created_at: Utc::now(),
            last_active: Utc::now(),
            primary_platform: "telegram".into(),
            time_zone: None,
            streak_freezes: 0,
            last_daily_day: None,
            last_message_xp_at: None,
        }
    }

    #[test]
    fn merging_sums_counters_unites_identities_and_pays_only_new_ranks() {
        let t = sample_table();
        // 150 xp (rank 2, paid) + 180 xp (rank 2, paid) = 330: rank 4, pays ranks 3 and 4 only.
        let a = user(Some("1"), None, 150, 10, 2);
        let b = user(None, Some("2"), 180, 10, 2);
        let (m, o) = merged(&t, &a, &b, RankRewards::Pay).unwrap();
        assert_eq!(
            (m.telegram_id.as_deref(), m.discord_id.as_deref()),
            (Some("1"), Some("2"))
        );
        assert_eq!((m.xp, m.rank_id, m.rewarded_rank_id), (330, 4, 4));
        assert_eq!(o.reward_coins, 20 + 30);
        assert_eq!(m.coins, 10 + 10 + 50);
        assert_eq!(
            (m.games_played, m.games_won, m.total_voice_time, m.messages_sent),
            (6, 2, 120, 20)
        );
        assert_eq!(m.current_season_xp, 330);
        assert_eq!(m.id, a.id);
    }

    #[test]
    fn an_import_merge_reaches_ranks_without_paying_them() {
        let t = sample_table();
        let a = user(Some("1"), None, 150, 10, 2);
        let b = user(None, Some("2"), 180, 10, 2);
        let (m, o) = merged(&t, &a, &b, RankRewards::Withhold).unwrap();
        assert_eq!((m.xp, m.rank_id, m.rewarded_rank_id, m.coins), (330, 4, 4, 20));
        assert!(o.ranks_up.is_empty(), "no rank_up events to write");
    }

    #[test]
    fn two_different_identities_on_one_platform_cannot_merge() {
        let t = sample_table();
        assert!(
            merged(
                &t,
                &user(Some("1"), None, 0, 0, 1),
                &user(Some("2"), None, 0, 0, 1),
                RankRewards::Pay
            )
            .is_err()
        );
    }
}
