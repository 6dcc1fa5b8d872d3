//! Operations: readiness, metrics, graceful shutdown, several processes on one database.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use ttfd::db::owned::{OwnedOptions, OwnedPostgres};

use crate::harness::{TestApp, create_key, metric, node_subscriber, post_to, spawn_server};
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

async fn wait_for_status(http: &reqwest::Client, url: &str, want: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(res) = http.get(url).send().await {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if status == want {
                return body;
            }
            assert!(Instant::now() < deadline, "{url} stayed {status}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readyz_follows_the_database_away_and_back() {
    let app = TestApp::start().await;
    let http = reqwest::Client::new();
    let ready = wait_for_status(&http, &format!("{}/readyz", app.base), 200).await;
    assert_eq!(
        ready,
        json!({"ready": true, "database": true, "migrations": true, "eventListener": true, "boards": true})
    );
    assert_eq!(
        http.get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A database of its own that the test can stop and start.
    let dir = std::env::temp_dir().join(format!("ttfd-ready-{}", uuid::Uuid::new_v4()));
    let options = OwnedOptions {
        data_dir: dir.clone(),
        max_connections: 50,
        ephemeral: true,
    };
    let pg = OwnedPostgres::start(&options).await.unwrap();
    pg.ensure_database("ttfd").await.unwrap();
    let url = pg.url("ttfd");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &url)
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next_line().await.unwrap().expect("server exited");
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().trim_end_matches("/graphql").to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        base
    };
    let readyz = format!("{base}/readyz");
    wait_for_status(&http, &readyz, 200).await;
    pg.stop().await;
    let down = wait_for_status(&http, &readyz, 503).await;
    assert_eq!(down["database"], false);
    assert_eq!(
        http.get(format!("{base}/healthz")).send().await.unwrap().status(),
        200,
        "alive while unready"
    );

    let pg = OwnedPostgres::start(&options).await.unwrap();
    let back = wait_for_status(&http, &readyz, 200).await;
    assert_eq!(back["ready"], true);
    server.kill().await.ok();
    pg.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn metrics_count_queries_and_subscriptions() {
    let app = TestApp::start().await;
    let operation = format!("Ranks{}", std::process::id());
    let query = format!("query {operation} {{ ranks {{ id }} }}");
    let requests = format!("ttfd_graphql_requests_total{{operation=\"{operation}\",outcome=\"ok\"}}");
    let (waits, batches) = (
        "ttfd_xp_change_wait_seconds_count",
        "ttfd_xp_change_batch_seconds_count",
    );
    let earlier = app.metrics().await;
    let before = metric(&earlier, &requests);
    app.ok(&query, json!({})).await;
    app.ok(&query, json!({})).await;
    // It waits for a second event, so it still holds its subscription when scraped.
    let mut subscriber = node_subscriber(&app.ws_url, "subscription { events { cursor } }", json!({}), 2);
    subscriber.connected().await;
    app.wait_subscribers(1).await;
    app.telegram_user("1", "ann").await;
    app.award("1", 5).await;
    assert_eq!(subscriber.results(1, Duration::from_secs(30)).await.len(), 1);
    let text = app.metrics().await;
    assert_eq!(metric(&text, &requests) - before, 2.0, "{text}");
    assert!(text.contains(&format!(
        "ttfd_graphql_request_duration_seconds_bucket{{operation=\"{operation}\",outcome=\"ok\""
    )));
    assert!(metric(&text, "ttfd_subscriptions") >= 1.0);
    assert!(metric(&text, "ttfd_events_delivered_total") >= 1.0, "{text}");
    assert!(metric(&text, "ttfd_websocket_connections") >= 1.0);
    assert!(text.contains("ttfd_db_pool_connections{state=\"open\"}"));
    assert!(text.contains("ttfd_listener_connected"));
    // The award waited for a batch and ran in one (other tests' awards may count too).
    assert!(metric(&text, waits) > metric(&earlier, waits), "{text}");
    assert!(metric(&text, batches) > metric(&earlier, batches), "{text}");
    assert!(
        text.contains("ttfd_xp_change_wait_seconds_bucket{le=\"0.0005\"}"),
        "{text}"
    );
}

#[tokio::test]
async fn sigterm_loses_no_acknowledged_mutation_and_closes_websockets_with_1001() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let (mut server, base) = spawn_server(&app, &[]).await;
    let ws = format!("{}/graphql/ws", base.replace("http", "ws"));
    let mut subscriber = node_subscriber(&ws, "subscription { events { cursor } }", json!({}), 100_000);
    subscriber.connected().await;

    let client = reqwest::Client::new();
    let award = || async {
        client
            .post(format!("{base}/graphql"))
            .bearer_auth(&app.admin)
            .json(&json!({"query": "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1) { xp } }"}))
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()
    };
    // SIGTERM once 50 awards are acknowledged, while the rest are in flight.
    let pid = nix::unistd::Pid::from_raw(server.id().unwrap() as i32);
    let acked = std::sync::atomic::AtomicUsize::new(0);
    let gate = tokio::sync::Semaphore::new(16);
    let burst = join_all((0..300).map(|_| async {
        let _slot = gate.acquire().await.unwrap();
        let result = award().await;
        if result
            .as_ref()
            .is_some_and(|v| v["data"]["awardXp"]["xp"].is_number())
            && acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == 50
        {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        }
        result
    }));
    let results = burst.await;
    let acknowledged = results
        .iter()
        .filter(|r| r.as_ref().is_some_and(|v| v["data"]["awardXp"]["xp"].is_number()))
        .count();
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "clean exit: {status}");
    assert!(acknowledged > 0);
    let xp: i32 = sqlx::query_scalar("SELECT xp FROM unified_users WHERE telegram_id = '1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        xp as usize >= acknowledged,
        "every acknowledged award is there: xp {xp}, acknowledged {acknowledged}"
    );
    assert!(xp <= 300);

    let mut closed = None;
    while let Some(line) = subscriber.line(Duration::from_secs(10)).await {
        if let Some(code) = line.get("closed") {
            closed = code.as_u64();
            break;
        }
    }
    assert_eq!(
        closed,
        Some(1001),
        "websocket clients are told the server is going away"
    );
}

#[tokio::test]
async fn two_processes_share_idempotency_cooldowns_and_link_codes() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let (_a, base_a) = spawn_server(&app, &[]).await;
    let (_b, base_b) = spawn_server(&app, &[]).await;
    let post = |base: String, query: String| {
        let key = app.admin.clone();
        async move { post_to(&base, &key, &query).await }
    };
    let keyed = "mutation { awardXp(user: {telegramId: \"1\"}, delta: 7, idempotencyKey: \"once\") { xp } }";
    let (first, second) = tokio::join!(
        post(base_a.clone(), keyed.into()),
        post(base_b.clone(), keyed.into())
    );
    assert_eq!(first["data"], second["data"], "{first} {second}");
    let message = "mutation { recordMessage(user: {telegramId: \"1\"}) { delta } }";
    let on_a = post(base_a.clone(), message.into()).await;
    let on_b = post(base_b.clone(), message.into()).await;
    let earned = [&on_a, &on_b]
        .iter()
        .filter(|r| r["data"]["recordMessage"]["delta"].as_i64().unwrap() > 0)
        .count();
    assert_eq!(earned, 1, "one cooldown across processes: {on_a} {on_b}");
    let xp: i32 = sqlx::query_scalar("SELECT xp FROM unified_users WHERE telegram_id = '1'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(xp, 7 + 5);

    // A link code made through one process is redeemed through the other, once.
    let code = post(
        base_a.clone(),
        "mutation { createLinkCode(user: {telegramId: \"1\"}) { code } }".into(),
    )
    .await["data"]["createLinkCode"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let redeem = |base: String, discord: &str| {
        post(
            base,
            format!(
                "mutation {{ redeemLinkCode(code: \"{code}\", user: {{discordId: \"{discord}\"}}) {{ telegramId discordId }} }}"
            ),
        )
    };
    let linked = redeem(base_b.clone(), "42").await;
    assert_eq!(
        linked["data"]["redeemLinkCode"],
        json!({"telegramId": "1", "discordId": "42"}),
        "{linked}"
    );
    let again = redeem(base_a, "43").await;
    assert!(again["errors"].is_array(), "a code works once: {again}");
}

#[tokio::test]
async fn two_processes_share_one_rate_limit() {
    let app = TestApp::start().await;
    let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
    // 60 a minute: a burst of 6 for the key, whichever process it calls.
    let limit = [("TTFD_RATE_LIMIT_PER_KEY", "60")];
    let (_a, base_a) = spawn_server(&app, &limit).await;
    let (_b, base_b) = spawn_server(&app, &limit).await;
    let client = reqwest::Client::new();
    let mut served = [0, 0];
    let mut limited = [0, 0];
    for i in 0..12 {
        let base = if i % 2 == 0 { &base_a } else { &base_b };
        let status = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&bot)
            .json(&json!({"query": "{ ranks { id } }"}))
            .send()
            .await
            .unwrap()
            .status();
        match status.as_u16() {
            200 => served[i % 2] += 1,
            429 => limited[i % 2] += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // Each process alone would serve 6; together they serve the one burst (plus at most the
    // one token that refills each second).
    let total = served[0] + served[1];
    assert!((6..=7).contains(&total), "served {served:?}, limited {limited:?}");
    assert!(
        limited[0] > 0 && limited[1] > 0,
        "both processes refuse: {limited:?}"
    );
}

#[tokio::test]
async fn leaderboard_reads_go_to_the_read_replica_when_configured() {
    let app = TestApp::start().await;
    app.telegram_user("1", "primary").await;
    // A stand-in replica: another database whose rows differ, so the answer tells which was read.
    let replica = crate::harness::fresh_database().await;
    let replica_pool = ttfd::db::connect(replica.clone(), 2).await.unwrap();
    sqlx::query(
        "INSERT INTO unified_users (telegram_id, username, display_name, primary_platform, xp) \
         VALUES ('2', 'replicated', 'replicated', 'telegram', 10)",
    )
    .execute(&replica_pool)
    .await
    .unwrap();
    let replica_url = crate::harness::url_of(&replica);
    // The SQL path's reads (the boards in memory follow the primary, and read only rows).
    let env = [
        ("TTFD_READ_DATABASE_URL", replica_url.as_str()),
        ("TTFD_BOARDS_IN_MEMORY", "false"),
    ];
    let (_server, base) = spawn_server(&app, &env).await;
    let body = post_to(
        &base,
        &app.admin,
        "{ leaderboard(first: 5) { nodes { user { username } } } user(ref: {telegramId: \"1\"}) { username } }",
    )
    .await;
    assert_eq!(
        body["data"]["leaderboard"]["nodes"],
        json!([{"user": {"username": "replicated"}}]),
        "{body}"
    );
    assert_eq!(
        body["data"]["user"]["username"], "primary",
        "writes and lookups stay on the primary"
    );
}

/// Client-chosen operation names become metric labels only from a bounded set: 2,000
/// requests with random names (long ones, and more short ones than the set holds), most of
/// them refused by the rate limit, leave `/metrics` with at most 101 operation labels.
#[tokio::test]
async fn random_operation_names_cannot_grow_the_metrics() {
    let app = TestApp::start().await;
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..2000 {
        let name: String = if i % 2 == 0 {
            (0..1024).map(|_| rng.alphanumeric()).collect()
        } else {
            format!("op{}", rng.u64(..))
        };
        app.http
            .post(&app.url)
            .json(&serde_json::json!({ "query": format!("query {name} {{ seasons {{ id }} }}"), "operationName": name }))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.metrics().await;
    let labels: std::collections::HashSet<&str> = metrics
        .split("operation=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        labels.len() <= ttfd::metrics::MAX_OPERATION_LABELS + 1,
        "{} operation labels",
        labels.len()
    );
    assert!(labels.contains("other"));
    assert!(
        labels
            .iter()
            .all(|l| l.len() <= ttfd::metrics::MAX_OPERATION_LABEL_CHARS)
    );
    assert!(metrics.len() < 2_000_000, "/metrics is {} bytes", metrics.len());
}

/// The pool hands a connection out without a round trip unless it sat idle for
/// `db::PING_IDLE_AFTER` (sqlx pings it when taking it back): one that PostgreSQL dropped in
/// between fails one statement, and the pool replaces it rather than handing it out again.
#[tokio::test]
async fn a_pooled_connection_the_server_dropped_fails_one_statement_and_is_replaced() {
    let db = crate::harness::fresh_database().await;
    let pool = ttfd::db::connect(db.clone(), 1).await.unwrap();
    let admin = ttfd::db::connect(db, 1).await.unwrap();
    let pid = || sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&pool);
    let dropped = pid().await.unwrap();
    // The pool takes a connection back in a task of its own (after its ping): wait for that.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.num_idle() < 1 {
        assert!(
            Instant::now() < deadline,
            "the connection never went back to the pool"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Waits (up to 5 s) until the backend is gone, while the connection idles in the pool.
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(dropped)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(ended);
    assert!(
        pid().await.is_err(),
        "handed out unpinged, the dropped connection's statement fails"
    );
    let replaced = pid().await.unwrap();
    assert_ne!(replaced, dropped);
    assert_eq!(
        pid().await.unwrap(),
        replaced,
        "the new connection stays in the pool"
    );
}
