//! Progression through GraphQL: activity, daily claims, boosts, achievements, seasons.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::{TestApp, post_to, spawn_server};

const GAME: &str = "mutation($g: String!, $w: Boolean!, $x: Int, $k: String) {
    recordGame(user: {telegramId: \"1\"}, gameType: $g, won: $w, xp: $x, idempotencyKey: $k) { delta xp } }";
const VOICE: &str = "mutation($s: Int!, $x: Int) { recordVoiceTime(user: {telegramId: \"1\"}, seconds: $s, xp: $x) { delta } }";
const MESSAGE: &str = "mutation { recordMessage(user: {telegramId: \"1\"}) { delta } }";
const DAILY: &str = "mutation { claimDaily(user: {telegramId: \"1\"}) { streak rewardCoins rewardXp freezesUsed user { dailyStreak coins } } }";
const STATS: &str = "{ user(ref: {telegramId: \"1\"}) { xp coins gamesPlayed gamesWon winRate totalVoiceTime messagesSent dailyStreak streakFreezes
    achievements { achievement { code } } rankProgress { xpIntoRank xpToNextRank percent } seasonPosition currentSeasonXp } }";

async fn stats(app: &TestApp) -> Value {
    app.ok(STATS, json!({})).await["user"].clone()
}

fn codes(user: &Value) -> Vec<String> {
    user["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["achievement"]["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn games_count_earn_by_the_rules_and_unlock_first_win_once() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "ann").await;
    let loss = app.ok(GAME, json!({"g": "quiz", "w": false})).await;
    assert_eq!(loss["recordGame"]["delta"], 5, "rules: a loss earns 5");
    let win = app.ok(GAME, json!({"g": "quiz", "w": true})).await;
    assert_eq!(win["recordGame"]["delta"], 25, "rules: a win earns 25");
    app.ok(GAME, json!({"g": "chess", "w": true, "x": 40})).await;
    let s = stats(&app).await;
    // 5 + 25 + 40, plus first_win's 50 XP; 25 coins from first_win.
    assert_eq!(
        (
            s["gamesPlayed"].as_i64(),
            s["gamesWon"].as_i64(),
            s["xp"].as_i64()
        ),
        (Some(3), Some(2), Some(120))
    );
    assert!((s["winRate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(codes(&s), vec!["first_win"]);
    assert_eq!(s["coins"], 25 + 50, "first_win's 25 coins and F II's 50");
    let types = app.event_types(&id).await;
    assert_eq!(types.iter().filter(|t| *t == "game_played").count(), 3);
    assert_eq!(types.iter().filter(|t| *t == "achievement_unlock").count(), 1);
    for bad in [
        json!({"g": "", "w": true}),
        json!({"g": "   ", "w": true}),
        json!({"g": "x", "w": true, "x": -1}),
        json!({"g": "x".repeat(65), "w": true}),
    ] {
        assert_eq!(app.err_code(GAME, bad.clone()).await, "INVALID_INPUT", "{bad}");
    }
    // Retried with the same key: one game.
    app.ok(GAME, json!({"g": "quiz", "w": false, "k": "g-1"})).await;
    app.ok(GAME, json!({"g": "quiz", "w": false, "k": "g-1"})).await;
    assert_eq!(stats(&app).await["gamesPlayed"], 4);
}

#[tokio::test]
async fn an_achievement_is_unlocked_once_under_races() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "ann").await;
    let results = join_all((0..20).map(|_| app.gql(GAME, json!({"g": "quiz", "w": true})))).await;
    assert!(results.iter().all(|r| r.get("errors").is_none()));
    let unlocks = app
        .event_types(&id)
        .await
        .iter()
        .filter(|t| *t == "achievement_unlock")
        .count();
    assert_eq!(unlocks, 1);
    let s = stats(&app).await;
    assert_eq!(s["xp"], 20 * 25 + 50, "the reward was paid once");
}

#[tokio::test]
async fn voice_time_earns_per_whole_minute_and_refuses_bad_sessions() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    assert_eq!(
        app.ok(VOICE, json!({"s": 299})).await["recordVoiceTime"]["delta"],
        8,
        "4 whole minutes at 2 XP"
    );
    assert_eq!(
        app.ok(VOICE, json!({"s": 30, "x": 7})).await["recordVoiceTime"]["delta"],
        7
    );
    assert_eq!(stats(&app).await["totalVoiceTime"], 329);
    for s in [-1, 86_401] {
        assert_eq!(app.err_code(VOICE, json!({"s": s})).await, "INVALID_INPUT", "{s}");
    }
    assert_eq!(stats(&app).await["totalVoiceTime"], 329);
}

#[tokio::test]
async fn concurrent_messages_inside_one_cooldown_earn_xp_once() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "ann").await;
    let results = join_all((0..100).map(|_| app.gql(MESSAGE, json!({})))).await;
    let earned: Vec<i64> = results
        .iter()
        .map(|r| r["data"]["recordMessage"]["delta"].as_i64().unwrap())
        .collect();
    assert_eq!(earned.iter().filter(|d| **d > 0).count(), 1, "{earned:?}");
    let s = stats(&app).await;
    assert_eq!(
        (s["messagesSent"].as_i64(), s["xp"].as_i64()),
        (Some(100), Some(5))
    );
    // Once the cooldown has passed, a message earns again.
    sqlx::query(
        "UPDATE unified_users SET last_message_xp_at = now() - interval '61 seconds' WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(app.ok(MESSAGE, json!({})).await["recordMessage"]["delta"], 5);
    assert_eq!(app.ok(MESSAGE, json!({})).await["recordMessage"]["delta"], 0);
}

async fn set_last_daily(app: &TestApp, days_ago: i32, streak: i32, freezes: i32) {
    sqlx::query(
        "UPDATE unified_users SET last_daily_day = (now() AT TIME ZONE 'UTC')::date - $1, daily_streak = $2, streak_freezes = $3",
    )
    .bind(days_ago)
    .bind(streak)
    .bind(freezes)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn daily_claims_streaks_freezes_and_races() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    // Two claims at once: one wins, the other is ALREADY_CLAIMED.
    let both = join_all((0..2).map(|_| app.gql(DAILY, json!({})))).await;
    let codes: Vec<&str> = both
        .iter()
        .map(|r| r["errors"][0]["extensions"]["code"].as_str().unwrap_or("OK"))
        .collect();
    assert!(
        codes.contains(&"OK") && codes.contains(&"ALREADY_CLAIMED"),
        "{codes:?}"
    );
    let s = stats(&app).await;
    assert_eq!(
        (s["dailyStreak"].as_i64(), s["coins"].as_i64()),
        (Some(1), Some(10))
    );

    // Yesterday's claim: the streak grows, and so does the reward.
    set_last_daily(&app, 1, 1, 0).await;
    let c = app.ok(DAILY, json!({})).await["claimDaily"].clone();
    assert_eq!(
        (
            c["streak"].as_i64(),
            c["rewardCoins"].as_i64(),
            c["rewardXp"].as_i64()
        ),
        (Some(2), Some(15), Some(25))
    );
    // A missed day with a freeze: covered, the freeze is used, the count does not jump.
    set_last_daily(&app, 2, 6, 1).await;
    let c = app.ok(DAILY, json!({})).await["claimDaily"].clone();
    assert_eq!(
        (c["streak"].as_i64(), c["freezesUsed"].as_i64()),
        (Some(7), Some(1))
    );
    let s = stats(&app).await;
    assert_eq!(s["streakFreezes"], 1, "day 7 earns a freeze");
    assert!(codes_of(&s).contains(&"week_streak".to_owned()));
    // A missed day without a freeze resets.
    set_last_daily(&app, 2, 9, 0).await;
    assert_eq!(app.ok(DAILY, json!({})).await["claimDaily"]["streak"], 1);
    // A clock that was ahead (last claim "tomorrow") changes nothing.
    set_last_daily(&app, -1, 4, 0).await;
    assert_eq!(app.err_code(DAILY, json!({})).await, "ALREADY_CLAIMED");
    assert_eq!(stats(&app).await["dailyStreak"], 4);
}

fn codes_of(user: &Value) -> Vec<String> {
    codes(user)
}

#[tokio::test]
async fn the_day_is_the_users_own_calendar_day() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let tz = "mutation($z: String) { setUserTimeZone(user: {telegramId: \"1\"}, timeZone: $z) { timeZone } }";
    assert_eq!(
        app.err_code(tz, json!({"z": "Mars/Olympus"})).await,
        "INVALID_INPUT"
    );
    // Far east and far west of UTC: one of them is on another calendar day than UTC for part
    // of every day; the claim records the user's own day.
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        sqlx::query("UPDATE unified_users SET last_daily_day = NULL")
            .execute(&app.pool)
            .await
            .unwrap();
        assert_eq!(
            app.ok(tz, json!({"z": zone})).await["setUserTimeZone"]["timeZone"],
            zone
        );
        app.ok(DAILY, json!({})).await;
        let (day, local): (String, String) = sqlx::query_as(
            "SELECT data->>'day', (now() AT TIME ZONE $1)::date::text FROM cross_platform_events \
             WHERE event_type = 'daily_claimed' ORDER BY txid DESC, seq DESC LIMIT 1",
        )
        .bind(zone)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(day, local, "{zone}");
    }
}

#[tokio::test]
async fn boosts_multiply_gains_and_are_recorded() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let boost = "mutation($m: Float!, $s: DateTime, $e: DateTime!, $u: UserRef) {
        createXpBoost(multiplier: $m, startsAt: $s, endsAt: $e, user: $u, reason: \"event weekend\") { multiplier } }";
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let past = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    app.ok(boost, json!({"m": 1.5, "e": later})).await;
    app.ok(boost, json!({"m": 2.0, "e": later, "u": {"telegramId": "1"}}))
        .await;
    app.ok(boost, json!({"m": 10.0, "s": past, "e": ago})).await; // over already
    app.ok(
        boost,
        json!({"m": 10.0, "s": later, "e": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339()}),
    )
    .await; // not yet
    let game = app.ok(GAME, json!({"g": "quiz", "w": false, "x": 7})).await;
    assert_eq!(game["recordGame"]["delta"], 21, "7 x 1.5 x 2 = 21");
    let m: f64 = sqlx::query_scalar(
        "SELECT (data->>'multiplier')::float8 FROM cross_platform_events WHERE event_type = 'xp_change'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(m, 3.0);
    let odd = app.ok(GAME, json!({"g": "quiz", "w": false, "x": 5})).await;
    assert_eq!(odd["recordGame"]["delta"], 15);
    let loss = app
        .ok(
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: -10) { delta } }",
            json!({}),
        )
        .await;
    assert_eq!(loss["awardXp"]["delta"], -10, "losses are not boosted");
    for bad in [
        json!({"m": 0, "e": later}),
        json!({"m": 101, "e": later}),
        json!({"m": 2, "s": later, "e": ago}),
    ] {
        assert_eq!(app.err_code(boost, bad.clone()).await, "INVALID_INPUT", "{bad}");
    }
    let listed = app.ok("{ xpBoosts { multiplier } }", json!({})).await;
    assert_eq!(
        listed["xpBoosts"].as_array().unwrap().len(),
        3,
        "current and future boosts"
    );
}

#[tokio::test]
async fn grants_and_the_catalog() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let catalog = app
        .ok("{ achievements { code rewardXp rewardCoins } }", json!({}))
        .await;
    assert!(catalog["achievements"].as_array().unwrap().len() >= 6);
    let grant =
        "mutation($c: String!) { grantAchievement(user: {telegramId: \"1\"}, code: $c) { xp coins } }";
    let granted = app.ok(grant, json!({"c": "hundred_games"})).await;
    assert_eq!(
        (
            granted["grantAchievement"]["xp"].as_i64(),
            granted["grantAchievement"]["coins"].as_i64()
        ),
        (Some(200), Some(100 + 50))
    );
    let again = app.ok(grant, json!({"c": "hundred_games"})).await;
    assert_eq!(again["grantAchievement"]["xp"], 200, "a second grant is a no-op");
    assert_eq!(app.err_code(grant, json!({"c": "nope"})).await, "NOT_FOUND");
}

#[tokio::test]
async fn starting_a_season_freezes_standings_and_resets_season_xp() {
    let app = TestApp::start().await;
    for (tg, xp) in [("1", 300), ("2", 500), ("3", 300), ("4", 0)] {
        app.telegram_user(tg, &format!("u{tg}")).await;
        if xp > 0 {
            app.award(tg, xp).await;
        }
    }
    let before = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { seasonPosition currentSeasonXp } }",
            json!({}),
        )
        .await;
    assert_eq!(before["user"]["seasonPosition"], 2);
    let started = app
        .ok(
            "mutation { startSeason(name: \"Winter\") { id name current } }",
            json!({}),
        )
        .await;
    assert_eq!(started["startSeason"]["name"], "Winter");
    let seasons = app.ok("{ seasons { id name current endedAt } }", json!({})).await["seasons"].clone();
    assert_eq!(seasons.as_array().unwrap().len(), 2);
    assert!(
        seasons[0]["endedAt"].is_string() && seasons[0]["current"] == false && seasons[1]["current"] == true
    );

    let first_id = seasons[0]["id"].as_i64().unwrap();
    let standings = app
        .ok(
            "query($s: Int!) { seasonStandings(season: $s) { position xp user { username } } }",
            json!({"s": first_id}),
        )
        .await;
    let rows: Vec<(i64, i64, String)> = standings["seasonStandings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["position"].as_i64().unwrap(),
                r["xp"].as_i64().unwrap(),
                r["user"]["username"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, 500, "u2".into()),
            (2, 300, "u1".into()),
            (2, 300, "u3".into())
        ]
    );
    let s = stats(&app).await;
    assert_eq!(
        (s["currentSeasonXp"].as_i64(), s["xp"].as_i64()),
        (Some(0), Some(300)),
        "season XP resets, XP stays"
    );
    let champion_event: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cross_platform_events WHERE event_type = 'season_started'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(champion_event, 1);
    assert_eq!(
        app.err_code("mutation { startSeason(name: \"Winter\") { id } }", json!({}))
            .await,
        "CONFLICT"
    );
    // Playing in the new season moves the old season's XP aside; the final standings keep it.
    app.award("2", 10).await;
    let again = app
        .ok(
            "query($s: Int!) { seasonStandings(season: $s) { position xp user { username } } }",
            json!({"s": first_id}),
        )
        .await;
    assert_eq!(
        again["seasonStandings"][0],
        json!({"position": 1, "xp": 500, "user": {"username": "u2"}})
    );
    assert_eq!(again["seasonStandings"].as_array().unwrap().len(), 3);
    app.boards_settled().await;
    let board = app
        .ok(
            "{ leaderboard(scope: SEASON) { nodes { xp user { username } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        board["leaderboard"]["nodes"],
        json!([{"xp": 10, "user": {"username": "u2"}}]),
        "only this season's XP"
    );
    let mine = app
        .ok(
            "{ user(ref: {telegramId: \"2\"}) { currentSeasonXp seasonStandings { seasonId position xp } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["user"]["currentSeasonXp"], 10);
    assert_eq!(
        mine["user"]["seasonStandings"],
        json!([{"seasonId": first_id, "position": 1, "xp": 500}])
    );
    let current = seasons[1]["id"].as_i64().unwrap();
    assert_eq!(
        app.err_code(
            "query($s: Int!) { seasonStandings(season: $s) { xp } }",
            json!({"s": current})
        )
        .await,
        "INVALID_INPUT"
    );

    // The command line does the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["season", "start", "Spring"])
        .env("DATABASE_URL", crate::harness::url_of(&app.db))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names = app.ok("{ seasons { name current } }", json!({})).await;
    assert_eq!(names["seasons"][2], json!({"name": "Spring", "current": true}));
}

#[tokio::test]
async fn around_shows_the_entries_just_above_and_below_a_user() {
    let app = TestApp::start().await;
    sqlx::query(
        "INSERT INTO unified_users (id, telegram_id, username, display_name, primary_platform, xp, current_season_xp) \
         SELECT gen_random_uuid(), (100 + i)::text, 'u' || i, 'u' || i, 'telegram', 1000 - i * 10, i FROM generate_series(1, 20) AS i",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Rows written by hand: every process's boards load again when told so.
    sqlx::query("SELECT pg_notify('ttfd_profiles', 'all')")
        .execute(&app.pool)
        .await
        .unwrap();
    app.boards_settled().await;
    let q = "query($u: UserRef!, $s: LeaderboardScope) { leaderboard(first: 5, around: $u, scope: $s) { nodes { position user { username } } } }";
    let page = app.ok(q, json!({"u": {"telegramId": "110"}})).await;
    let names: Vec<(i64, &str)> = page["leaderboard"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["position"].as_i64().unwrap(),
                n["user"]["username"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![(8, "u8"), (9, "u9"), (10, "u10"), (11, "u11"), (12, "u12")]
    );
    let top = app.ok(q, json!({"u": {"telegramId": "101"}})).await;
    assert_eq!(
        top["leaderboard"]["nodes"][0]["position"], 1,
        "near the top the page starts at 1"
    );
    let season = app
        .ok(q, json!({"u": {"telegramId": "110"}, "s": "SEASON"}))
        .await;
    assert_eq!(season["leaderboard"]["nodes"][2]["user"]["username"], "u10");
    assert_eq!(season["leaderboard"]["nodes"][2]["position"], 11);
    let alone = app
        .ok(
            "query($u: UserRef!) { leaderboard(first: 1, around: $u) { nodes { position user { username } } } }",
            json!({"u": {"telegramId": "110"}}),
        )
        .await;
    assert_eq!(
        alone["leaderboard"]["nodes"],
        json!([{"position": 10, "user": {"username": "u10"}}]),
        "a page of one around a user is that user"
    );
}

#[tokio::test]
async fn rank_progress() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    app.award("1", 175).await; // rank F II (100), next F III (250)
    let p = stats(&app).await["rankProgress"].clone();
    assert_eq!(
        (p["xpIntoRank"].as_i64(), p["xpToNextRank"].as_i64()),
        (Some(75), Some(75))
    );
    assert_eq!(p["percent"], 50.0);
}

#[tokio::test]
async fn a_rules_file_changes_the_rules_and_a_bad_one_stops_the_server() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let dir = std::env::temp_dir().join(format!("ttfd-rules-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("rules.toml");
    std::fs::write(&good, "[games]\nxp_win = 100\n").unwrap();
    let (_server, base) = spawn_server(&app, &[("TTFD_RULES", good.to_str().unwrap())]).await;
    let res = post_to(
        &base,
        &app.admin,
        "mutation { recordGame(user: {telegramId: \"1\"}, gameType: \"quiz\", won: true) { delta } }",
    )
    .await;
    assert_eq!(res["data"]["recordGame"]["delta"], 100, "{res}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[messages]\ncooldown_seconds = -5\nxp_per_mesage = 3\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", crate::harness::url_of(&app.db))
        .env("TTFD_RULES", &bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("xp_per_mesage"),
        "the error names the problem: {err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_retried_daily_claim_returns_the_first_result() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let q = "mutation { claimDaily(user: {telegramId: \"1\"}, idempotencyKey: \"daily-1\") { streak rewardCoins } }";
    let first = app.ok(q, json!({})).await;
    let retry = app.ok(q, json!({})).await;
    assert_eq!(first, retry, "a retry is not ALREADY_CLAIMED");
    assert_eq!(
        app.err_code(DAILY, json!({})).await,
        "ALREADY_CLAIMED",
        "a new claim is"
    );
    assert_eq!(stats(&app).await["coins"], 10, "paid once");
}

/// The season a user row names is checked by triggers, not a foreign key (see migration
/// `season_checks`); this proves they refuse what the key refused.
#[tokio::test]
async fn the_database_refuses_unknown_seasons_and_never_deletes_one() {
    let app = TestApp::start().await;
    let id = app.telegram_user("1", "u1").await;
    let code = |e: sqlx::Error| {
        e.as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned())
    };

    let inserted = sqlx::query(
        "INSERT INTO unified_users (telegram_id, username, display_name, primary_platform, season_id) \
         VALUES ('2', 'u2', 'u2', 'telegram', 1), ('3', 'u3', 'u3', 'telegram', 99)",
    )
    .execute(&app.pool)
    .await;
    assert_eq!(inserted.map_err(code).unwrap_err().as_deref(), Some("23503"));
    assert_eq!(
        app.count("unified_users").await,
        1,
        "the whole statement is refused"
    );

    let moved = sqlx::query("UPDATE unified_users SET season_id = 99 WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.pool)
        .await;
    assert_eq!(moved.map_err(code).unwrap_err().as_deref(), Some("23503"));

    let season: i32 = app
        .ok("mutation { startSeason(name: \"Two\") { id } }", json!({}))
        .await["startSeason"]["id"]
        .as_i64()
        .unwrap() as i32;
    sqlx::query("UPDATE unified_users SET season_id = $1 WHERE id = $2::uuid")
        .bind(season)
        .bind(&id)
        .execute(&app.pool)
        .await
        .expect("a season that exists is accepted");

    for statement in ["DELETE FROM seasons WHERE id = 1", "TRUNCATE seasons CASCADE"] {
        let refused = sqlx::query(statement).execute(&app.pool).await;
        assert_eq!(
            refused.map_err(code).unwrap_err().as_deref(),
            Some("23503"),
            "{statement}"
        );
    }
    assert_eq!(app.count("seasons").await, 2);
    assert_eq!(app.count("unified_users").await, 1);
}

/// The rules are the catalog's one source. A server runs a custom catalog; `ttfd season start`
/// without rules must not write the defaults over it (nor may the servers then pay them), and
/// with rules it honours them. Achievements the rules drop are retired: not listed, not
/// unlockable, never rewarded.
#[tokio::test]
async fn every_command_honours_the_rules_and_dropped_achievements_are_retired() {
    let custom = "[[achievements]]\ncode = \"champion\"\nname = \"Champion\"\ndescription = \"Win a game\"\n\
                  reward_xp = 7\nreward_coins = 3\nunlock = { games_won = 1 }\n";
    let rules = ttfd::domain::rules::Rules::from_toml(custom).unwrap();
    let app = TestApp::start_with(ttfd::state::StateConfig {
        rules,
        ..Default::default()
    })
    .await;
    app.telegram_user("1", "ann").await;
    let catalog = || app.ok("{ achievements { code rewardXp } }", json!({}));
    assert_eq!(
        catalog().await["achievements"],
        json!([{ "code": "champion", "rewardXp": 7 }])
    );

    let season = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
            .args(["season", "start"])
            .args(args)
            .env("DATABASE_URL", crate::harness::url_of(&app.db))
            .env_remove("TTFD_RULES")
            .output()
            .unwrap()
    };
    assert!(season(&["Without rules"]).status.success());
    assert_eq!(
        catalog().await["achievements"],
        json!([{ "code": "champion", "rewardXp": 7 }]),
        "a command without rules leaves the catalog alone"
    );
    let code = app
        .err_code(
            "mutation { grantAchievement(user: {telegramId: \"1\"}, code: \"first_win\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND", "a default the rules drop is not unlockable");
    app.ok(
        "mutation { recordGame(user: {telegramId: \"1\"}, gameType: \"quiz\", won: true, xp: 1) { xp } }",
        json!({}),
    )
    .await;
    let held = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { xp coins achievements { achievement { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (&held["user"]["xp"], &held["user"]["coins"]),
        (&json!(1 + 7), &json!(3)),
        "the custom achievement pays its own reward"
    );
    assert_eq!(
        held["user"]["achievements"],
        json!([{ "achievement": { "code": "champion" } }])
    );

    // Given rules on purpose, a command honours them: here the defaults, which retire champion.
    let dir = std::env::temp_dir().join(format!("ttfd-rules-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let defaults = dir.join("defaults.toml");
    std::fs::write(&defaults, "").unwrap();
    assert!(
        season(&["With rules", "--rules", defaults.to_str().unwrap()])
            .status
            .success()
    );
    let listed = catalog().await;
    let codes: Vec<&str> = listed["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"first_win") && !codes.contains(&"champion"),
        "{codes:?}"
    );
    let still = app
        .ok(
            "{ user(ref: {telegramId: \"1\"}) { achievements { achievement { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        still["user"]["achievements"],
        json!([{ "achievement": { "code": "champion" } }]),
        "who holds a retired achievement keeps it"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn unlocks_name_catalog_entries_and_the_catalog_keeps_every_code() {
    let app = TestApp::start().await;
    let id = app.telegram_user("31", "cat").await;
    let unlock = |code: &'static str| {
        sqlx::query("INSERT INTO user_achievements (user_id, achievement_code) VALUES ($1::uuid, $2)")
            .bind(id.clone())
            .bind(code)
    };
    let err = unlock("no_such_code").execute(&app.pool).await.unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).unwrap_or_default();
    assert_eq!(code, "23503", "a foreign-key violation: {err}");
    unlock("first_win").execute(&app.pool).await.unwrap();
    // An entry is retired, never deleted, renamed or truncated (its holders keep it).
    for sql in [
        "DELETE FROM achievements WHERE code = 'first_win'",
        "UPDATE achievements SET code = 'renamed' WHERE code = 'first_win'",
        "TRUNCATE achievements CASCADE",
    ] {
        assert!(sqlx::query(sql).execute(&app.pool).await.is_err(), "{sql}");
    }
    sqlx::query("UPDATE achievements SET name = 'First!' WHERE code = 'first_win'")
        .execute(&app.pool)
        .await
        .unwrap();
}
