//! What only `ttfd import seed` does: read the Python shared module's database, record its
//! achievements (known names as unlocks, unknown ones as retired catalog entries) and bring
//! its events over as history.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::files::{Parsed, object_record};
use crate::db::seed::{self, HistoryEvent};
use crate::domain::import::{Rejected, Source, timestamp};
use crate::domain::rules::AchievementRule;
use crate::domain::{EventType, Platform};
use crate::error::AppResult;

/// The seed database's users as records (a row's "line" is its seed id) and its events.
pub async fn read_database(source: &mut PgConnection) -> AppResult<Parsed> {
    let snapshot = seed::read(source).await?;
    let mut parsed = Parsed::default();
    for user in &snapshot.users {
        let line = user.get("id").and_then(Value::as_u64).unwrap_or(0);
        parsed.unknown(Source::Seed.unknown_columns(&user.keys().cloned().collect::<Vec<_>>()));
        parsed.push(object_record(Source::Seed, line, user).map_err(|reason| Rejected { line, reason }));
    }
    parsed.history = snapshot.events;
    Ok(parsed)
}

/// The catalog entry a seed achievement name stands for: the rules' entry with that code or
/// name, else a retired entry coded `seed_` and the name's letters and digits.
fn entry_of<'a>(name: &'a str, catalog: &'a [AchievementRule]) -> Entry<'a> {
    if let Some(a) = catalog
        .iter()
        .find(|a| a.code == name || a.name.eq_ignore_ascii_case(name))
    {
        return Entry {
            code: Cow::Borrowed(&a.code),
            name: &a.name,
            description: &a.description,
            retired: false,
        };
    }
    let mut slug = String::from("seed_");
    for c in name.to_lowercase().chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && slug.ends_with('_')) && slug.len() < 64 {
            slug.push(c);
        }
    }
    let slug = slug.trim_end_matches('_').to_owned();
    let slug = if slug == "seed" {
        "seed_unnamed".to_owned()
    } else {
        slug
    };
    Entry {
        code: Cow::Owned(slug),
        name,
        description: "Imported from the Python shared module",
        retired: true,
    }
}

/// A catalog entry a seed unlock needs (`db::seed::Entry` with its code owned or borrowed).
struct Entry<'a> {
    code: Cow<'a, str>,
    name: &'a str,
    description: &'a str,
    retired: bool,
}

/// Records what the seed's users held, each record with its account here.
pub async fn record_achievements(
    tx: &mut PgConnection,
    records: &[(&crate::domain::import::Record, Uuid)],
    catalog: &[AchievementRule],
) -> AppResult<()> {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut unlocks: Vec<(Uuid, String)> = Vec::new();
    for (record, user) in records {
        for name in &record.achievements {
            let entry = entry_of(name, catalog);
            unlocks.push((*user, entry.code.to_string()));
            if !entries.iter().any(|e| e.code == entry.code) {
                entries.push(entry);
            }
        }
    }
    let entries: Vec<seed::Entry<'_>> = entries
        .iter()
        .map(|e| seed::Entry {
            code: &e.code,
            name: e.name,
            description: e.description,
            retired: e.retired,
        })
        .collect();
    seed::record_achievements(tx, &entries, &unlocks).await
}

/// What the seed's event data says, in the names the ledger reads (`delta`, `xp`, `coins`),
/// the original keys kept, marked as imported.
fn history_data(mut data: Map<String, Value>) -> Value {
    for (seed, ours) in [
        ("delta_xp", "delta"),
        ("new_xp", "xp"),
        ("delta_coins", "delta"),
        ("new_coins", "coins"),
    ] {
        if let Some(v) = data.get(seed).cloned()
            && !data.contains_key(ours)
        {
            data.insert(ours.to_owned(), v);
        }
    }
    data.insert("importedFrom".into(), json!("seed"));
    Value::Object(data)
}

/// The seed's events whose users were imported, as history; returns (written, skipped).
pub async fn write_history(
    tx: &mut PgConnection,
    events: &[Map<String, Value>],
    owners: &HashMap<i64, Uuid>,
) -> AppResult<(u64, u64)> {
    let mut history = Vec::with_capacity(events.len());
    for e in events {
        let text = |k: &str| e.get(k).and_then(Value::as_str);
        let event = (|| {
            Some(HistoryEvent {
                id: text("id")?.parse().ok()?,
                user_id: *owners.get(&e.get("user_id")?.as_i64()?)?,
                event_type: EventType::parse(text("event_type")?)?.as_str(),
                source_platform: Platform::parse(text("source_platform")?)?.as_str(),
                data: history_data(e.get("data")?.as_object()?.clone()),
                created_at: timestamp("created_at", text("created_at")).ok()??,
            })
        })();
        history.extend(event);
    }
    let skipped = (events.len() - history.len()) as u64;
    let written = seed::write_history(tx, &history).await?;
    Ok((written, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_achievement_names_find_the_catalog_or_become_retired_codes() {
        let catalog = crate::domain::rules::Rules::default().achievements;
        let known = entry_of("first_win", &catalog);
        assert_eq!((known.code.as_ref(), known.retired), ("first_win", false));
        assert_eq!(entry_of("First Win", &catalog).code, "first_win", "by name too");
        let old = entry_of("Old Guard!", &catalog);
        assert_eq!(
            (old.code.as_ref(), old.name, old.retired),
            ("seed_old_guard", "Old Guard!", true)
        );
        assert_eq!(entry_of("!!!", &catalog).code, "seed_unnamed");
        assert!(entry_of(&"x".repeat(100), &catalog).code.len() <= 64);
    }

    #[test]
    fn seed_event_data_gets_the_ledgers_names() {
        let data = history_data(
            json!({"delta_xp": 50, "new_xp": 550})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(data["delta"], 50);
        assert_eq!(data["xp"], 550);
        assert_eq!(data["delta_xp"], 50);
        assert_eq!(data["importedFrom"], "seed");
    }
}
