//! The admin's ledger and reverts.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::{TestApp, create_key};
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

const LEDGER: &str = "query($u: UserRef!) { ledger(user: $u) {
    nodes { event { id type } keyName kind delta before after reason revertOf revertedBy createdAt } } }";
const REVERT: &str =
    "mutation($e: ID!) { revertEvent(eventId: $e) { event { id } kind delta before after reason revertOf } }";

async fn ledger(app: &TestApp) -> Vec<Value> {
    app.settled().await;
    app.ok(LEDGER, json!({"u": {"telegramId": "1"}})).await["ledger"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn user(app: &TestApp) -> Value {
    app.ok(
        "{ user(ref: {telegramId: \"1\"}) { xp coins rank { id } } }",
        json!({}),
    )
    .await["user"]
        .clone()
}

#[tokio::test]
async fn the_ledger_says_who_what_when_why_before_and_after() {
    let app = TestApp::start().await;
    let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
    app.telegram_user("1", "ann").await;
    app.gql_as(
        Some(&bot),
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 150, reason: \"quiz\") { xp } }",
        json!({}),
    )
    .await;
    app.ok(
        "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: -20, reason: \"shop\") { coins } }",
        json!({}),
    )
    .await;
    let entries = ledger(&app).await;
    let summary: Vec<(String, String, i64, i64, i64, String)> = entries
        .iter()
        .map(|e| {
            (
                e["keyName"].as_str().unwrap().to_owned(),
                e["kind"].as_str().unwrap().to_owned(),
                e["delta"].as_i64().unwrap(),
                e["before"].as_i64().unwrap(),
                e["after"].as_i64().unwrap(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("tg-bot".into(), "XP".into(), 150, 0, 150, "quiz".into()),
            ("tg-bot".into(), "COINS".into(), 50, 0, 50, "rank_reward".into()),
            ("test-admin".into(), "COINS".into(), -20, 50, 30, "shop".into()),
        ]
    );
    assert!(entries[0]["createdAt"].is_string());
    let denied = app
        .gql_as(Some(&bot), LEDGER, json!({"u": {"telegramId": "1"}}))
        .await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_revert_compensates_once_and_keeps_rank_rewards() {
    let app = TestApp::start().await;
    let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
    app.telegram_user("1", "ann").await;
    app.award("1", 150).await; // rank 2, 50 coins
    let gain = ledger(&app).await[0]["event"]["id"].as_str().unwrap().to_owned();

    let reverted = app.ok(REVERT, json!({"e": gain})).await["revertEvent"].clone();
    assert_eq!(
        (reverted["kind"].as_str(), reverted["delta"].as_i64()),
        (Some("XP"), Some(-150))
    );
    assert_eq!(
        (reverted["before"].as_i64(), reverted["after"].as_i64()),
        (Some(150), Some(0))
    );
    assert_eq!(reverted["revertOf"], gain.as_str());
    assert_eq!(
        user(&app).await,
        json!({"xp": 0, "coins": 50, "rank": {"id": 1}}),
        "the rank reward stays paid"
    );

    // Again: a no-op that returns the same revert; concurrently too.
    let again = join_all((0..5).map(|_| app.gql(REVERT, json!({"e": gain})))).await;
    for r in &again {
        assert_eq!(
            r["data"]["revertEvent"]["event"]["id"], reverted["event"]["id"],
            "{r}"
        );
    }
    assert_eq!(user(&app).await["xp"], 0);
    let entries = ledger(&app).await;
    assert_eq!(entries.len(), 3, "gain, reward, one revert: {entries:#?}");
    assert_eq!(entries[0]["revertedBy"], reverted["event"]["id"]);

    let revert_id = reverted["event"]["id"].as_str().unwrap();
    assert_eq!(
        app.err_code(REVERT, json!({"e": revert_id})).await,
        "INVALID_INPUT",
        "a revert is not reverted"
    );
    let rank_up: String =
        sqlx::query_scalar("SELECT id::text FROM cross_platform_events WHERE event_type = 'rank_up'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(app.err_code(REVERT, json!({"e": rank_up})).await, "INVALID_INPUT");
    assert_eq!(
        app.err_code(REVERT, json!({"e": "00000000-0000-7000-8000-000000000000"}))
            .await,
        "NOT_FOUND"
    );
    let denied = app.gql_as(Some(&bot), REVERT, json!({"e": gain})).await;
    assert_eq!(denied["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_coin_revert_that_would_overdraw_changes_nothing() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    app.ok(
        "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: 30) { coins } }",
        json!({}),
    )
    .await;
    app.ok(
        "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: -25) { coins } }",
        json!({}),
    )
    .await;
    let grant = ledger(&app).await[0]["event"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.err_code(REVERT, json!({"e": grant})).await,
        "INSUFFICIENT_COINS"
    );
    assert_eq!(user(&app).await["coins"], 5);
    assert!(
        ledger(&app).await[0]["revertedBy"].is_null(),
        "nothing was claimed"
    );
    app.ok(
        "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: 25) { coins } }",
        json!({}),
    )
    .await;
    app.ok(REVERT, json!({"e": grant})).await;
    assert_eq!(user(&app).await["coins"], 0);
}
