//! Races where two features meet, forced through the public API (the simulator, `sim`, hunts
//! for the ones not written down yet).

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::TestApp;

const USERS: usize = 20;

/// 200 awards race a season start: every award counts wholly in one season, so for every
/// user the ended season's standing plus the new season's XP is what the user was awarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn awards_racing_a_season_start_count_in_one_season() {
    let app = TestApp::start().await;
    let id = |i: usize| format!("{}", 610_000 + i);
    for i in 0..USERS {
        app.telegram_user(&id(i), "racer").await;
        app.award(&id(i), 500).await;
    }
    let award = "mutation($t: String!) { awardXp(user: {telegramId: $t}, delta: 10) { xp } }";
    let awards = (0..200).map(|k| app.ok(award, json!({ "t": id(k % USERS) })));
    let season = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        app.ok("mutation { startSeason(name: \"Race\") { id } }", json!({}))
            .await
    };
    let (_, started) = tokio::join!(join_all(awards), season);
    let new_season = started["startSeason"]["id"].as_i64().unwrap();
    let read = "query($t: String!) { user(ref: {telegramId: $t}) { xp currentSeasonXp seasonStandings { seasonId xp } } }";
    for i in 0..USERS {
        let user = app.ok(read, json!({ "t": id(i) })).await["user"].clone();
        let ended: i64 = user["seasonStandings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["seasonId"].as_i64() != Some(new_season))
            .map(|s| s["xp"].as_i64().unwrap())
            .sum();
        let current = user["currentSeasonXp"].as_i64().unwrap();
        assert_eq!(user["xp"], 600, "user {i}");
        assert_eq!(
            ended + current,
            600,
            "user {i}: {ended} in the ended season + {current} now"
        );
    }
}

/// Awards, coin changes and reverts race on one user: the ledger, in log order, is a chain
/// (each change's `before` is the previous change's `after`, the last `after` the balance).
/// Reverts used to write before they locked the user, so a change that committed meanwhile
/// sorted after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ledger_stays_a_chain_when_reverts_race_awards() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    for _ in 0..20 {
        app.award("1", 30).await;
    }
    let page = "query($a: String) { ledger(user: {telegramId: \"1\"}, first: 500, after: $a) {
        nodes { kind before after event { id } } pageInfo { endCursor } } }";
    let ledger = || app.ok(page, json!({ "a": null }));
    let first: Vec<String> = ledger().await["ledger"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "XP")
        .map(|n| n["event"]["id"].as_str().unwrap().to_owned())
        .collect();
    let revert = "mutation($e: ID!) { revertEvent(eventId: $e) { delta } }";
    let award = "mutation { awardXp(user: {telegramId: \"1\"}, delta: 7) { xp } }";
    let coins = "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: 3) { coins } }";
    let reverts = first.iter().map(|id| app.ok(revert, json!({ "e": id })));
    let awards = (0..40).map(|i| app.ok(if i % 2 == 0 { award } else { coins }, json!({})));
    tokio::join!(join_all(reverts), join_all(awards));
    app.settled().await;
    let nodes = ledger().await["ledger"]["nodes"].as_array().unwrap().clone();
    for kind in ["XP", "COINS"] {
        let chain: Vec<&Value> = nodes.iter().filter(|n| n["kind"] == kind).collect();
        for pair in chain.windows(2) {
            assert_eq!(pair[1]["before"], pair[0]["after"], "{kind}: {pair:?}");
        }
        let balance = app
            .ok("{ user(ref: {telegramId: \"1\"}) { xp coins } }", json!({}))
            .await["user"][if kind == "XP" { "xp" } else { "coins" }]
        .clone();
        assert_eq!(chain.last().unwrap()["after"], balance, "{kind}");
    }
}
