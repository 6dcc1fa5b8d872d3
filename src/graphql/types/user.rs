//! `User`: one person across every platform.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::{RankProgress, UserAchievement};
use crate::db::leaderboard::Board;
use crate::db::users::UserRow;
use crate::domain::{Platform, Rank, access};
use crate::graphql::context::{actor, loaders, rank_by_id, state};

/// One person across every platform.
pub struct User(pub UserRow);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Null for the public (no API key).
    async fn telegram_id(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0
            .identities
            .get(Platform::Telegram)
            .filter(|_| access::sees_platform_ids(actor(ctx).role()))
    }
    /// Null for the public (no API key).
    async fn discord_id(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0
            .identities
            .get(Platform::Discord)
            .filter(|_| access::sees_platform_ids(actor(ctx).role()))
    }
    /// Private: null unless the caller may see emails (website and admin keys).
    async fn website_email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.0
            .identities
            .get(Platform::Website)
            .filter(|_| access::sees_emails(actor(ctx).role()))
    }
    /// The platforms with a linked identity (at most 3).
    async fn platforms(&self) -> Vec<Platform> {
        self.0.identities.platforms()
    }
    async fn primary_platform(&self) -> Platform {
        self.0.primary_platform()
    }
    async fn xp(&self) -> i32 {
        self.0.xp
    }
    async fn coins(&self) -> i32 {
        self.0.coins
    }
    async fn rank(&self, ctx: &Context<'_>) -> Result<Rank> {
        rank_by_id(ctx, self.0.rank_id)
    }
    /// Null at the top rank.
    async fn next_rank(&self, ctx: &Context<'_>) -> Option<Rank> {
        state(ctx).ranks.next(self.0.rank_id).cloned()
    }
    async fn games_played(&self) -> i32 {
        self.0.games_played
    }
    async fn games_won(&self) -> i32 {
        self.0.games_won
    }
    /// Seconds.
    async fn total_voice_time(&self) -> i32 {
        self.0.total_voice_time
    }
    async fn messages_sent(&self) -> i32 {
        self.0.messages_sent
    }
    /// The achievements the user holds (at most 100, the catalog's size).
    #[graphql(complexity = "crate::domain::rules::MAX_ACHIEVEMENTS * child_complexity")]
    async fn achievements(&self, ctx: &Context<'_>) -> Result<Vec<UserAchievement>> {
        let rows = loaders(ctx)?
            .achievements
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        Ok(rows.into_iter().map(UserAchievement).collect())
    }
    async fn current_season_xp(&self) -> i32 {
        self.0.current_season_xp
    }
    async fn daily_streak(&self) -> i32 {
        self.0.daily_streak
    }
    async fn last_daily(&self) -> Option<DateTime<Utc>> {
        self.0.last_daily
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_active(&self) -> DateTime<Utc> {
        self.0.last_active
    }
    /// Games won / games played; null before the first game.
    async fn win_rate(&self) -> Option<f64> {
        (self.0.games_played > 0).then(|| f64::from(self.0.games_won) / f64::from(self.0.games_played))
    }
    /// Position on the current season's leaderboard; ties share a position.
    async fn season_position(&self, ctx: &Context<'_>) -> Result<i32> {
        let position = position(ctx, Board::Season, self.0.current_season_xp).await?;
        Ok(i32::try_from(position).unwrap_or(i32::MAX))
    }
    /// How far into the current rank and how much is left to the next.
    async fn rank_progress(&self, ctx: &Context<'_>) -> Result<RankProgress> {
        let current = rank_by_id(ctx, self.0.rank_id)?;
        let next = state(ctx).ranks.next(self.0.rank_id).cloned();
        let into = self.0.xp - current.required_xp;
        let (needed, percent) = match &next {
            Some(n) => {
                let span = n.required_xp - current.required_xp;
                (
                    Some(n.required_xp - self.0.xp),
                    f64::from(into) * 100.0 / f64::from(span.max(1)),
                )
            }
            None => (None, 100.0),
        };
        Ok(RankProgress {
            xp_into_rank: into,
            xp_to_next_rank: needed,
            percent,
        })
    }
    /// The user's IANA time zone for daily claims (null: the community's).
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// Streak freezes held: each covers one missed day.
    async fn streak_freezes(&self) -> i32 {
        self.0.streak_freezes
    }
    /// Final standings of the ended seasons the user scored in, the most recent `first` (at
    /// most 100), oldest first.
    #[graphql(complexity = "crate::graphql::limits::LIMITS.user_standings.cost(first) * child_complexity")]
    async fn season_standings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(crate::graphql::limits::LIMITS.user_standings.default)")]
        first: Option<i32>,
    ) -> Result<Vec<crate::graphql::types::SeasonStanding>> {
        let first = crate::graphql::limits::LIMITS
            .user_standings
            .take("first", first)?;
        let rows = crate::db::seasons::of_user(&state(ctx).pool, self.0.id, first).await?;
        Ok(rows
            .into_iter()
            .map(crate::graphql::types::SeasonStanding)
            .collect())
    }
    /// All-time leaderboard position, 1 = most xp; ties share a position.
    async fn position(&self, ctx: &Context<'_>) -> Result<i32> {
        let position = position(ctx, Board::AllTime, self.0.xp).await?;
        Ok(i32::try_from(position).unwrap_or(i32::MAX))
    }
}

/// A score's position on a board: from the boards in memory, else batched by the loader.
async fn position(ctx: &Context<'_>, board: Board, score: i32) -> Result<i64> {
    let memory = crate::graphql::context::boards_usable(ctx, None).await?;
    let in_memory = memory
        .then(|| crate::service::leaderboard::position_in_memory(state(ctx), board, score))
        .flatten();
    if let Some(p) = in_memory {
        return Ok(p);
    }
    Ok(loaders(ctx)?
        .positions
        .load_one((board, score))
        .await?
        .unwrap_or(1))
}
