//! Legacy import rules: the columns each platform's file has, how a row becomes a record (or
//! the reason it cannot), duplicates inside a file, and what each record does to the accounts
//! that exist (create, update, link, merge, nothing). Pure: the import service feeds it the
//! file's rows and the matching accounts and applies its answer. Parsing lives here, the plan
//! for each record in `plan.rs`.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::Platform;
use super::{ExternalId, Identities, Name};

mod plan;
#[cfg(test)]
mod tests;

pub use plan::{Account, Action, XpPolicy, plan};

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

fn count(field: &str, raw: Option<&str>) -> Result<i32, String> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(0);
    };
    match raw.parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("{field} must not be negative (got {n})")),
        Ok(n) => i32::try_from(n).map_err(|_| format!("{field} is too large (got {n})")),
        Err(_) => Err(format!("{field} is not a whole number (got {raw:?})")),
    }
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` or `YYYY-MM-DD` (UTC), or Unix seconds.
pub fn timestamp(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    if let Ok(secs) = raw.parse::<i64>()
        && let Some(t) = DateTime::from_timestamp(secs, 0)
    {
        return Ok(Some(t));
    }
    Err(format!("{field} is not a date and time (got {raw:?})"))
}

/// Makes a record of one row: `get` gives a column's text (absent and empty are the same).
pub fn record<'a>(
    source: Source,
    line: u64,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Record, String> {
    let get = |c: &'static str| get(source.column_name(c));
    let present = |c: &'static str| get(c).map(str::trim).filter(|s| !s.is_empty());
    let mut identities = Identities::default();
    for (platform, column) in [
        (Platform::Telegram, "telegram_id"),
        (Platform::Discord, "discord_id"),
        (Platform::Website, "email"),
    ] {
        if let Some(raw) = present(column) {
            let id = ExternalId::parse(platform, raw)
                .map_err(|e| format!("{}: {}", source.column_name(column), e.message()))?;
            identities.set(id);
        }
    }
    let (seed_id, primary) = match source {
        Source::Seed => seed_identity(&identities, present("id"), present("primary_platform"))?,
        _ if identities.get(source.platform()).is_none() => {
            return Err(format!("{} is missing", source.columns()[0]));
        }
        _ => (None, source.platform()),
    };
    let username = match (present("username"), seed_id) {
        (Some(raw), _) => Name::parse("username", raw)?,
        // The seed allowed users without a username (Telegram users may have none).
        (None, Some(id)) => match present("display_name") {
            Some(raw) => Name::parse("display_name", raw)?,
            None => Name::parse("username", &format!("user{id}"))?,
        },
        (None, None) => return Err("username is missing".into()),
    };
    let display_name = present("display_name")
        .map(|raw| Name::parse("display_name", raw))
        .transpose()?;
    let counters = Counters {
        xp: count("xp", get("xp"))?,
        coins: count("coins", get("coins"))?,
        games_played: count("games_played", get("games_played"))?,
        games_won: count("games_won", get("games_won"))?,
        voice_seconds: count("voice_seconds", get("voice_seconds"))?,
        messages_sent: count("messages_sent", get("messages_sent"))?,
    };
    if counters.games_won > counters.games_played {
        return Err(format!(
            "games_won ({}) is more than games_played ({})",
            counters.games_won, counters.games_played
        ));
    }
    Ok(Record {
        line,
        identities,
        primary,
        seed_id,
        username,
        display_name,
        counters,
        daily_streak: count("daily_streak", get("daily_streak"))?,
        last_daily: timestamp("last_daily", get("last_daily"))?,
        created_at: timestamp("created_at", get("created_at"))?,
        achievements: names_list("achievements", present("achievements"))?,
        season_xp: count("current_season_xp", get("current_season_xp"))?,
        last_active: timestamp("last_active", get("last_active"))?,
    })
}

/// A seed row's id (a positive integer) and primary platform: the one it names when it has
/// that identity, else its first identity. The seed's check wants at least one.
fn seed_identity(
    identities: &Identities,
    id: Option<&str>,
    primary: Option<&str>,
) -> Result<(Option<i64>, Platform), String> {
    let id = match id.map(str::parse::<i64>) {
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return Err("id is not a positive whole number".into()),
        None => return Err("id is missing".into()),
    };
    let Some(first) = identities.platforms().first().copied() else {
        return Err("has no telegram_id, discord_id or website_email".into());
    };
    let named = primary
        .and_then(|p| Platform::parse(&p.to_lowercase()))
        .filter(|p| identities.get(*p).is_some());
    Ok((Some(id), named.unwrap_or(first)))
}

/// A JSON list of names (the seed's `achievements` jsonb), each 1 to 64 characters.
fn names_list(field: &str, raw: Option<&str>) -> Result<Vec<String>, String> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = serde_json::from_str(raw)
        .map_err(|_| format!("{field} is not a JSON list of names (got {raw:?})"))?;
    let names: Vec<String> = names.iter().map(|n| n.trim().to_owned()).collect();
    if names.iter().any(|n| n.is_empty() || n.chars().count() > 64) {
        return Err(format!("{field}: every name must be 1 to 64 characters"));
    }
    Ok(names)
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
