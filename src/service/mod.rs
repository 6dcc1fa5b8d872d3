//! Use cases: each mutation is one transaction that locks what it changes, applies the pure
//! rules from `domain`, writes through `db` and appends its events.

pub mod achievements;
pub mod activity;
pub mod daily;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod leaderboard;
pub mod ledger;
pub mod linking;
pub mod merging;
pub mod one_call;
pub mod progress;
pub mod scores;
pub mod seasons;
pub mod unit;
pub mod users;

use uuid::Uuid;

use crate::db::api_keys::ApiKey;
use crate::db::users::UserRow;
use crate::domain::access::{Action, Denied, Role, authorize};
use crate::domain::{Platform, UserKey};
use crate::error::{AppError, AppResult};

pub use unit::commit;

/// Who asks: the verified API key, or nobody (the public).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub key: Option<ApiKey>,
}

impl Actor {
    pub fn role(&self) -> Option<Role> {
        self.key.as_ref().map(|k| k.role)
    }

    pub fn key_id(&self) -> Option<Uuid> {
        self.key.as_ref().map(|k| k.id)
    }

    /// Idempotency keys are unique per API key.
    pub fn scope(&self) -> String {
        self.key_id()
            .map(|id| id.to_string())
            .unwrap_or_else(|| "public".into())
    }

    pub fn authorize(&self, action: &Action<'_>) -> AppResult<()> {
        authorize(self.role(), action).map_err(|denied| match denied {
            Denied::NoKey => AppError::Unauthenticated("this needs an API key".into()),
            Denied::Forbidden(why) => AppError::Forbidden(why),
        })
    }

    /// The platform an event is attributed to: a bot's own; the website's; for an admin, the
    /// one the user was addressed by, else the user's primary platform.
    pub fn source(&self, key: &UserKey, user: &UserRow) -> Platform {
        self.source_by_key(key).unwrap_or_else(|| user.primary_platform())
    }

    /// The platform a change comes from, when the caller and the key say it; `None`: the
    /// user's primary platform.
    pub fn source_by_key(&self, key: &UserKey) -> Option<Platform> {
        match self.role() {
            Some(Role::Bot(p)) => Some(p),
            Some(Role::Website) => Some(Platform::Website),
            _ => key.platform(),
        }
    }
}
