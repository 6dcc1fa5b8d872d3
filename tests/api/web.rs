//! The website end to end in headless Chromium (tests/js/web.mjs), against a real server
//! process on real PostgreSQL. Screenshots land in tests/screenshots/ (not committed).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{LineProcess, TestApp, js_dir, url_of};

/// A server process on a fixed address, so a restart comes back where the browser expects it.
fn serve(app: &TestApp, addr: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", addr])
        .env("DATABASE_URL", url_of(&app.db))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(res) = http.get(format!("{base}/readyz")).send().await
            && res.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server at {base} did not get ready");
}

#[tokio::test]
async fn the_website_renders_updates_live_and_reconnects_in_a_real_browser() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium is needed for the browser tests (Debian: apt-get install chromium; .ci/run installs it)"
    );
    let app = TestApp::start().await;
    // Five players; the last will overtake everyone.
    let players = [
        ("11", "Ann", 1500),
        ("12", "Bob", 900),
        ("13", "Cid", 300),
        ("14", "Dee", 120),
        ("15", "Eve", 20),
    ];
    let mut ids = Vec::new();
    for (tg, name, xp) in players {
        ids.push(app.telegram_user(tg, name).await);
        app.award(tg, xp).await;
    }
    // Bob is also on Discord: the profile lists both platforms.
    app.ok(
        "mutation { linkPlatform(user: {telegramId: \"12\"}, platform: DISCORD, externalId: \"80351110224678912\") { id } }",
        json!({}),
    )
    .await;
    let rank_of = |xp: i64| -> (String, String) {
        let ranks = [
            (0, "Rank F I", "158, 158, 158"),
            (100, "Rank F II", "158, 158, 158"),
            (250, "Rank F III", "158, 158, 158"),
            (500, "Rank E I", "76, 175, 80"),
            (850, "Rank E II", "76, 175, 80"),
            (1300, "Rank E III", "76, 175, 80"),
        ];
        let r = ranks.iter().rev().find(|r| xp >= r.0).unwrap();
        (r.1.to_owned(), format!("rgb({})", r.2))
    };
    // Rank rewards paid coins, not XP: the board's XP is what was awarded.
    let board: Vec<Value> = players
        .iter()
        .enumerate()
        .map(|(i, (_, name, xp))| json!({"position": i + 1, "name": name, "rank": rank_of(*xp).0, "xp": xp}))
        .collect();
    let expect = json!({
        "board": board,
        "firstBadgeColour": rank_of(1500).1,
        "mover": {"telegramId": "15", "name": "Eve", "delta": 2000},
        "profile": {
            "id": ids[1],
            "shows": {
                "name": "Bob",
                "rank": "Rank E II",
                // 900 XP: 50 of the 450 from E II (850) to E III (1,300): 11 %.
                "percent": "11",
                "label": "50 XP into Rank E II · 400 XP to Rank E III (11 %)",
                "platforms": ["Telegram", "Discord"],
            }
        }
    });

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let mut server = serve(&app, &addr);
    wait_ready(&base).await;

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(js_dir().join("web.mjs"))
        .args([
            "--base",
            &base,
            "--key",
            &app.admin,
            "--expect",
            &expect.to_string(),
        ])
        .arg("--shots")
        .arg(&shots);
    let mut browser = LineProcess::spawn(cmd);
    let mut steps = Vec::new();
    loop {
        let line = browser
            .line(Duration::from_secs(120))
            .await
            .unwrap_or_else(|| panic!("the browser run stalled after {steps:?}"));
        if let Some(reason) = line.get("failed") {
            panic!("browser check failed after {steps:?}: {reason}");
        }
        if line.get("restart").is_some() {
            server.kill().await.unwrap();
            server = serve(&app, &addr);
            wait_ready(&base).await;
            continue;
        }
        if line.get("done").is_some() {
            assert_eq!(
                line["blocked"],
                json!([]),
                "the pages asked for nothing outside localhost"
            );
            break;
        }
        steps.push(line);
    }
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert!(step("live")["boardMs"].as_u64().unwrap() <= 2000, "{steps:?}");
    for name in ["leaderboard", "feed", "profile", "graphiql"] {
        for size in ["desktop", "phone"] {
            assert!(
                shots.join(format!("{name}-{size}.png")).exists(),
                "{name}-{size} screenshot"
            );
        }
    }
    browser.finish().await;
}
