//! Legacy import rules: the columns each platform's file has, how a row becomes a record (or
//! the reason it cannot), duplicates inside a file, and what each record does to the accounts
//! that exist (create, update, link, merge, nothing). Pure: the import service feeds it the
//! file's rows and the matching accounts and applies its answer.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use uuid::Uuid;

use super::Platform;
use super::validate;

/// Where the records come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Telegram,
    Discord,
    Website,
    /// A MEE6 leaderboard export: Discord members.
    Mee6,
}

impl Source {
    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "telegram" => Some(Source::Telegram),
            "discord" => Some(Source::Discord),
            "website" => Some(Source::Website),
            "mee6" => Some(Source::Mee6),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Telegram => "telegram",
            Source::Discord => "discord",
            Source::Website => "website",
            Source::Mee6 => "mee6",
        }
    }

    /// The platform the records' accounts belong to.
    pub fn platform(self) -> Platform {
        match self {
            Source::Telegram => Platform::Telegram,
            Source::Discord | Source::Mee6 => Platform::Discord,
            Source::Website => Platform::Website,
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

    /// Required columns a header lacks.
    pub fn missing_columns(self, header: &[String]) -> Vec<&'static str> {
        self.columns()[..2]
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
    pub telegram_id: Option<String>,
    pub discord_id: Option<String>,
    pub email: Option<String>,
    pub username: String,
    pub display_name: Option<String>,
    pub counters: Counters,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

impl Record {
    /// The record's own identity in its source: what makes a second row a duplicate and what
    /// the import remembers it by.
    pub fn source_id(&self, source: Source) -> &str {
        let id = match source.platform() {
            Platform::Telegram => &self.telegram_id,
            Platform::Discord => &self.discord_id,
            Platform::Website => &self.email,
        };
        id.as_deref().unwrap_or_default()
    }

    pub fn identity(&self, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Telegram => self.telegram_id.as_deref(),
            Platform::Discord => self.discord_id.as_deref(),
            Platform::Website => self.email.as_deref(),
        }
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
    let present = |c: &str| get(c).map(str::trim).filter(|s| !s.is_empty());
    let id = |platform: Platform, column: &str| -> Result<Option<String>, String> {
        present(column)
            .map(|raw| validate::external_id(platform, raw).map_err(|e| format!("{column}: {e}")))
            .transpose()
    };
    let telegram_id = id(Platform::Telegram, "telegram_id")?;
    let discord_id = id(Platform::Discord, "discord_id")?;
    let email = id(Platform::Website, "email")?;
    let own = match source.platform() {
        Platform::Telegram => &telegram_id,
        Platform::Discord => &discord_id,
        Platform::Website => &email,
    };
    if own.is_none() {
        return Err(format!("{} is missing", source.columns()[0]));
    }
    let username = match present("username") {
        Some(raw) => validate::name("username", raw)?,
        None => return Err("username is missing".into()),
    };
    let display_name = present("display_name")
        .map(|raw| validate::name("display_name", raw))
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
        telegram_id,
        discord_id,
        email,
        username,
        display_name,
        counters,
        daily_streak: count("daily_streak", get("daily_streak"))?,
        last_daily: timestamp("last_daily", get("last_daily"))?,
        created_at: timestamp("created_at", get("created_at"))?,
    })
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
    pub telegram_id: Option<String>,
    pub discord_id: Option<String>,
    pub email: Option<String>,
    pub xp: i32,
    pub daily_streak: i32,
    pub last_daily: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub fn identity(&self, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Telegram => self.telegram_id.as_deref(),
            Platform::Discord => self.discord_id.as_deref(),
            Platform::Website => self.email.as_deref(),
        }
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
    source: Source,
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
        let own = record.identity(source.platform());
        let into = accounts
            .iter()
            .find(|a| own.is_some() && a.identity(source.platform()) == own)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |c: &str| pairs.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
    }

    fn telegram(line: u64, id: &str, xp: &str) -> Record {
        record(
            Source::Telegram,
            line,
            row(&[("telegram_id", id), ("username", "ann"), ("xp", xp)]),
        )
        .unwrap()
    }

    fn account(tg: Option<&str>, dc: Option<&str>, email: Option<&str>, xp: i32) -> Account {
        Account {
            id: Uuid::now_v7(),
            telegram_id: tg.map(Into::into),
            discord_id: dc.map(Into::into),
            email: email.map(Into::into),
            xp,
            daily_streak: 0,
            last_daily: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_row_becomes_a_record_with_defaults() {
        let r = record(
            Source::Telegram,
            2,
            row(&[
                ("telegram_id", " 42 "),
                ("username", "ann"),
                ("xp", "1500"),
                ("games_played", "10"),
                ("games_won", "4"),
                ("last_daily", "2024-03-01 08:30:00"),
                ("created_at", "2023-01-02"),
            ]),
        )
        .unwrap();
        assert_eq!(r.telegram_id.as_deref(), Some("42"));
        assert_eq!(r.counters.xp, 1500);
        assert_eq!(r.counters.coins, 0);
        assert_eq!((r.counters.games_played, r.counters.games_won), (10, 4));
        assert_eq!(r.last_daily.unwrap().to_rfc3339(), "2024-03-01T08:30:00+00:00");
        assert_eq!(r.created_at.unwrap().to_rfc3339(), "2023-01-02T00:00:00+00:00");
        assert_eq!(r.display_name, None);
    }

    #[test]
    fn every_bad_row_class_says_why() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("username", "ann")], "telegram_id is missing"),
            (
                &[("telegram_id", "12a"), ("username", "ann")],
                "telegram_id: telegram id must be 1 to 20 decimal digits",
            ),
            (&[("telegram_id", "1")], "username is missing"),
            (
                &[("telegram_id", "1"), ("username", "a"), ("xp", "ten")],
                "xp is not a whole number (got \"ten\")",
            ),
            (
                &[("telegram_id", "1"), ("username", "a"), ("xp", "-5")],
                "xp must not be negative (got -5)",
            ),
            (
                &[("telegram_id", "1"), ("username", "a"), ("coins", "99999999999")],
                "coins is too large (got 99999999999)",
            ),
            (
                &[
                    ("telegram_id", "1"),
                    ("username", "a"),
                    ("games_played", "1"),
                    ("games_won", "2"),
                ],
                "games_won (2) is more than games_played (1)",
            ),
            (
                &[
                    ("telegram_id", "1"),
                    ("username", "a"),
                    ("created_at", "yesterday"),
                ],
                "created_at is not a date and time (got \"yesterday\")",
            ),
        ];
        for (fields, why) in cases {
            assert_eq!(record(Source::Telegram, 3, row(fields)).unwrap_err(), *why);
        }
        let bad_email = record(
            Source::Website,
            3,
            row(&[("email", "not-an-email"), ("username", "a")]),
        );
        assert_eq!(
            bad_email.unwrap_err(),
            "email: websiteEmail must be a valid email address"
        );
    }

    #[test]
    fn timestamps_in_the_usual_legacy_spellings() {
        for raw in [
            "2024-03-01T08:30:00Z",
            "2024-03-01 08:30:00",
            "2024-03-01T08:30:00.000",
            "1709281800",
        ] {
            assert_eq!(
                timestamp("t", Some(raw)).unwrap().unwrap().to_rfc3339(),
                "2024-03-01T08:30:00+00:00",
                "{raw}"
            );
        }
        assert_eq!(timestamp("t", Some("  ")).unwrap(), None);
    }

    #[test]
    fn headers_report_unknown_and_missing_columns() {
        let header: Vec<String> = ["telegram_id", "xp", "level"].map(String::from).to_vec();
        assert_eq!(
            Source::Telegram.unknown_columns(&header),
            vec!["level".to_owned()]
        );
        assert_eq!(Source::Telegram.missing_columns(&header), vec!["username"]);
    }

    #[test]
    fn later_duplicates_are_rejected_with_the_first_line() {
        let (kept, rejected) = without_duplicates(vec![
            telegram(2, "1", "5"),
            telegram(3, "2", "5"),
            telegram(4, "1", "9"),
        ]);
        assert_eq!(kept.len(), 2);
        assert_eq!(
            rejected,
            vec![Rejected {
                line: 4,
                reason: "duplicate telegram id 1 (first on line 2)".into()
            }]
        );
    }

    #[test]
    fn new_identities_create_and_known_ones_update() {
        let r = telegram(2, "1", "100");
        assert_eq!(
            plan(Source::Telegram, &r, &[], None, XpPolicy::Sum).unwrap(),
            Action::Create
        );
        let a = account(Some("1"), None, None, 40);
        let Action::Update { delta, links, .. } = plan(
            Source::Telegram,
            &r,
            std::slice::from_ref(&a),
            None,
            XpPolicy::Sum,
        )
        .unwrap() else {
            panic!("an update");
        };
        assert_eq!((delta.xp, links.len()), (100, 0));
        // Max keeps the larger: 100 over 40 adds 60; over 400 adds nothing.
        let Action::Update { delta, .. } = plan(Source::Telegram, &r, &[a], None, XpPolicy::Max).unwrap()
        else {
            panic!("an update");
        };
        assert_eq!(delta.xp, 60);
        let rich = account(Some("1"), None, None, 400);
        let Action::Update { delta, .. } = plan(Source::Telegram, &r, &[rich], None, XpPolicy::Max).unwrap()
        else {
            panic!("an update");
        };
        assert_eq!(delta.xp, 0);
    }

    #[test]
    fn importing_the_same_record_again_changes_nothing() {
        let r = telegram(2, "1", "100");
        let a = account(Some("1"), None, None, 100);
        assert_eq!(
            plan(
                Source::Telegram,
                &r,
                std::slice::from_ref(&a),
                Some(&r.counters),
                XpPolicy::Sum
            )
            .unwrap(),
            Action::Unchanged { user: a.id }
        );
        // A corrected file applies only the difference.
        let corrected = telegram(2, "1", "130");
        let Action::Update { delta, .. } = plan(
            Source::Telegram,
            &corrected,
            &[a],
            Some(&r.counters),
            XpPolicy::Sum,
        )
        .unwrap() else {
            panic!("an update");
        };
        assert_eq!(delta.xp, 30);
    }

    #[test]
    fn a_website_row_links_and_merges_accounts_of_one_person() {
        let web = record(
            Source::Website,
            2,
            row(&[
                ("email", "Ann@Example.com"),
                ("username", "ann"),
                ("discord_id", "7"),
                ("telegram_id", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(web.email.as_deref(), Some("ann@example.com"));
        let tg = account(Some("1"), None, None, 10);
        let Action::Update { links, .. } = plan(
            Source::Website,
            &web,
            std::slice::from_ref(&tg),
            None,
            XpPolicy::Sum,
        )
        .unwrap() else {
            panic!("an update");
        };
        assert_eq!(links, vec![Platform::Discord, Platform::Website]);
        let mut dc = account(None, Some("7"), None, 20);
        dc.created_at = tg.created_at - chrono::Duration::days(1);
        let Action::Merge { into, from, .. } = plan(
            Source::Website,
            &web,
            &[tg.clone(), dc.clone()],
            None,
            XpPolicy::Sum,
        )
        .unwrap() else {
            panic!("a merge");
        };
        assert_eq!((into, from), (dc.id, vec![tg.id]), "the oldest account survives");
        // Two accounts that already hold different Telegram ids cannot become one.
        let other = account(Some("2"), Some("7"), None, 0);
        assert!(
            plan(Source::Website, &web, &[tg, other], None, XpPolicy::Sum)
                .unwrap_err()
                .contains("conflicting telegram ids")
        );
    }
}
