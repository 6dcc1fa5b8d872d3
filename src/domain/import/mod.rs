//! Legacy import rules: the columns each platform's file has, how a row becomes a record (or
//! the reason it cannot), duplicates inside a file, and what each record does to the accounts
//! that exist (create, update, link, merge, nothing). Pure: the import service feeds it the
//! file's rows and the matching accounts and applies its answer. Sources, records and
//! duplicates live here, a row's parsing in `record.rs`, the plan for each record in `plan.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Platform;
use super::{Identities, Name};

mod plan;
mod record;
#[cfg(test)]
mod tests;

pub use plan::{Account, Action, XpPolicy, plan};
pub use record::{record, timestamp};

/// Where the records come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Telegram,
    Discord,
    Website,
    /// A MEE6 leaderboard export: Discord members.
    Mee6,
    /// The Python shared module's own `unified_users` (its database, or an export of it).
    Seed,
}

impl Source {
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "telegram" => Some(Source::Telegram),
            "discord" => Some(Source::Discord),
            "website" => Some(Source::Website),
            "mee6" => Some(Source::Mee6),
            "seed" => Some(Source::Seed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Telegram => "telegram",
            Source::Discord => "discord",
            Source::Website => "website",
            Source::Mee6 => "mee6",
            Source::Seed => "seed",
        }
    }

    /// The platform the records' accounts belong to (a seed row names its own: its primary
    /// platform; this is the fallback).
    pub fn platform(self) -> Platform {
        match self {
            Source::Telegram => Platform::Telegram,
            Source::Discord | Source::Mee6 => Platform::Discord,
            Source::Website | Source::Seed => Platform::Website,
        }
    }

    /// The name this source's files give one of our columns.
    fn column_name(self, ours: &'static str) -> &'static str {
        match (self, ours) {
            (Source::Seed, "email") => "website_email",
            (Source::Seed, "voice_seconds") => "total_voice_time",
            _ => ours,
        }
    }

    /// The columns (or JSON keys) of a file; the first two are required.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Source::Telegram => &[
                "telegram_id",
                "username",
                "display_name",
                "xp",
                "coins",
                "games_played",
                "games_won",
                "daily_streak",
                "last_daily",
                "created_at",
            ],
            Source::Discord => &[
                "discord_id",
                "username",
                "display_name",
                "xp",
                "coins",
                "voice_seconds",
                "messages_sent",
                "created_at",
            ],
            Source::Website => &[
                "email",
                "username",
                "display_name",
                "discord_id",
                "telegram_id",
                "xp",
                "coins",
                "created_at",
            ],
            // A MEE6 player, with its keys renamed to ours (`id`, `message_count`).
            Source::Mee6 => &["discord_id", "username", "xp", "messages_sent"],
            // The seed's `unified_users`; `rank_id`, `season_rank` and `platforms` follow from
            // the rest and are recomputed.
            Source::Seed => &[
                "id",
                "username",
                "telegram_id",
                "discord_id",
                "website_email",
                "display_name",
                "xp",
                "coins",
                "rank_id",
                "games_played",
                "games_won",
                "total_voice_time",
                "messages_sent",
                "achievements",
                "current_season_xp",
                "season_rank",
                "daily_streak",
                "last_daily",
                "created_at",
                "last_active",
                "platforms",
                "primary_platform",
            ],
        }
    }

    /// Columns of a header that this source does not know.
    pub fn unknown_columns(self, header: &[String]) -> Vec<String> {
        header
            .iter()
            .filter(|c| !self.columns().contains(&c.as_str()))
            .cloned()
            .collect()
    }

    /// Required columns a header lacks: the identity and username (a seed row: its id).
    pub fn missing_columns(self, header: &[String]) -> Vec<&'static str> {
        let required = match self {
            Source::Seed => &self.columns()[..1],
            _ => &self.columns()[..2],
        };
        required
            .iter()
            .filter(|c| !header.iter().any(|h| h == *c))
            .copied()
            .collect()
    }
}

/// The amounts a record brings; what an import remembers per source record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub xp: i32,
    pub coins: i32,
    pub games_played: i32,
    pub games_won: i32,
    pub voice_seconds: i32,
    pub messages_sent: i32,
}

impl Counters {
    /// What changes from `before` to `self`, field by field.
    pub fn minus(&self, before: &Counters) -> Counters {
        Counters {
            xp: self.xp - before.xp,
            coins: self.coins - before.coins,
            games_played: self.games_played - before.games_played,
            games_won: self.games_won - before.games_won,
            voice_seconds: self.voice_seconds - before.voice_seconds,
            messages_sent: self.messages_sent - before.messages_sent,
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }

    /// The amounts in declaration order: xp, coins, games played, games won, voice seconds,
    /// messages sent.
    pub fn fields(&self) -> [i32; 6] {
        [
            self.xp,
            self.coins,
            self.games_played,
            self.games_won,
            self.voice_seconds,
            self.messages_sent,
        ]
    }
}

/// One valid row of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The file line the row starts on (1 is a CSV file's header), or the player's number in
    /// a MEE6 export.
    pub line: u64,
    pub identities: Identities,
    /// The platform the record belongs to: its source's, or a seed row's primary platform.
    pub primary: Platform,
    /// A seed row's own id (other sources are known by their platform identity).
    pub seed_id: Option<i64>,
    pub username: Name,
    pub display_name: Option<Name>,
    pub counters: Counters,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    /// What only a seed row carries: its achievements (names or codes), its current season's
    /// XP and when it was last active.
    pub achievements: Vec<String>,
    pub season_xp: i32,
    pub last_active: Option<DateTime<Utc>>,
}

impl Record {
    /// The record's own identity in its source: what makes a second row a duplicate and what
    /// the import remembers it by.
    pub fn source_id(&self, source: Source) -> String {
        match self.seed_id {
            Some(id) => id.to_string(),
            None => self
                .identities
                .get(source.platform())
                .unwrap_or_default()
                .to_owned(),
        }
    }

    pub fn identity(&self, platform: Platform) -> Option<&str> {
        self.identities.get(platform)
    }
}

/// A row that cannot be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// Keeps the first row of each identity; a later row with an identity already seen in the
/// file (its own id, or for website rows a linked Telegram or Discord id) is rejected.
pub fn without_duplicates(records: Vec<Record>) -> (Vec<Record>, Vec<Rejected>) {
    let mut seen: HashMap<(Platform, String), u64> = HashMap::new();
    let mut kept = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for r in records {
        let clash = Platform::ALL.into_iter().find_map(|p| {
            let id = r.identity(p)?;
            seen.get(&(p, id.to_owned())).map(|line| (p, id, *line))
        });
        if let Some((p, id, line)) = clash {
            rejected.push(Rejected {
                line: r.line,
                reason: format!("duplicate {} id {id} (first on line {line})", p.as_str()),
            });
            continue;
        }
        for p in Platform::ALL {
            if let Some(id) = r.identity(p) {
                seen.insert((p, id.to_owned()), r.line);
            }
        }
        kept.push(r);
    }
    (kept, rejected)
}
