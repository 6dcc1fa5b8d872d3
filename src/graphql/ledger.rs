//! The admin's ledger of XP and coin changes, and reverts.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::events::Event;
use super::types::{PageInfo, UserRef, actor, state};
use crate::db::events::ORIGIN;
use crate::db::ledger::{self, LedgerRow};
use crate::db::users;
use crate::domain::access::Action;
use crate::error::AppError;
use crate::events::LiveEvent;
use crate::service::events::cursor;
use crate::service::ledger as service;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum LedgerKind {
    Xp,
    Coins,
}

/// One XP or coin change: who (the key), what, when, why, before and after.
pub struct LedgerEntry(pub LedgerRow);

impl LedgerEntry {
    fn amount(&self, field: &str) -> i32 {
        self.0.event.data[field]
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0)
    }

    fn is_xp(&self) -> bool {
        self.0.event.event_type == "xp_change"
    }
}

#[Object]
impl LedgerEntry {
    async fn event(&self) -> Event {
        Event(LiveEvent::new(self.0.event.clone()))
    }
    /// The API key that made the change (null: no key, as for imports run by an operator).
    async fn key_name(&self) -> Option<&str> {
        self.0.key_name.as_deref()
    }
    async fn kind(&self) -> LedgerKind {
        if self.is_xp() {
            LedgerKind::Xp
        } else {
            LedgerKind::Coins
        }
    }
    async fn delta(&self) -> i32 {
        self.amount("delta")
    }
    async fn before(&self) -> i32 {
        let field = if self.is_xp() {
            "previousXp"
        } else {
            "previousCoins"
        };
        match self.0.event.data.get(field) {
            Some(_) => self.amount(field),
            None => self.amount(if self.is_xp() { "xp" } else { "coins" }) - self.amount("delta"),
        }
    }
    async fn after(&self) -> i32 {
        self.amount(if self.is_xp() { "xp" } else { "coins" })
    }
    async fn reason(&self) -> Option<&str> {
        self.0.event.data["reason"].as_str()
    }
    /// The change this entry reverts.
    async fn revert_of(&self) -> Option<ID> {
        self.0.event.data["revertOf"].as_str().map(|s| ID(s.to_owned()))
    }
    /// The entry that reverted this one.
    async fn reverted_by(&self) -> Option<ID> {
        self.0.reverted_by.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.event.created_at
    }
}

#[derive(SimpleObject)]
pub struct LedgerConnection {
    /// The page's entries (at most `first`).
    pub nodes: Vec<LedgerEntry>,
    pub page_info: PageInfo,
}

#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// Admin: a user's XP and coin changes, oldest first (at most `first`, 500).
    #[graphql(complexity = "super::limits::LEDGER.cost(first) * child_complexity")]
    async fn ledger(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        #[graphql(default_with = "Some(super::limits::LEDGER.default)")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<LedgerConnection> {
        actor(ctx).authorize(&Action::Administer)?;
        let first = super::limits::LEDGER.take("first", first)? as i32;
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
