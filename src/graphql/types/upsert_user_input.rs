//! `UpsertUserInput`: the arguments of get-or-create by platform identity.

use async_graphql::InputObject;

use crate::domain::Platform;

#[derive(InputObject)]
pub struct UpsertUserInput {
    pub platform: Platform,
    /// Telegram user id, Discord user id (snowflake) or website email.
    pub external_id: String,
    pub username: String,
    /// Defaults to the username on creation; kept when omitted on refresh.
    pub display_name: Option<String>,
}
