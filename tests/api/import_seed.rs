//! `ttfd import seed`: the Python shared module's own database (its schema as its README
//! describes it, rows of every shape, its events) into unified accounts, every field checked
//! through the API; and an export of its `unified_users` as JSON Lines.

use serde_json::{Value, json};
use sqlx::{Connection, Executor};

use crate::harness::{TestApp, empty_database, url_of};
use crate::import::{Run, ttfd_import};

const SCHEMA: &str = include_str!("seed_schema.sql");

/// Rows of every shape: all three ids with known and unknown achievements, a streak and a
/// season; one id and no username; two invalid identities; one row meeting an existing account
/// by email; one whose ids belong to two existing accounts (a merge).
const ROWS: &str = r#"
INSERT INTO unified_users (telegram_id, discord_id, website_email, username, display_name, xp, coins,
    rank_id, games_played, games_won, total_voice_time, messages_sent, achievements, current_season_xp,
    daily_streak, last_daily, created_at, last_active, platforms, primary_platform) VALUES
 ('111', '80351110224678912', 'Ann@Example.com', 'ann', 'Ann', 1500, 70, 3, 12, 5, 3600, 40,
  '["first_win", "Old Guard"]', 300, 4, '2026-11-30 08:00:00', '2024-01-02 10:00:00', '2026-11-30 09:00:00',
  '["telegram","discord","website"]', 'discord'),
 ('222', NULL, NULL, NULL, 'Bob', 20, 0, 1, 0, 0, 0, 0, '[]', 0, 0, NULL, '2025-05-05 00:00:00',
  '2025-06-01 00:00:00', '["telegram"]', 'telegram'),
 (NULL, NULL, 'not-an-email', 'eve', 'Eve', 5, 0, 1, 0, 0, 0, 0, '[]', 0, 0, NULL, NOW(), NOW(), '["website"]', 'website'),
 ('0123', NULL, NULL, 'zed', 'Zed', 5, 0, 1, 0, 0, 0, 0, '[]', 0, 0, NULL, NOW(), NOW(), '["telegram"]', 'telegram'),
 ('555', NULL, 'dan@example.com', 'dan', 'Dan', 100, 5, 1, 0, 0, 0, 0, '[]', 0, 0, NULL, '2023-03-03 00:00:00',
  '2025-01-01 00:00:00', '["telegram","website"]', 'website'),
 ('666', '777', NULL, 'joe', 'Joe', 50, 0, 1, 0, 0, 0, 0, '[]', 0, 0, NULL, NOW(), NOW(), '["telegram","discord"]', 'telegram');
INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data, processed, created_at) VALUES
 ('00000000-0000-4000-8000-000000000001', 1, 'xp_change', 'telegram', '{"delta_xp": 1000, "new_xp": 1000}', true, '2025-01-01 00:00:00'),
 ('00000000-0000-4000-8000-000000000002', 1, 'rank_up', 'telegram', '{"old_rank": 1, "new_rank": 3}', true, '2025-01-01 00:00:01'),
 ('00000000-0000-4000-8000-000000000003', 2, 'game_played', 'telegram', '{"game_type": "guess", "won": false}', false, '2025-02-01 00:00:00'),
 ('00000000-0000-4000-8000-000000000004', 3, 'xp_change', 'website', '{"delta_xp": 5}', false, '2025-03-01 00:00:00'),
 ('00000000-0000-4000-8000-000000000005', 1, 'xp_change', 'discord', '{"delta_xp": 500, "new_xp": 1500}', false, '2025-04-01 00:00:00');
"#;

async fn seed_import(app: &TestApp, args: &[&str]) -> Run {
    let mut all = vec!["seed"];
    all.extend_from_slice(args);
    ttfd_import(app, &all).await
}

const PROFILE: &str = "query($r: UserRef!) { user(ref: $r) {
    id telegramId discordId websiteEmail username displayName xp coins rank { id } gamesPlayed gamesWon
    totalVoiceTime messagesSent achievements { achievement { code } } currentSeasonXp dailyStreak lastDaily
    createdAt lastActive primaryPlatform platforms } }";

async fn profile(app: &TestApp, r: Value) -> Value {
    app.ok(PROFILE, json!({ "r": r })).await["user"].clone()
}

#[tokio::test]
async fn the_shared_modules_database_comes_over_in_one_command() {
    let app = TestApp::start().await;
    // Accounts that already exist here: Dan on the website, Joe twice (Telegram and Discord).
    app.ok(
        "mutation { a: upsertUser(input: {platform: WEBSITE, externalId: \"dan@example.com\", username: \"dan\"}) { id }
                    b: awardXp(user: {websiteEmail: \"dan@example.com\"}, delta: 10) { xp }
                    c: upsertUser(input: {platform: TELEGRAM, externalId: \"666\", username: \"joe\"}) { id }
                    d: upsertUser(input: {platform: DISCORD, externalId: \"777\", username: \"joe\"}) { id } }",
        json!({}),
    )
    .await;
    let seed_db = empty_database().await;
    let mut seed = sqlx::PgConnection::connect_with(&seed_db).await.unwrap();
    seed.execute(SCHEMA).await.unwrap();
    seed.execute(ROWS).await.unwrap();
    let from = url_of(&seed_db);

    // Bad rows stop it, a dry run reports; neither writes.
    let users_before = app.count("unified_users").await;
    let refused = seed_import(&app, &["--from", &from]).await;
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("rejected id 3: website_email:"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("rejected id 4: telegram_id:"),
        "{}",
        refused.stdout
    );
    let dry = seed_import(&app, &["--from", &from, "--dry-run", "--skip-invalid"]).await;
    assert_eq!(dry.code, 0);
    assert!(
        dry.stdout.contains("2 created, 0 updated, 1 linked, 1 merged"),
        "{}",
        dry.stdout
    );
    assert_eq!(app.count("unified_users").await, users_before);

    let run = seed_import(&app, &["--from", &from, "--skip-invalid"]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("4 events brought over as history, 1 skipped"),
        "{}",
        run.stdout
    );

    // Every column of a full row.
    let ann = profile(&app, json!({"telegramId": "111"})).await;
    assert_eq!(
        (
            &ann["discordId"],
            &ann["websiteEmail"],
            &ann["username"],
            &ann["displayName"]
        ),
        (
            &json!("80351110224678912"),
            &json!("ann@example.com"),
            &json!("ann"),
            &json!("Ann")
        )
    );
    assert_eq!(
        (&ann["xp"], &ann["coins"], &ann["rank"]["id"]),
        (&json!(1500), &json!(70), &json!(6))
    );
    assert_eq!(
        (
            &ann["gamesPlayed"],
            &ann["gamesWon"],
            &ann["totalVoiceTime"],
            &ann["messagesSent"]
        ),
        (&json!(12), &json!(5), &json!(3600), &json!(40))
    );
    assert_eq!(
        (&ann["currentSeasonXp"], &ann["dailyStreak"]),
        (&json!(300), &json!(4))
    );
    assert_eq!(ann["lastDaily"], json!("2026-11-30T08:00:00+00:00"));
    assert_eq!(ann["createdAt"], json!("2024-01-02T10:00:00+00:00"));
    assert_eq!(ann["lastActive"], json!("2026-11-30T09:00:00+00:00"));
    assert_eq!(ann["primaryPlatform"], json!("DISCORD"));
    assert_eq!(ann["platforms"], json!(["TELEGRAM", "DISCORD", "WEBSITE"]));
    let mut codes: Vec<&str> = ann["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["achievement"]["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        ["first_win", "seed_old_guard"],
        "an unknown name is kept, retired"
    );
    let catalog = app.ok("{ achievements { code } }", json!({})).await;
    assert!(
        !catalog.to_string().contains("seed_old_guard"),
        "retired: not in the catalog"
    );
    // Rank rewards count as paid: no coins were added for the ranks the XP reaches.
    let rewarded: i32 =
        sqlx::query_scalar("SELECT rewarded_rank_id FROM unified_users WHERE telegram_id = '111'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(rewarded, 6);

    // One id and no username: the display name stands in.
    let bob = profile(&app, json!({"telegramId": "222"})).await;
    assert_eq!(
        (&bob["username"], &bob["xp"], &bob["platforms"]),
        (&json!("Bob"), &json!(20), &json!(["TELEGRAM"]))
    );
    // Met an existing account by email: linked, XP added.
    let dan = profile(&app, json!({"websiteEmail": "dan@example.com"})).await;
    assert_eq!((&dan["telegramId"], &dan["xp"]), (&json!("555"), &json!(110)));
    // Its ids belonged to two accounts: one account now.
    let joe = profile(&app, json!({"telegramId": "666"})).await;
    assert_eq!((&joe["discordId"], &joe["xp"]), (&json!("777"), &json!(50)));

    // The seed's events are history: in order, at their times, in the ledger, not pending.
    let events = app
        .ok(
            "{ events(first: 20) { nodes { id type createdAt data } } }",
            json!({}),
        )
        .await;
    let nodes = events["events"]["nodes"].as_array().unwrap();
    let history: Vec<(&str, &str)> = nodes[..4]
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["createdAt"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("XP_CHANGE", "2025-01-01T00:00:00+00:00"),
            ("RANK_UP", "2025-01-01T00:00:01+00:00"),
            ("GAME_PLAYED", "2025-02-01T00:00:00+00:00"),
            ("XP_CHANGE", "2025-04-01T00:00:00+00:00"),
        ]
    );
    let ledger = app
        .ok(
            "query($u: UserRef!) { ledger(user: $u) { nodes { delta after } } }",
            json!({"u": {"telegramId": "111"}}),
        )
        .await;
    let first = &ledger["ledger"]["nodes"][0];
    assert_eq!((&first["delta"], &first["after"]), (&json!(1000), &json!(1000)));
    let pending = app
        .ok(
            "{ pendingEvents(consumer: \"fresh\", first: 100) { type } }",
            json!({}),
        )
        .await;
    let types: Vec<&str> = pending["pendingEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.is_empty() && !types.contains(&"GAME_PLAYED") && !types.contains(&"RANK_UP"),
        "{types:?}"
    );

    // A second run changes nothing and brings no event twice.
    let events_before = app.count("cross_platform_events").await;
    let again = seed_import(&app, &["--from", &from, "--skip-invalid"]).await;
    assert!(
        again
            .stdout
            .contains("0 created, 0 updated, 0 linked, 0 merged, 4 unchanged"),
        "{}",
        again.stdout
    );
    assert_eq!(app.count("cross_platform_events").await, events_before);
}

#[tokio::test]
async fn an_export_of_the_seeds_users_imports_as_json_lines() {
    let app = TestApp::start().await;
    let dir = std::env::temp_dir().join(format!("ttfd-seed-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("unified_users.jsonl");
    let row = json!({
        "id": 9, "telegram_id": "999", "discord_id": null, "website_email": null, "username": "kim",
        "display_name": "Kim", "xp": 40, "coins": 3, "rank_id": 1, "games_played": 2, "games_won": 1,
        "total_voice_time": 60, "messages_sent": 7, "achievements": ["first_win"], "current_season_xp": 40,
        "season_rank": 3, "daily_streak": 2, "last_daily": "2026-11-29T10:00:00", "created_at": "2025-01-01T00:00:00",
        "last_active": "2026-11-29T10:00:00", "platforms": ["telegram"], "primary_platform": "telegram"
    });
    std::fs::write(&file, format!("{row}\n")).unwrap();
    let run = seed_import(&app, &[file.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("1 rows: 1 created"), "{}", run.stdout);
    let kim = profile(&app, json!({"telegramId": "999"})).await;
    assert_eq!(
        (
            &kim["xp"],
            &kim["messagesSent"],
            &kim["currentSeasonXp"],
            &kim["achievements"]
        ),
        (
            &json!(40),
            &json!(7),
            &json!(40),
            &json!([{"achievement": {"code": "first_win"}}])
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
