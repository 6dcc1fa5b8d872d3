//! `UserRef`: how a request names one user (the unified id or one platform identity).

use async_graphql::{ID, OneofObject, Result};

use crate::domain::{ExternalId, Platform, UserKey};
use crate::error::AppError;

/// Exactly one field set. `id` is the unified user id.
#[derive(OneofObject, Clone, Debug)]
pub enum UserRef {
    Id(ID),
    TelegramId(String),
    DiscordId(String),
    WebsiteEmail(String),
}

impl UserRef {
    /// Validates and normalises the reference.
    pub fn key(&self) -> Result<UserKey, AppError> {
        let external = |p: Platform, raw: &str| Ok(UserKey::External(ExternalId::parse(p, raw)?));
        match self {
            UserRef::Id(id) => id
                .parse()
                .map(UserKey::Id)
                .map_err(|_| AppError::invalid("id is not a user id")),
            UserRef::TelegramId(v) => external(Platform::Telegram, v),
            UserRef::DiscordId(v) => external(Platform::Discord, v),
            UserRef::WebsiteEmail(v) => external(Platform::Website, v),
        }
    }
}
