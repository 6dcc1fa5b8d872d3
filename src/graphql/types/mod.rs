//! One file per GraphQL type of the public contract (a type and its connection or edge
//! types share a file).

mod achievement;
mod coins_change;
mod consumer;
mod daily_claim;
mod event;
mod event_filter;
mod leaderboard;
mod ledger_entry;
mod link_code;
mod page_info;
mod rank_progress;
mod season;
mod upsert_user_input;
mod user;
mod user_ref;
mod xp_boost;
mod xp_change;

pub use achievement::{Achievement, UserAchievement};
pub use coins_change::CoinsChange;
pub use consumer::Consumer;
pub use daily_claim::DailyClaim;
pub use event::{Event, EventConnection, EventEdge, wrap};
pub use event_filter::{EventFilterInput, filter};
pub use leaderboard::{LeaderboardConnection, LeaderboardEdge, LeaderboardEntry, LeaderboardScope};
pub use ledger_entry::{LedgerConnection, LedgerEntry};
pub use link_code::LinkCode;
pub use page_info::PageInfo;
pub use rank_progress::RankProgress;
pub use season::{Season, SeasonStanding};
pub use upsert_user_input::UpsertUserInput;
pub use user::User;
pub use user_ref::UserRef;
pub use xp_boost::XpBoost;
pub use xp_change::XpChange;
