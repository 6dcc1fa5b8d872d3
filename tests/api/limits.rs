//! Rate limits, subscription caps and hostile input: each gets a clear error and the service
//! keeps serving.

use serde_json::{Value, json};

use crate::harness::{TestApp, create_key, post_to, spawn_server};
use ttfd::domain::Platform;
use ttfd::domain::access::Role;
use ttfd::limits::LimitConfig;

async fn limited_app(limits: LimitConfig) -> TestApp {
    TestApp::start_full(
        Default::default(),
        ttfd::http::HttpConfig {
            limits,
            ..Default::default()
        },
    )
    .await
}

async fn post(app: &TestApp, key: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = app
        .http
        .post(&app.url)
        .header("accept", "application/graphql-response+json");
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req.json(&json!({ "query": query })).send().await.unwrap()
}

#[tokio::test]
async fn requests_past_the_quota_get_429_with_a_retry_hint() {
    // 60 a minute allows a burst of 6.
    let app = limited_app(LimitConfig {
        per_key_per_minute: 60,
        per_address_per_minute: 60,
        ..Default::default()
    })
    .await;
    let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
    let other = create_key(&app.pool, "dc-bot", Role::Bot(Platform::Discord)).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(post(&app, Some(&bot), "{ ranks { id } }").await);
    }
    let limited = statuses
        .into_iter()
        .filter(|r| r.status() == 429)
        .collect::<Vec<_>>();
    assert!(!limited.is_empty(), "the key's burst is 6");
    let first = limited.into_iter().next().unwrap();
    assert!(
        first.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    assert!(body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    // Another key has its own quota.
    assert_eq!(post(&app, Some(&other), "{ ranks { id } }").await.status(), 200);

    // The public is limited per address.
    let mut public = Vec::new();
    for _ in 0..10 {
        public.push(post(&app, None, "{ ranks { id } }").await.status().as_u16());
    }
    assert!(public.contains(&429), "{public:?}");
    // Guessing keys counts against the address too.
    assert_eq!(
        post(&app, Some("ttfd_guess"), "{ ranks { id } }").await.status(),
        429
    );
}

mod socket {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    use super::limited_app;
    use crate::harness::{TestApp, create_key};
    use ttfd::domain::Platform;
    use ttfd::domain::access::Role;
    use ttfd::limits::LimitConfig;

    type Socket =
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    /// The upgrade request of a graphql-transport-ws connection.
    fn request(app: &TestApp) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut request = app.ws_url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
        request
    }

    async fn connect(app: &TestApp, key: Option<&str>) -> Socket {
        let request = request(app);
        let (mut s, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let payload = key
            .map(|k| json!({"Authorization": format!("Bearer {k}")}))
            .unwrap_or(json!({}));
        s.send(Message::text(
            json!({"type": "connection_init", "payload": payload}).to_string(),
        ))
        .await
        .unwrap();
        assert_eq!(next(&mut s).await["type"], "connection_ack");
        s
    }

    async fn next(s: &mut Socket) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), s.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] != "ping" {
                    return v;
                }
            }
        }
    }

    async fn subscribe(s: &mut Socket, id: &str) {
        let msg = json!({"type": "subscribe", "id": id, "payload": {"query": "subscription { events { cursor } }"}});
        s.send(Message::text(msg.to_string())).await.unwrap();
    }

    #[tokio::test]
    async fn subscriptions_per_key_are_capped_across_connections() {
        let app = limited_app(LimitConfig {
            subscriptions_per_key: 2,
            ..Default::default()
        })
        .await;
        let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
        let mut a = connect(&app, Some(&bot)).await;
        let mut b = connect(&app, Some(&bot)).await;
        subscribe(&mut a, "1").await;
        subscribe(&mut b, "1").await;
        app.wait_subscribers(2).await;
        subscribe(&mut b, "2").await;
        let refused = next(&mut b).await;
        assert_eq!(
            (refused["type"].as_str(), refused["id"].as_str()),
            (Some("error"), Some("2"))
        );
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        // Ending one frees its place for the key.
        a.send(Message::text(json!({"type": "complete", "id": "1"}).to_string()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        subscribe(&mut b, "3").await;
        app.wait_subscribers(2).await;
        // The public is not bound by another key's cap.
        let mut public = connect(&app, None).await;
        subscribe(&mut public, "1").await;
        app.wait_subscribers(3).await;
    }

    /// The public has caps of its own: subscriptions per address across connections, and
    /// connections per address.
    #[tokio::test]
    async fn the_public_is_capped_per_address() {
        let app = limited_app(LimitConfig {
            subscriptions_per_address: 2,
            connections_per_address: 3,
            ..Default::default()
        })
        .await;
        let mut a = connect(&app, None).await;
        let mut b = connect(&app, None).await;
        subscribe(&mut a, "1").await;
        subscribe(&mut b, "1").await;
        app.wait_subscribers(2).await;
        subscribe(&mut b, "2").await;
        let refused = next(&mut b).await;
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        let _c = connect(&app, None).await;
        let request = request(&app);
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 429)
            }
            other => panic!("a fourth connection from one address: {:?}", other.map(|r| r.1)),
        }
        // A key holder is a caller of its own.
        let bot = create_key(&app.pool, "tg-bot", Role::Bot(Platform::Telegram)).await;
        drop(a);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut keyed = connect(&app, Some(&bot)).await;
        subscribe(&mut keyed, "1").await;
        app.wait_subscribers(2).await;
    }

    /// A refused key on `connection_init` costs its address, like a refused key over HTTP.
    #[tokio::test]
    async fn refused_keys_on_a_socket_are_charged_to_the_address() {
        let app = limited_app(LimitConfig {
            // A burst of 1, refilled every 10 s: the guesses below empty it for the whole test.
            per_address_per_minute: 6,
            ..Default::default()
        })
        .await;
        for _ in 0..8 {
            let request = request(&app);
            let (mut s, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            let init = json!({"type": "connection_init", "payload": {"Authorization": "Bearer ttfd_guess"}});
            s.send(Message::text(init.to_string())).await.unwrap();
            while let Some(Ok(msg)) = s.next().await {
                if let Message::Close(frame) = msg {
                    assert_eq!(frame.map(|f| u16::from(f.code)), Some(4403));
                    break;
                }
            }
        }
        let res = super::post(&app, None, "{ ranks { id } }").await;
        assert_eq!(res.status(), 429, "the guesses used up the address's burst");
    }

    /// A client that stops reading cannot hold its connection (or the server's buffers, or its
    /// close) forever: a frame it does not take within the write timeout closes it, and its
    /// subscription ends with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_client_that_never_reads_is_closed() {
        let ws = ttfd::http::ws::WsConfig {
            write_timeout: Duration::from_millis(300),
            ping_interval: Duration::from_millis(100),
            ..Default::default()
        };
        let app = TestApp::start_full(
            Default::default(),
            ttfd::http::HttpConfig {
                ws,
                ..Default::default()
            },
        )
        .await;
        // A tiny receive window: the server's writes block as soon as the buffers fill.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let request = request(&app);
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        let (mut s, _) = tokio_tungstenite::client_async(request, stream).await.unwrap();
        let init =
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", app.admin)}});
        s.send(Message::text(init.to_string())).await.unwrap();
        assert_eq!(next(&mut s).await["type"], "connection_ack");
        let sub = json!({"type": "subscribe", "id": "1", "payload": {
            "query": "subscription { events { id cursor type userId data createdAt user { id username displayName xp coins } } }"}});
        s.send(Message::text(sub.to_string())).await.unwrap();
        app.wait_subscribers(1).await;
        // From here on the client never reads.
        app.telegram_user("1", "ann").await;
        let award = "mutation { awardXp(user: {telegramId: \"1\"}, delta: 1, reason: \"a reason long enough to make every event a few hundred bytes of text\") { xp } }";
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while app.state.events.subscribers() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the stalled connection was never closed"
            );
            futures_util::future::join_all((0..20).map(|_| app.gql(award, json!({})))).await;
        }
        drop(s);
    }

    /// Filter lists name each value once: repeats are dropped, longer lists refused.
    #[tokio::test]
    async fn filter_lists_are_deduplicated_and_bounded() {
        let app = TestApp::start().await;
        let mut s = connect(&app, None).await;
        let twice = json!({"type": "subscribe", "id": "1", "payload": {
            "query": "subscription { events(filter: {types: [XP_CHANGE, XP_CHANGE], platforms: [TELEGRAM, TELEGRAM]}) { type } }"}});
        s.send(Message::text(twice.to_string())).await.unwrap();
        app.wait_subscribers(1).await;
        let types = vec!["XP_CHANGE"; ttfd::domain::EventType::ALL.len() + 1].join(", ");
        let long = json!({"type": "subscribe", "id": "2", "payload": {
            "query": format!("subscription {{ events(filter: {{types: [{types}]}}) {{ type }} }}")}});
        s.send(Message::text(long.to_string())).await.unwrap();
        // The resolver refuses it: a `next` carrying the error, then `complete`.
        let refused = next(&mut s).await;
        assert_eq!(refused["id"], "2", "{refused}");
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "INVALID_INPUT",
            "{refused}"
        );
        assert_eq!(next(&mut s).await["type"], "complete");
        app.telegram_user("1", "ann").await;
        app.award("1", 5).await;
        let event = next(&mut s).await;
        assert_eq!(event["payload"]["data"]["events"]["type"], "XP_CHANGE", "{event}");
    }

    #[tokio::test]
    async fn operations_on_an_open_socket_count_against_the_rate_limit() {
        let app = limited_app(LimitConfig {
            per_address_per_minute: 60,
            ..Default::default()
        })
        .await;
        let mut s = connect(&app, None).await;
        let mut codes = Vec::new();
        for i in 0..10 {
            let msg =
                json!({"type": "subscribe", "id": format!("q{i}"), "payload": {"query": "{ ranks { id } }"}});
            s.send(Message::text(msg.to_string())).await.unwrap();
            loop {
                let v = next(&mut s).await;
                if v["type"] == "complete" {
                    codes.push("OK".to_owned());
                    break;
                }
                if v["type"] == "error" {
                    codes.push(
                        v["payload"][0]["extensions"]["code"]
                            .as_str()
                            .unwrap_or("?")
                            .to_owned(),
                    );
                    break;
                }
            }
        }
        assert!(codes.iter().any(|c| c == "RATE_LIMITED"), "{codes:?}");
        assert_eq!(codes[0], "OK");
    }
}

#[tokio::test]
async fn hostile_inputs_get_clear_errors_and_the_service_keeps_serving() {
    let app = TestApp::start().await;
    let deep = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "fields { type { ofType { ".repeat(6),
        " } } }".repeat(6)
    );
    let aliases: String = (0..2000)
        .map(|i| format!("a{i}: leaderboard(first: 100) {{ nodes {{ user {{ id }} }} }} "))
        .collect();
    let directives = format!("{{ ranks {} {{ id }} }}", "@skip(if: false) ".repeat(40));
    for (name, query) in [
        ("deep nesting", deep),
        ("alias batch", format!("{{ {aliases} }}")),
        ("directives", directives),
    ] {
        let res = post(&app, None, &query).await;
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert!(body["errors"][0]["message"].is_string(), "{name}: {body}");
        assert!(status == 400 || status == 413, "{name}: {status}");
    }
    // Invalid UTF-8 and a 10 MB body.
    let res = app
        .http
        .post(&app.url)
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, 0xfe, b'}'])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .http
        .post(&app.url)
        .header("content-type", "application/json")
        .body(vec![b' '; 10 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    // Strings that look like SQL are only strings; numbers out of range are refused.
    let sneaky = json!({"p": "TELEGRAM", "id": "1", "n": "Robert'); DROP TABLE unified_users;--"});
    let created = app.ok("mutation($p: Platform!, $id: String!, $n: String!) { upsertUser(input: {platform: $p, externalId: $id, username: $n}) { username } }", sneaky).await;
    assert_eq!(
        created["upsertUser"]["username"],
        "Robert'); DROP TABLE unified_users;--"
    );
    for delta in [json!(-2147483649i64), json!(1e20), json!("5")] {
        let res = app
            .gql(
                "mutation($d: Int!) { awardXp(user: {telegramId: \"1\"}, delta: $d) { xp } }",
                json!({"d": delta}),
            )
            .await;
        assert!(res["errors"][0]["message"].is_string(), "{delta}");
    }
    // Still serving.
    let ok = app
        .ok(
            "{ ranks { id } user(ref: {telegramId: \"1\"}) { xp } }",
            json!({}),
        )
        .await;
    assert_eq!(ok["ranks"].as_array().unwrap().len(), 20);
    assert_eq!(ok["user"]["xp"], 0);
}

#[tokio::test]
async fn a_statement_stuck_past_the_timeout_fails_and_the_server_keeps_serving() {
    use sqlx::{Connection, PgConnection};
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    let (_server, base) = spawn_server(&app, &[("TTFD_STATEMENT_TIMEOUT_MS", "300")]).await;
    // Hold the user's row so the server's awardXp waits on it.
    let mut blocker = PgConnection::connect_with(&app.db).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT 1 FROM unified_users WHERE telegram_id = '1' FOR UPDATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let res: Value = app
        .http
        .post(format!("{base}/graphql"))
        .timeout(std::time::Duration::from_secs(10))
        .bearer_auth(&app.admin)
        .json(&json!({"query": "mutation { awardXp(user: {telegramId: \"1\"}, delta: 5) { xp } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(res["errors"][0]["extensions"]["code"], "INTERNAL", "{res}");
    assert!(
        waited < std::time::Duration::from_secs(5),
        "gave up after the timeout, not later: {waited:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    assert_eq!(
        app.count("cross_platform_events").await,
        0,
        "the timed-out change wrote nothing"
    );
    let ok = post_to(
        &base,
        &app.admin,
        "mutation { awardXp(user: {telegramId: \"1\"}, delta: 5) { xp } }",
    )
    .await;
    assert_eq!(ok["data"]["awardXp"]["xp"], 5, "{ok}");
}
