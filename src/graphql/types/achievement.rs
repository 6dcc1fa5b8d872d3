//! `Achievement` (a catalog entry) and `UserAchievement` (one a user holds).

use async_graphql::Object;
use chrono::{DateTime, Utc};

use crate::db::achievements::{AchievementRow, UnlockRow};

pub struct Achievement(pub AchievementRow);

#[Object]
impl Achievement {
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn reward_xp(&self) -> i32 {
        self.0.reward_xp
    }
    async fn reward_coins(&self) -> i32 {
        self.0.reward_coins
    }
}

pub struct UserAchievement(pub UnlockRow);

#[Object]
impl UserAchievement {
    async fn achievement(&self) -> Achievement {
        Achievement(self.0.achievement.clone())
    }
    async fn unlocked_at(&self) -> DateTime<Utc> {
        self.0.unlocked_at
    }
}
