//! XP changes in one call (`ttfd_xp_changes`) against the full path they shortcut: the same
//! script of awards and activities run on two servers, one trying the one call first and one
//! without it, answers the same and leaves the same rows, events, standings, unlocks and stored
//! retries; and changes racing over a few users, run together in batches, apply once each and
//! keep each user's ledger in log order.

use std::sync::atomic::Ordering;

use futures_util::future::join_all;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::types::Json;

use crate::harness::{TestApp, create_key};

const CHANGE: &str = "delta xp coins rankUp oldRank { id } newRank { id } rewardCoins
    ranksCrossed { rank { id } rewardCoins } achievementsUnlocked { code rewardXp rewardCoins }
    user { username xp coins rank { id } }";

/// One award's answer: its data, or its error code.
async fn award(
    app: &TestApp,
    key: Option<&str>,
    user: Value,
    delta: i64,
    reason: Option<&str>,
    idem: Option<&str>,
) -> Value {
    let query = format!(
        "mutation($u: UserRef!, $d: Int!, $r: String, $k: String) {{
            change: awardXp(user: $u, delta: $d, reason: $r, idempotencyKey: $k) {{ {CHANGE} }} }}"
    );
    let vars = json!({ "u": user, "d": delta, "r": reason, "k": idem });
    answer(app.gql_as(key.or(Some(&app.admin)), &query, vars).await)
}

/// One activity's answer: `call` is the mutation with its arguments but the user.
async fn activity(app: &TestApp, user: Value, call: &str) -> Value {
    let (name, args) = call.split_once('(').unwrap();
    let query = format!("mutation($u: UserRef!) {{ change: {name}(user: $u, {args} {{ {CHANGE} }} }}");
    answer(app.gql(&query, json!({ "u": user })).await)
}

/// A mutation's data, or its error code.
fn answer(res: Value) -> Value {
    match res.get("errors") {
        Some(errors) => {
            let code = &errors[0]["extensions"]["code"];
            assert!(code.is_string(), "a typed error: {res}");
            json!({ "error": code })
        }
        None => res["data"]["change"].clone(),
    }
}

/// Every kind of award and activity, in an order where each step depends on the ones before. Returns the
/// answers and how many steps are the one call's common case.
async fn script(app: &TestApp) -> (Vec<Value>, u64) {
    let a = app.telegram_user("1", "a").await;
    app.telegram_user("2", "b").await;
    let bot = create_key(
        &app.pool,
        "tg",
        ttfd::domain::access::Role::Bot(ttfd::domain::Platform::Telegram),
    )
    .await;
    let (one, two, by_id) = (
        json!({"telegramId": "1"}),
        json!({"telegramId": "2"}),
        json!({"id": a}),
    );
    let mut out = Vec::new();
    // Common cases: with a reason and a key, a retry, the key reused for another request.
    out.push(award(app, None, one.clone(), 10, Some("quest"), Some("k1")).await);
    out.push(award(app, None, one.clone(), 10, Some("quest"), Some("k1")).await);
    out.push(award(app, None, one.clone(), 11, Some("quest"), Some("k1")).await);
    // By id (the source is the primary platform), and from a bot (the source is its platform).
    out.push(award(app, None, by_id.clone(), 5, None, None).await);
    out.push(award(app, Some(&bot), one.clone(), 7, None, Some("k1")).await);
    // A rank up (22 + 90 crosses 100), a loss that keeps the rank, one that lowers it, a loss at 0.
    out.push(award(app, None, one.clone(), 90, None, None).await);
    out.push(award(app, None, one.clone(), -3, Some("penalty"), None).await);
    out.push(award(app, None, one.clone(), -500, None, None).await);
    out.push(award(app, None, one.clone(), -5, None, None).await);
    out.push(award(app, None, one.clone(), 30, None, None).await);
    // An achievement earned and not held (its counter set behind the service's back, as when
    // the catalog gains a rule): the next award unlocks it.
    sqlx::query("UPDATE unified_users SET messages_sent = 1000 WHERE telegram_id = '2'")
        .execute(&app.pool)
        .await
        .unwrap();
    out.push(award(app, None, two.clone(), 3, None, None).await);
    out.push(award(app, None, two.clone(), 4, None, Some("k2")).await);
    // A boost in force for one user.
    app.ok(
        "mutation { createXpBoost(multiplier: 1.5, endsAt: \"2999-01-01T00:00:00Z\", user: {telegramId: \"2\"}) { id } }",
        json!({}),
    )
    .await;
    out.push(award(app, None, two.clone(), 9, None, None).await);
    out.push(award(app, None, two.clone(), -2, None, None).await);
    // A season start: the next change archives the ended season's XP.
    app.ok("mutation { startSeason(name: \"Second\") { id } }", json!({}))
        .await;
    out.push(award(app, None, one.clone(), 6, None, None).await);
    out.push(award(app, None, one.clone(), 2, None, None).await);
    out.push(award(app, None, two.clone(), 1, None, None).await);
    // Activities: counted with the XP they earn; a message inside its cooldown earns nothing;
    // a first win unlocks (the full path); a keyed game that ranks up, and its retry.
    let three = json!({"telegramId": "3"});
    app.telegram_user("3", "c").await;
    for call in [
        "recordGame(gameType: \"chess\", won: false)",
        "recordVoiceTime(seconds: 150)",
        "recordVoiceTime(seconds: 30, xp: 4)",
        "recordMessage()",
        "recordMessage()",
        "recordMessage(xp: 9)",
        "recordGame(gameType: \"chess\", won: true)",
        "recordGame(gameType: \"go\", won: true, idempotencyKey: \"g1\")",
        "recordGame(gameType: \"go\", won: true, idempotencyKey: \"g1\")",
        "recordGame(gameType: \"go\", won: false, xp: 0)",
    ] {
        out.push(activity(app, three.clone(), call).await);
    }
    // Climbing back past a rank whose reward was paid (it pays 0) and on past the next; a climb
    // to tier C, whose achievement it earns (the full path); a rank reward past the Int range.
    out.push(award(app, None, one.clone(), 300, None, None).await);
    out.push(award(app, None, one.clone(), 6000, Some("event"), None).await);
    sqlx::query("UPDATE unified_users SET coins = 2147483640 WHERE telegram_id = '3'")
        .execute(&app.pool)
        .await
        .unwrap();
    out.push(award(app, None, three.clone(), 200, None, None).await);
    // Unknown users and a total past the Int range.
    out.push(award(app, None, json!({"telegramId": "404"}), 1, None, None).await);
    out.push(award(app, None, json!({"id": uuid::Uuid::nil()}), 1, None, None).await);
    out.push(award(app, None, one.clone(), i32::MAX as i64, None, None).await);
    // The common cases above: k1's first award, the award by id, the bot's, the rank up, the
    // loss of 3, the loss that lowers the rank, the 30 after the losses, the award with k2 (the
    // unlock is held by then), the loss under the boost, the first user's two in the new
    // season; the lost game, both voice sessions, the three messages, the keyed win (it crosses
    // 100 XP: a rank up) and the game that earned 0; the climb past a paid rank.
    (out, 11 + 8 + 1)
}

/// What the script left in the database, without the ids that differ between databases.
async fn rows(app: &TestApp) -> Vec<Value> {
    let queries = [
        "SELECT username, xp, coins, rank_id, rewarded_rank_id, current_season_xp, season_id, \
             games_played, games_won, total_voice_time, messages_sent, last_message_xp_at IS NOT NULL \
             AS messaged FROM unified_users ORDER BY username",
        // A season start names its champion by id, which differs between the databases.
        "SELECT u.username, e.event_type, e.source_platform, e.data - 'champion' AS data, \
             e.api_key_id IS NOT NULL AS keyed \
             FROM cross_platform_events e JOIN unified_users u ON u.id = e.user_id ORDER BY e.txid, e.seq",
        "SELECT s.season_id, u.username, s.xp FROM season_standings s \
             JOIN unified_users u ON u.id = s.user_id ORDER BY 1, 2",
        "SELECT u.username, a.achievement_code FROM user_achievements a \
             JOIN unified_users u ON u.id = a.user_id ORDER BY 1, 2",
        "SELECT key, operation, fingerprint, response - 'user_id' - 'event_cursor' AS response \
             FROM idempotency_keys ORDER BY key, operation",
    ];
    let mut out = Vec::new();
    for q in queries {
        let sql = format!("SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM ({q}) r");
        out.push(
            sqlx::query(&sql)
                .fetch_one(&app.pool)
                .await
                .unwrap()
                .get::<Value, _>(0),
        );
    }
    out
}

#[tokio::test]
async fn an_xp_change_in_one_call_answers_and_writes_what_the_full_path_does() {
    let full_only = ttfd::state::StateConfig {
        one_call: false,
        ..Default::default()
    };
    let (one_call, full) = tokio::join!(TestApp::start(), TestApp::start_with(full_only));
    let ((answers, common), (reference, _)) = tokio::join!(script(&one_call), script(&full));
    for (i, (got, want)) in answers.iter().zip(&reference).enumerate() {
        assert_eq!(got, want, "answer {i}");
    }
    assert_eq!(answers.len(), reference.len());
    let (got, want) = tokio::join!(rows(&one_call), rows(&full));
    for (table, (got, want)) in ["users", "events", "standings", "unlocks", "retries"]
        .iter()
        .zip(got.iter().zip(&want))
    {
        assert_eq!(got, want, "{table}");
    }
    // The script did what it says: its errors, its unlock, its archived season.
    let errors: Vec<_> = answers.iter().filter_map(|a| a["error"].as_str()).collect();
    assert_eq!(
        errors,
        [
            "CONFLICT",
            "INVALID_INPUT",
            "NOT_FOUND",
            "NOT_FOUND",
            "INVALID_INPUT"
        ]
    );
    let unlocked: Vec<_> = answers
        .iter()
        .flat_map(|a| a["achievementsUnlocked"].as_array().into_iter().flatten())
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(unlocked, ["thousand_messages", "first_win", "tier_c"]);
    // The climbs paid what they say (the first rank: the 90, the unlock's 200 XP, the keyed
    // win and its retry); a rank paid before pays 0; each rank crossed is named.
    let climbs: Vec<_> = answers
        .iter()
        .filter(|a| a["rankUp"] == true)
        .map(|a| {
            (
                a["rewardCoins"].clone(),
                a["ranksCrossed"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        climbs,
        [
            (json!(50), 1),
            (json!(50), 1),
            (json!(50), 1),
            (json!(50), 1),
            (json!(75), 2),
            (json!(1525), 7)
        ],
        "{answers:#?}"
    );
    let earned: Vec<_> = answers.iter().map(|a| a["delta"].clone()).collect();
    let messages = &earned[earned.len() - 13..earned.len() - 10];
    assert!(
        messages[0].as_i64() > Some(0) && messages[1] == 0 && messages[2] == 0,
        "{messages:?}"
    );
    assert_eq!(
        want[2].as_array().unwrap().len(),
        2,
        "both users' first season archived"
    );
    let paths = |app: &TestApp| {
        let p = &app.state.one_call;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        (load(&p.one_call), load(&p.full))
    };
    let total = answers.len() as u64;
    assert_eq!(
        paths(&one_call),
        (common, total - common),
        "the common cases took one call"
    );
    assert_eq!(paths(&full), (0, total));
}

/// A user's `xp_change` events as (before, after), in log order.
type Ledger = Vec<(i64, i64)>;

/// Changes that arrive together run in batches (one statement, one commit for several users).
/// Awards, games and retried keyed awards racing over a few users each apply exactly once, and
/// each user's ledger reads in log order as one unbroken chain (before = the previous after):
/// a batch that writes several users must not put any of them out of that order.
#[tokio::test]
async fn changes_batched_together_apply_once_each_and_keep_each_users_ledger_in_order() {
    const USERS: usize = 6;
    let app = TestApp::start().await;
    for u in 0..USERS {
        app.telegram_user(&format!("7{u}"), &format!("racer{u}")).await;
    }
    const GAME: &str =
        "mutation($u: UserRef!) { change: recordGame(user: $u, gameType: \"chess\", won: false) { xp } }";
    const AWARD: &str = "mutation($u: UserRef!, $d: Int!, $k: String) { change: awardXp(user: $u, delta: $d, idempotencyKey: $k) { xp } }";
    let user = |i: usize| json!({ "telegramId": format!("7{}", i % USERS) });
    let mut requests = Vec::new();
    let mut awarded = 0;
    for i in 0..80 {
        let delta = 1 + i % 4;
        requests.push((GAME, json!({ "u": user(i) })));
        requests.push((AWARD, json!({ "u": user(i), "d": delta })));
        awarded += delta as i64;
        if i % 2 == 0 {
            // A keyed award sent twice at once: it must apply once.
            let keyed = json!({ "u": user(i + 1), "d": delta, "k": format!("race-{i}") });
            requests.push((AWARD, keyed.clone()));
            requests.push((AWARD, keyed));
            awarded += delta as i64;
        }
    }
    let answers = join_all(requests.iter().map(|(q, v)| app.gql(q, v.clone()))).await;
    for a in &answers {
        assert!(a.get("errors").is_none(), "{a}");
    }
    let rows: Vec<(String, i64, Json<Ledger>)> = sqlx::query_as(
        "SELECT u.username, u.xp::bigint, jsonb_agg(jsonb_build_array((e.data->>'previousXp')::bigint, \
             (e.data->>'xp')::bigint) ORDER BY e.txid, e.seq) \
         FROM unified_users u JOIN cross_platform_events e ON e.user_id = u.id AND e.event_type = 'xp_change' \
         GROUP BY u.username, u.xp ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let chains: Vec<_> = rows
        .into_iter()
        .map(|(name, xp, Json(steps))| (name, xp, steps))
        .collect();
    assert_eq!(chains.len(), USERS);
    for (name, xp, steps) in &chains {
        let mut before = 0;
        for &(previous, after) in steps {
            assert_eq!(previous, before, "{name}'s ledger in log order: {steps:?}");
            before = after;
        }
        assert_eq!(before, *xp, "{name}'s ledger ends at the user's xp");
    }
    // Each change once: 80 games, 80 plain awards, 40 keyed awards (each sent twice).
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cross_platform_events WHERE event_type = 'xp_change'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 80 + 40 + 80, "one xp_change per distinct change");
    let game_xp: i64 = sqlx::query_scalar("SELECT coalesce(sum((data->>'xp')::bigint), 0)::bigint FROM cross_platform_events WHERE event_type = 'game_played'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let total: i64 = chains.iter().map(|c| c.1).sum();
    assert_eq!(total, awarded + game_xp, "every award and game counted once");
    let p = &app.state.one_call;
    let (one_call, batches) = (
        p.one_call.load(Ordering::Relaxed),
        p.batches.load(Ordering::Relaxed),
    );
    assert!(
        batches < one_call,
        "some batch held several changes: {one_call} changes in {batches} batches"
    );
}
