//! The statements of a merge of two accounts: lock both, move what points at the merged-away
//! account to the survivor, write the merged account, delete the emptied one.

use sqlx::PgConnection;
use uuid::Uuid;

use super::users::{COLUMNS, CURRENT_SEASON, UserRow, archive_ended_season};
use crate::domain::merge::Holdings;
use crate::error::AppResult;

/// Locks two users in id order (so concurrent merges cannot deadlock); `None` when either is
/// gone.
pub async fn lock_pair(tx: &mut PgConnection, a: Uuid, b: Uuid) -> AppResult<Option<(UserRow, UserRow)>> {
    // A btree scans `= ANY` in key order: the queues are locked in id order too.
    let sql = format!(
        "SELECT {COLUMNS} FROM unified_users WHERE id = ANY($1) AND ttfd_lock_user(id) ORDER BY id FOR UPDATE"
    );
    let rows: Vec<UserRow> = sqlx::query_as(&sql).bind([a, b]).fetch_all(tx).await?;
    let find = |id| rows.iter().find(|u| u.id == id).cloned();
    Ok(find(a).zip(find(b)))
}

/// Deletes the emptied account of a merge (its events were re-pointed first).
pub async fn delete(tx: &mut PgConnection, id: Uuid) -> AppResult<()> {
    sqlx::query("DELETE FROM unified_users WHERE id = $1")
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Writes the merged account `id`: identities, counters and progress.
pub async fn save_merged(tx: &mut PgConnection, id: Uuid, m: &Holdings) -> AppResult<UserRow> {
    let sql = format!(
        "UPDATE unified_users SET telegram_id = $2, discord_id = $3, website_email = $4, xp = $5, coins = $6, \
             season_id = {CURRENT_SEASON}, rank_id = $7, rewarded_rank_id = $8, games_played = $9, \
             games_won = $10, total_voice_time = $11, messages_sent = $12, current_season_xp = $13, \
             daily_streak = $14, last_daily = $15, created_at = $16, time_zone = $17, \
             streak_freezes = $18, last_daily_day = $19, last_message_xp_at = $20, last_active = now() \
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let [telegram, discord, email] = m.identities.columns();
    let p = &m.progress;
    Ok(sqlx::query_as(&sql)
        .bind(id)
        .bind(telegram)
        .bind(discord)
        .bind(email)
        .bind(p.xp)
        .bind(p.coins)
        .bind(p.rank_id)
        .bind(p.rewarded_rank_id)
        .bind(m.games_played)
        .bind(m.games_won)
        .bind(m.total_voice_time)
        .bind(m.messages_sent)
        .bind(p.season_xp)
        .bind(m.daily_streak)
        .bind(m.last_daily)
        .bind(m.created_at)
        .bind(&m.time_zone)
        .bind(m.streak_freezes)
        .bind(m.last_daily_day)
        .bind(m.last_message_xp_at)
        .fetch_one(tx)
        .await?)
}

/// Moves everything that points at `from` to `into`: events, achievements (the earlier
/// unlock wins when both have one) and ended seasons' XP (summed).
pub async fn repoint(tx: &mut PgConnection, from: Uuid, into: Uuid) -> AppResult<()> {
    archive_ended_season(&mut *tx, from).await?;
    archive_ended_season(&mut *tx, into).await?;
    sqlx::query(
        "INSERT INTO season_standings (season_id, user_id, xp) \
         SELECT season_id, $2, xp FROM season_standings WHERE user_id = $1 \
         ON CONFLICT (season_id, user_id) DO UPDATE SET xp = season_standings.xp + EXCLUDED.xp",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE cross_platform_events SET user_id = $2 WHERE user_id = $1")
        .bind(from)
        .bind(into)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_achievements (user_id, achievement_code, unlocked_at) \
         SELECT $2, achievement_code, unlocked_at FROM user_achievements WHERE user_id = $1 \
         ON CONFLICT (user_id, achievement_code) \
         DO UPDATE SET unlocked_at = LEAST(user_achievements.unlocked_at, EXCLUDED.unlocked_at)",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
