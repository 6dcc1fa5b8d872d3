//! `XpBoost`: a community-wide or personal XP multiplier.

use async_graphql::Object;
use chrono::{DateTime, Utc};

use crate::db::boosts::BoostRow;

/// A community-wide (no user) or personal XP boost.
pub struct XpBoost(pub BoostRow);

#[Object]
impl XpBoost {
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.0.id.to_string())
    }
    async fn user_id(&self) -> Option<async_graphql::ID> {
        self.0.user_id.map(|u| async_graphql::ID(u.to_string()))
    }
    async fn multiplier(&self) -> f64 {
        self.0.multiplier
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
}
