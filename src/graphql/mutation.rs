//! Core mutation resolvers: get-or-create, linking a platform, XP and coins.

use async_graphql::{Context, Object, Result};

use super::context::{actor, progress_change, state};
use super::types::{CoinsChange, UpsertUserInput, User, UserRef, XpChange};
use crate::domain::access::Action;
use crate::domain::{ExternalId, Name, Platform, Reason};
use crate::service;
use crate::service::progress::DeltaRequest;

#[derive(Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Get-or-create by platform identity; refreshes names and lastActive when the user exists.
    async fn upsert_user(&self, ctx: &Context<'_>, input: UpsertUserInput) -> Result<User> {
        actor(ctx).authorize(&Action::UpsertUser(input.platform))?;
        let external_id = ExternalId::parse(input.platform, &input.external_id)?;
        let username = Name::parse("username", &input.username)?;
        let display_name = input
            .display_name
            .map(|d| Name::parse("displayName", &d))
            .transpose()?;
        let user = service::users::upsert(state(ctx), &external_id, &username, display_name.as_ref()).await?;
        Ok(User(user))
    }

    /// CONFLICT when that identity belongs to another user; a no-op when it is already this
    /// user's.
    async fn link_platform(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        platform: Platform,
        external_id: String,
    ) -> Result<User> {
        let key = user.key()?;
        actor(ctx).authorize(&Action::LinkPlatform(&key, platform))?;
        let external_id = ExternalId::parse(platform, &external_id)?;
        Ok(User(
            service::users::link_platform(state(ctx), actor(ctx), &key, &external_id).await?,
        ))
    }

    /// Adds (or with a negative delta removes) xp. Crossing ranks pays their coin rewards.
    async fn award_xp(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        delta: i32,
        reason: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<XpChange> {
        let request = delta_request(ctx, &user, delta, reason, idempotency_key)?;
        let change = service::progress::award_xp(state(ctx), actor(ctx), &request).await?;
        Ok(XpChange(change))
    }

    /// INSUFFICIENT_COINS when the balance would go below 0.
    async fn adjust_coins(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        delta: i32,
        reason: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CoinsChange> {
        let request = delta_request(ctx, &user, delta, reason, idempotency_key)?;
        let change = service::progress::adjust_coins(state(ctx), actor(ctx), &request).await?;
        Ok(CoinsChange(change))
    }
}

/// An XP or coin delta's arguments, authorised and parsed.
fn delta_request(
    ctx: &Context<'_>,
    user: &UserRef,
    delta: i32,
    reason: Option<String>,
    idempotency_key: Option<String>,
) -> Result<DeltaRequest> {
    let (key, idempotency_key) = progress_change(ctx, user, idempotency_key.as_deref())?;
    Ok(DeltaRequest {
        key,
        delta,
        reason: Reason::parse(reason.as_deref())?,
        idempotency_key,
    })
}
