//! The boards in memory against the SQL path they replace: after a random concurrent workload
//! over two server processes (awards, losses, new accounts, merges, a season start, reverts, an
//! import from a third process),
//! every user's positions, every `around` window and the first pages read from each process's
//! boards equal what a server reading only SQL answers; boards that fall behind the event
//! stream catch up from the log rather than loading again.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::Value;

use crate::harness::{TestApp, post_to, spawn_server};

/// Everything the boards answer, from the server at `base`: each user's two positions, their
/// `around` windows on both boards, and both boards' first page.
async fn answers(base: &str, key: &str, users: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for scope in ["ALL_TIME", "SEASON"] {
        let q = format!(
            "{{ leaderboard(first: 100, scope: {scope}) {{ edges {{ cursor node {{ position xp user {{ id }} }} }} pageInfo {{ hasNextPage }} }} }}"
        );
        out.push(post_to(base, key, &q).await);
    }
    for id in users {
        let q = format!(
            "{{ user(ref: {{id: \"{id}\"}}) {{ position seasonPosition }}
               a: leaderboard(first: 5, around: {{id: \"{id}\"}}) {{ nodes {{ position xp user {{ id }} }} }}
               s: leaderboard(first: 4, around: {{id: \"{id}\"}}, scope: SEASON) {{ nodes {{ position xp user {{ id }} }} }} }}"
        );
        out.push(post_to(base, key, &q).await);
    }
    out
}

/// Waits for each server at `bases` to answer what the SQL-only server at `sql` answers, for
/// every one of the `expected` users; fails after 20 s (the boards converge within a dispatch).
async fn converge(app: &TestApp, bases: &[&String], sql: &str, expected: usize, when: &str) {
    let key = &app.admin;
    let users: Vec<String> = sqlx::query_scalar("SELECT id::text FROM unified_users ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(users.len(), expected, "users {when}");
    app.settled().await;
    let reference = answers(sql, key, &users).await;
    let first_page = reference[0]["data"]["leaderboard"]["edges"].as_array().unwrap();
    assert_eq!(first_page.len(), expected, "{when}: {}", reference[0]);
    for base in bases {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = answers(base, key, &users).await;
            if got == reference {
                break;
            }
            if Instant::now() > deadline {
                let first = got.iter().zip(&reference).find(|(g, r)| g != r).unwrap();
                panic!(
                    "{when}, {base} answers\n{}\nwhere the SQL path answers\n{}",
                    first.0, first.1
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn boards_in_memory_answer_what_the_sql_path_does_after_races_over_two_processes() {
    let app = TestApp::start().await;
    let (_other, other) = spawn_server(&app, &[]).await;
    let (_sql, sql) = spawn_server(&app, &[("TTFD_BOARDS_IN_MEMORY", "false")]).await;
    let bases = [app.base.clone(), other.clone()];
    let key = app.admin.clone();
    let run = |n: usize, query: String| {
        let (base, key) = (bases[n % 2].clone(), key.clone());
        async move { post_to(&base, &key, &query).await }
    };
    // A seeded mix, so a failure replays.
    let mut x: u64 = 7;
    let mut next = move |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    for i in 0..40 {
        app.telegram_user(&(1000 + i).to_string(), &format!("u{i}")).await;
    }
    // Nobody awards this one: at 0 XP, below every other entry, its positions move with any
    // entry left on a board that should not be there.
    app.telegram_user("1099", "last").await;
    let award = |t: u64, d: i64| {
        format!("mutation {{ awardXp(user: {{telegramId: \"{t}\"}}, delta: {d}) {{ xp }} }}")
    };
    let mut work: Vec<String> = (0..300)
        .map(|_| {
            let (t, d) = (1000 + next(45), next(400) as i64 - 120);
            award(t, if d == 0 { 1 } else { d })
        })
        .collect();
    // New accounts (awards to users 1040-1044 before they exist are refused).
    for i in 40..45 {
        work.push(format!(
            "mutation {{ upsertUser(input: {{platform: TELEGRAM, externalId: \"{}\", username: \"u{i}\"}}) {{ id }} }}",
            1000 + i
        ));
    }
    for i in 0..4 {
        work.push(format!(
            "mutation {{ upsertUser(input: {{platform: DISCORD, externalId: \"{}\", username: \"d{i}\"}}) {{ id }} }}",
            5000 + i
        ));
        work.push(format!(
            "mutation {{ awardXp(user: {{discordId: \"{}\"}}, delta: {}) {{ xp }} }}",
            5000 + i,
            50 + 30 * i
        ));
    }
    join_all(work.into_iter().enumerate().map(|(n, q)| run(n, q))).await;
    // Merges, reverts and more awards, concurrently.
    let recent: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM cross_platform_events WHERE event_type = 'xp_change' ORDER BY txid DESC LIMIT 20",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut mixed: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "mutation {{ mergeUsers(into: {{telegramId: \"{}\"}}, from: {{discordId: \"{}\"}}) {{ xp }} }}",
                1000 + i,
                5000 + i
            )
        })
        .collect();
    mixed.extend(
        recent
            .iter()
            .map(|e| format!("mutation {{ revertEvent(eventId: \"{e}\") {{ delta }} }}")),
    );
    mixed.extend((0..100).map(|_| award(1000 + next(40), next(300) as i64 - 80)));
    join_all(mixed.into_iter().enumerate().map(|(n, q)| run(n, q))).await;
    // A season start inside awards, then more awards in the new season.
    let season = run(1, "mutation { startSeason(name: \"Two\") { id } }".into());
    let during = join_all((0..60).map(|n| run(n, award(1000 + next(40), 5 + next(90) as i64))));
    tokio::join!(season, during);
    join_all((0..60).map(|n| run(n, award(1000 + next(40), next(200) as i64 - 50)))).await;
    // Merges move the boards without a reload: compared before the import reloads them.
    converge(
        &app,
        &[&app.base, &other],
        &sql,
        46,
        "after the merges and the season",
    )
    .await;
    // An import from another process, beside awards: new accounts and one existing account's XP.
    let dir = std::env::temp_dir().join(format!("ttfd-boards-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.csv");
    std::fs::write(
        &file,
        "telegram_id,username,xp\n2001,imp1,5000\n2002,imp2,0\n2003,imp3,777\n1005,u5,90000\n",
    )
    .unwrap();
    let args = ["telegram", file.to_str().unwrap()];
    let import = crate::import::ttfd_import(&app, &args);
    let beside = join_all((0..40).map(|n| run(n, award(1000 + next(40), 1 + next(60) as i64))));
    let (imported, _) = tokio::join!(import, beside);
    assert_eq!(imported.code, 0, "{}{}", imported.stdout, imported.stderr);

    converge(&app, &[&app.base, &other], &sql, 49, "after the import").await;
    // The answers came from the boards: both processes had them loaded.
    assert!(app.state.boards.is_ready());
    let metrics = reqwest::get(format!("{other}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(crate::harness::metric(&metrics, "ttfd_boards_ready"), 1.0);
}

/// A read that passes a mutation's `eventCursor` as `consistentAfter` sees the change, also on
/// another process, and even when the boards in memory would otherwise answer from just before
/// it: awards that each take the lead, read back at once through the other server.
#[tokio::test]
async fn a_read_with_consistent_after_sees_the_mutation_it_names() {
    let app = TestApp::start().await;
    let (_other, other) = spawn_server(&app, &[]).await;
    for t in ["1", "2"] {
        app.telegram_user(t, &format!("u{t}")).await;
    }
    let award =
        "mutation($t: String!, $d: Int!) { awardXp(user: {telegramId: $t}, delta: $d) { xp eventCursor } }";
    let read = "query($c: String, $t: String!) {
        leaderboard(first: 1, consistentAfter: $c) { nodes { xp user { username xp } } }
        user(ref: {telegramId: $t}, consistentAfter: $c) { position } }";
    let mut xp = [0i64; 2];
    for round in 0..20 {
        let i = round % 2;
        let (t, delta) = ((i + 1).to_string(), xp[1 - i] - xp[i] + 1);
        let change = app.ok(award, serde_json::json!({"t": t, "d": delta})).await["awardXp"].clone();
        xp[i] = change["xp"].as_i64().unwrap();
        let cursor = change["eventCursor"].as_str().unwrap();
        let body =
            crate::harness::post_to_with(&other, &app.admin, read, serde_json::json!({"c": cursor, "t": t}))
                .await;
        let top = &body["data"]["leaderboard"]["nodes"][0];
        assert_eq!(top["user"]["username"], format!("u{t}"), "round {round}: {body}");
        assert_eq!(top["xp"], xp[i], "round {round}");
        // The row (held by the boards' row cache since an earlier round), not only the place.
        assert_eq!(top["user"]["xp"], xp[i], "round {round}: the row is as fresh");
        assert_eq!(body["data"]["user"]["position"], 1, "round {round}");
    }
    let bad = app
        .err_code(
            "{ leaderboard(consistentAfter: \"nope\") { nodes { xp } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(bad, "INVALID_INPUT");
}

/// Boards too slow for the hub's ring catch up from the event log instead of loading every user
/// again (under a steady stream of events a reload fell behind again while it ran, and a server
/// kept loading). A ring of 16 events, 400 awards from 40 concurrent clients: the ring is
/// overrun, the boards still load once, and every position they answer, once they hold every
/// event, is the SQL count's.
#[tokio::test]
async fn boards_that_fall_behind_catch_up_from_the_log_without_loading_again() {
    use futures_util::StreamExt;
    use std::sync::atomic::Ordering;
    let app = TestApp::start_with(ttfd::state::StateConfig {
        event_buffer: 16,
        ..Default::default()
    })
    .await;
    const USERS: i64 = 20;
    for t in 1..=USERS {
        app.telegram_user(&t.to_string(), &format!("u{t}")).await;
    }
    app.boards_settled().await;
    let app = &app;
    futures_util::stream::iter(0..400i64)
        .map(|i| async move { app.award(&(i % USERS + 1).to_string(), i % 7 + 1).await })
        .buffer_unordered(40)
        .collect::<Vec<_>>()
        .await;
    assert!(
        app.state.events.stats.lagged.load(Ordering::Relaxed) > 0,
        "the ring was overrun"
    );
    app.boards_settled().await;
    let read = "query($t: String!) { user(ref: {telegramId: $t}) { position } }";
    for t in 1..=USERS {
        let t = t.to_string();
        let got = app.ok(read, serde_json::json!({"t": t})).await["user"]["position"].clone();
        let want: i64 = sqlx::query_scalar(
            "SELECT count(*) + 1 FROM unified_users WHERE xp > (SELECT xp FROM unified_users WHERE telegram_id = $1)",
        )
        .bind(&t)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(got, want, "user {t}");
    }
    assert_eq!(app.state.boards.loads(), 1, "no load after the first");
    assert!(app.state.boards.is_ready());
}
