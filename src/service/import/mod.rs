//! `ttfd import`: brings a platform's existing users into unified accounts in one
//! transaction, all or nothing. Rows are checked first; records are matched to the accounts
//! their identities already belong to; the changes are written with set-based statements.

pub mod files;
pub mod seed;

use std::collections::HashMap;

use uuid::Uuid;

use crate::db::achievements::Earners;
use crate::db::imports::{self, Change};
use crate::domain::import::{
    Account, Action, Counters, Record, Rejected, Source, XpPolicy, plan, without_duplicates,
};
use crate::domain::merge::RankRewards;
use crate::domain::{Platform, RankTable};
use crate::error::AppResult;
use crate::service::Actor;
use crate::state::AppState;

pub struct Options {
    pub source: Source,
    pub policy: XpPolicy,
    /// Plan and report, write nothing.
    pub dry_run: bool,
    /// Import the valid rows even when some are rejected.
    pub skip_invalid: bool,
}

/// What an import did (or, in a dry run or when stopped by bad rows, would do).
#[derive(Debug, Default)]
pub struct Report {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub linked: u64,
    pub merged: u64,
    pub unchanged: u64,
    pub rejected: Vec<Rejected>,
    pub unknown_columns: Vec<String>,
    pub written: bool,
    /// Seed events written as history, and those skipped (their user was not imported, or
    /// they are not events this service knows).
    pub history: u64,
    pub history_skipped: u64,
}

/// Runs the import of `parsed`; `phase` hears what it is doing.
pub async fn run(
    state: &AppState,
    parsed: files::Parsed,
    options: &Options,
    phase: &dyn Fn(&str),
) -> AppResult<Report> {
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: {name}"
        );
        phase(name);
    };
    let source = options.source;
    let history = parsed.history;
    let (records, duplicates) = without_duplicates(parsed.records);
    let mut report = Report {
        rows: parsed.rows,
        rejected: parsed.rejected,
        unknown_columns: parsed.unknown_columns,
        ..Report::default()
    };
    report.rejected.extend(duplicates);

    let mut tx = state.pool.begin().await?;
    imports::begin(&mut tx).await?;
    phase("matching existing accounts");
    imports::stage_keys(&mut tx, source, &records).await?;
    let accounts = imports::matching_accounts(&mut tx).await?;
    let previous = imports::previous(&mut tx, source).await?;
    phase("planning");
    let planned = plan_all(source, &records, &accounts, &previous, options.policy);
    report.rejected.extend(planned.rejected);
    report.rejected.sort_by_key(|r| r.line);
    for (_, action) in &planned.actions {
        match action {
            Action::Create => report.created += 1,
            Action::Update { links, .. } if links.is_empty() => report.updated += 1,
            Action::Update { .. } => report.linked += 1,
            Action::Merge { .. } => report.merged += 1,
            Action::Unchanged { .. } => report.unchanged += 1,
        }
    }
    if options.dry_run || (!report.rejected.is_empty() && !options.skip_invalid) {
        tx.rollback().await?;
        return Ok(report);
    }

    phase("writing");
    let set_aside = crate::db::bulk_load::set_aside(&mut tx).await?;
    if set_aside.is_some() {
        phase("an empty service: foreign keys and the users' secondary indexes set aside");
    }
    let actor = Actor::default();
    for (record, action) in &planned.actions {
        if let Action::Merge { into, from, .. } = action {
            for f in from {
                super::merging::merge_locked(
                    &mut tx,
                    state,
                    &actor,
                    *into,
                    *f,
                    record.primary,
                    RankRewards::Withhold,
                )
                .await?;
            }
        }
    }
    let changes: Vec<Change> = planned
        .actions
        .iter()
        .filter_map(|(record, action)| change(record, action, options.policy, &state.ranks))
        .collect();
    imports::apply(&mut tx, source, &changes, &state.rules.time_zone, &phase).await?;
    if source == Source::Seed {
        phase("recording the seed's achievements and history");
        let mut owners: Vec<(&Record, Uuid)> = changes.iter().map(|c| (c.record, c.user_id)).collect();
        owners.extend(
            planned
                .actions
                .iter()
                .filter_map(|(record, action)| match action {
                    Action::Unchanged { user } => Some((*record, *user)),
                    _ => None,
                }),
        );
        seed::record_achievements(&mut tx, &owners, &state.rules.achievements).await?;
        let by_seed_id = owners
            .iter()
            .filter_map(|(r, user)| Some((r.seed_id?, *user)))
            .collect();
        (report.history, report.history_skipped) =
            seed::write_history(&mut tx, &history, &by_seed_id).await?;
    }
    phase("recording achievements already earned");
    crate::db::achievements::record_earned(&mut tx, &state.unlock_thresholds, Earners::Imported).await?;
    if let Some(set_aside) = set_aside {
        phase("rebuilding the indexes and checking the foreign keys");
        crate::db::bulk_load::restore(&mut tx, set_aside).await?;
    }
    phase("committing");
    tx.commit().await?;
    phase("committed");
    // This process may exit at once: tell the servers now.
    crate::db::events::ring(&state.pool, crate::events::CHANNEL, "import").await?;
    report.written = true;
    Ok(report)
}

struct Planned<'a> {
    actions: Vec<(&'a Record, Action)>,
    rejected: Vec<Rejected>,
}

/// Plans every record against the accounts, refusing a record whose accounts an earlier row
/// of the file already changes (one statement cannot apply two changes to one row).
fn plan_all<'a>(
    source: Source,
    records: &'a [Record],
    accounts: &[Account],
    previous: &HashMap<String, Counters>,
    policy: XpPolicy,
) -> Planned<'a> {
    let mut by_identity: HashMap<(Platform, &str), &Account> = HashMap::new();
    for a in accounts {
        for p in Platform::ALL {
            if let Some(id) = a.identity(p) {
                by_identity.insert((p, id), a);
            }
        }
    }
    let mut claimed: HashMap<Uuid, u64> = HashMap::new();
    let mut planned = Planned {
        actions: Vec::with_capacity(records.len()),
        rejected: Vec::new(),
    };
    for record in records {
        let matched: Vec<Account> = Platform::ALL
            .into_iter()
            .filter_map(|p| by_identity.get(&(p, record.identity(p)?)).map(|a| (*a).clone()))
            .collect();
        let action = match plan(record, &matched, previous.get(&record.source_id(source)), policy) {
            Ok(a) => a,
            Err(reason) => {
                planned.rejected.push(Rejected {
                    line: record.line,
                    reason,
                });
                continue;
            }
        };
        if let Some(line) = matched.iter().find_map(|a| claimed.get(&a.id)) {
            planned.rejected.push(Rejected {
                line: record.line,
                reason: format!("its account is also changed by line {line}"),
            });
            continue;
        }
        for a in &matched {
            claimed.insert(a.id, record.line);
        }
        planned.actions.push((record, action));
    }
    planned
}

/// The staged change of one planned record (none when it changes nothing).
fn change<'a>(
    record: &'a Record,
    action: &Action,
    policy: XpPolicy,
    ranks: &RankTable,
) -> Option<Change<'a>> {
    let existing = |user: Uuid, delta: &Counters, action: &'static str| Change {
        record,
        user_id: user,
        event_id: Uuid::now_v7(),
        created: false,
        action,
        add: Counters {
            xp: if policy == XpPolicy::Sum { delta.xp } else { 0 },
            ..*delta
        },
        xp_floor: if policy == XpPolicy::Max {
            record.counters.xp
        } else {
            0
        },
        rank_id: 0,
    };
    match action {
        Action::Create => Some(Change {
            record,
            user_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            created: true,
            action: "created",
            add: record.counters,
            xp_floor: 0,
            rank_id: ranks.for_xp(record.counters.xp).id,
        }),
        Action::Update { user, delta, links } if links.is_empty() => Some(existing(*user, delta, "updated")),
        Action::Update { user, delta, .. } => Some(existing(*user, delta, "linked")),
        Action::Merge { into, delta, .. } => Some(existing(*into, delta, "merged")),
        Action::Unchanged { .. } => None,
    }
}
