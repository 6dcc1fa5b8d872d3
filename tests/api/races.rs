//! Races where two features meet, forced through the public API (the simulator, `sim`, hunts
//! for the ones not written down yet).

use futures_util::future::join_all;
use serde_json::json;

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
