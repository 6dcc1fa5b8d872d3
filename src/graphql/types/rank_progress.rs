//! `RankProgress`: how far a user is into their rank.

use async_graphql::SimpleObject;

#[derive(SimpleObject)]
pub struct RankProgress {
    pub xp_into_rank: i32,
    /// Null at the top rank.
    pub xp_to_next_rank: Option<i32>,
    /// 0..100; 100 at the top rank.
    pub percent: f64,
}
