//! Idempotency everywhere the README says "every mutation": a retried request with the same
//! `idempotencyKey` returns the first result and changes nothing, also after a merge; and
//! expected races answer typed errors, never INTERNAL.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::harness::TestApp;

async fn twice(app: &TestApp, query: &str, vars: Value) -> (Value, Value) {
    let first = app.ok(query, vars.clone()).await;
    let again = app.ok(query, vars).await;
    (first, again)
}

#[tokio::test]
async fn admin_mutations_answer_a_retry_with_the_first_result() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;

    let boost = "mutation($k: String) { createXpBoost(multiplier: 2, endsAt: \"2100-01-01T00:00:00Z\", idempotencyKey: $k) { id } }";
    let (a, b) = twice(&app, boost, json!({ "k": "boost-1" })).await;
    assert_eq!(a, b);
    assert_eq!(app.count("xp_boosts").await, 1, "a retried boost does not stack");

    let season = "mutation($k: String) { startSeason(name: \"Autumn\", idempotencyKey: $k) { id } }";
    let (a, b) = twice(&app, season, json!({ "k": "season-1" })).await;
    assert_eq!(a, b);
    assert_eq!(app.count("seasons").await, 2, "one season started");

    let grant = "mutation($k: String) { grantAchievement(user: {telegramId: \"1\"}, code: \"first_win\", idempotencyKey: $k) { xp coins } }";
    let (a, b) = twice(&app, grant, json!({ "k": "grant-1" })).await;
    assert_eq!(a, b);

    let zone = "mutation($z: String, $k: String) { setUserTimeZone(user: {telegramId: \"1\"}, timeZone: $z, idempotencyKey: $k) { timeZone } }";
    let (a, b) = twice(&app, zone, json!({ "z": "Asia/Tokyo", "k": "zone-1" })).await;
    assert_eq!(a, b);
    let code = app
        .err_code(zone, json!({ "z": "Europe/Moscow", "k": "zone-1" }))
        .await;
    assert_eq!(code, "CONFLICT", "a key reused for another request");
}

/// A retry that arrives after the user was merged into another account gets the first
/// result: the key names the request, not the account it resolved to.
#[tokio::test]
async fn a_retry_after_a_merge_returns_the_first_result() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    app.ok(
        "mutation { upsertUser(input: {platform: DISCORD, externalId: \"2\", username: \"ann\"}) { id } }",
        json!({}),
    )
    .await;
    let award =
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 40, idempotencyKey: \"a-1\") { delta xp } }";
    let first = app.ok(award, json!({})).await;
    app.ok(
        "mutation { mergeUsers(into: {discordId: \"2\"}, from: {telegramId: \"1\"}) { id } }",
        json!({}),
    )
    .await;
    let again = app.ok(award, json!({})).await;
    assert_eq!(first, again);
    let xp = app
        .ok("{ user(ref: {discordId: \"2\"}) { xp } }", json!({}))
        .await;
    assert_eq!(xp["user"]["xp"], 40, "applied once");
}

/// Races that are expected in production answer typed errors (or succeed), never INTERNAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expected_races_are_typed() {
    let app = TestApp::start().await;
    for round in 0..10 {
        let (tg, dc) = (format!("{}", 100 + round), format!("{}", 200 + round));
        let id = app.telegram_user(&tg, "ann").await;
        app.ok(
            "mutation($d: String!) { upsertUser(input: {platform: DISCORD, externalId: $d, username: \"ann\"}) { id } }",
            json!({ "d": dc }),
        )
        .await;
        let merge = app.gql(
            "mutation($d: String!, $t: String!) { mergeUsers(into: {discordId: $d}, from: {telegramId: $t}) { id } }",
            json!({ "d": dc, "t": tg }),
        );
        let zone = app.gql(
            "mutation($id: ID!) { setUserTimeZone(user: {id: $id}, timeZone: \"Asia/Tokyo\") { id } }",
            json!({ "id": id }),
        );
        let award = app.gql(
            "mutation($id: ID!) { awardXp(user: {id: $id}, delta: 5) { xp } }",
            json!({ "id": id }),
        );
        let seasons = join_all((0..2).map(|i| {
            app.gql(
                "mutation($n: String!) { startSeason(name: $n) { id } }",
                json!({ "n": format!("S{round}-{i}") }),
            )
        }));
        let (merged, zone, award, seasons) = tokio::join!(merge, zone, award, seasons);
        assert!(merged.get("errors").is_none(), "{merged}");
        for res in [zone, award].into_iter().chain(seasons) {
            let code = res["errors"][0]["extensions"]["code"].as_str();
            assert!(
                code.is_none() || code == Some("NOT_FOUND"),
                "round {round}: {res}"
            );
        }
    }
}
