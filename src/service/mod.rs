//! Use cases: each mutation is one transaction that locks what it changes, applies the pure
//! rules from `domain`, writes through `db` and appends its events.

pub mod events;
pub mod idempotency;
pub mod progress;
pub mod users;

use crate::db::users::UserRow;
use crate::domain::{Platform, UserKey};

/// Who asks. Until API keys exist every caller is trusted; the platform, when known, is the
/// source of the events a change writes.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub platform: Option<Platform>,
    /// Idempotency keys are only unique inside one scope (one API key later on).
    pub scope: String,
}

impl Actor {
    /// The platform an event is attributed to: the caller's own, else the one the user was
    /// addressed by, else the user's primary platform.
    pub fn source(&self, key: &UserKey, user: &UserRow) -> Platform {
        self.platform.unwrap_or(match key {
            UserKey::External(p, _) => *p,
            UserKey::Id(_) => user.primary_platform(),
        })
    }
}
