//! Pure rules: no database, no I/O. Everything here is unit-tested beside it.

pub mod access;
pub mod achievements;
pub mod activity;
pub mod cursor;
pub mod import;
pub mod leaderboard;
pub mod platform;
pub mod ranks;
pub mod rules;
pub mod streak;
pub mod validate;
pub mod xp;

pub use platform::{EventType, Platform};
pub use ranks::{Rank, RankTable, Tier};

/// A validated reference to one user: the unified id or one platform identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserKey {
    Id(uuid::Uuid),
    External(Platform, String),
}

impl std::fmt::Display for UserKey {
    /// The reference as the caller gave it: `id:<uuid>` or `<platform>:<id>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Id(id) => write!(f, "id:{id}"),
            UserKey::External(p, id) => write!(f, "{}:{id}", p.as_str()),
        }
    }
}
