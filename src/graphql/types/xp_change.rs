//! `XpChange`: what an XP-changing mutation did, for its whole transaction, so a bot that
//! announces it announces the whole truth (the ranks crossed, the achievements it unlocked and
//! what they paid).

use async_graphql::{Context, Object, Result};

use super::User;
use crate::domain::Rank;
use crate::graphql::context::{load_user, rank_by_id};
use crate::service::progress;

pub struct XpChange(pub progress::XpChange);

#[Object]
impl XpChange {
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        load_user(ctx, self.0.user_id).await
    }
    /// The requested change as applied (xp never goes below 0).
    async fn delta(&self) -> i32 {
        self.0.delta
    }
    /// XP when the mutation's transaction ended: the change and the rewards of what it unlocked.
    async fn xp(&self) -> i32 {
        self.0.xp
    }
    /// Coins when the mutation's transaction ended.
    async fn coins(&self) -> i32 {
        self.0.coins
    }
    async fn rank_up(&self) -> bool {
        self.0.new_rank_id > self.0.old_rank_id
    }
    /// The rank before the mutation.
    async fn old_rank(&self, ctx: &Context<'_>) -> Result<Rank> {
        rank_by_id(ctx, self.0.old_rank_id)
    }
    /// The rank when the mutation's transaction ended.
    async fn new_rank(&self, ctx: &Context<'_>) -> Result<Rank> {
        rank_by_id(ctx, self.0.new_rank_id)
    }
    /// Sum of the rewards of every rank crossed upward (each rank pays once per user).
    async fn reward_coins(&self) -> i32 {
        self.0.reward_coins
    }
    /// Every rank crossed upward, lowest first, with what it paid (at most 20).
    #[graphql(complexity = "crate::domain::ranks::RANKS * child_complexity")]
    async fn ranks_crossed(&self) -> Vec<RankReward> {
        self.0.ranks_crossed.iter().copied().map(RankReward).collect()
    }
    /// The achievements the mutation unlocked, with their rewards (at most 100).
    #[graphql(complexity = "crate::domain::rules::MAX_ACHIEVEMENTS * child_complexity")]
    async fn achievements_unlocked(&self) -> Vec<AchievementReward> {
        self.0
            .achievements_unlocked
            .iter()
            .cloned()
            .map(AchievementReward)
            .collect()
    }
    /// The cursor of the last event the mutation wrote (null when it wrote none). Pass it as
    /// `consistentAfter` to a leaderboard or user read to see this change there.
    async fn event_cursor(&self) -> Option<String> {
        self.0.event_cursor.map(|c| c.encode())
    }
}

/// A rank crossed and the coins it paid (0 when it was paid before).
pub struct RankReward(pub progress::RankReward);

#[Object]
impl RankReward {
    async fn rank(&self, ctx: &Context<'_>) -> Result<Rank> {
        rank_by_id(ctx, self.0.rank_id)
    }
    async fn reward_coins(&self) -> i32 {
        self.0.reward_coins
    }
}

/// An achievement a mutation unlocked, and what it paid.
pub struct AchievementReward(pub progress::Unlocked);

#[Object]
impl AchievementReward {
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn reward_xp(&self) -> i32 {
        self.0.reward_xp
    }
    async fn reward_coins(&self) -> i32 {
        self.0.reward_coins
    }
}
