//! Live cross-platform events through real clients we did not write: the npm graphql-ws client
//! and the Python gql library (both websocket protocols), against real PostgreSQL.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::harness::{
    TestApp, node_subscriber, post_to, python_subscriber, python_subscriber_with_key, spawn_server,
};

const SUB: &str = "subscription($f: EventFilter, $a: String) {
    events(filter: $f, after: $a) { id cursor type sourcePlatform userId data user { username } } }";

const MINUTE: Duration = Duration::from_secs(60);

/// The event of a result, whichever client printed it (graphql-ws keeps `data`, gql strips it).
fn event(result: &Value) -> &Value {
    if result.get("data").is_some() {
        &result["data"]["events"]
    } else {
        &result["events"]
    }
}

fn types(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| event(r)["type"].as_str().unwrap().to_owned())
        .collect()
}

fn cursors(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| event(r)["cursor"].as_str().unwrap().to_owned())
        .collect()
}

async fn discord_user(app: &TestApp, id: &str, name: &str) {
    app.ok(
        "mutation($id: String!, $n: String!) { upsertUser(input: {platform: DISCORD, externalId: $id, username: $n}) { id } }",
        json!({"id": id, "n": name}),
    )
    .await;
}

/// Every event cursor in the history, oldest first.
async fn history(app: &TestApp, after: Option<&str>) -> Vec<Value> {
    app.settled().await;
    history_now(app, after).await
}

/// The history as readable right now, without waiting for running transactions.
async fn history_now(app: &TestApp, after: Option<&str>) -> Vec<Value> {
    let data = app
        .ok(
            "query($a: String) { events(first: 500, after: $a) { nodes { cursor type data } pageInfo { hasNextPage } } }",
            json!({"a": after}),
        )
        .await;
    assert_eq!(data["events"]["pageInfo"]["hasNextPage"], false);
    data["events"]["nodes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn live_delivery_and_filters_with_both_protocols() {
    let app = TestApp::start().await;
    app.telegram_user("1", "tg").await;
    discord_user(&app, "2", "dc").await;

    let mut everything = node_subscriber(&app.ws_url, SUB, json!({}), 4);
    let mut rank_ups = python_subscriber(
        &app.ws_url,
        "transport",
        SUB,
        json!({"f": {"types": ["RANK_UP"]}}),
        1,
        0.0,
    );
    // The legacy protocol, upgraded on /graphql itself.
    let mut discord = python_subscriber(
        &app.url.replace("http", "ws"),
        "legacy",
        SUB,
        json!({"f": {"platforms": ["DISCORD"]}}),
        1,
        0.0,
    );
    for c in [&mut everything, &mut rank_ups, &mut discord] {
        c.connected().await;
    }
    app.wait_subscribers(3).await;

    app.award("1", 150).await; // xp_change, rank_up, coins_change from Telegram
    app.ok(
        "mutation { awardXp(user: {discordId: \"2\"}, delta: 10) { xp } }",
        json!({}),
    )
    .await;

    let all = everything.results(4, MINUTE).await;
    assert_eq!(
        types(&all),
        vec!["XP_CHANGE", "RANK_UP", "COINS_CHANGE", "XP_CHANGE"]
    );
    assert_eq!(event(&all[0])["sourcePlatform"], "TELEGRAM");
    assert_eq!(event(&all[0])["user"]["username"], "tg");
    assert_eq!(event(&all[0])["data"]["delta"], 150);
    let cs = cursors(&all);
    assert!(cs.windows(2).all(|w| w[0] != w[1]));

    let ranked = rank_ups.results(1, MINUTE).await;
    assert_eq!(types(&ranked), vec!["RANK_UP"]);
    assert_eq!(event(&ranked[0])["data"]["rankId"], 2);
    let from_discord = discord.results(1, MINUTE).await;
    assert_eq!(event(&from_discord[0])["sourcePlatform"], "DISCORD");
    assert_eq!(event(&from_discord[0])["user"]["username"], "dc");
    for c in [everything, rank_ups, discord] {
        c.finish().await;
    }
}

#[tokio::test]
async fn replay_from_a_cursor_then_live_without_gap_or_duplicate() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    for _ in 0..5 {
        app.award("1", 1).await;
    }
    let before = history(&app, None).await;
    assert_eq!(before.len(), 5);
    let from = before[1]["cursor"].as_str().unwrap().to_owned();

    // 3 events to replay, then 4 more written while the clients switch to live.
    let mut node = node_subscriber(&app.ws_url, SUB, json!({"a": from}), 7);
    let mut legacy = python_subscriber(&app.ws_url, "legacy", SUB, json!({"a": from}), 7, 0.0);
    node.connected().await;
    legacy.connected().await;
    join_all((0..4).map(|_| app.award("1", 1))).await;

    let expected: Vec<String> = history(&app, Some(&from))
        .await
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(expected.len(), 7);
    assert_eq!(cursors(&node.results(7, MINUTE).await), expected);
    assert_eq!(cursors(&legacy.results(7, MINUTE).await), expected);
    // Nothing more arrives: no duplicate at the switch.
    let extra = node.line(Duration::from_millis(500)).await;
    assert!(
        extra.as_ref().is_none_or(|l| l.get("next").is_none()),
        "{extra:?}"
    );
}

async fn insert_raw_event(conn: &mut PgConnection, user: &str, tag: &str) {
    sqlx::query(
        "INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data) \
         VALUES (gen_random_uuid(), $1::uuid, 'xp_change', 'telegram', jsonb_build_object('tag', $2::text))",
    )
    .bind(user)
    .bind(tag)
    .execute(conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_transaction_committing_late_is_never_skipped() {
    let app = TestApp::start().await;
    let user = app.telegram_user("1", "a").await;
    app.award("1", 1).await;
    let marker = app.last_cursor().await.unwrap();
    let mut subscriber = node_subscriber(&app.ws_url, SUB, json!({"a": marker}), 2);
    subscriber.connected().await;
    app.wait_subscribers(1).await;

    // A takes the lower position, B the higher one, and B commits first.
    let mut a = PgConnection::connect_with(&app.db).await.unwrap();
    let mut b = PgConnection::connect_with(&app.db).await.unwrap();
    sqlx::query("BEGIN").execute(&mut a).await.unwrap();
    insert_raw_event(&mut a, &user, "A").await;
    sqlx::query("BEGIN").execute(&mut b).await.unwrap();
    insert_raw_event(&mut b, &user, "B").await;
    sqlx::query("COMMIT").execute(&mut b).await.unwrap();

    // While A is open, B is held back everywhere: no cursor past A's place is handed out.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(history_now(&app, Some(&marker)).await.is_empty());
    assert_eq!(
        history_now(&app, None).await.last().unwrap()["cursor"],
        marker.as_str()
    );
    let early = subscriber.line(Duration::from_millis(200)).await;
    assert!(early.is_none(), "B must not be delivered before A: {early:?}");
    let pending = app
        .ok("{ pendingEvents(consumer: \"late\") { data } }", json!({}))
        .await;
    assert_eq!(
        pending["pendingEvents"].as_array().unwrap().len(),
        1,
        "only the marker is readable"
    );

    sqlx::query("COMMIT").execute(&mut a).await.unwrap();
    let got = subscriber.results(2, MINUTE).await;
    let tags: Vec<&str> = got
        .iter()
        .map(|r| event(r)["data"]["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["A", "B"]);
    // Resuming from the marker, and from A, still sees what came after.
    let tags: Vec<String> = history(&app, Some(&marker))
        .await
        .iter()
        .map(|e| e["data"]["tag"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, vec!["A", "B"]);
    let after_a = cursors(&got)[0].clone();
    assert_eq!(history(&app, Some(&after_a)).await[0]["data"]["tag"], "B");
}

#[tokio::test]
async fn the_listener_reconnects_after_pg_terminate_backend_and_loses_nothing() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    let mut subscriber = node_subscriber(&app.ws_url, SUB, json!({}), 3);
    subscriber.connected().await;
    app.wait_subscribers(1).await;

    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true], "exactly one listening connection per process");
    // Written by another process while this one's listener is down or reconnecting: its
    // doorbells may be lost, the events may not.
    let (_writer, writer) = spawn_server(&app, &[]).await;
    for _ in 0..3 {
        let res = post_to(
            &writer,
            &app.admin,
            "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }",
        )
        .await;
        assert!(res["data"]["awardXp"]["xp"].is_number(), "{res}");
    }
    let got = subscriber.results(3, MINUTE).await;
    let xps: Vec<i64> = got
        .iter()
        .map(|r| event(r)["data"]["xp"].as_i64().unwrap())
        .collect();
    assert_eq!(xps, vec![1, 2, 3]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let reconnects = app
            .state
            .events
            .stats
            .listener_reconnects
            .load(std::sync::atomic::Ordering::Relaxed);
        if reconnects >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the listener noticed the lost connection"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_server_processes_on_one_database_both_deliver_every_event() {
    // Neither process reads the log on a timer within the test's minute: every live delivery
    // below comes from the doorbell the writing process rings after its commit.
    let app = TestApp::start_with(ttfd::state::StateConfig {
        event_poll_interval: std::time::Duration::from_secs(600),
        ..Default::default()
    })
    .await;
    app.telegram_user("1", "a").await;
    app.award("1", 1).await;
    let marker = app.last_cursor().await.unwrap();
    let (_second, base2) = spawn_server(&app, &[("TTFD_EVENT_POLL_MS", "600000")]).await;
    let ws2 = format!("{}/graphql/ws", base2.replace("http", "ws"));

    let mut on_first = node_subscriber(&app.ws_url, SUB, json!({"a": marker}), 2);
    let mut on_second = python_subscriber(&ws2, "transport", SUB, json!({"a": marker}), 2, 0.0);
    on_first.connected().await;
    on_second.connected().await;

    // One change through each process.
    let via_second: Value = reqwest::Client::new()
        .post(format!("{base2}/graphql"))
        .bearer_auth(&app.admin)
        .json(&json!({"query": "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_second["data"]["awardXp"]["xp"], 2);
    app.award("1", 1).await;

    let first = on_first.results(2, MINUTE).await;
    let second = on_second.results(2, MINUTE).await;
    assert_eq!(cursors(&first), cursors(&second));
    let xps: Vec<i64> = first
        .iter()
        .map(|r| event(r)["data"]["xp"].as_i64().unwrap())
        .collect();
    assert_eq!(xps, vec![2, 3]);
}

/// Writes `n` raw events numbered 1..=n in `data.n` (with `pad` bytes of padding), 100 per
/// transaction.
async fn burst(app: &TestApp, user: &str, n: usize, pad: i32) {
    for batch in 0..(n / 100) {
        sqlx::query(
            "INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data) \
             SELECT gen_random_uuid(), $1::uuid, 'xp_change', 'telegram', \
                 jsonb_build_object('n', $2 * 100 + i, 'pad', repeat('x', $3)) \
             FROM generate_series(1, 100) AS i",
        )
        .bind(user)
        .bind(batch as i32)
        .bind(pad)
        .execute(&app.pool)
        .await
        .unwrap();
    }
}

/// The `data.n` of each result.
fn numbers(results: &[Value]) -> Vec<i64> {
    results
        .iter()
        .map(|r| event(r)["data"]["n"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_slow_subscriber_catches_up_from_the_table_without_slowing_others() {
    let app = TestApp::start_with(ttfd::state::StateConfig {
        event_buffer: 16,
        ..Default::default()
    })
    .await;
    let user = app.telegram_user("1", "a").await;
    app.award("1", 1).await;
    let marker = app.last_cursor().await.unwrap();
    const N: usize = 3000;
    let mut fast = node_subscriber(&app.ws_url, SUB, json!({"a": marker}), N);
    let mut slow = python_subscriber(&app.ws_url, "transport", SUB, json!({"a": marker}), N, 0.002);
    fast.connected().await;
    slow.connected().await;
    app.wait_subscribers(2).await;

    // A burst far larger than the ring and the socket buffers.
    burst(&app, &user, N, 0).await;
    let expected: Vec<i64> = (1..=N as i64).collect();

    let fast_got = fast.results(N, MINUTE).await;
    assert_eq!(numbers(&fast_got), expected);
    // The fast client finished while the slow one is still reading.
    let mut slow_got = slow.results(1, MINUTE).await;
    slow_got.extend(slow.results(N - 1, Duration::from_secs(120)).await);
    assert_eq!(numbers(&slow_got), expected, "every event once, in order");
    let lagged = app
        .state
        .events
        .stats
        .lagged
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        lagged >= 1,
        "the slow subscriber fell behind the ring and read the table instead"
    );
}

/// Subscriptions with the same document, variables and caller share one execution: each
/// event is read and resolved once per group, every member gets the same payload, and a
/// caller with other rights is never served another's.
#[tokio::test]
async fn identical_subscriptions_share_one_execution_and_callers_do_not_share() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let from_now = json!({"a": null});
    let mut public: Vec<_> = (0..3)
        .map(|_| node_subscriber(&app.ws_url, SUB, from_now.clone(), 3))
        .collect();
    let mut admin = python_subscriber_with_key(
        &app.ws_url,
        "transport",
        SUB,
        from_now.clone(),
        3,
        0.0,
        Some(&app.admin),
    );
    for c in public.iter_mut().chain([&mut admin]) {
        c.connected().await;
    }
    app.wait_subscribers(4).await;
    let delivered = || {
        app.state
            .events
            .stats
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = delivered();
    app.ok(
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 150, reason: \"quest\") { xp } }",
        json!({}),
    )
    .await; // xp_change, rank_up, coins_change

    let mut seen = Vec::new();
    for c in &mut public {
        seen.push(c.results(3, MINUTE).await);
    }
    assert_eq!(types(&seen[0]), vec!["XP_CHANGE", "RANK_UP", "COINS_CHANGE"]);
    assert!(
        seen.iter().all(|s| *s == seen[0]),
        "every member gets the same payload: {seen:#?}"
    );
    assert_eq!(
        event(&seen[0][0])["data"].get("reason"),
        None,
        "the public never sees a reason"
    );
    let admins = admin.results(3, MINUTE).await;
    assert_eq!(event(&admins[0])["data"]["reason"], "quest");
    assert_eq!(cursors(&admins), cursors(&seen[0]));
    // Two groups (the public's, the admin key's), three events each.
    assert_eq!(
        delivered() - before,
        6,
        "each event read once per group, not per subscriber"
    );
    for c in public.into_iter().chain([admin]) {
        c.finish().await;
    }
}

/// A member too slow for its group leaves it and catches up alone from the last event it got:
/// it loses and repeats nothing, and the others are not held back. The slow member is a raw
/// socket that stops reading; events of 16 kB fill the socket buffers, so its queue backs up
/// into the group's.
#[tokio::test]
async fn a_slow_member_of_a_shared_subscription_catches_up_alone() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let http = ttfd::http::HttpConfig {
        ws: ttfd::http::ws::WsConfig {
            shared_queue: 16,
            write_timeout: MINUTE,
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TestApp::start_full(Default::default(), http).await;
    let user = app.telegram_user("1", "a").await;
    const N: usize = 3000;
    let mut fast = node_subscriber(&app.ws_url, SUB, json!({"a": null}), N);
    fast.connected().await;
    let mut request = app.ws_url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut slow, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let subscribe =
        json!({"type": "subscribe", "id": "s", "payload": {"query": SUB, "variables": {"a": null}}});
    for message in [json!({"type": "connection_init"}), subscribe] {
        slow.send(Message::text(message.to_string())).await.unwrap();
    }
    app.wait_subscribers(2).await;
    burst(&app, &user, N, 16_000).await;
    let expected: Vec<i64> = (1..=N as i64).collect();
    // The fast member gets everything while the slow one reads nothing.
    assert_eq!(numbers(&fast.results(N, MINUTE).await), expected);
    let mut got = Vec::new();
    while got.len() < N {
        let message = tokio::time::timeout(MINUTE, slow.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        match v["type"].as_str() {
            Some("next") => got.push(v["payload"].clone()),
            Some("connection_ack" | "ping") => {}
            _ => panic!("unexpected message {v}"),
        }
    }
    assert_eq!(numbers(&got), expected, "every event once, in order");
    let left = app
        .state
        .events
        .stats
        .left_behind
        .load(std::sync::atomic::Ordering::Relaxed);
    // At least the slow member left; on a loaded machine the fast one may fall 16 events behind
    // too, which is allowed (it then also catches up alone, as its results above show).
    assert!(left >= 1, "the slow member left its group");
    fast.finish().await;
}

const PENDING: &str = "query($c: String!, $n: Int) { pendingEvents(consumer: $c, first: $n) { cursor type data user { username } } }";
const ACK: &str = "mutation($c: String!, $u: String!) { ackEvents(consumer: $c, upTo: $u) }";

async fn pending(app: &TestApp, consumer: &str) -> Vec<Value> {
    app.settled().await;
    app.ok(PENDING, json!({"c": consumer})).await["pendingEvents"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn pending_and_ack_keep_a_position_per_consumer() {
    let app = TestApp::start().await;
    app.telegram_user("1", "a").await;
    for _ in 0..3 {
        app.award("1", 1).await;
    }
    let telegram = pending(&app, "telegram-bot").await;
    assert_eq!(telegram.len(), 3);
    assert_eq!(telegram[0]["user"]["username"], "a");
    assert_eq!(pending(&app, "discord-bot").await.len(), 3);

    let acked = app
        .ok(ACK, json!({"c": "telegram-bot", "u": telegram[1]["cursor"]}))
        .await;
    assert_eq!(acked["ackEvents"], 2);
    let left = pending(&app, "telegram-bot").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["cursor"], telegram[2]["cursor"]);
    assert_eq!(
        pending(&app, "discord-bot").await.len(),
        3,
        "consumers are independent"
    );
    // Positions only move forward; acknowledging again is a no-op.
    assert_eq!(
        app.ok(ACK, json!({"c": "telegram-bot", "u": telegram[0]["cursor"]}))
            .await["ackEvents"],
        0
    );
    assert_eq!(
        app.ok(ACK, json!({"c": "telegram-bot", "u": telegram[1]["cursor"]}))
            .await["ackEvents"],
        0
    );
    assert_eq!(
        app.ok(ACK, json!({"c": "discord-bot", "u": telegram[2]["cursor"]}))
            .await["ackEvents"],
        3
    );
    assert!(pending(&app, "discord-bot").await.is_empty());
    // A first page of one.
    let one = app.ok(PENDING, json!({"c": "new-bot", "n": 1})).await;
    assert_eq!(one["pendingEvents"].as_array().unwrap().len(), 1);

    let beyond = ttfd::domain::cursor::EventCursor {
        txid: i64::MAX - 1,
        seq: 1,
    }
    .encode();
    let bad = [
        (ACK, json!({"c": "telegram-bot", "u": "garbage"})),
        (ACK, json!({"c": "telegram-bot", "u": beyond})),
        (ACK, json!({"c": "bad name!", "u": telegram[0]["cursor"]})),
        (PENDING, json!({"c": ""})),
        (PENDING, json!({"c": "ok", "n": 0})),
        (PENDING, json!({"c": "ok", "n": 100000})),
    ];
    for (q, vars) in bad {
        assert_eq!(app.err_code(q, vars.clone()).await, "INVALID_INPUT", "{vars}");
    }
    assert!(
        pending(&app, "telegram-bot").await.len() == 1,
        "rejected acks moved nothing"
    );
}

/// Retention prunes old activity events only: the ledger (and what a revert needs) stays,
/// and consumers' positions survive.
#[tokio::test]
async fn retention_prunes_old_activity_and_keeps_the_ledger() {
    let app = TestApp::start_with(ttfd::state::StateConfig {
        retention: Some(ttfd::events::RetentionConfig {
            max_age: Some(Duration::from_secs(86_400)),
            idempotency_max_age: Duration::from_secs(3600),
            interval: Duration::from_millis(100),
        }),
        ..Default::default()
    })
    .await;
    app.telegram_user("1", "a").await;
    let game = "mutation($k: String) { recordGame(user: {telegramId: \"1\"}, gameType: \"quiz\", won: false, xp: 1, idempotencyKey: $k) { xp } }";
    for k in ["g1", "g2", "g3"] {
        app.ok(game, json!({ "k": k })).await;
    }
    let all = pending(&app, "bot").await;
    assert_eq!(all.len(), 6, "three games, three XP changes");
    app.ok(ACK, json!({"c": "bot", "u": all[0]["cursor"]})).await;
    sqlx::query("UPDATE cross_platform_events SET created_at = now() - interval '2 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '2 hours' WHERE key = 'g1'")
        .execute(&app.pool)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.count("cross_platform_events").await != 3 || app.count("idempotency_keys").await != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "old activity and keys were not pruned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT event_type FROM cross_platform_events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["xp_change"], "the ledger stays");
    let left = pending(&app, "bot").await;
    assert_eq!(left.len(), 2, "after the acknowledged XP change, two remain");
    assert_eq!(pending(&app, "newcomer").await.len(), 3);
    // The forgotten key is a new request; the kept one still answers the first result.
    app.ok(game, json!({ "k": "g1" })).await;
    app.ok(game, json!({ "k": "g2" })).await;
    assert_eq!(app.count("idempotency_keys").await, 3);
}

#[tokio::test]
async fn history_pages_and_filters() {
    let app = TestApp::start().await;
    let tg = app.telegram_user("1", "a").await;
    discord_user(&app, "2", "b").await;
    app.award("1", 150).await;
    app.ok(
        "mutation { awardXp(user: {discordId: \"2\"}, delta: 10) { xp } }",
        json!({}),
    )
    .await;
    app.settled().await;
    let q = "query($f: EventFilter, $n: Int, $a: String) { events(filter: $f, first: $n, after: $a) {
        edges { cursor node { type sourcePlatform userId } } pageInfo { hasNextPage endCursor } } }";
    let page1 = app.ok(q, json!({"n": 2})).await;
    assert_eq!(page1["events"]["pageInfo"]["hasNextPage"], true);
    let after = page1["events"]["pageInfo"]["endCursor"].clone();
    let page2 = app.ok(q, json!({"n": 10, "a": after})).await;
    assert_eq!(page2["events"]["edges"].as_array().unwrap().len(), 2);
    assert_eq!(page2["events"]["pageInfo"]["hasNextPage"], false);

    let discord = app.ok(q, json!({"f": {"platforms": ["DISCORD"]}})).await;
    assert_eq!(discord["events"]["edges"].as_array().unwrap().len(), 1);
    let by_user = app
        .ok(
            q,
            json!({"f": {"userId": tg, "types": ["RANK_UP", "COINS_CHANGE"]}}),
        )
        .await;
    let kinds: Vec<&str> = by_user["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["RANK_UP", "COINS_CHANGE"]);
    for bad in [
        json!({"a": "nope"}),
        json!({"f": {"types": []}}),
        json!({"f": {"userId": "x"}}),
        json!({"n": 501}),
    ] {
        assert_eq!(app.err_code(q, bad.clone()).await, "INVALID_INPUT", "{bad}");
    }
}

/// Raw protocol checks: these need a client that can misbehave on purpose.
mod protocol {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use crate::harness::TestApp;

    type Socket =
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    async fn app() -> TestApp {
        let ws = ttfd::http::ws::WsConfig {
            init_timeout: Duration::from_millis(300),
            ping_interval: Duration::from_millis(200),
            max_operations: 2,
            ..Default::default()
        };
        TestApp::start_full(
            Default::default(),
            ttfd::http::HttpConfig {
                ws,
                ..Default::default()
            },
        )
        .await
    }

    async fn connect(app: &TestApp, protocol: &str) -> Socket {
        let mut request = app.ws_url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        socket
    }

    async fn send(s: &mut Socket, v: Value) {
        s.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next protocol message (pings from the server are skipped unless asked for).
    async fn next(s: &mut Socket, skip_pings: bool) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), s.next())
                .await
                .expect("no message")
                .unwrap()
                .unwrap();
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if skip_pings && (v["type"] == "ping" || v["type"] == "ka") {
                        continue;
                    }
                    return v;
                }
                Message::Close(frame) => {
                    return json!({"closed": frame.map(|f| u16::from(f.code)), });
                }
                _ => {}
            }
        }
    }

    async fn closed_with(s: &mut Socket) -> u16 {
        loop {
            let v = next(s, true).await;
            if let Some(code) = v.get("closed") {
                return code.as_u64().unwrap() as u16;
            }
        }
    }

    async fn init(s: &mut Socket) {
        send(s, json!({"type": "connection_init", "payload": {}})).await;
        assert_eq!(next(s, true).await["type"], "connection_ack");
    }

    fn subscribe(id: &str, query: &str) -> Value {
        json!({"type": "subscribe", "id": id, "payload": {"query": query}})
    }

    const LIVE: &str = "subscription { events { cursor } }";

    #[tokio::test]
    async fn close_codes_follow_the_spec() {
        let app = app().await;
        let mut s = connect(&app, "graphql-transport-ws").await;
        assert_eq!(closed_with(&mut s).await, 4408, "no connection_init in time");

        let mut s = connect(&app, "graphql-transport-ws").await;
        s.send(Message::text("{not json")).await.unwrap();
        assert_eq!(closed_with(&mut s).await, 4400);

        let mut s = connect(&app, "graphql-transport-ws").await;
        send(&mut s, json!({"type": "what"})).await;
        assert_eq!(closed_with(&mut s).await, 4400);

        let mut s = connect(&app, "graphql-transport-ws").await;
        send(&mut s, subscribe("1", LIVE)).await;
        assert_eq!(closed_with(&mut s).await, 4401, "subscribe before the ack");

        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s).await;
        send(&mut s, json!({"type": "connection_init"})).await;
        assert_eq!(closed_with(&mut s).await, 4429);

        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s).await;
        send(&mut s, subscribe("same", LIVE)).await;
        send(&mut s, subscribe("same", LIVE)).await;
        assert_eq!(closed_with(&mut s).await, 4409);
    }

    #[tokio::test]
    async fn pings_errors_caps_and_completion() {
        let app = app().await;
        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s).await;
        assert_eq!(
            next(&mut s, false).await["type"],
            "ping",
            "the server pings idle clients"
        );
        send(&mut s, json!({"type": "ping"})).await;
        assert_eq!(next(&mut s, true).await["type"], "pong");

        // A validation error is an `error` message for that id, and the connection stays.
        send(&mut s, subscribe("bad", "subscription { nope }")).await;
        let err = next(&mut s, true).await;
        assert_eq!(
            (err["type"].as_str(), err["id"].as_str()),
            (Some("error"), Some("bad"))
        );
        assert!(err["payload"][0]["message"].is_string());

        // At most two operations per connection here; a completed one frees its place.
        send(&mut s, subscribe("a", LIVE)).await;
        send(&mut s, subscribe("b", LIVE)).await;
        send(&mut s, subscribe("c", LIVE)).await;
        let refused = next(&mut s, true).await;
        assert_eq!(
            (refused["type"].as_str(), refused["id"].as_str()),
            (Some("error"), Some("c"))
        );
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        send(&mut s, json!({"type": "complete", "id": "a"})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        send(&mut s, subscribe("c", LIVE)).await;
        app.wait_subscribers(2).await;

        // Queries run over the socket too: one `next`, then `complete`.
        send(&mut s, json!({"type": "complete", "id": "b"})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        send(&mut s, subscribe("q", "{ ranks { id } }")).await;
        let result = next(&mut s, true).await;
        assert_eq!(
            (result["type"].as_str(), result["id"].as_str()),
            (Some("next"), Some("q"))
        );
        assert_eq!(result["payload"]["data"]["ranks"].as_array().unwrap().len(), 20);
        assert_eq!(next(&mut s, true).await, json!({"type": "complete", "id": "q"}));
    }

    #[tokio::test]
    async fn the_legacy_protocol_keeps_alive_and_stops() {
        let app = app().await;
        let mut s = connect(&app, "graphql-ws").await;
        send(&mut s, json!({"type": "connection_init", "payload": {}})).await;
        assert_eq!(next(&mut s, false).await["type"], "connection_ack");
        assert_eq!(next(&mut s, false).await["type"], "ka");
        send(
            &mut s,
            json!({"type": "start", "id": "1", "payload": {"query": LIVE}}),
        )
        .await;
        app.wait_subscribers(1).await;
        app.telegram_user("1", "a").await;
        app.award("1", 1).await;
        let data = next(&mut s, true).await;
        assert_eq!(
            (data["type"].as_str(), data["id"].as_str()),
            (Some("data"), Some("1"))
        );
        assert!(data["payload"]["data"]["events"]["cursor"].is_string());
        send(&mut s, json!({"type": "stop", "id": "1"})).await;
        assert_eq!(next(&mut s, true).await, json!({"type": "complete", "id": "1"}));
        send(&mut s, json!({"type": "connection_terminate"})).await;
        assert_eq!(closed_with(&mut s).await, 1000);
    }
}

#[tokio::test]
async fn the_newest_events_come_with_a_cursor_to_follow_on_from() {
    let app = TestApp::start().await;
    let ann = app.telegram_user("1", "ann").await;
    app.telegram_user("2", "bob").await;
    for (who, xp) in [("1", 1), ("2", 2), ("1", 3), ("2", 4), ("1", 5)] {
        app.award(who, xp).await;
    }
    app.settled().await;
    let q = "query($f: EventFilter, $l: Int, $a: String) { events(filter: $f, last: $l, after: $a) {
        nodes { data } pageInfo { endCursor } } }";
    let newest = app.ok(q, json!({"f": {"types": ["XP_CHANGE"]}, "l": 2})).await;
    let deltas: Vec<i64> = newest["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["data"]["delta"].as_i64().unwrap())
        .collect();
    assert_eq!(deltas, vec![4, 5], "the two newest, oldest first");
    let anns = app
        .ok(q, json!({"f": {"types": ["XP_CHANGE"], "userId": ann}, "l": 10}))
        .await;
    assert_eq!(anns["events"]["nodes"].as_array().unwrap().len(), 3);
    // Following on from the newest page misses nothing written after it.
    let end = newest["events"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.award("2", 6).await;
    let after = history(&app, Some(&end)).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["data"]["delta"], 6);
    assert_eq!(app.err_code(q, json!({"l": 2, "a": end})).await, "INVALID_INPUT");
    assert_eq!(app.err_code(q, json!({"l": 0})).await, "INVALID_INPUT");
}

/// A subscription lives across many events: nothing loaded for one event (a user's
/// achievements, position) is served with a later one.
#[tokio::test]
async fn subscriptions_load_each_event_afresh() {
    let app = TestApp::start().await;
    let ann = app.telegram_user("1", "ann").await;
    app.telegram_user("2", "bob").await;
    app.award("2", 100).await;
    let query = "subscription($u: ID!) { events(filter: {userId: $u, types: [XP_CHANGE]}) { user { xp position achievements { achievement { code } } } } }";
    let mut sub = node_subscriber(&app.ws_url, query, json!({ "u": ann }), 3);
    sub.connected().await;
    app.wait_subscribers(1).await;
    // Each event is awaited before the next change, so it is resolved before that change.
    app.award("1", 10).await;
    let first = sub.results(1, Duration::from_secs(20)).await;
    app.ok(
        "mutation { grantAchievement(user: {telegramId: \"1\"}, code: \"first_win\") { id } }",
        json!({}),
    )
    .await;
    let second = sub.results(1, Duration::from_secs(20)).await;
    app.award("2", -100).await;
    app.award("1", 1).await;
    let third = sub.results(1, Duration::from_secs(20)).await;
    let user = |r: &[Value]| r[0]["data"]["events"]["user"].clone();
    assert_eq!(user(&first)["achievements"], json!([]));
    assert_eq!(user(&first)["position"], 2);
    assert_eq!(
        user(&second)["achievements"],
        json!([{ "achievement": { "code": "first_win" } }]),
        "the unlock shows on the next event"
    );
    assert_eq!(user(&third)["position"], 1, "bob fell behind");
    sub.finish().await;
}
