//! One row of a file (or of the seed's table) as a record, or the reason it cannot be one:
//! identities and names parsed, counts and times read, a seed row's own fields.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::{Counters, Record, Source};
use crate::domain::{ExternalId, Identities, Name, Platform};

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
