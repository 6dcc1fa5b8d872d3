//! Linking resolvers: one-time link codes, and merging accounts.

use async_graphql::{Context, Object, Result};

use super::context::{actor, state};
use super::types::{LinkCode, User, UserRef};
use crate::domain::{self, access::Action};
use crate::service::{linking, merging};

#[derive(Default)]
pub struct LinkMutation;

#[Object]
impl LinkMutation {
    /// A code for the user in front of the caller, valid for 10 minutes and usable once.
    async fn create_link_code(&self, ctx: &Context<'_>, user: UserRef) -> Result<LinkCode> {
        let key = user.key()?;
        actor(ctx).authorize(&Action::ChangeProgress(&key))?;
        let (code, expires_at) = linking::create_code(state(ctx), actor(ctx), &key).await?;
        Ok(LinkCode {
            code: code.as_str().to_owned(),
            expires_at,
        })
    }

    /// Redeems a code on another platform for the user addressed there: links that identity
    /// to the code's account, merging the two accounts when both exist. Failed attempts are
    /// limited (RATE_LIMITED).
    async fn redeem_link_code(&self, ctx: &Context<'_>, code: String, user: UserRef) -> Result<User> {
        let key = user.key()?;
        actor(ctx).authorize(&Action::ChangeProgress(&key))?;
        let code = domain::LinkCode::parse(&code)?;
        Ok(User(linking::redeem(state(ctx), actor(ctx), &code, &key).await?))
    }

    /// Admin: folds `from` into `into` (counters summed, achievements united, best streak kept,
    /// events re-pointed) and removes `from`.
    async fn merge_users(&self, ctx: &Context<'_>, into: UserRef, from: UserRef) -> Result<User> {
        actor(ctx).authorize(&Action::Administer)?;
        let (into, from) = (into.key()?, from.key()?);
        Ok(User(merging::merge(state(ctx), actor(ctx), &into, &from).await?))
    }
}
