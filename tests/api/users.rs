//! upsertUser, linkPlatform, user(ref:) and bad input.

use serde_json::json;

use crate::harness::TestApp;

const UPSERT: &str = "mutation($p: Platform!, $id: String!, $name: String!, $dn: String) {
    upsertUser(input: {platform: $p, externalId: $id, username: $name, displayName: $dn}) {
        id username displayName telegramId discordId websiteEmail platforms primaryPlatform
        xp coins rank { id name } nextRank { id } lastActive createdAt position achievements { unlockedAt }
    } }";

#[tokio::test]
async fn upsert_creates_once_then_refreshes_names_and_last_active() {
    let app = TestApp::start().await;
    let first = app
        .ok(UPSERT, json!({"p": "TELEGRAM", "id": "1001", "name": "ann"}))
        .await["upsertUser"]
        .clone();
    assert_eq!(
        first["displayName"], "ann",
        "display name defaults to the username"
    );
    assert_eq!(first["platforms"], json!(["TELEGRAM"]));
    assert_eq!(first["primaryPlatform"], "TELEGRAM");
    assert_eq!(
        (
            first["xp"].as_i64(),
            first["rank"]["id"].as_i64(),
            first["nextRank"]["id"].as_i64()
        ),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(first["position"], 1);

    let again = app
        .ok(
            UPSERT,
            json!({"p": "TELEGRAM", "id": "1001", "name": "ann2", "dn": "Ann"}),
        )
        .await["upsertUser"]
        .clone();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        (again["username"].as_str(), again["displayName"].as_str()),
        (Some("ann2"), Some("Ann"))
    );
    assert!(again["lastActive"].as_str() > first["lastActive"].as_str());
    assert_eq!(again["createdAt"], first["createdAt"]);
    // Omitting the display name keeps the current one.
    let third = app
        .ok(UPSERT, json!({"p": "TELEGRAM", "id": "1001", "name": "ann3"}))
        .await["upsertUser"]
        .clone();
    assert_eq!(third["displayName"], "Ann");
    assert_eq!(app.count("unified_users").await, 1);
}

#[tokio::test]
async fn website_emails_are_normalised_and_found_by_any_case() {
    let app = TestApp::start().await;
    let u = app
        .ok(
            UPSERT,
            json!({"p": "WEBSITE", "id": " Ann@Example.COM ", "name": "ann"}),
        )
        .await["upsertUser"]
        .clone();
    assert_eq!(u["websiteEmail"], "ann@example.com");
    let found = app
        .ok(
            "{ user(ref: {websiteEmail: \"ANN@example.com\"}) { id primaryPlatform } }",
            json!({}),
        )
        .await;
    assert_eq!(found["user"]["id"], u["id"]);
    assert_eq!(found["user"]["primaryPlatform"], "WEBSITE");
}

#[tokio::test]
async fn user_lookup_by_each_reference_and_null_when_absent() {
    let app = TestApp::start().await;
    let id = app.telegram_user("77", "tg").await;
    for r in [json!({"id": id}), json!({"telegramId": "77"})] {
        let data = app
            .ok("query($r: UserRef!) { user(ref: $r) { id } }", json!({ "r": r }))
            .await;
        assert_eq!(data["user"]["id"], id.as_str());
    }
    let data = app
        .ok("{ user(ref: {discordId: \"5\"}) { id } }", json!({}))
        .await;
    assert!(data["user"].is_null());
    let data = app
        .ok(
            "{ user(ref: {id: \"00000000-0000-7000-8000-000000000000\"}) { id } }",
            json!({}),
        )
        .await;
    assert!(data["user"].is_null());
}

const LINK: &str = "mutation($u: UserRef!, $p: Platform!, $e: String!) {
    linkPlatform(user: $u, platform: $p, externalId: $e) { id platforms discordId } }";

#[tokio::test]
async fn link_platform_adds_an_identity_and_writes_account_linked() {
    let app = TestApp::start().await;
    let id = app.telegram_user("10", "tg").await;
    let linked = app
        .ok(
            LINK,
            json!({"u": {"telegramId": "10"}, "p": "DISCORD", "e": "555000111"}),
        )
        .await;
    assert_eq!(
        linked["linkPlatform"]["platforms"],
        json!(["TELEGRAM", "DISCORD"])
    );
    let by_discord = app
        .ok("{ user(ref: {discordId: \"555000111\"}) { id } }", json!({}))
        .await;
    assert_eq!(by_discord["user"]["id"], id.as_str());
    assert_eq!(app.event_types(&id).await, vec!["account_linked"]);

    // Linking the same identity again is a no-op: no second event.
    app.ok(LINK, json!({"u": {"id": id}, "p": "DISCORD", "e": "555000111"}))
        .await;
    assert_eq!(app.event_types(&id).await, vec!["account_linked"]);
}

#[tokio::test]
async fn link_platform_conflicts_when_the_identity_is_someone_elses() {
    let app = TestApp::start().await;
    app.telegram_user("10", "a").await;
    app.ok(UPSERT, json!({"p": "DISCORD", "id": "999", "name": "b"}))
        .await;
    let code = app
        .err_code(
            LINK,
            json!({"u": {"telegramId": "10"}, "p": "DISCORD", "e": "999"}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    // A user that already has a different identity on that platform.
    app.ok(
        LINK,
        json!({"u": {"telegramId": "10"}, "p": "DISCORD", "e": "1000"}),
    )
    .await;
    let code = app
        .err_code(
            LINK,
            json!({"u": {"telegramId": "10"}, "p": "DISCORD", "e": "1001"}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    let code = app
        .err_code(
            LINK,
            json!({"u": {"telegramId": "404"}, "p": "WEBSITE", "e": "x@y.io"}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    assert_eq!(app.count("cross_platform_events").await, 1);
}

#[tokio::test]
async fn bad_input_gets_a_typed_error_and_writes_nothing() {
    let app = TestApp::start().await;
    app.telegram_user("1", "someone").await;
    let users = app.count("unified_users").await;
    let events = app.count("cross_platform_events").await;
    let huge = "u".repeat(10 * 1024);

    let invalid_input = [
        (UPSERT, json!({"p": "TELEGRAM", "id": "2", "name": ""})),
        (UPSERT, json!({"p": "TELEGRAM", "id": "2", "name": "   "})),
        (UPSERT, json!({"p": "TELEGRAM", "id": "2", "name": huge})),
        (
            UPSERT,
            json!({"p": "TELEGRAM", "id": "2", "name": "ok", "dn": huge}),
        ),
        (UPSERT, json!({"p": "TELEGRAM", "id": "12ab", "name": "ok"})),
        (UPSERT, json!({"p": "DISCORD", "id": "", "name": "ok"})),
        (
            UPSERT,
            json!({"p": "WEBSITE", "id": "not-an-email", "name": "ok"}),
        ),
        (UPSERT, json!({"p": "WEBSITE", "id": "a@b", "name": "ok"})),
        (
            LINK,
            json!({"u": {"telegramId": "1"}, "p": "WEBSITE", "e": "a@@b.io"}),
        ),
        (
            "mutation { awardXp(user: {id: \"not-a-uuid\"}, delta: 5) { xp } }",
            json!({}),
        ),
        (
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 0) { xp } }",
            json!({}),
        ),
        (
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 5, idempotencyKey: \"\") { xp } }",
            json!({}),
        ),
        (
            "mutation($r: String) { awardXp(user: {telegramId: \"1\"}, delta: 5, reason: $r) { xp } }",
            json!({"r": "r".repeat(500)}),
        ),
        (
            "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: 0) { coins } }",
            json!({}),
        ),
        ("{ leaderboard(first: 0) { nodes { xp } } }", json!({})),
        ("{ leaderboard(first: 101) { nodes { xp } } }", json!({})),
        ("{ leaderboard(after: \"garbage\") { nodes { xp } } }", json!({})),
    ];
    for (query, vars) in invalid_input {
        assert_eq!(
            app.err_code(query, vars.clone()).await,
            "INVALID_INPUT",
            "{query} {vars}"
        );
    }

    let not_found = [
        "mutation { awardXp(user: {telegramId: \"404\"}, delta: 5) { xp } }",
        "mutation { adjustCoins(user: {discordId: \"404\"}, delta: 5) { coins } }",
    ];
    for query in not_found {
        assert_eq!(app.err_code(query, json!({})).await, "NOT_FOUND", "{query}");
    }

    // Rejected by GraphQL itself before anything runs: two or zero UserRef fields, an Int
    // that overflows, an unknown enum value.
    let request_errors = [
        (
            "mutation { awardXp(user: {telegramId: \"1\", discordId: \"2\"}, delta: 5) { xp } }",
            json!({}),
        ),
        ("mutation { awardXp(user: {}, delta: 5) { xp } }", json!({})),
        (
            "mutation($u: UserRef!) { awardXp(user: $u, delta: 5) { xp } }",
            json!({"u": {"telegramId": "1", "id": "x"}}),
        ),
        (
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 3000000000) { xp } }",
            json!({}),
        ),
        (
            "mutation($d: Int!) { awardXp(user: {telegramId: \"1\"}, delta: $d) { xp } }",
            json!({"d": 3000000000i64}),
        ),
        (
            "mutation { upsertUser(input: {platform: MYSPACE, externalId: \"1\", username: \"x\"}) { id } }",
            json!({}),
        ),
        (
            "mutation($p: Platform!) { upsertUser(input: {platform: $p, externalId: \"1\", username: \"x\"}) { id } }",
            json!({"p": "MYSPACE"}),
        ),
    ];
    for (query, vars) in request_errors {
        let res = app.gql(query, vars.clone()).await;
        assert!(res["errors"][0]["message"].is_string(), "{query}: {res}");
        assert!(res.get("data").is_none_or(|d| d.is_null()), "{query}: {res}");
    }

    assert_eq!(app.count("unified_users").await, users);
    assert_eq!(app.count("cross_platform_events").await, events);
    assert_eq!(app.count("idempotency_keys").await, 0);
}

#[tokio::test]
async fn errors_never_leak_database_details() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    app.ok(UPSERT, json!({"p": "DISCORD", "id": "2", "name": "b"}))
        .await;
    let res = app
        .gql(LINK, json!({"u": {"telegramId": "1"}, "p": "DISCORD", "e": "2"}))
        .await;
    let text = res.to_string().to_lowercase();
    for leak in [
        "duplicate key",
        "violates",
        "constraint",
        "sqlx",
        "unified_users",
        "postgres",
    ] {
        assert!(!text.contains(leak), "error leaks {leak:?}: {res}");
    }
    // SQL-looking input is just a string that fails validation.
    let code = app
        .err_code(
            "{ user(ref: {telegramId: \"1; DROP TABLE unified_users\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "INVALID_INPUT");
    assert_eq!(app.count("unified_users").await, 2);
}

/// "123", "0123" and "00123" would be three accounts of one person: a leading zero is refused
/// by the API, by the import's rule and by the database itself.
#[tokio::test]
async fn platform_ids_have_one_spelling() {
    let app = TestApp::start().await;
    app.telegram_user("123", "ann").await;
    for id in ["0123", "00123", "0"] {
        for p in ["TELEGRAM", "DISCORD"] {
            let code = app
                .err_code(UPSERT, json!({"p": p, "id": id, "name": "ann"}))
                .await;
            assert_eq!(code, "INVALID_INPUT", "{p} {id}");
        }
        let code = app
            .err_code(
                "query($t: String!) { user(ref: {telegramId: $t}) { id } }",
                json!({ "t": id }),
            )
            .await;
        assert_eq!(code, "INVALID_INPUT", "lookup by {id}");
    }
    assert_eq!(app.count("unified_users").await, 1);
    let refused = sqlx::query(
        "INSERT INTO unified_users (telegram_id, username, display_name, primary_platform) \
         VALUES ('0123', 'x', 'x', 'telegram')",
    )
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("unified_users_canonical_ids"),
        "{refused}"
    );
}
