//! API keys and roles: who may change what, who sees what, and revocation.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TestApp, create_key, node_subscriber, python_subscriber_with_key, url_of};
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

struct Keys {
    telegram: String,
    discord: String,
    website: String,
}

async fn keys(app: &TestApp) -> Keys {
    Keys {
        telegram: create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await,
        discord: create_key(&app.pool, "dc-bot", Role::Bot(Platform::Discord)).await,
        website: create_key(&app.pool, "site", Role::Website).await,
    }
}

fn code(res: &Value) -> &str {
    if res.get("errors").is_none() {
        return "OK";
    }
    res["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

#[tokio::test]
async fn each_role_against_each_mutation() {
    let app = TestApp::start().await;
    let k = keys(&app).await;
    let id = app.telegram_user("1", "ann").await;
    app.ok(
        "mutation { linkPlatform(user: {telegramId: \"1\"}, platform: DISCORD, externalId: \"2\") { id } }",
        json!({}),
    )
    .await;
    app.ok("mutation { linkPlatform(user: {telegramId: \"1\"}, platform: WEBSITE, externalId: \"ann@x.io\") { id } }", json!({})).await;

    let award = |by: &str| format!("mutation {{ awardXp(user: {by}, delta: 1) {{ xp }} }}");
    let cases: Vec<(String, [&str; 5])> = vec![
        // (operation, [public, telegram bot, discord bot, website, admin])
        (award("{telegramId: \"1\"}"), ["UNAUTHENTICATED", "OK", "FORBIDDEN", "FORBIDDEN", "OK"]),
        (award("{discordId: \"2\"}"), ["UNAUTHENTICATED", "FORBIDDEN", "OK", "FORBIDDEN", "OK"]),
        (award(&format!("{{id: \"{id}\"}}")), ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK"]),
        (award("{websiteEmail: \"ann@x.io\"}"), ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "OK", "OK"]),
        (
            "mutation { adjustCoins(user: {telegramId: \"1\"}, delta: 1) { coins } }".into(),
            ["UNAUTHENTICATED", "OK", "FORBIDDEN", "FORBIDDEN", "OK"],
        ),
        (
            "mutation { upsertUser(input: {platform: TELEGRAM, externalId: \"5\", username: \"t\"}) { id } }".into(),
            ["UNAUTHENTICATED", "OK", "FORBIDDEN", "FORBIDDEN", "OK"],
        ),
        (
            "mutation { upsertUser(input: {platform: WEBSITE, externalId: \"w@x.io\", username: \"w\"}) { id } }".into(),
            ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "OK", "OK"],
        ),
        (
            "mutation { linkPlatform(user: {telegramId: \"5\"}, platform: DISCORD, externalId: \"6\") { id } }".into(),
            ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK"],
        ),
        // The website links identities to the account it authenticated (by email) only:
        // attaching an email to somebody else's account would let it act on that account.
        (
            "mutation { linkPlatform(user: {telegramId: \"5\"}, platform: WEBSITE, externalId: \"evil@x.io\") { id } }".into(),
            ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK"],
        ),
        (
            "mutation { linkPlatform(user: {websiteEmail: \"w@x.io\"}, platform: DISCORD, externalId: \"7\") { id } }".into(),
            ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "OK", "OK"],
        ),
        ("{ pendingEvents(consumer: \"c\") { cursor } }".into(), ["UNAUTHENTICATED", "OK", "OK", "OK", "OK"]),
        (
            "{ user(ref: {websiteEmail: \"ann@x.io\"}) { id } }".into(),
            ["FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK", "OK"],
        ),
        ("{ user(ref: {telegramId: \"1\"}) { id } }".into(), ["FORBIDDEN", "OK", "OK", "OK", "OK"]),
        (format!("{{ user(ref: {{id: \"{id}\"}}) {{ id }} }}"), ["OK", "OK", "OK", "OK", "OK"]),
        ("{ leaderboard { nodes { xp } } ranks { id } achievements { code } }".into(), ["OK", "OK", "OK", "OK", "OK"]),
    ];
    let callers = [
        None,
        Some(k.telegram.as_str()),
        Some(k.discord.as_str()),
        Some(k.website.as_str()),
        Some(app.admin.as_str()),
    ];
    let mut wrong = Vec::new();
    for (query, expected) in &cases {
        for (caller, want) in callers.iter().zip(expected) {
            let res = app.gql_as(*caller, query, json!({})).await;
            if code(&res) != *want {
                wrong.push(format!(
                    "{query} as #{:?}: want {want}, got {res}",
                    callers.iter().position(|c| c == caller)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn private_fields_follow_the_role() {
    let app = TestApp::start().await;
    let k = keys(&app).await;
    let id = app.telegram_user("1", "ann").await;
    app.ok("mutation { linkPlatform(user: {telegramId: \"1\"}, platform: WEBSITE, externalId: \"ann@x.io\") { id } }", json!({})).await;
    app.ok(
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 5, reason: \"secret note\") { xp } }",
        json!({}),
    )
    .await;
    let q = format!(
        "{{ user(ref: {{id: \"{id}\"}}) {{ username telegramId websiteEmail }} leaderboard {{ nodes {{ user {{ telegramId websiteEmail }} }} }} events(filter: {{types: [XP_CHANGE]}}) {{ nodes {{ data }} }} }}"
    );
    app.settled().await;
    let public = app.gql_as(None, &q, json!({})).await;
    assert_eq!(
        public["data"]["user"],
        json!({"username": "ann", "telegramId": null, "websiteEmail": null})
    );
    assert_eq!(
        public["data"]["leaderboard"]["nodes"][0]["user"],
        json!({"telegramId": null, "websiteEmail": null})
    );
    let public_data = &public["data"]["events"]["nodes"][0]["data"];
    assert!(
        public_data.get("reason").is_none() && public_data["delta"] == 5,
        "{public_data}"
    );

    let bot = app.gql_as(Some(&k.discord), &q, json!({})).await;
    assert_eq!(
        bot["data"]["user"],
        json!({"username": "ann", "telegramId": "1", "websiteEmail": null})
    );
    assert_eq!(bot["data"]["events"]["nodes"][0]["data"]["reason"], "secret note");
    let site = app.gql_as(Some(&k.website), &q, json!({})).await;
    assert_eq!(site["data"]["user"]["websiteEmail"], "ann@x.io");
}

#[tokio::test]
async fn events_record_the_key_and_its_platform() {
    let app = TestApp::start().await;
    let k = keys(&app).await;
    app.telegram_user("1", "ann").await;
    app.gql_as(
        Some(&k.telegram),
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }",
        json!({}),
    )
    .await;
    let (source, key): (String, String) = sqlx::query_as(
        "SELECT e.source_platform, k.name FROM cross_platform_events e JOIN api_keys k ON k.id = e.api_key_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((source.as_str(), key.as_str()), ("telegram", "tg-bot"));
}

#[tokio::test]
async fn bad_and_revoked_keys_are_refused_over_http() {
    let app = TestApp::start().await;
    for header in [
        "Bearer ttfd_not-a-key",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "ttfd_raw",
    ] {
        let res = app
            .http
            .post(&app.url)
            .header("authorization", header)
            .json(&json!({"query": "{ ranks { id } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }

    // The CLI creates a key against the database with no server involved, and revokes it.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
            .args(args)
            .env("DATABASE_URL", url_of(&app.db))
            .output()
            .unwrap()
    };
    let out = cli(&[
        "keys",
        "create",
        "--name",
        "discord-bot",
        "--role",
        "bot",
        "--platform",
        "discord",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE name = 'discord-bot'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        ttfd::auth::hash(&secret).to_vec(),
        "only the hash is stored"
    );
    let listed = String::from_utf8(cli(&["keys", "list"]).stdout).unwrap();
    assert!(listed.contains("discord-bot") && !listed.contains(&secret));

    app.telegram_user("1", "a").await;
    app.ok(
        "mutation { linkPlatform(user: {telegramId: \"1\"}, platform: DISCORD, externalId: \"2\") { id } }",
        json!({}),
    )
    .await;
    let award = "mutation { awardXp(user: {discordId: \"2\"}, delta: 1) { xp } }";
    assert_eq!(code(&app.gql_as(Some(&secret), award, json!({})).await), "OK");
    assert!(cli(&["keys", "revoke", "discord-bot"]).status.success());
    // Revocation reaches the server with the commit's NOTIFY.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let res = app.gql_as(Some(&secret), award, json!({})).await;
        if code(&res) == "UNAUTHENTICATED" {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked key still works: {res}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !cli(&["keys", "revoke", "discord-bot"]).status.success(),
        "revoking twice is an error"
    );
}

const SUB: &str = "subscription { events { cursor } }";

#[tokio::test]
async fn websockets_refuse_bad_keys_and_close_when_a_key_is_revoked() {
    let app = TestApp::start().await;
    let k = keys(&app).await;

    let mut bad = python_subscriber_with_key(
        &app.ws_url,
        "transport",
        SUB,
        json!({}),
        1,
        0.0,
        Some("ttfd_forged"),
    );
    let line = bad
        .line(Duration::from_secs(20))
        .await
        .expect("the client reports");
    assert_eq!(line["code"], 4403, "{line}");

    let mut bot = python_subscriber_with_key(
        &app.ws_url,
        "transport",
        SUB,
        json!({}),
        1,
        0.0,
        Some(&k.telegram),
    );
    bot.connected().await;
    let mut public = node_subscriber(&app.ws_url, SUB, json!({}), 1);
    public.connected().await;
    app.wait_subscribers(2).await;
    sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE name = 'tg-bot'")
        .execute(&app.pool)
        .await
        .unwrap();
    let line = bot
        .line(Duration::from_secs(20))
        .await
        .expect("the client reports");
    assert_eq!(
        line["code"], 4403,
        "revoked key's socket closes with 4403: {line}"
    );
    // The public connection is untouched and still delivers.
    app.telegram_user("1", "a").await;
    app.award("1", 1).await;
    assert_eq!(public.results(1, Duration::from_secs(20)).await.len(), 1);
}

/// A pull consumer belongs to the role that created it: another bot or the website gets
/// FORBIDDEN on its position, admins list and reset consumers, and one role's consumers are
/// bounded in number.
#[tokio::test]
async fn consumers_belong_to_the_role_that_made_them() {
    let app = TestApp::start().await;
    let k = keys(&app).await;
    app.telegram_user("1", "ann").await;
    app.award("1", 5).await;
    app.settled().await;
    let read = "{ pendingEvents(consumer: \"tg-sync\") { cursor } }";
    let first = app.gql_as(Some(&k.telegram), read, json!({})).await;
    let cursor = first["data"]["pendingEvents"][0]["cursor"].clone();
    let ack = "mutation($u: String!) { ackEvents(consumer: \"tg-sync\", upTo: $u) }";
    let acked = app.gql_as(Some(&k.telegram), ack, json!({ "u": cursor })).await;
    assert_eq!(code(&acked), "OK", "{acked}");
    for other in [&k.discord, &k.website] {
        assert_eq!(code(&app.gql_as(Some(other), read, json!({})).await), "FORBIDDEN");
        assert_eq!(
            code(&app.gql_as(Some(other), ack, json!({ "u": cursor })).await),
            "FORBIDDEN"
        );
    }
    assert_eq!(
        code(&app.gql(read, json!({})).await),
        "OK",
        "admins read any consumer"
    );
    let listed = app.ok("{ consumers { name owner position } }", json!({})).await;
    assert_eq!(
        listed["consumers"],
        json!([{ "name": "tg-sync", "owner": "bot:telegram", "position": cursor }])
    );
    assert_eq!(
        code(
            &app.gql_as(Some(&k.telegram), "{ consumers { name } }", json!({}))
                .await
        ),
        "FORBIDDEN"
    );
    let reset = app
        .ok("mutation { resetConsumer(consumer: \"tg-sync\") }", json!({}))
        .await;
    assert_eq!(reset["resetConsumer"], true);
    let claimed = app.gql_as(Some(&k.discord), ack, json!({ "u": cursor })).await;
    assert_eq!(code(&claimed), "OK", "after a reset the name is free: {claimed}");

    for n in 1..ttfd::service::events::MAX_CONSUMERS_PER_OWNER {
        let q = format!("mutation($u: String!) {{ ackEvents(consumer: \"w{n}\", upTo: $u) }}");
        assert_eq!(
            code(&app.gql_as(Some(&k.discord), &q, json!({ "u": cursor })).await),
            "OK"
        );
    }
    let over = "mutation($u: String!) { ackEvents(consumer: \"one-too-many\", upTo: $u) }";
    assert_eq!(
        code(&app.gql_as(Some(&k.discord), over, json!({ "u": cursor })).await),
        "INVALID_INPUT"
    );
    assert_eq!(
        code(&app.gql_as(Some(&k.telegram), over, json!({ "u": cursor })).await),
        "OK",
        "the bound is per role"
    );
}

/// A revocation that lands while a key is being looked up must not leave the revoked key in
/// the cache: the lookup's result is cached only if no key changed meanwhile. The race is
/// forced here step by step through the same calls `verify` makes.
#[tokio::test]
async fn a_revocation_during_a_lookup_is_not_undone_by_the_cache() {
    let app = TestApp::start().await;
    let secret = create_key(&app.pool, "racing-bot", Role::Bot(Platform::Telegram)).await;
    let keys = &app.state.keys;
    let digest = ttfd::auth::hash(&secret);
    let before = keys.generation();
    let read = ttfd::db::api_keys::find_live(&app.pool, &digest)
        .await
        .unwrap()
        .unwrap()
        .key()
        .unwrap();
    let name = ttfd::domain::Name::parse("name", "racing-bot").unwrap();
    assert!(ttfd::db::api_keys::revoke(&app.pool, &name).await.unwrap());
    keys.changed(ttfd::auth::KeyChange::One(read.id));
    assert!(
        !keys.remember(digest, read, before),
        "a read older than the change is not cached"
    );
    assert!(keys.verify(&secret).await.is_err(), "the revoked key is refused");
}
