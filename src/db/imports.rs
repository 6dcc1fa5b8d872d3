//! `import_sources` and the import's staging tables: records are copied in bulk (COPY) into
//! temporary tables of the import's transaction, and every change is a set-based statement
//! over them, never a statement per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::users::CURRENT_SEASON;
use crate::domain::import::{Account, Counters, Record, Source};
use crate::domain::{Identities, Name};
use crate::error::{AppError, AppResult};

/// Rows per COPY message.
const COPY_CHUNK: usize = 10_000;

/// One value in COPY's text format.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// One row in COPY's text format.
fn line(out: &mut String, values: &[Option<&str>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        field(out, *v);
    }
    out.push('\n');
}

async fn copy_rows<T>(
    tx: &mut PgConnection,
    statement: &str,
    rows: &[T],
    mut write: impl FnMut(&mut String, &T),
) -> AppResult<()> {
    let mut copy = tx.copy_in_raw(statement).await?;
    let mut buffer = String::new();
    for chunk in rows.chunks(COPY_CHUNK) {
        buffer.clear();
        for row in chunk {
            write(&mut buffer, row);
        }
        if let Err(e) = copy.send(buffer.as_bytes()).await {
            let _ = copy.abort("import failed").await;
            return Err(e.into());
        }
    }
    copy.finish().await?;
    Ok(())
}

/// Makes the transaction the only import running, free of the statement timeout (a million
/// rows take longer than one request may).
pub async fn begin(tx: &mut PgConnection) -> AppResult<()> {
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    // Sorts and hashes over a million staged rows stay in memory.
    sqlx::query("SET LOCAL work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('ttfd_import'))")
        .execute(&mut *tx)
        .await?;
    super::seasons::hold(&mut *tx).await?;
    // Before anything is written: waits for every change to users in flight and holds new
    // ones back (reads go on) until the import commits. Row by row locks could not do it: a
    // row lock that waits is given a transaction id first, so a change committed meanwhile
    // would sort after the import in the event log, yet the import built on it.
    sqlx::query("LOCK TABLE unified_users IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Copies the records' identities into `import_keys`.
pub async fn stage_keys(tx: &mut PgConnection, source: Source, records: &[Record]) -> AppResult<()> {
    sqlx::query(
        "CREATE TEMP TABLE import_keys (source_id text NOT NULL, telegram_id text, discord_id text, email text) \
         ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    copy_rows(
        tx,
        "COPY import_keys (source_id, telegram_id, discord_id, email) FROM STDIN",
        records,
        |out, r| {
            let [telegram, discord, email] = r.identities.columns();
            let source_id = r.source_id(source);
            line(out, &[Some(&source_id), telegram, discord, email])
        },
    )
    .await?;
    sqlx::query("ANALYZE import_keys").execute(&mut *tx).await?;
    Ok(())
}

/// The accounts holding any identity of the staged records.
pub async fn matching_accounts(tx: &mut PgConnection) -> AppResult<Vec<Account>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        #[sqlx(flatten)]
        identities: Identities,
        xp: i32,
        daily_streak: i32,
        last_daily: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, telegram_id, discord_id, website_email, xp, daily_streak, last_daily, created_at \
         FROM unified_users WHERE id IN ( \
             SELECT u.id FROM unified_users u JOIN import_keys k ON u.telegram_id = k.telegram_id \
             UNION SELECT u.id FROM unified_users u JOIN import_keys k ON u.discord_id = k.discord_id \
             UNION SELECT u.id FROM unified_users u JOIN import_keys k ON u.website_email = k.email)",
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Account {
            id: r.id,
            identities: r.identities,
            xp: r.xp,
            daily_streak: r.daily_streak,
            last_daily: r.last_daily,
            created_at: r.created_at,
        })
        .collect())
}

/// What each staged record brought the last time it was imported.
pub async fn previous(tx: &mut PgConnection, source: Source) -> AppResult<HashMap<String, Counters>> {
    let rows: Vec<(String, i32, i32, i32, i32, i32, i32)> = sqlx::query_as(
        "SELECT s.source_id, s.xp, s.coins, s.games_played, s.games_won, s.voice_seconds, s.messages_sent \
         FROM import_sources s JOIN import_keys k ON k.source_id = s.source_id WHERE s.source = $1",
    )
    .bind(source.as_str())
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, xp, coins, games_played, games_won, voice_seconds, messages_sent)| {
                (
                    id,
                    Counters {
                        xp,
                        coins,
                        games_played,
                        games_won,
                        voice_seconds,
                        messages_sent,
                    },
                )
            },
        )
        .collect())
}

/// A record's change to one account, as staged for the set-based statements.
pub struct Change<'a> {
    pub record: &'a Record,
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub created: bool,
    /// What the event calls it: created, updated, linked or merged.
    pub action: &'static str,
    /// Added to the account's counters (for a new account: the record's amounts).
    pub add: Counters,
    /// The least XP the account ends with (the record's XP under the max policy, else 0).
    pub xp_floor: i32,
    /// A new account's rank (from its XP); existing accounts' ranks follow in SQL.
    pub rank_id: i32,
}

/// Applies the changes: creates the new accounts, updates the others, remembers what each
/// record brought, and writes one `imported` event per account. `time_zone` is the
/// community's, for the calendar day of an imported last daily claim.
pub async fn apply(
    tx: &mut PgConnection,
    source: Source,
    changes: &[Change<'_>],
    time_zone: &str,
    phase: &dyn Fn(&str),
) -> AppResult<()> {
    sqlx::query(
        "CREATE TEMP TABLE import_apply ( \
             user_id uuid NOT NULL, event_id uuid NOT NULL, created boolean NOT NULL, action text NOT NULL, \
             line bigint NOT NULL, source_id text NOT NULL, \
             telegram_id text, discord_id text, email text, username text NOT NULL, display_name text, \
             add_xp int NOT NULL, add_coins int NOT NULL, add_games_played int NOT NULL, add_games_won int NOT NULL, \
             add_voice int NOT NULL, add_messages int NOT NULL, xp_floor int NOT NULL, \
             daily_streak int NOT NULL, last_daily timestamptz, created_at timestamptz, \
             xp int NOT NULL, coins int NOT NULL, games_played int NOT NULL, games_won int NOT NULL, \
             voice_seconds int NOT NULL, messages_sent int NOT NULL, rank_id int NOT NULL, \
             primary_platform text NOT NULL, season_xp int NOT NULL, last_active timestamptz) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    copy_rows(tx, "COPY import_apply FROM STDIN", changes, |out, c| {
        let r = c.record;
        let n = |v: i32| v.to_string();
        let t = |v: Option<DateTime<Utc>>| v.map(|t| t.to_rfc3339());
        let (user, event, line_no) = (c.user_id.to_string(), c.event_id.to_string(), r.line.to_string());
        let added = c.add.fields().map(n);
        let (floor, streak) = (n(c.xp_floor), n(r.daily_streak));
        let brought = r.counters.fields().map(n);
        let (last_daily, created_at) = (t(r.last_daily), t(r.created_at));
        let [telegram, discord, email] = r.identities.columns();
        let source_id = r.source_id(source);
        let mut row: Vec<Option<&str>> = vec![
            Some(&user),
            Some(&event),
            Some(if c.created { "t" } else { "f" }),
            Some(c.action),
            Some(&line_no),
            Some(&source_id),
            telegram,
            discord,
            email,
            Some(r.username.as_str()),
            r.display_name.as_ref().map(Name::as_str),
        ];
        row.extend(added.iter().map(|v| Some(v.as_str())));
        row.extend([Some(floor.as_str()), Some(streak.as_str())]);
        row.extend([last_daily.as_deref(), created_at.as_deref()]);
        row.extend(brought.iter().map(|v| Some(v.as_str())));
        let (rank, season_xp, last_active) = (n(c.rank_id), n(r.season_xp), t(r.last_active));
        row.extend([
            Some(rank.as_str()),
            Some(r.primary.as_str()),
            Some(season_xp.as_str()),
        ]);
        row.push(last_active.as_deref());
        line(out, &row);
    })
    .await?;
    sqlx::query("ANALYZE import_apply").execute(&mut *tx).await?;

    phase("writing new accounts");
    // New accounts: the record's amounts, the rank their XP reaches, already paid for; a seed
    // row's season XP counts for the current season.
    sqlx::query(&format!(
        "INSERT INTO unified_users (id, telegram_id, discord_id, website_email, username, display_name, \
             xp, coins, rank_id, rewarded_rank_id, games_played, games_won, total_voice_time, messages_sent, \
             daily_streak, last_daily, last_daily_day, created_at, primary_platform, current_season_xp, \
             season_id, last_active) \
         SELECT a.user_id, a.telegram_id, a.discord_id, a.email, a.username, coalesce(a.display_name, a.username), \
             a.add_xp, a.add_coins, a.rank_id, a.rank_id, a.add_games_played, a.add_games_won, a.add_voice, \
             a.add_messages, a.daily_streak, a.last_daily, (a.last_daily AT TIME ZONE $1)::date, \
             coalesce(a.created_at, now()), a.primary_platform, a.season_xp, {CURRENT_SEASON}, \
             coalesce(a.last_active, now()) \
         FROM import_apply a WHERE a.created"
    ))
    .bind(time_zone)
    .execute(&mut *tx)
    .await?;

    phase("updating accounts");
    // Existing accounts: amounts added in the row's latest version (a concurrent change is
    // kept), clamped to the column's range; the rank follows the XP, with no reward for
    // imported ranks; streaks and claims keep their best, the account its earliest creation.
    let xp = "greatest(0, least(2147483647, u.xp::bigint + a.add_xp), a.xp_floor)";
    let bounded =
        |column: &str, add: &str| format!("greatest(0, least(2147483647, u.{column}::bigint + a.{add}))");
    let played = bounded("games_played", "add_games_played");
    let won = bounded("games_won", "add_games_won");
    let rank = format!("(SELECT max(id) FROM ranks WHERE required_xp <= {xp})");
    let sql = format!(
        "UPDATE unified_users u SET \
             telegram_id = coalesce(u.telegram_id, a.telegram_id), \
             discord_id = coalesce(u.discord_id, a.discord_id), \
             website_email = coalesce(u.website_email, a.email), \
             xp = {xp}, coins = {coins}, \
             games_played = {played}, games_won = least({won}, {played}), \
             total_voice_time = {voice}, messages_sent = {messages}, \
             rank_id = {rank}, rewarded_rank_id = greatest(u.rewarded_rank_id, {rank}), \
             daily_streak = greatest(u.daily_streak, a.daily_streak), \
             last_daily = greatest(u.last_daily, a.last_daily), \
             last_daily_day = greatest(u.last_daily_day, (a.last_daily AT TIME ZONE $1)::date), \
             created_at = least(u.created_at, a.created_at), \
             last_active = greatest(u.last_active, a.last_active) \
         FROM import_apply a WHERE u.id = a.user_id AND NOT a.created",
        coins = bounded("coins", "add_coins"),
        voice = bounded("total_voice_time", "add_voice"),
        messages = bounded("messages_sent", "add_messages"),
    );
    let updated = sqlx::query(&sql)
        .bind(time_zone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let expected = changes.iter().filter(|c| !c.created).count() as u64;
    if updated != expected {
        // The users' table is locked from before the matching, so this is a bug, never a
        // race: stop before anything is recorded as imported.
        return Err(AppError::internal(format!(
            "the import updated {updated} accounts where it matched {expected}"
        )));
    }

    phase("remembering sources");
    sqlx::query(
        "INSERT INTO import_sources (source, source_id, xp, coins, games_played, games_won, voice_seconds, messages_sent) \
         SELECT $1, source_id, xp, coins, games_played, games_won, voice_seconds, messages_sent FROM import_apply \
         ON CONFLICT (source, source_id) DO UPDATE SET xp = EXCLUDED.xp, coins = EXCLUDED.coins, \
             games_played = EXCLUDED.games_played, games_won = EXCLUDED.games_won, \
             voice_seconds = EXCLUDED.voice_seconds, messages_sent = EXCLUDED.messages_sent, imported_at = now()",
    )
    .bind(source.as_str())
    .execute(&mut *tx)
    .await?;

    phase("writing events");
    // The account's values after the import: a new account's are the staged ones, an updated
    // one's are read back (only those rows are joined).
    let data = "jsonb_build_object('source', $1::text, 'line', a.line, 'action', a.action, \
        'xp', {xp}, 'coins', {coins}, 'rankId', {rank}, \
        'imported', jsonb_build_object('xp', a.xp, 'coins', a.coins, 'gamesPlayed', a.games_played, \
            'gamesWon', a.games_won, 'voiceSeconds', a.voice_seconds, 'messagesSent', a.messages_sent))";
    for (values, from) in [
        (
            ("a.add_xp", "a.add_coins", "a.rank_id"),
            "import_apply a WHERE a.created",
        ),
        (
            ("u.xp", "u.coins", "u.rank_id"),
            "import_apply a JOIN unified_users u ON u.id = a.user_id WHERE NOT a.created",
        ),
    ] {
        let data = data
            .replace("{xp}", values.0)
            .replace("{coins}", values.1)
            .replace("{rank}", values.2);
        let sql = format!(
            "INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data) \
             SELECT a.event_id, a.user_id, 'imported', a.primary_platform, {data} FROM {from} ORDER BY a.line"
        );
        sqlx::query(&sql).bind(source.as_str()).execute(&mut *tx).await?;
    }
    Ok(())
}
