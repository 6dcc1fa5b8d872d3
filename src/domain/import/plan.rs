//! What a record does to the accounts it matched: create, update, link, merge, or nothing.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Counters, Record};
use crate::domain::{Identities, Platform};

/// How XP meets XP when a record lands on an existing account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XpPolicy {
    /// Add the record's XP (each platform's activity counts).
    Sum,
    /// Keep the larger (for a platform that mirrored another's XP).
    Max,
}

/// An existing account a record matched, by any of its identities.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: Uuid,
    pub identities: Identities,
    pub xp: i32,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub fn identity(&self, platform: Platform) -> Option<&str> {
        self.identities.get(platform)
    }
}

/// What a record does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// A new account.
    Create,
    /// Changes one account: adds `delta` (XP by the policy), links the identities it lacks.
    Update {
        user: Uuid,
        delta: Counters,
        links: Vec<Platform>,
    },
    /// Joins several accounts into `into` (the first match by the record's own identity, else
    /// the oldest), then updates it.
    Merge {
        into: Uuid,
        from: Vec<Uuid>,
        delta: Counters,
    },
    /// Already imported as it is.
    Unchanged { user: Uuid },
}

/// Decides what `record` does, given the accounts its identities match (at most one per
/// identity) and the amounts it brought the last time it was imported.
pub fn plan(
    record: &Record,
    matched: &[Account],
    previous: Option<&Counters>,
    policy: XpPolicy,
) -> Result<Action, String> {
    let mut accounts: Vec<&Account> = Vec::new();
    for a in matched {
        if !accounts.iter().any(|b| b.id == a.id) {
            accounts.push(a);
        }
    }
    // Every platform must end with at most one identity.
    for p in Platform::ALL {
        let mut ids: Vec<&str> = accounts.iter().filter_map(|a| a.identity(p)).collect();
        ids.extend(record.identity(p));
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > 1 {
            return Err(format!(
                "conflicting {} ids {}: the accounts cannot be joined",
                p.as_str(),
                ids.join(" and ")
            ));
        }
    }
    let Some(first) = accounts.first() else {
        return Ok(Action::Create);
    };
    // What the record adds beyond what it added before. A record that now lands on another
    // account than before (the accounts were merged) still adds only the difference.
    let delta = record.counters.minus(&previous.copied().unwrap_or_default());
    let delta = match policy {
        XpPolicy::Sum => delta,
        XpPolicy::Max => Counters {
            xp: accounts
                .iter()
                .map(|a| a.xp)
                .max()
                .map_or(0, |have| (record.counters.xp - have).max(0)),
            ..delta
        },
    };
    if accounts.len() > 1 {
        let own = record.identity(record.primary);
        let into = accounts
            .iter()
            .find(|a| own.is_some() && a.identity(record.primary) == own)
            .or_else(|| accounts.iter().min_by_key(|a| a.created_at))
            .unwrap_or(first);
        return Ok(Action::Merge {
            into: into.id,
            from: accounts
                .iter()
                .filter(|a| a.id != into.id)
                .map(|a| a.id)
                .collect(),
            delta,
        });
    }
    let links: Vec<Platform> = Platform::ALL
        .into_iter()
        .filter(|p| first.identity(*p).is_none() && record.identity(*p).is_some())
        .collect();
    // Streaks, last claims and creation dates are kept at their best, not added.
    let keeps = record.daily_streak <= first.daily_streak
        && record.last_daily <= first.last_daily
        && record.created_at.is_none_or(|c| c >= first.created_at);
    if links.is_empty() && delta.is_zero() && keeps && previous.is_some() {
        return Ok(Action::Unchanged { user: first.id });
    }
    Ok(Action::Update {
        user: first.id,
        delta,
        links,
    })
}
