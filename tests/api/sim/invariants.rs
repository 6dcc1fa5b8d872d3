//! The simulator's verdict: invariants checked against the database and against what every
//! reader received, after the run.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};
use sqlx::PgPool;

use super::watchers::{Seen, Spec};
use super::world::World;

/// One row of the event log, in log order.
#[derive(Clone, Debug)]
pub struct Logged {
    pub id: String,
    pub txid: i64,
    pub user: String,
    pub kind: String,
    pub platform: String,
    pub data: Value,
}

pub async fn log(pool: &PgPool) -> Vec<Logged> {
    let rows: Vec<(String, i64, String, String, String, Value)> = sqlx::query_as(
        "SELECT id::text, txid, user_id::text, event_type, source_platform, data \
         FROM cross_platform_events ORDER BY txid, seq",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, txid, user, kind, platform, data)| Logged {
            id,
            txid,
            user,
            kind,
            platform,
            data,
        })
        .collect()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(i64::MIN)
}

/// Invariant 1: Every user's XP and coin ledgers are chains ending at the balance, never below zero.
/// Merged accounts' events now belong to the survivor, so a user's log may hold several
/// chains until the merge joins them: each change must continue one of the open chains.
pub async fn chains(world: &World, pool: &PgPool, log: &[Logged]) {
    #[derive(Default)]
    struct Heads {
        xp: Vec<i64>,
        coins: Vec<i64>,
        ambiguous: bool,
    }
    fn take(heads: &mut Vec<i64>, value: i64) -> bool {
        match heads.iter().position(|h| *h == value) {
            Some(i) => {
                heads.swap_remove(i);
                true
            }
            // A chain that starts at 0 is an account's first change.
            None => value == 0,
        }
    }
    // Coins a merge paid for ranks, by transaction: the rest of its coin delta is the merged
    // account's balance.
    let mut rewards: HashMap<(i64, &str), i64> = HashMap::new();
    for e in log.iter().filter(|e| e.kind == "rank_up") {
        *rewards.entry((e.txid, &e.user)).or_default() += int(&e.data["rewardCoins"]);
    }
    let merged_into: HashSet<&str> = log
        .iter()
        .filter(|e| e.kind == "accounts_merged")
        .map(|e| e.user.as_str())
        .collect();
    let mut users: HashMap<&str, Heads> = HashMap::new();
    for e in log {
        let heads = users.entry(&e.user).or_default();
        let d = &e.data;
        let (field, before, after, list) = match e.kind.as_str() {
            "xp_change" => ("xp", int(&d["previousXp"]), int(&d["xp"]), &mut heads.xp),
            "coins_change" => (
                "coins",
                int(&d["previousCoins"]),
                int(&d["coins"]),
                &mut heads.coins,
            ),
            // An import's event says what the account holds after it, not before: in the log
            // of an account that absorbed others, which chain it continued cannot be told, and
            // the account's chains are not checked from there on.
            "imported" => {
                heads.ambiguous |= merged_into.contains(e.user.as_str());
                heads.xp = vec![int(&d["xp"])];
                heads.coins = vec![int(&d["coins"])];
                continue;
            }
            _ => continue,
        };
        if heads.ambiguous {
            continue;
        }
        if after < 0 || after != before + int(&d["delta"]) {
            world.violation(format!(
                "invariant 1: event {} of {}: {field} {before} + {} = {after}",
                e.id, e.user, d["delta"]
            ));
        }
        let paid = if field == "coins" {
            rewards.get(&(e.txid, e.user.as_str())).copied().unwrap_or(0)
        } else {
            0
        };
        let joined = d["reason"] == "merge" && !take(list, int(&d["delta"]) - paid);
        if !take(list, before) || joined {
            world.violation(format!(
                "invariant 1: event {} of user {}: {field} change from {before} continues no chain (open: {list:?}); \
                 the user's log up to it:\n{}",
                e.id,
                e.user,
                around(log, e)
            ));
        }
        list.push(after);
    }
    let balances: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT id::text, xp::bigint, coins::bigint FROM unified_users")
            .fetch_all(pool)
            .await
            .unwrap();
    for (id, xp, coins) in balances {
        let heads = users.remove(id.as_str()).unwrap_or_default();
        if heads.ambiguous {
            continue;
        }
        for (field, list, balance) in [("xp", heads.xp, xp), ("coins", heads.coins, coins)] {
            // A chain at 0 cannot be told from an account that never changed: only the others
            // must have joined into the one that ends at the balance.
            let open: Vec<i64> = list.into_iter().filter(|h| *h != 0).collect();
            let expected = if balance == 0 { vec![] } else { vec![balance] };
            if open != expected {
                world.violation(format!(
                    "invariant 1: user {id}: {field} is {balance}, its ledger ends at {open:?}"
                ));
            }
        }
    }
    if let Some((id, _)) = users.into_iter().next() {
        world.violation(format!("invariant 5: events point at {id}, which is gone"));
    }
}

/// The user's events up to `e`, one a line: what a violation is read against.
fn around(log: &[Logged], e: &Logged) -> String {
    let upto = log.iter().position(|x| x.id == e.id).map_or(log.len(), |i| i + 1);
    let mine: Vec<String> = log[..upto]
        .iter()
        .filter(|x| x.user == e.user)
        .map(|x| format!("    txid {} {} {} {}", x.txid, x.id, x.kind, x.data))
        .collect();
    mine[mine.len().saturating_sub(40)..].join("\n")
}

/// Invariants 2 and 8: Every acknowledged change is in the ledger exactly once; a refused one is not;
/// one whose answer was lost at most once.
pub async fn claims(world: &World, pool: &PgPool) {
    let counts: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT data->>'reason', count(*) FROM cross_platform_events \
         WHERE event_type IN ('xp_change', 'coins_change') AND data->>'reason' LIKE 'sim:%' GROUP BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    for claim in world.claims.lock().unwrap().iter() {
        let n = counts.get(&claim.reason).copied().unwrap_or(0);
        let ok = match claim.applied {
            Some(true) => n == 1,
            Some(false) => n == 0,
            None => n <= 1,
        };
        if !ok {
            world.violation(format!(
                "invariant 2/8: {} (applied: {:?}) is in the ledger {n} times",
                claim.reason, claim.applied
            ));
        }
    }
}

/// Invariant 3: Each rank paid its reward at most once per account that makes up the person now.
pub fn rank_rewards(world: &World, log: &[Logged]) {
    let mut paid: HashMap<(&str, i64), i64> = HashMap::new();
    let mut accounts: HashMap<&str, i64> = HashMap::new();
    for e in log {
        match e.kind.as_str() {
            "rank_up" => {
                for crossed in e.data["ranksCrossed"].as_array().into_iter().flatten() {
                    if int(&crossed["rewardCoins"]) > 0 {
                        *paid.entry((&e.user, int(&crossed["rankId"]))).or_default() += 1;
                    }
                }
            }
            "accounts_merged" => *accounts.entry(&e.user).or_default() += 1,
            _ => {}
        }
    }
    for ((user, rank), n) in paid {
        if n > 1 + accounts.get(user).copied().unwrap_or(0) {
            world.violation(format!("invariant 3: user {user} was paid rank {rank} {n} times"));
        }
    }
}

/// Invariant 4: Each season's XP of every user no merge touched is what its changes in that season add up
/// to, seasons placed in the log by the transaction that started them.
pub async fn seasons(world: &World, pool: &PgPool, log: &[Logged]) {
    // A season's row is rewritten by the start of the next, so the start of season s is the
    // transaction that last wrote row s - 1 (or row s itself while it is current).
    let rows: Vec<(i32, i64, bool)> =
        sqlx::query_as("SELECT id, xmin::text::bigint, ended_at IS NULL FROM seasons ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut starts: Vec<(i64, i32)> = vec![(0, rows[0].0)];
    for w in rows.windows(2) {
        starts.push((w[0].1, w[1].0));
    }
    let season_at = |txid: i64| {
        // 32-bit xmin against 64-bit txid: a fresh cluster's epoch is 0.
        starts
            .iter()
            .rev()
            .find(|(t, _)| *t < (txid & 0xffff_ffff))
            .map(|s| s.1)
            .unwrap_or(rows[0].0)
    };
    let merged: HashSet<&str> = log
        .iter()
        .filter(|e| e.kind == "accounts_merged")
        .flat_map(|e| [e.user.as_str(), e.data["fromUserId"].as_str().unwrap_or_default()])
        .collect();
    let mut model: HashMap<&str, (i32, i64, BTreeMap<i32, i64>)> = HashMap::new();
    for e in log
        .iter()
        .filter(|e| e.kind == "xp_change" && !merged.contains(e.user.as_str()))
    {
        let season = season_at(e.txid);
        let (current, xp, standings) = model.entry(&e.user).or_insert((season, 0, BTreeMap::new()));
        if *current != season {
            if *xp > 0 {
                standings.insert(*current, *xp);
            }
            (*current, *xp) = (season, 0);
        }
        *xp = (*xp + int(&e.data["delta"])).max(0);
    }
    for (user, (current, xp, mut expected)) in model {
        if xp > 0 {
            expected.insert(current, xp);
        }
        let stored: BTreeMap<i32, i64> = sqlx::query_as::<_, (i32, i64)>(
            "SELECT season_id, xp::bigint FROM season_standings WHERE user_id = $1::uuid \
             UNION ALL SELECT season_id, current_season_xp::bigint FROM unified_users \
             WHERE id = $1::uuid AND current_season_xp > 0",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
        if stored != expected {
            world.violation(format!(
                "invariant 4: user {user}: season XP {stored:?}, its changes add up to {expected:?}"
            ));
        }
    }
}

/// Invariant 5: No identity belongs to two accounts; merged-away accounts are gone.
pub async fn identities(world: &World, pool: &PgPool, log: &[Logged]) {
    for column in ["telegram_id", "discord_id", "website_email"] {
        let dup: Option<String> = sqlx::query_scalar(&format!(
            "SELECT {column} FROM unified_users WHERE {column} IS NOT NULL GROUP BY 1 HAVING count(*) > 1 LIMIT 1"
        ))
        .fetch_optional(pool)
        .await
        .unwrap();
        if let Some(dup) = dup {
            world.violation(format!("invariant 5: {column} {dup} belongs to two accounts"));
        }
    }
    let users: HashSet<String> = sqlx::query_scalar("SELECT id::text FROM unified_users")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for e in log.iter().filter(|e| e.kind == "accounts_merged") {
        let from = e.data["fromUserId"].as_str().unwrap_or_default();
        if users.contains(from) {
            world.violation(format!("invariant 5: {from} was merged away and still exists"));
        }
    }
}

/// Whether a subscriber's filter matches a logged event.
pub fn matches(filter: &Value, e: &Logged) -> bool {
    let listed = |name: &str, value: &str| {
        filter[name].as_array().is_none_or(|l| {
            l.iter()
                .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(value)))
        })
    };
    listed("types", &e.kind)
        && listed("platforms", &e.platform)
        && filter["userId"].as_str().is_none_or(|u| u == e.user)
}

/// Invariant 6: A reader received every matching event after `start` exactly once, in log order, and
/// the public never sees a caller's reason. When the filter names a user that took part in
/// a merge, the log now credits the survivor with events the reader rightly never matched:
/// then what it received must be in order and without repeats, and a part of the log.
pub fn delivery(world: &World, spec: &Spec, start: Option<&str>, log: &[Logged], seen: &[Seen]) {
    let after = start.map_or(0, |id| log.iter().position(|e| e.id == id).map_or(0, |i| i + 1));
    let expected: Vec<&str> = log[after..]
        .iter()
        .filter(|e| matches(&spec.filter, e))
        .map(|e| e.id.as_str())
        .collect();
    let got: Vec<&str> = seen.iter().map(|s| s.id.as_str()).collect();
    let merged = log.iter().any(|e| {
        e.kind == "accounts_merged"
            && spec.filter["userId"]
                .as_str()
                .is_some_and(|u| u == e.user || e.data["fromUserId"] == json!(u))
    });
    let ok = if merged {
        let order: HashMap<&str, usize> = log.iter().enumerate().map(|(i, e)| (e.id.as_str(), i)).collect();
        let places: Option<Vec<usize>> = got.iter().map(|id| order.get(id).copied()).collect();
        places.is_some_and(|p| p.windows(2).all(|w| w[0] < w[1]))
    } else {
        expected == got
    };
    if !ok {
        let first = expected
            .iter()
            .zip(&got)
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len()));
        world.violation(format!(
            "invariant 6: {} received {} events, {} expected; first difference at {first}: got {:?}, expected {:?}",
            spec.name,
            got.len(),
            expected.len(),
            got.get(first),
            expected.get(first)
        ));
    }
    if spec.key.is_none()
        && let Some(s) = seen.iter().find(|s| s.data.get("reason").is_some())
    {
        world.violation(format!(
            "invariant 6: {} (public) saw a reason in {}",
            spec.name, s.id
        ));
    }
}

/// Invariant 7: Every user's position, all-time and season, equals a plain count. The server
/// reads its boards in memory, which follow the event stream: they get a few seconds to
/// converge before a difference counts.
pub async fn positions(world: &World, pool: &PgPool, base: &str) {
    let users: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id::text, \
             1 + (SELECT count(*) FROM unified_users o WHERE o.xp > u.xp), \
             1 + (SELECT count(*) FROM unified_users o \
                  WHERE o.season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) \
                    AND o.current_season_xp > CASE WHEN u.season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) \
                                                   THEN u.current_season_xp ELSE 0 END) \
         FROM unified_users u",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut differences = Vec::new();
        for (id, position, season_position) in &users {
            let q = format!("{{ user(ref: {{id: \"{id}\"}}) {{ position seasonPosition }} }}");
            let data = crate::harness::post_to(base, &world.admin, &q).await;
            let user = &data["data"]["user"];
            if user["position"] != json!(position) || user["seasonPosition"] != json!(season_position) {
                differences.push(format!(
                    "invariant 7: user {id}: position {} / season {}, counted {position} / {season_position}",
                    user["position"], user["seasonPosition"]
                ));
            }
        }
        if differences.is_empty() {
            return;
        }
        if std::time::Instant::now() > deadline {
            differences.into_iter().for_each(|d| world.violation(d));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
