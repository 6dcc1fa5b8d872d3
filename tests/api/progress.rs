//! awardXp and adjustCoins: ranks, rewards, events, idempotency, concurrency.

use futures_util::future::join_all;
use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn multi_rank_gain_pays_every_crossed_rank_and_logs_each() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    // 0 -> 600 crosses F II (100, 50 coins), F III (250, 75) and E I (500, 100).
    let change = app.award("1", 600).await;
    assert_eq!(change["delta"], 600);
    assert_eq!(change["xp"], 600);
    assert_eq!(change["rankUp"], true);
    assert_eq!(
        (change["oldRank"]["id"].as_i64(), change["newRank"]["id"].as_i64()),
        (Some(1), Some(4))
    );
    assert_eq!(change["rewardCoins"], 225);
    assert_eq!(change["user"]["coins"], 225);
    // One rank_up for the change, naming every rank crossed with its reward.
    assert_eq!(
        app.event_types(&id).await,
        vec!["xp_change", "rank_up", "coins_change"]
    );
    let rank_up: serde_json::Value =
        sqlx::query_scalar("SELECT data FROM cross_platform_events WHERE event_type = 'rank_up'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (&rank_up["oldRankId"], &rank_up["rankId"], &rank_up["rewardCoins"]),
        (&json!(1), &json!(4), &json!(225))
    );
    let crossed: Vec<(i64, i64)> = rank_up["ranksCrossed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rankId"].as_i64().unwrap(), r["rewardCoins"].as_i64().unwrap()))
        .collect();
    assert_eq!(crossed, vec![(2, 50), (3, 75), (4, 100)]);
}

/// What a bot announces is the whole truth of the change: one award that crosses many ranks
/// and unlocks an achievement answers the final XP and coins, every rank crossed and the
/// unlock with its rewards, and writes one `rank_up` for the award's change.
#[tokio::test]
async fn an_award_answers_for_its_whole_transaction() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    let res = app
        .ok(
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 12000) {
                delta xp coins rankUp oldRank { name } newRank { name } rewardCoins
                ranksCrossed { rank { name } rewardCoins } achievementsUnlocked { code rewardXp rewardCoins } } }",
            json!({}),
        )
        .await["awardXp"]
        .clone();
    let user = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { xp coins rank { name } } }",
            json!({}),
        )
        .await["user"]
        .clone();
    assert_eq!(res["delta"], 12000);
    assert_eq!(
        res["xp"], user["xp"],
        "the final XP, achievement rewards included"
    );
    assert_eq!(res["coins"], user["coins"]);
    assert_eq!(res["newRank"]["name"], user["rank"]["name"]);
    assert_eq!(res["oldRank"]["name"], "Rank F I");
    let unlocked = res["achievementsUnlocked"].as_array().unwrap();
    assert!(unlocked.iter().any(|a| a["code"] == "tier_c"), "{res}");
    let reward_xp: i64 = unlocked.iter().map(|a| a["rewardXp"].as_i64().unwrap()).sum();
    assert_eq!(res["xp"].as_i64().unwrap(), 12000 + reward_xp);
    let crossed = res["ranksCrossed"].as_array().unwrap();
    assert_eq!(crossed.first().unwrap()["rank"]["name"], "Rank F II");
    let paid: i64 = crossed.iter().map(|r| r["rewardCoins"].as_i64().unwrap()).sum();
    assert_eq!(res["rewardCoins"].as_i64().unwrap(), paid);
    let rank_ups = app
        .event_types(&id)
        .await
        .iter()
        .filter(|t| *t == "rank_up")
        .count();
    assert!(
        rank_ups <= 2,
        "one rank_up per XP change (the award, an unlock's reward): {rank_ups}"
    );
}

/// A loss that lowers the rank writes one `rank_down`.
#[tokio::test]
async fn a_loss_that_lowers_the_rank_writes_rank_down() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    app.award("1", 300).await;
    app.award("1", -250).await;
    let types = app.event_types(&id).await;
    assert_eq!(types.iter().filter(|t| *t == "rank_down").count(), 1, "{types:?}");
    let down: serde_json::Value =
        sqlx::query_scalar("SELECT data FROM cross_platform_events WHERE event_type = 'rank_down'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((&down["oldRankId"], &down["rankId"]), (&json!(3), &json!(1)));
}

#[tokio::test]
async fn losses_clamp_at_zero_lower_the_rank_and_take_no_reward_back() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    app.award("1", 300).await; // rank 3, coins 125
    let loss = app.award("1", -1000).await;
    assert_eq!(loss["delta"], -300, "the delta as applied");
    assert_eq!(loss["xp"], 0);
    assert_eq!(loss["rankUp"], false);
    assert_eq!(
        (loss["oldRank"]["id"].as_i64(), loss["newRank"]["id"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(loss["user"]["coins"], 125);
    // Climbing back over the same thresholds pays nothing twice.
    let back = app.award("1", 300).await;
    assert_eq!(back["rankUp"], true);
    assert_eq!(back["rewardCoins"], 0);
    assert_eq!(back["user"]["coins"], 125);
    let season = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { currentSeasonXp } }",
            json!({}),
        )
        .await;
    assert_eq!(season["user"]["currentSeasonXp"], 300);
}

#[tokio::test]
async fn xp_overflow_is_refused() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    app.award("1", i32::MAX as i64).await;
    let code = app
        .err_code(
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_INPUT");
    let xp = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { xp rank { id } nextRank { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(xp["user"]["xp"], i32::MAX);
    assert_eq!(xp["user"]["rank"]["id"], 20);
    assert!(xp["user"]["nextRank"].is_null(), "no next rank at the top");
}

const COINS: &str = "mutation($d: Int!, $k: String) { adjustCoins(user: {telegramId: \"1\"}, delta: $d, reason: \"shop\", idempotencyKey: $k) { delta coins user { coins } } }";

#[tokio::test]
async fn coins_never_go_below_zero() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    let data = app.ok(COINS, json!({"d": 40})).await;
    assert_eq!(data["adjustCoins"]["coins"], 40);
    let res = app.gql(COINS, json!({"d": -41})).await;
    assert_eq!(res["errors"][0]["extensions"]["code"], "INSUFFICIENT_COINS");
    assert_eq!(res["errors"][0]["extensions"]["balance"], 40);
    let data = app.ok(COINS, json!({"d": -40})).await;
    assert_eq!(data["adjustCoins"]["coins"], 0);
    assert_eq!(app.event_types(&id).await, vec!["coins_change", "coins_change"]);
    app.ok(COINS, json!({"d": i32::MAX})).await;
    assert_eq!(
        app.err_code(COINS, json!({"d": 1})).await,
        "INVALID_INPUT",
        "past the Int range"
    );
    assert_eq!(app.event_types(&id).await.len(), 3);
}

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_first_result_and_changes_nothing() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    let q = "mutation($k: String) { awardXp(user: {telegramId: \"1\"}, delta: 150, reason: \"quiz\", idempotencyKey: $k) { delta xp rewardCoins } }";
    let first = app.ok(q, json!({"k": "quiz-42"})).await;
    let retry = app.ok(q, json!({"k": "quiz-42"})).await;
    assert_eq!(first, retry);
    assert_eq!(first["awardXp"]["xp"], 150);
    let xp = app
        .ok("{ user(ref: {telegramId: \"1\"}) { xp coins } }", json!({}))
        .await;
    assert_eq!(
        (xp["user"]["xp"].as_i64(), xp["user"]["coins"].as_i64()),
        (Some(150), Some(50))
    );
    assert_eq!(
        app.event_types(&id).await,
        vec!["xp_change", "rank_up", "coins_change"]
    );

    // The same key for a different request is a conflict, not a silent replay.
    let other =
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 5, idempotencyKey: \"quiz-42\") { xp } }";
    assert_eq!(app.err_code(other, json!({})).await, "CONFLICT");
    // Coins too, and concurrently: ten simultaneous retries apply once.
    let retries = (0..10).map(|_| app.gql(COINS, json!({"d": 7, "k": "shop-1"})));
    let results = join_all(retries).await;
    for r in &results {
        assert_eq!(r["data"]["adjustCoins"]["coins"], 57, "{r}");
    }
    let coins = app
        .ok("{ user(ref: {telegramId: \"1\"}) { coins } }", json!({}))
        .await;
    assert_eq!(coins["user"]["coins"], 57);
}

#[tokio::test]
async fn concurrent_awards_lose_nothing_and_pay_each_rank_once() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "a").await;
    app.award("1", 50).await;
    // 200 concurrent +1 from 50 to 250 cross F II (100) and F III (250).
    let q = "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }";
    let results = join_all((0..200).map(|_| app.gql(q, json!({})))).await;
    for r in &results {
        assert!(r.get("errors").is_none(), "{r}");
    }
    let user = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { xp coins rank { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(user["user"]["xp"], 250);
    assert_eq!(user["user"]["rank"]["id"], 3);
    assert_eq!(user["user"]["coins"], 50 + 75);
    let types = app.event_types(&id).await;
    assert_eq!(types.iter().filter(|t| *t == "xp_change").count(), 201);
    assert_eq!(types.iter().filter(|t| *t == "rank_up").count(), 2);
    let mut seen: Vec<i64> = results
        .iter()
        .map(|r| r["data"]["awardXp"]["xp"].as_i64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        (51..=250).collect::<Vec<i64>>(),
        "each award saw its own increment"
    );
}

/// A daily claim answers for its whole transaction too: its XP and coins included.
#[tokio::test]
async fn a_daily_claim_answers_for_its_whole_transaction() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    app.award("1", 90).await;
    let res = app
        .ok(
            "mutation { claimDaily(user: {telegramId: \"1\"}) { rewardXp rewardCoins
                xpChange { delta xp coins rankUp ranksCrossed { rank { id } rewardCoins } } } }",
            json!({}),
        )
        .await["claimDaily"]
        .clone();
    let user = app
        .ok("{ user(ref: {telegramId: \"1\"}) { xp coins } }", json!({}))
        .await["user"]
        .clone();
    let change = &res["xpChange"];
    assert_eq!((&change["xp"], &change["coins"]), (&user["xp"], &user["coins"]));
    assert_eq!(change["delta"], res["rewardXp"]);
    // 90 + 20 crosses F II (100, 50 coins).
    assert_eq!(change["rankUp"], true);
    assert_eq!(
        change["ranksCrossed"],
        json!([{ "rank": { "id": 2 }, "rewardCoins": 50 }])
    );
}
