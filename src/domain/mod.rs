//! Pure rules: no database, no I/O. Everything here is unit-tested beside it.

pub mod access;
pub mod achievements;
pub mod activity;
pub mod cursor;
pub mod identity;
pub mod import;
pub mod leaderboard;
pub mod merge;
pub mod platform;
pub mod ranks;
pub mod rules;
pub mod streak;
pub mod text;
pub mod xp;

pub use identity::{ExternalId, Identities};
pub use platform::{EventType, Platform};
pub use ranks::{Rank, RankTable, Tier};
pub use text::{AchievementCode, ConsumerName, IdempotencyKey, LinkCode, Name, Reason};

/// A validated reference to one user: the unified id or one platform identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserKey {
    Id(uuid::Uuid),
    External(ExternalId),
}

impl UserKey {
    /// The platform of an external reference; `None` for the unified id.
    pub fn platform(&self) -> Option<Platform> {
        match self {
            UserKey::Id(_) => None,
            UserKey::External(id) => Some(id.platform()),
        }
    }
}

impl std::fmt::Display for UserKey {
    /// The reference as the caller gave it: `id:<uuid>` or `<platform>:<id>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Id(id) => write!(f, "id:{id}"),
            UserKey::External(id) => write!(f, "{}:{}", id.platform().as_str(), id.as_str()),
        }
    }
}

/// A value that breaks a rule of its type, with a message that says what is wrong. Like
/// `AppError` it has no `Display`: it reaches a client only as `AppError::InvalidInput`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Invalid {
        Invalid(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// For rules that collect messages (an import's refused rows).
impl From<Invalid> for String {
    fn from(e: Invalid) -> String {
        e.0
    }
}
