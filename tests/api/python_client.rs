//! The Python client package (`clients/python`, `ttfd-client`) against a real server: every
//! call, a retry after a lost answer applied once, events that lose and repeat nothing across a
//! cut connection and a restarted bot, and `consume` acknowledging only what was handled.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{LineProcess, TestApp, create_key, python};
use crate::proxy::Proxy;
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

fn client(mode: &str, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/client_check.py"))
        .arg(mode)
        .args(args);
    cmd
}

/// Runs a mode to its end and returns its JSON lines; fails on a non-zero exit.
async fn run(mode: &str, args: &[&str]) -> Vec<Value> {
    let out = client(mode, args).output().await.expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client_check.py {mode} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn bot_key(app: &TestApp, platform: Platform, name: &str) -> String {
    create_key(&app.pool, name, Role::Bot(platform)).await
}

#[tokio::test]
async fn every_call_of_the_python_client_works_against_the_server() {
    let app = TestApp::start().await;
    let telegram = bot_key(&app, Platform::Telegram, "telegram-bot").await;
    let discord = bot_key(&app, Platform::Discord, "discord-bot").await;
    let website = create_key(&app.pool, "website", Role::Website).await;
    let args = [
        "--url",
        &app.url,
        "--telegram-key",
        &telegram,
        "--discord-key",
        &discord,
        "--website-key",
        &website,
    ];
    assert_eq!(run("calls", &args).await, vec![json!({"ok": true})]);
}

#[tokio::test]
async fn an_award_whose_answer_was_lost_is_retried_and_applied_once() {
    let app = TestApp::start().await;
    let telegram = bot_key(&app, Platform::Telegram, "telegram-bot").await;
    let user = app.telegram_user("4242", "lost").await;
    let proxy = Proxy::start(app.base.trim_start_matches("http://")).await;
    proxy.lose_answers(1);
    let url = proxy.url("/graphql");
    let lines = run(
        "retry",
        &[
            "--url",
            &url,
            "--telegram-key",
            &telegram,
            "--telegram-id",
            "4242",
        ],
    )
    .await;
    assert_eq!(lines, vec![json!({"xp": 50, "delta": 50})]);
    let xp: i32 = sqlx::query_scalar("SELECT xp FROM unified_users WHERE telegram_id = '4242'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(xp, 50, "applied once");
    let changes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cross_platform_events WHERE user_id = $1::uuid AND event_type = 'xp_change'",
    )
    .bind(&user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(changes, 1);
}

/// The ids of the user's `xp_change` events, in log order.
async fn xp_change_ids(app: &TestApp, user: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT id::text FROM cross_platform_events WHERE user_id = $1::uuid AND event_type = 'xp_change' \
         ORDER BY txid, seq",
    )
    .bind(user)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn ids(process: &mut LineProcess, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let line = process
            .line(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("event {} of {n} never came", i + 1));
        out.push(line["id"].as_str().unwrap().to_owned());
    }
    out
}

#[tokio::test]
async fn python_events_lose_and_repeat_nothing_across_a_cut_connection_and_a_restart() {
    let app = TestApp::start().await;
    let telegram = bot_key(&app, Platform::Telegram, "telegram-bot").await;
    let user = app.telegram_user("777", "listener").await;
    app.settled().await;
    let start = app.last_cursor().await.unwrap_or_default();
    let proxy = Proxy::start(app.base.trim_start_matches("http://")).await;
    let url = proxy.url("/graphql");
    let store = std::env::temp_dir().join(format!("ttfd-cursor-{}", uuid::Uuid::new_v4()));
    let store = store.to_str().unwrap().to_owned();
    let args = |count: &'static str| {
        let mut a = vec![
            "--url".to_owned(),
            url.clone(),
            "--telegram-key".into(),
            telegram.clone(),
            "--user-id".into(),
            user.clone(),
            "--store".into(),
            store.clone(),
            "--count".into(),
            count.into(),
        ];
        if !start.is_empty() {
            a.extend(["--after".into(), start.clone()]);
        }
        a
    };
    // The first bot process: 10 events, its connection cut after 4, then 5 more.
    let first_args = args("15");
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let mut first = LineProcess::spawn(client("events", &first_args));
    // Without a stored cursor the stream starts at the moment it subscribes.
    app.wait_subscribers(1).await;
    for d in 1..=10 {
        app.award("777", d).await;
    }
    let mut seen = ids(&mut first, 4).await;
    proxy.cut();
    for d in 11..=15 {
        app.award("777", d).await;
    }
    seen.extend(ids(&mut first, 11).await);
    first.finish().await;
    // The bot restarts with its file store: the next 5 events, none twice.
    for d in 16..=20 {
        app.award("777", d).await;
    }
    let second_args = args("5");
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let mut second = LineProcess::spawn(client("events", &second_args));
    seen.extend(ids(&mut second, 5).await);
    assert_eq!(
        second.line(Duration::from_millis(500)).await,
        None,
        "nothing more"
    );
    second.finish().await;
    assert_eq!(
        seen,
        xp_change_ids(&app, &user).await,
        "every event once, in order"
    );
    let _ = std::fs::remove_file(&store);
}

/// The ids `tg-worker` would read next.
async fn pending(app: &TestApp, key: &str) -> Vec<String> {
    let query = "{ pendingEvents(consumer: \"tg-worker\", first: 100) { id } }";
    let v = app.gql_as(Some(key), query, json!({})).await;
    v["data"]["pendingEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn consume_acknowledges_only_what_its_handler_handled() {
    let app = TestApp::start().await;
    let telegram = bot_key(&app, Platform::Telegram, "telegram-bot").await;
    app.telegram_user("888", "worker").await;
    for d in 1..=5 {
        app.award("888", d).await;
    }
    app.settled().await;
    let all = pending(&app, &telegram).await;
    assert!(all.len() >= 5, "{all:?}");
    let args = |fail_at: &'static str| {
        vec![
            "--url".to_owned(),
            app.url.clone(),
            "--telegram-key".into(),
            telegram.clone(),
            "--consumer".into(),
            "tg-worker".into(),
            "--fail-at".into(),
            fail_at.into(),
            "--batch".into(),
            "2".into(),
        ]
    };
    // The handler raises on the third event: the first two are acknowledged, no more.
    let failing = args("3");
    let failing: Vec<&str> = failing.iter().map(String::as_str).collect();
    let out = run("consume", &failing).await;
    assert_eq!(out[0]["raised"], json!(true));
    assert_eq!(out[0]["handled"], json!(all[..2]));
    assert_eq!(pending(&app, &telegram).await, all[2..]);
    // A clean run handles the rest, once each, and leaves nothing pending.
    let clean = args("0");
    let clean: Vec<&str> = clean.iter().map(String::as_str).collect();
    let out = run("consume", &clean).await;
    assert_eq!(out[0]["handled"], json!(all[2..]));
    assert!(pending(&app, &telegram).await.is_empty());
}
