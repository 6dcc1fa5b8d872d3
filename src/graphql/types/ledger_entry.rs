//! The ledger's types: `LedgerKind`, `LedgerEntry` and its connection.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{Event, PageInfo};
use crate::db::ledger::LedgerRow;
use crate::events::LiveEvent;

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
