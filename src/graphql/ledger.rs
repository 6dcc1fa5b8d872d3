//! Ledger resolvers: the admin's ledger of XP and coin changes, and reverts.

use async_graphql::{Context, ID, Object, Result};

use super::context::{actor, state};
use super::types::{LedgerConnection, LedgerEntry, PageInfo, UserRef};
use crate::db::events::ORIGIN;
use crate::db::ledger;
use crate::db::users;
use crate::domain::access::Action;
use crate::error::AppError;
use crate::service::events::cursor;
use crate::service::ledger as service;

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// Admin: a user's XP and coin changes, oldest first (at most `first`, 500).
    #[graphql(complexity = "super::limits::LIMITS.ledger.cost(first) * child_complexity")]
    async fn ledger(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        #[graphql(default_with = "Some(super::limits::LIMITS.ledger.default)")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<LedgerConnection> {
        actor(ctx).authorize(&Action::Administer)?;
        let first = super::limits::LIMITS.ledger.take("first", first)? as i32;
        let key = user.key()?;
        let user = users::find(&state(ctx).pool, &key)
            .await?
            .ok_or_else(crate::service::users::not_found)?;
        let after = after.as_deref().map(cursor).transpose()?.unwrap_or(ORIGIN);
        let mut rows = ledger::page(&state(ctx).pool, user.id, after, i64::from(first) + 1).await?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        let end_cursor = rows.last().map(|r| r.event.cursor().encode());
        Ok(LedgerConnection {
            nodes: rows.into_iter().map(LedgerEntry).collect(),
            page_info: PageInfo {
                has_next_page,
                end_cursor,
            },
        })
    }
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Admin: reverts an XP or coin change with a compensating change recorded as a revert.
    /// Reverting again is a no-op that returns the first revert. Coins paid for ranks reached
    /// stay paid. Null when the revert moved nothing (xp already 0).
    async fn revert_event(&self, ctx: &Context<'_>, event_id: ID) -> Result<Option<LedgerEntry>> {
        actor(ctx).authorize(&Action::Administer)?;
        let id = event_id
            .parse()
            .map_err(|_| AppError::invalid("eventId is not an event id"))?;
        Ok(service::revert(state(ctx), actor(ctx), id)
            .await?
            .map(LedgerEntry))
    }
}
