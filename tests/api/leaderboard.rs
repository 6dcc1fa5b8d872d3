//! leaderboard(first, after, scope), User.position, and the cost of a page in SQL statements.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{TestApp, metric, url_of};

const BOARD: &str = "query($first: Int, $after: String, $scope: LeaderboardScope) {
    leaderboard(first: $first, after: $after, scope: $scope) {
        edges { cursor node { position xp user { username position } } }
        nodes { xp }
        pageInfo { hasNextPage endCursor } } }";

async fn seed(app: &TestApp, scores: &[(&str, i64)]) {
    for (i, (name, xp)) in scores.iter().enumerate() {
        let tg = format!("{}", 100 + i);
        app.telegram_user(&tg, name).await;
        if *xp > 0 {
            app.award(&tg, *xp).await;
        }
    }
    app.boards_settled().await;
}

fn rows(data: &Value) -> Vec<(String, i64, i64)> {
    data["leaderboard"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["user"]["username"].as_str().unwrap().to_owned(),
                n["position"].as_i64().unwrap(),
                n["xp"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn order_ties_and_pagination_across_a_tie() {
    let app = TestApp::start().await;
    // Created in this order, so ties keep it: bob before cid before dan.
    seed(
        &app,
        &[
            ("ann", 500),
            ("bob", 300),
            ("cid", 300),
            ("dan", 300),
            ("eve", 100),
            ("fay", 0),
        ],
    )
    .await;
    let all = app.ok(BOARD, json!({"first": 10})).await;
    let expected = vec![
        ("ann".to_owned(), 1, 500),
        ("bob".to_owned(), 2, 300),
        ("cid".to_owned(), 2, 300),
        ("dan".to_owned(), 2, 300),
        ("eve".to_owned(), 5, 100),
        ("fay".to_owned(), 6, 0),
    ];
    assert_eq!(rows(&all), expected);
    assert_eq!(all["leaderboard"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(all["leaderboard"]["nodes"].as_array().unwrap().len(), 6);
    // User.position agrees with the entry position.
    for e in all["leaderboard"]["edges"].as_array().unwrap() {
        assert_eq!(e["node"]["position"], e["node"]["user"]["position"]);
    }

    // Pages of two, the second starting inside the tie.
    let mut after: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let page = app.ok(BOARD, json!({"first": 2, "after": after})).await;
        paged.extend(rows(&page));
        let info = &page["leaderboard"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn season_scope_ranks_by_season_xp_and_cursors_do_not_cross_boards() {
    let app = TestApp::start().await;
    seed(&app, &[("ann", 500), ("bob", 200)]).await;
    // A new season, in which bob leads.
    app.ok("mutation { startSeason(name: \"Two\") { id } }", json!({}))
        .await;
    app.award("101", 200).await;
    app.award("100", 50).await;
    app.boards_settled().await;
    let season = app.ok(BOARD, json!({"first": 10, "scope": "SEASON"})).await;
    assert_eq!(
        rows(&season),
        vec![("bob".to_owned(), 1, 200), ("ann".to_owned(), 2, 50)]
    );
    let cursor = season["leaderboard"]["edges"][0]["cursor"].as_str().unwrap();
    let code = app
        .err_code(BOARD, json!({"first": 1, "after": cursor, "scope": "ALL_TIME"}))
        .await;
    assert_eq!(code, "INVALID_INPUT");
}

#[tokio::test]
async fn position_of_any_user() {
    let app = TestApp::start().await;
    seed(&app, &[("ann", 10), ("bob", 30), ("cid", 30), ("dan", 0)]).await;
    let q = "query($t: String!) { user(ref: {telegramId: $t}) { position } }";
    let mut got = Vec::new();
    for tg in ["100", "101", "102", "103"] {
        got.push(
            app.ok(q, json!({"t": tg})).await["user"]["position"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(got, vec![3, 1, 1, 4]);
}

/// Every user's all-time and season position through the API, beside a plain count of the
/// users who score more.
async fn positions_and_counts(app: &TestApp) -> Vec<(String, i64, i64, i64, i64)> {
    let ids: Vec<(uuid::Uuid, i32, i32, bool)> = sqlx::query_as(
        "SELECT id, xp, current_season_xp, season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) \
         FROM unified_users ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (id, xp, season_xp, current) in ids {
        let data = app
            .ok(
                "query($id: ID!) { user(ref: {id: $id}) { position seasonPosition } }",
                json!({ "id": id }),
            )
            .await;
        let season_xp = if current { season_xp } else { 0 };
        let (above, season_above): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM unified_users WHERE xp > $1), \
                    (SELECT count(*) FROM unified_users \
                     WHERE season_id = (SELECT id FROM seasons WHERE ended_at IS NULL) AND current_season_xp > $2)",
        )
        .bind(xp)
        .bind(season_xp)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        out.push((
            id.to_string(),
            data["user"]["position"].as_i64().unwrap(),
            above + 1,
            data["user"]["seasonPosition"].as_i64().unwrap(),
            season_above + 1,
        ));
    }
    out
}

/// Season 1's final standings through the API, in pages of 7 and from each user's profile,
/// beside a plain count over the season's archived and unmoved XP; asserts they agree.
async fn check_ended_season(app: &TestApp) {
    let scores: Vec<(uuid::Uuid, i32)> = sqlx::query_as(
        "SELECT user_id, xp FROM season_standings WHERE season_id = 1 \
         UNION ALL SELECT id, current_season_xp FROM unified_users WHERE season_id = 1 AND current_season_xp > 0",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let counted = |xp: i32| 1 + scores.iter().filter(|s| s.1 > xp).count() as i64;
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .ok(
                "query($a: String) { seasonStandings(season: 1, first: 7, after: $a) { position xp cursor user { id } } }",
                json!({ "a": after }),
            )
            .await["seasonStandings"]
            .as_array()
            .unwrap()
            .clone();
        let Some(last) = page.last() else { break };
        after = Some(last["cursor"].as_str().unwrap().to_owned());
        paged.extend(page);
    }
    assert_eq!(paged.len(), scores.len(), "every standing once");
    for row in &paged {
        let xp = row["xp"].as_i64().unwrap() as i32;
        assert_eq!(
            row["position"].as_i64().unwrap(),
            counted(xp),
            "paged position of {row}"
        );
    }
    for (id, xp) in &scores {
        let profile = app
            .ok(
                "query($id: ID!) { user(ref: {id: $id}) { seasonStandings { seasonId position xp } } }",
                json!({ "id": id }),
            )
            .await;
        let mine = profile["user"]["seasonStandings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["seasonId"] == 1)
            .cloned()
            .unwrap();
        assert_eq!(mine["xp"], *xp);
        assert_eq!(
            mine["position"].as_i64().unwrap(),
            counted(*xp),
            "profile position of {id}"
        );
    }
}

#[tokio::test]
async fn positions_from_score_counts_match_a_count_through_races_merges_and_seasons() {
    // The SQL path's counts (users are inserted behind the service's back, which the boards
    // in memory do not follow; `boards.rs` compares those with this path).
    let app = TestApp::start_with(ttfd::state::StateConfig {
        boards_in_memory: false,
        ..Default::default()
    })
    .await;
    // 60 users with scattered scores, on both sides of the 64, 4,096 and 262,144 bucket edges.
    let values: Vec<String> = (0..60)
        .map(|i: i64| {
            let xp = (i * 7919 * i) % 400_000;
            format!("('{}', 'u{i}', 'u{i}', 'telegram', {xp}, {})", 7000 + i, xp % 900)
        })
        .collect();
    sqlx::query(&format!(
        "INSERT INTO unified_users (telegram_id, username, display_name, primary_platform, xp, current_season_xp) \
         VALUES {}",
        values.join(", ")
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO unified_users (discord_id, username, display_name, primary_platform, xp, current_season_xp) \
         VALUES ('555', 'd', 'd', 'discord', 1234, 77), ('556', 'e', 'e', 'discord', 900, 333)",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let award = |i: i64, delta: i64| {
        let app = &app;
        async move {
            app.ok(
                "mutation($t: String!, $d: Int!) { awardXp(user: {telegramId: $t}, delta: $d) { xp } }",
                json!({ "t": (7000 + i).to_string(), "d": delta }),
            )
            .await
        }
    };
    // Concurrent gains and losses, several on the same users.
    futures_util::future::join_all(
        (0..200).map(|n: i64| award(n % 37, if n % 3 == 0 { -300 } else { 97 * (n % 5 + 1) })),
    )
    .await;
    app.ok(
        "mutation { mergeUsers(into: {telegramId: \"7001\"}, from: {discordId: \"555\"}) { xp } }",
        json!({}),
    )
    .await;
    let check = |rows: Vec<(String, i64, i64, i64, i64)>| {
        for (id, position, counted, season_position, season_counted) in rows {
            assert_eq!(position, counted, "all-time position of {id}");
            assert_eq!(season_position, season_counted, "season position of {id}");
        }
    };
    check(positions_and_counts(&app).await);

    // A new season: everyone's season XP reads 0 until they score in it.
    app.ok("mutation { startSeason(name: \"Two\") { id } }", json!({}))
        .await;
    futures_util::future::join_all((0..40).map(|n: i64| award(n % 23, 50 + n))).await;
    check(positions_and_counts(&app).await);
    check_ended_season(&app).await;
    // A merge after the season: one side's season-1 XP archived, the other's still on its row.
    app.ok(
        "mutation { mergeUsers(into: {telegramId: \"7002\"}, from: {discordId: \"556\"}) { xp } }",
        json!({}),
    )
    .await;
    check(positions_and_counts(&app).await);
    check_ended_season(&app).await;

    // Folded into the counts, the answers stay the same, and nothing is left pending.
    // (The app's own compactor may hold the round; try until the queue is empty.)
    for _ in 0..100 {
        ttfd::db::scores::compact(&app.pool).await.unwrap();
        if app.count("score_changes").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("score_changes").await, 0);
    // Losses and merges bring some counts to 0: each fold deletes those it zeroed.
    let zeros: i64 = sqlx::query_scalar("SELECT count(*) FROM score_counts WHERE users = 0")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(zeros, 0, "no count of 0 is kept");
    check(positions_and_counts(&app).await);
    check_ended_season(&app).await;
}

/// Runs the real binary against `app`'s database with SQL statement logging on and returns
/// how many statements one request cost.
async fn statements_per_request(app: &TestApp, queries: &[&str]) -> Vec<usize> {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--event-retention-days", "0"])
        .env("DATABASE_URL", url_of(&app.db))
        .env("RUST_LOG", "warn,ttfd=info,sqlx::query=debug")
        // Every request runs: no cached responses.
        .env("TTFD_CACHED_RESPONSES", "0")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ttfd");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("server exited before listening");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim_end_matches("/graphql").to_owned();
        }
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let mut counts = Vec::new();
    for q in queries {
        while rx.try_recv().is_ok() {}
        let res: Value = client
            .post(format!("http://{addr}/graphql"))
            .json(&json!({ "query": q }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(res.get("errors").is_none(), "{res}");
        // Log lines are written before the response is sent; give the pipe a moment.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut n = 0;
        while let Ok(line) = rx.try_recv() {
            // The event dispatcher's background reads are not the request's.
            // Nor are the score compactor's: only statements in the request's span count. The
            // rate limiter's lease is taken once per many requests, not per request.
            let background = [
                "cross_platform_events",
                "idempotency_keys",
                "LISTEN",
                "rate_limit_take",
            ]
            .iter()
            .any(|t| line.contains(t));
            if line.contains("sqlx::query") && line.contains("request{") && !background {
                n += 1;
            }
        }
        counts.push(n);
    }
    child.kill().await.ok();
    counts
}

#[tokio::test]
async fn a_page_costs_the_same_statements_whatever_its_size() {
    let app = TestApp::start().await;
    let mut users = Vec::new();
    for i in 0..120 {
        users.push(format!(
            "('{}', 'u{i}', 'u{i}', 'telegram', {})",
            5000 + i,
            (i % 7) * 100
        ));
    }
    sqlx::query(&format!(
        "INSERT INTO unified_users (telegram_id, username, display_name, primary_platform, xp) VALUES {}",
        users.join(", ")
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    let q = |n: i32| {
        format!(
            "{{ leaderboard(first: {n}) {{ nodes {{ position xp user {{ id rank {{ name color }} nextRank {{ name }} position achievements {{ unlockedAt }} }} }} }} }}"
        )
    };
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM unified_users WHERE telegram_id = '5003'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let profile = format!("{{ user(ref: {{id: \"{id}\"}}) {{ xp rank {{ name }} position }} }}");
    let counts = statements_per_request(&app, &["{ ranks { id } }", &q(5), &q(100), &q(100), &profile]).await;
    assert_eq!(
        counts[4], 1,
        "a user and their position are one statement: {counts:?}"
    );
    assert_eq!(counts[0], 0, "ranks are served from memory");
    assert!(
        counts[1] >= 1 && counts[1] <= 3,
        "a page costs a few statements, got {counts:?}"
    );
    assert_eq!(counts[1], counts[2], "100 users cost what 5 do: {counts:?}");
    // The same page again may find its rows in the boards' row cache: one statement fewer.
    assert!(counts[3] == counts[2] || counts[3] + 1 == counts[2], "{counts:?}");
}

/// Every statement the leaderboard and profile reads and the awards repeat keeps one prepared plan per
/// connection: PostgreSQL plans a statement's first five runs for their parameters, then
/// switches to the generic plan unless that looks dearer. A statement that never switches
/// (`LIMIT $n` did) is planned afresh on every request, which costs more than running it.
#[tokio::test]
async fn the_hot_reads_are_not_planned_per_request() {
    let http = ttfd::http::HttpConfig {
        cached_responses: 0,
        ..Default::default()
    };
    // The SQL path's plans: the boards in memory would answer instead.
    let sql_path = ttfd::state::StateConfig {
        boards_in_memory: false,
        ..Default::default()
    };
    let app = TestApp::start_on(sql_path, http, 1).await;
    // Enough users that a plan's row estimates matter, as they do in production.
    sqlx::query(
        "INSERT INTO unified_users (id, telegram_id, username, display_name, primary_platform, xp, current_season_xp) \
         SELECT gen_random_uuid(), (100 + i)::text, 'u' || i, 'u' || i, 'telegram', (i * 7919) % 5000, i % 300 \
         FROM generate_series(0, 19999) AS i",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE unified_users")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut after = Value::Null;
    for i in 0..12 {
        let scope = if i % 2 == 0 { "ALL_TIME" } else { "SEASON" };
        app.ok(BOARD, json!({"first": 10, "scope": scope})).await;
        let page = app
            .ok(BOARD, json!({"first": 3, "after": after, "scope": "ALL_TIME"}))
            .await;
        after = page["leaderboard"]["pageInfo"]["endCursor"].clone();
        let user = json!({"telegramId": format!("{}", 100 + i * 3)});
        app.ok(
            "query($u: UserRef!) { leaderboard(first: 5, around: $u) { nodes { position } } }",
            json!({"u": user}),
        )
        .await;
        app.ok(
            "query($u: UserRef!) { user(ref: $u) { xp position seasonPosition } }",
            json!({"u": user}),
        )
        .await;
        app.ok(
            "mutation($u: UserRef!) { awardXp(user: $u, delta: 5) { xp } recordMessage(user: $u) { xp } \
             recordGame(user: $u, gameType: \"chess\", won: true) { xp } adjustCoins(user: $u, delta: 1) { coins } }",
            json!({"u": user}),
        )
        .await;
    }
    let mut conn = app.pool.acquire().await.unwrap();
    let planned: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE generic_plans + custom_plans >= 8",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let leaderboard = planned.iter().filter(|(s, _, _)| s.contains("ORDER BY")).count();
    assert!(
        leaderboard >= 3,
        "the pages and the around look-up were seen: {planned:#?}"
    );
    let per_request: Vec<&(String, i64, i64)> =
        planned.iter().filter(|(_, generic, _)| *generic == 0).collect();
    assert!(
        per_request.is_empty(),
        "statements planned afresh on every run: {per_request:#?}"
    );
}

/// How many requests of operation `op` the server answered from its response cache.
async fn served_cached(app: &TestApp, op: &str) -> f64 {
    let name = format!("ttfd_graphql_requests_total{{operation=\"{op}\",outcome=\"cached\"}}");
    metric(&app.metrics().await, &name)
}

/// Runs `mutation` and waits until its events are dispatched and heard.
async fn changed(app: &TestApp, mutation: &str) {
    let before = app
        .state
        .events
        .stats
        .dispatched
        .load(std::sync::atomic::Ordering::Relaxed);
    app.ok(mutation, json!({})).await;
    dispatched(app, before + 1).await;
}

fn game(telegram_id: &str, outcome: &str) -> String {
    format!(
        "mutation {{ recordGame(user: {{telegramId: \"{telegram_id}\"}}, gameType: \"chess\", {outcome}) {{ xp }} }}"
    )
}

/// Waits until this process has dispatched `n` events in all, then a moment for the cache to
/// hear them.
async fn dispatched(app: &TestApp, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app
        .state
        .events
        .stats
        .dispatched
        .load(std::sync::atomic::Ordering::Relaxed)
        < n
    {
        assert!(std::time::Instant::now() < deadline, "events never dispatched");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// The top page is served from a cached response: never another caller's (the admin's shows
/// platform ids, the public's must not), kept through changes it does not show, and replaced
/// once an event or a new name changes what it shows.
#[tokio::test]
async fn a_cached_top_page_follows_what_it_shows_and_never_crosses_callers() {
    let app = TestApp::start().await;
    for (tg, name, xp) in [
        ("11", "ann", 300),
        ("12", "bob", 200),
        ("13", "cid", 100),
        ("14", "dan", 50),
        ("15", "eve", 10),
    ] {
        app.telegram_user(tg, name).await;
        app.award(tg, xp).await;
    }
    let op = format!("Top{}", std::process::id());
    let page = format!(
        "query {op} {{ leaderboard(first: 3) {{ nodes {{ position xp user {{ displayName telegramId }} }} }} }}"
    );
    let names = |v: &Value| -> Vec<(String, Value)> {
        v["data"]["leaderboard"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["user"]["displayName"].as_str().unwrap().to_owned(),
                    n["user"]["telegramId"].clone(),
                )
            })
            .collect()
    };
    // The setup's events are dispatched first: they concern the users the page will show.
    // (Dispatch waits for every older transaction in the cluster, other tests' too.)
    app.settled().await;
    dispatched(&app, app.count("cross_platform_events").await as u64).await;
    let admin = app.gql(&page, json!({})).await;
    assert_eq!(names(&admin)[0], ("ann".to_owned(), json!("11")));
    let cached_before = served_cached(&app, &op).await;
    assert_eq!(
        app.gql(&page, json!({})).await,
        admin,
        "the admin's page again, from the cache"
    );
    assert_eq!(served_cached(&app, &op).await - cached_before, 1.0);
    let public = app.gql_as(None, &page, json!({})).await;
    assert!(
        names(&public).iter().all(|(_, id)| id.is_null()),
        "the public is never served the admin's response: {public}"
    );
    assert_eq!(app.gql_as(None, &page, json!({})).await, public);
    assert_eq!(served_cached(&app, &op).await - cached_before, 2.0);
    // eve stays below the page: it is still served from the cache.
    changed(
        &app,
        "mutation { awardXp(user: {telegramId: \"15\"}, delta: 5) { xp } }",
    )
    .await;
    assert_eq!(app.gql_as(None, &page, json!({})).await, public);
    assert_eq!(
        served_cached(&app, &op).await - cached_before,
        3.0,
        "a change the page does not show keeps it"
    );
    // The same through an event that names no total (the score is read instead).
    changed(&app, &game("15", "won: false")).await;
    assert_eq!(app.gql_as(None, &page, json!({})).await, public);
    assert_eq!(served_cached(&app, &op).await - cached_before, 4.0);

    // dan climbs onto the page by a game (its score is read): the next read shows him.
    let shown = |v: &Value| -> Vec<String> { names(v).into_iter().map(|(n, _)| n).collect() };
    changed(&app, &game("14", "won: true, xp: 100")).await;
    assert_eq!(
        shown(&app.gql_as(None, &page, json!({})).await),
        ["ann", "bob", "dan"]
    );
    // eve climbs by an award (its event names her new total).
    changed(
        &app,
        "mutation { awardXp(user: {telegramId: \"15\"}, delta: 1000) { xp } }",
    )
    .await;
    assert_eq!(
        shown(&app.gql_as(None, &page, json!({})).await),
        ["eve", "ann", "bob"]
    );

    // New names write no event; the page follows them too.
    app.ok(
        "mutation { upsertUser(input: {platform: TELEGRAM, externalId: \"12\", username: \"bob\", displayName: \"Bobby\"}) { id } }",
        json!({}),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let now = app.gql_as(None, &page, json!({})).await;
        if names(&now)[2].0 == "Bobby" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new name never showed: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
