//! `DailyClaim`: what a daily claim paid.

use async_graphql::{Context, Object, Result};

use super::{User, XpChange};
use crate::graphql::context::load_user;
use crate::service::daily;

/// A daily claim's outcome.
pub struct DailyClaim(pub daily::DailyClaim);

#[Object]
impl DailyClaim {
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        load_user(ctx, self.0.user_id).await
    }
    async fn streak(&self) -> i32 {
        self.0.streak
    }
    async fn reward_coins(&self) -> i32 {
        self.0.reward_coins
    }
    async fn reward_xp(&self) -> i32 {
        self.0.reward_xp
    }
    /// Streak freezes this claim used up to cover missed days.
    async fn freezes_used(&self) -> i32 {
        self.0.freezes_used
    }
    /// The claim's whole effect: final XP and coins, the ranks crossed and the achievements
    /// unlocked, with their rewards (null only for a retry of a claim made before this field).
    async fn xp_change(&self) -> Option<XpChange> {
        self.0.change.clone().map(XpChange)
    }
}
