//! `Season` and `SeasonStanding` (a user's final place in an ended season).

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::User;
use crate::db::seasons::{SeasonRow, StandingRow};
use crate::graphql::context::loaders;

#[derive(SimpleObject)]
pub struct Season {
    pub id: i32,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub current: bool,
}

impl From<SeasonRow> for Season {
    fn from(s: SeasonRow) -> Season {
        Season {
            current: s.ended_at.is_none(),
            id: s.id,
            name: s.name,
            started_at: s.started_at,
            ended_at: s.ended_at,
        }
    }
}

/// A user's final place in an ended season.
pub struct SeasonStanding(pub StandingRow);

#[Object]
impl SeasonStanding {
    async fn season_id(&self) -> i32 {
        self.0.season_id
    }
    /// 1 = best; ties share a position.
    async fn position(&self) -> i32 {
        i32::try_from(self.0.position).unwrap_or(i32::MAX)
    }
    async fn xp(&self) -> i32 {
        self.0.xp
    }
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loaders(ctx)?.users.load_one(self.0.user_id).await?.map(User))
    }
    /// Pass as `after` for the next page.
    async fn cursor(&self) -> String {
        format!("{}:{}", self.0.xp, self.0.user_id)
    }
}
