//! `ttfd serve` with no DATABASE_URL runs, migrates and stops its own PostgreSQL.

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::post_to;

/// A running server: the process and its base URL.
struct Server {
    child: tokio::process::Child,
    base: String,
}

async fn start(data_dir: &std::path::Path) -> Server {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env("TTFD_DATA_DIR", data_dir)
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn ttfd");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("ttfd exited before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().trim_end_matches("/graphql").to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server { child, base: url }
}

/// SIGTERM; the server must exit cleanly.
async fn stop(server: Server) {
    let Server { mut child, .. } = server;
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

fn assert_no_warnings(log: &str) {
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        // sqlx tests a connection as it goes back to its pool; when that test meets the
        // database already stopping, it warns. Seen once in a full CI run (a command on a loaded
        // machine), never alone; nothing is lost (every pool is closed and awaited first). It
        // stays a known cosmetic race, named in the issue notes, not a failure.
        .filter(|l| {
            !(l.contains("testing the connection on-release")
                && l.contains("terminating connection due to administrator command"))
        })
        .collect();
    assert!(bad.is_empty(), "warnings in the log: {bad:#?}");
}

/// Runs a `ttfd` command with no server running and no DATABASE_URL (it starts the owned
/// PostgreSQL itself); it must succeed, logging no warning. Returns its standard output.
async fn command(data_dir: &std::path::Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("TTFD_DATA_DIR", data_dir)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_no_warnings(&stderr);
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn serve_without_database_url_owns_its_postgres_and_stops_it() {
    let dir = std::env::temp_dir().join(format!("ttfd-owned-{}", uuid::Uuid::new_v4()));
    let created_key = command(&dir, &["keys", "create", "--name", "ops", "--role", "admin"]).await;
    let key = created_key.lines().last().expect("the secret is the last line");
    assert!(
        !dir.join("postmaster.pid").exists(),
        "keys create stopped the PostgreSQL it started"
    );
    let server = start(&dir).await;
    let created = post_to(
        &server.base,
        key,
        "mutation { upsertUser(input: {platform: DISCORD, externalId: \"7\", username: \"d\"}) { id } }",
    )
    .await;
    assert!(created["data"]["upsertUser"]["id"].is_string(), "{created}");
    assert!(
        dir.join("postmaster.pid").exists(),
        "PostgreSQL runs in the data directory"
    );
    stop(server).await;
    assert!(
        !dir.join("postmaster.pid").exists(),
        "PostgreSQL stopped with the server"
    );

    // A command that writes events starts and stops PostgreSQL too, and its event listener
    // lets go before the database stops (nothing logs a cut connection).
    let season = command(&dir, &["season", "start", "Two"]).await;
    assert!(season.starts_with("Started season Two"), "{season}");
    assert!(!dir.join("postmaster.pid").exists());

    // A second start reuses the directory and its data.
    let server = start(&dir).await;
    let found = post_to(
        &server.base,
        key,
        "{ user(ref: {discordId: \"7\"}) { username } seasons { name } } ",
    )
    .await;
    assert_eq!(found["data"]["user"]["username"], "d");
    assert_eq!(found["data"]["seasons"][1]["name"], "Two");
    stop(server).await;
    std::fs::remove_dir_all(&dir).ok();
}
