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
        .collect();
    assert!(bad.is_empty(), "warnings in the log: {bad:#?}");
}

/// `ttfd keys create` with no server running: it starts the owned PostgreSQL itself.
async fn create_key(data_dir: &std::path::Path) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["keys", "create", "--name", "ops", "--role", "admin"])
        .env_remove("DATABASE_URL")
        .env("TTFD_DATA_DIR", data_dir)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .last()
        .expect("the secret is the last line")
        .to_owned()
}

#[tokio::test]
async fn serve_without_database_url_owns_its_postgres_and_stops_it() {
    let dir = std::env::temp_dir().join(format!("ttfd-owned-{}", uuid::Uuid::new_v4()));
    let key = create_key(&dir).await;
    assert!(
        !dir.join("postmaster.pid").exists(),
        "keys create stopped the PostgreSQL it started"
    );
    let server = start(&dir).await;
    let created = post_to(
        &server.base,
        &key,
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
    let season = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["season", "start", "Two"])
        .env_remove("DATABASE_URL")
        .env("TTFD_DATA_DIR", &dir)
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    assert!(
        season.status.success(),
        "{}",
        String::from_utf8_lossy(&season.stderr)
    );
    assert!(String::from_utf8_lossy(&season.stdout).starts_with("Started season Two"));
    assert_no_warnings(&String::from_utf8_lossy(&season.stderr));
    assert!(!dir.join("postmaster.pid").exists());

    // A second start reuses the directory and its data.
    let server = start(&dir).await;
    let found = post_to(
        &server.base,
        &key,
        "{ user(ref: {discordId: \"7\"}) { username } seasons { name } } ",
    )
    .await;
    assert_eq!(found["data"]["user"]["username"], "d");
    assert_eq!(found["data"]["seasons"][1]["name"], "Two");
    stop(server).await;
    std::fs::remove_dir_all(&dir).ok();
}
