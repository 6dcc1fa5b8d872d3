//! Linking a second platform to an account: one-time link codes, and merging two accounts of
//! one person (by a redeemed code, or by an admin).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Actor;
use super::users::not_found;
use crate::auth;
use crate::db::events::{self, NewEvent};
use crate::db::link_codes;
use crate::db::users::{self, UserRow};
use crate::domain::xp::{self, Progress, XpOutcome};
use crate::domain::{EventType, Platform, RankTable, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Unambiguous characters only (no 0/O, 1/I/L, U): 30^8, about 2^39 codes.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
const CODE_LEN: usize = 8;
pub const CODE_TTL: Duration = Duration::from_secs(600);
/// Failed redemptions allowed for one target identity (whoever the callers) in
/// `FAILURE_WINDOW`.
pub const MAX_FAILURES: i64 = 5;
/// Failed redemptions allowed for one caller (whatever the targets) in `FAILURE_WINDOW`: one
/// request naming thousands of targets makes at most this many guesses.
pub const MAX_CALLER_FAILURES: i64 = 100;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);

fn new_code() -> AppResult<String> {
    let mut bytes = [0u8; CODE_LEN];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    // 256 is not a multiple of 30; the bias (under 1 %) does not matter for a 10-minute code.
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Codes are read back by people: case, spaces and dashes do not matter.
fn normalize(raw: &str) -> AppResult<String> {
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .flat_map(char::to_uppercase)
        .collect();
    if code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b)) {
        Ok(code)
    } else {
        Err(AppError::invalid("a link code is 8 letters and digits"))
    }
}

/// A new code for the user in front of the caller, valid for ten minutes.
pub async fn create_code(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
) -> AppResult<(String, DateTime<Utc>)> {
    let user = users::find(&state.pool, key).await?.ok_or_else(not_found)?;
    let code = new_code()?;
    let expires_at = Utc::now() + CODE_TTL;
    let platform = actor.source(key, &user);
    link_codes::create(
        &state.pool,
        &auth::hash(&code),
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
pub async fn redeem(state: &AppState, actor: &Actor, raw_code: &str, key: &UserKey) -> AppResult<UserRow> {
    let code = normalize(raw_code)?;
    let UserKey::External(side, external_id) = key else {
        return Err(AppError::invalid(
            "address the user by their id on the platform redeeming the code",
        ));
    };
    // A guess is counted before it is checked, so concurrent guesses cannot all slip under
    // the limit; a right guess gives its reservation back.
    let scopes = [
        (format!("target|{}|{external_id}", side.as_str()), MAX_FAILURES),
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
    let redeemed = redeem_code(state, actor, &code, key, &reserved).await;
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
    code: &str,
    key: &UserKey,
    reserved: &[i64],
) -> AppResult<UserRow> {
    let UserKey::External(side, external_id) = key else {
        return Err(AppError::invalid("address the user by their platform id"));
    };
    let hash = auth::hash(code);
    let mut tx = super::unit::begin(state).await?;
    let live = |c: &link_codes::CodeRow| c.used_at.is_none() && c.expires_at > Utc::now();
    // The accounts are locked before anything is written (the code's lock included), so
    // this change sorts after every change to them that committed first.
    let found = link_codes::find(&mut *tx, &hash).await?.filter(live);
    let found = match found {
        Some(row) => {
            match users::find(&mut *tx, key).await? {
                Some(existing) if existing.id != row.user_id => {
                    users::lock_pair(&mut tx, row.user_id, existing.id).await?;
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
            merge_locked(
                &mut tx,
                state,
                actor,
                row.user_id,
                existing.id,
                *side,
                RankRewards::Pay,
            )
            .await?
        }
        None => {
            let owner = users::lock(&mut tx, &UserKey::Id(row.user_id))
                .await?
                .ok_or_else(not_found)?;
            if owner.external_id(*side).is_some() {
                return Err(AppError::Conflict(format!(
                    "the account already has another {} identity",
                    side.as_str()
                )));
            }
            let linked = users::set_external_id(&mut tx, owner.id, *side, external_id).await?;
            let event = NewEvent {
                user_id: owner.id,
                event_type: EventType::AccountLinked,
                source: *side,
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

    #[test]
    fn codes_are_unambiguous_and_forgiving_to_type() {
        let code = new_code().unwrap();
        assert_eq!(normalize(&code).unwrap(), code);
        let spaced = format!("{}-{} ", &code[..4].to_lowercase(), &code[4..]);
        assert_eq!(normalize(&spaced).unwrap(), code);
        assert!(normalize("ABC").is_err());
        assert!(normalize("ABCDEFG0").is_err(), "0 is not in the alphabet");
    }
}
