//! `CoinsChange`: what a coin mutation did.

use async_graphql::{Context, Object, Result};

use super::User;
use crate::graphql::context::load_user;
use crate::service::progress;

pub struct CoinsChange(pub progress::CoinsChange);

#[Object]
impl CoinsChange {
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        load_user(ctx, self.0.user_id).await
    }
    async fn delta(&self) -> i32 {
        self.0.delta
    }
    async fn coins(&self) -> i32 {
        self.0.coins
    }
}
