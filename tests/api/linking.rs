//! Link codes and merges.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::{TestApp, create_key};
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

const CREATE: &str = "mutation($u: UserRef!) { createLinkCode(user: $u) { code expiresAt } }";
const REDEEM: &str = "mutation($c: String!, $u: UserRef!) { redeemLinkCode(code: $c, user: $u) {
    id telegramId discordId xp coins gamesPlayed messagesSent achievements { achievement { code } } } }";

struct Bots {
    telegram: String,
    discord: String,
}

async fn bots(app: &TestApp) -> Bots {
    Bots {
        telegram: create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await,
        discord: create_key(&app.pool, "dc-bot", Role::Bot(Platform::Discord)).await,
    }
}

async fn code_for_telegram(app: &TestApp, bots: &Bots, telegram_id: &str) -> String {
    let res = app
        .gql_as(
            Some(&bots.telegram),
            CREATE,
            json!({"u": {"telegramId": telegram_id}}),
        )
        .await;
    res["data"]["createLinkCode"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{res}"))
        .to_owned()
}

async fn discord_user(app: &TestApp, id: &str) -> String {
    let q = "mutation($id: String!) { upsertUser(input: {platform: DISCORD, externalId: $id, username: \"dc\"}) { id } }";
    app.ok(q, json!({"id": id})).await["upsertUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn code_of(res: &Value) -> &str {
    res["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK")
}

#[tokio::test]
async fn a_code_links_a_new_platform_once() {
    let app = TestApp::start().await;
    let b = bots(&app).await;
    let id = app.telegram_user("1", "ann").await;
    let code = code_for_telegram(&app, &b, "1").await;
    assert_eq!(code.len(), 8);
    // Typed back loosely on Discord.
    let typed = format!("{}-{}", &code[..4].to_lowercase(), &code[4..]);
    let res = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": typed, "u": {"discordId": "2"}}),
        )
        .await;
    assert_eq!(res["data"]["redeemLinkCode"]["id"], id.as_str(), "{res}");
    assert_eq!(res["data"]["redeemLinkCode"]["discordId"], "2");
    assert_eq!(app.event_types(&id).await, vec!["account_linked"]);
    let source: String = sqlx::query_scalar("SELECT source_platform FROM cross_platform_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(source, "discord");

    let again = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": code, "u": {"discordId": "3"}}),
        )
        .await;
    assert_eq!(code_of(&again), "NOT_FOUND", "single use");
}

#[tokio::test]
async fn redeeming_for_an_existing_account_merges_the_two() {
    let app = TestApp::start().await;
    let b = bots(&app).await;
    let tg = app.telegram_user("1", "ann").await;
    app.award("1", 150).await; // rank 2, 50 coins
    let dc = discord_user(&app, "2").await;
    app.ok(
        "mutation { awardXp(user: {discordId: \"2\"}, delta: 180) { xp } }",
        json!({}),
    )
    .await; // rank 2, 50 coins
    sqlx::query("INSERT INTO achievements (code, name, description) VALUES ('chatty', 'Chatty', 'Talk')")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO user_achievements (user_id, achievement_code) VALUES ($1::uuid, 'first_win'), ($2::uuid, 'first_win'), ($2::uuid, 'chatty')",
    )
    .bind(&tg)
    .bind(&dc)
    .execute(&app.pool)
    .await
    .unwrap();
    let events_before = app.count("cross_platform_events").await;

    let code = code_for_telegram(&app, &b, "1").await;
    let res = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": code, "u": {"discordId": "2"}}),
        )
        .await;
    let merged = &res["data"]["redeemLinkCode"];
    assert_eq!(merged["id"], tg.as_str(), "{res}");
    assert_eq!(
        (merged["telegramId"].as_str(), merged["discordId"].as_str()),
        (Some("1"), Some("2"))
    );
    // 330 xp crosses F III (250, 75 coins) and nothing was lost or paid twice.
    assert_eq!(merged["xp"], 330);
    assert_eq!(merged["coins"], 50 + 50 + 75);
    let mut codes: Vec<&str> = merged["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["achievement"]["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["chatty", "first_win"], "achievements united");
    assert_eq!(app.count("unified_users").await, 1, "the emptied account is gone");
    let owners: Vec<String> = sqlx::query_scalar("SELECT DISTINCT user_id::text FROM cross_platform_events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(owners, vec![tg.clone()], "events re-pointed");
    let types = app.event_types(&tg).await;
    assert_eq!(app.count("cross_platform_events").await, events_before + 4);
    assert_eq!(
        &types[types.len() - 4..],
        ["accounts_merged", "xp_change", "coins_change", "rank_up"]
    );
}

#[tokio::test]
async fn expired_wrong_platform_and_guessed_codes_are_refused() {
    let app = TestApp::start().await;
    let b = bots(&app).await;
    app.telegram_user("1", "ann").await;
    let code = code_for_telegram(&app, &b, "1").await;
    let same_side = app
        .gql_as(
            Some(&b.telegram),
            REDEEM,
            json!({"c": code, "u": {"telegramId": "9"}}),
        )
        .await;
    assert_eq!(
        code_of(&same_side),
        "INVALID_INPUT",
        "a code is redeemed on another platform"
    );

    sqlx::query("UPDATE link_codes SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let expired = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": code, "u": {"discordId": "2"}}),
        )
        .await;
    assert_eq!(code_of(&expired), "NOT_FOUND");

    // Guessing: a few failures, then RATE_LIMITED with a retry hint, even for a right code.
    let good = code_for_telegram(&app, &b, "1").await;
    for _ in 0..4 {
        let res = app
            .gql_as(
                Some(&b.discord),
                REDEEM,
                json!({"c": "AAAAAAAA", "u": {"discordId": "2"}}),
            )
            .await;
        assert_eq!(code_of(&res), "NOT_FOUND");
    }
    let limited = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": good, "u": {"discordId": "2"}}),
        )
        .await;
    assert_eq!(code_of(&limited), "RATE_LIMITED", "{limited}");
    assert!(limited["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() > 0);
    // Another user of the same bot is not locked out.
    let other = app
        .gql_as(
            Some(&b.discord),
            REDEEM,
            json!({"c": good, "u": {"discordId": "3"}}),
        )
        .await;
    assert_eq!(code_of(&other), "OK", "{other}");
    assert_eq!(
        code_of(
            &app.gql_as(
                Some(&b.discord),
                REDEEM,
                json!({"c": "short", "u": {"discordId": "3"}})
            )
            .await
        ),
        "INVALID_INPUT"
    );
}

const MERGE: &str =
    "mutation($i: UserRef!, $f: UserRef!) { mergeUsers(into: $i, from: $f) { id xp telegramId discordId } }";

#[tokio::test]
async fn merges_are_for_admins_and_lose_no_concurrent_award() {
    let app = TestApp::start().await;
    let b = bots(&app).await;
    let tg = app.telegram_user("1", "ann").await;
    discord_user(&app, "2").await;
    let denied = app
        .gql_as(
            Some(&b.telegram),
            MERGE,
            json!({"i": {"telegramId": "1"}, "f": {"discordId": "2"}}),
        )
        .await;
    assert_eq!(code_of(&denied), "FORBIDDEN");
    let itself = app
        .gql(MERGE, json!({"i": {"telegramId": "1"}, "f": {"id": tg}}))
        .await;
    assert_eq!(code_of(&itself), "INVALID_INPUT");

    // 50 awards on each account race with the merge; every one lands on the merged account.
    let app = &app;
    let award = |who: &'static str| async move {
        let q = format!("mutation {{ awardXp(user: {who}, delta: 1) {{ xp }} }}");
        app.gql(&q, json!({})).await
    };
    let mut work: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Value> + '_>>> = Vec::new();
    for i in 0..100 {
        work.push(Box::pin(award(if i % 2 == 0 {
            "{telegramId: \"1\"}"
        } else {
            "{discordId: \"2\"}"
        })));
        if i == 50 {
            work.push(Box::pin(
                app.gql(MERGE, json!({"i": {"telegramId": "1"}, "f": {"discordId": "2"}})),
            ));
        }
    }
    let results = join_all(work).await;
    for r in &results {
        assert!(r.get("errors").is_none(), "{r}");
    }
    let user = app
        .ok("{ user(ref: {discordId: \"2\"}) { id xp } }", json!({}))
        .await;
    assert_eq!(user["user"]["id"], tg.as_str());
    assert_eq!(user["user"]["xp"], 100, "no award lost to the merge");
    assert_eq!(app.count("unified_users").await, 1);
}

/// Guesses are counted atomically: of 20 concurrent wrong redeems for one target, at most the
/// limit are answered; and one request whose aliases name hundreds of targets makes at most
/// the caller's limit of guesses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guessing_limits_hold_under_concurrency_and_aliases() {
    let app = TestApp::start().await;
    let b = bots(&app).await;
    let wrong = json!({"c": "AAAAAAAA", "u": {"discordId": "2"}});
    let answers = join_all((0..20).map(|_| app.gql_as(Some(&b.discord), REDEEM, wrong.clone()))).await;
    let guessed = answers.iter().filter(|r| code_of(r) == "NOT_FOUND").count();
    let limited = answers.iter().filter(|r| code_of(r) == "RATE_LIMITED").count();
    assert_eq!(
        (guessed, limited),
        (
            ttfd::service::linking::MAX_FAILURES as usize,
            20 - ttfd::service::linking::MAX_FAILURES as usize
        )
    );

    let aliases: String = (0..200)
        .map(|i| {
            format!(
                "g{i}: redeemLinkCode(code: \"AAAAAAAA\", user: {{discordId: \"{}\"}}) {{ id }} ",
                1000 + i
            )
        })
        .collect();
    let res = app
        .gql_as(Some(&b.discord), &format!("mutation {{ {aliases} }}"), json!({}))
        .await;
    let codes: Vec<&str> = res["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("?"))
        .collect();
    let guesses = codes.iter().filter(|c| **c == "NOT_FOUND").count() as i64;
    // The 5 guesses above count against the same caller.
    assert_eq!(
        guesses + ttfd::service::linking::MAX_FAILURES,
        ttfd::service::linking::MAX_CALLER_FAILURES,
        "{codes:?}"
    );
    assert_eq!(codes.len(), 200);
}
