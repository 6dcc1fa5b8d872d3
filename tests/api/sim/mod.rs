//! The simulator: a seeded random workload of every state-changing operation, from several
//! clients over two server processes on one database, with faults (the event listener's
//! connection terminated, a server killed with SIGKILL and restarted, subscribers dropping
//! and resuming, requests timing out and retried by key) and live readers throughout; then
//! the invariants. `TTFD_SIM_SEED` replays a run's operations, `TTFD_SIM_OPS` sizes it.

mod invariants;
mod watchers;
mod workload;
mod world;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use ttfd::domain::Platform;
use ttfd::domain::access::Role;

use crate::harness::{TestApp, create_key, spawn_server};
use watchers::{Seen, Spec};
use world::{Entry, Outcome, World};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sim() {
    // A fixed seed by default, so every `cargo test` replays the same operations and faults
    // (the interleaving still varies); `TTFD_SIM_SEED=random` draws a new one.
    let seed = match std::env::var("TTFD_SIM_SEED").as_deref() {
        Ok("random") => fastrand::u64(..1_000_000_007),
        _ => env_or("TTFD_SIM_SEED", 1),
    };
    let ops = env_or("TTFD_SIM_OPS", 400usize);
    let clients = env_or("TTFD_SIM_CLIENTS", 6usize).max(1);
    let world = run(seed, ops, clients).await;
    let violations = world.violations.lock().unwrap().clone();
    if !violations.is_empty() {
        let path = std::env::temp_dir().join(format!("ttfd-sim-{seed}.log"));
        let mut file = std::fs::File::create(&path).unwrap();
        for e in world.history.lock().unwrap().iter() {
            writeln!(
                file,
                "client {} op {}: {} -> {:?}",
                e.client, e.n, e.op, e.outcome
            )
            .unwrap();
        }
        for f in world.faults.lock().unwrap().iter() {
            eprintln!("fault: {f}");
        }
        let history = world.history.lock().unwrap();
        for e in history.iter().rev().take(30).rev() {
            eprintln!("  client {} op {}: {} -> {:?}", e.client, e.n, e.op, e.outcome);
        }
        panic!(
            "the simulation with seed {seed} broke {} invariant(s) (replay: TTFD_SIM_SEED={seed} cargo test sim; \
             whole history in {}):\n{}",
            violations.len(),
            path.display(),
            violations.join("\n")
        );
    }
}

/// One server process of the run.
async fn server(app: &TestApp) -> (tokio::process::Child, String) {
    spawn_server(
        app,
        &[
            ("TTFD_RATE_LIMIT_PER_KEY", "100000000"),
            ("TTFD_RATE_LIMIT_PER_ADDRESS", "100000000"),
            ("TTFD_EVENT_POLL_MS", "200"),
        ],
    )
    .await
}

pub async fn run(seed: u64, ops: usize, clients: usize) -> Arc<World> {
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(seed);
    let app = TestApp::start().await;
    let telegram_bot = create_key(&app.pool, "sim-telegram", Role::Bot(Platform::Telegram)).await;
    let (a, b) = (server(&app).await, server(&app).await);
    let children = Mutex::new(vec![Some(a.0), Some(b.0)]);
    let world = Arc::new(World {
        seed,
        servers: Mutex::new(vec![Some(a.1), Some(b.1)]),
        http: reqwest::Client::new(),
        admin: app.admin.clone(),
        people: 8,
        history: Mutex::new(Vec::new()),
        violations: Mutex::new(Vec::new()),
        done: Default::default(),
        stop: Default::default(),
        faults: Mutex::new(Vec::new()),
        claims: Mutex::new(Vec::new()),
    });

    // A first user and event, so that every reader starts after a known event.
    let first = app.telegram_user(&world.telegram(0), "person0").await;
    app.award(&world.telegram(0), 10).await;
    let start_cursor = app.last_cursor().await.unwrap();
    let start_id: String =
        sqlx::query_scalar("SELECT id::text FROM cross_platform_events ORDER BY txid DESC, seq DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let specs = vec![
        Spec {
            name: "everything (transport-ws, admin)".into(),
            protocol: "graphql-transport-ws",
            key: Some(app.admin.clone()),
            filter: json!(null),
        },
        Spec {
            name: "xp and ranks (legacy, public)".into(),
            protocol: "graphql-ws",
            key: None,
            filter: json!({ "types": ["XP_CHANGE", "RANK_UP", "ACCOUNTS_MERGED"] }),
        },
        Spec {
            name: "telegram (transport-ws, bot)".into(),
            protocol: "graphql-transport-ws",
            key: Some(telegram_bot.clone()),
            filter: json!({ "platforms": ["TELEGRAM"] }),
        },
        Spec {
            name: "one user (legacy, admin)".into(),
            protocol: "graphql-ws",
            key: Some(app.admin.clone()),
            filter: json!({ "userId": first }),
        },
        Spec {
            name: "coins (transport-ws, public)".into(),
            protocol: "graphql-transport-ws",
            key: None,
            filter: json!({ "types": ["COINS_CHANGE"] }),
        },
    ];
    let mut readers = Vec::new();
    let mut received = Vec::new();
    for spec in &specs {
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let task = watchers::subscribe(
            world.clone(),
            spec.clone(),
            start_cursor.clone(),
            fastrand::Rng::with_seed(rng.u64(..)),
            seen.clone(),
        );
        readers.push(tokio::spawn(task));
        received.push(seen);
    }
    let polled = Arc::new(Mutex::new(Vec::<Seen>::new()));
    readers.push(tokio::spawn(watchers::poll(
        world.clone(),
        telegram_bot.clone(),
        "sim-poller".into(),
        fastrand::Rng::with_seed(rng.u64(..)),
        polled.clone(),
    )));

    let per_client = ops.div_ceil(clients);
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            tokio::spawn(workload::run(
                world.clone(),
                c,
                fastrand::Rng::with_seed(rng.u64(..)),
                per_client,
            ))
        })
        .collect();

    // Faults, at points of the run the seed chooses.
    let total = per_client * clients;
    let mut plan: Vec<(usize, &str)> = vec![
        (rng.usize(total / 5..total / 2 + 1), "kill"),
        (rng.usize(0..total), "listener"),
        (rng.usize(0..total), "listener"),
        (rng.usize(0..total / 2 + 1), "import"),
        (rng.usize(total / 2..total + 1), "import"),
    ];
    plan.sort();
    let mut imports = 0;
    for (at, fault) in plan {
        while world.done.load(Ordering::Relaxed) < at && !workers.iter().all(|w| w.is_finished()) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        world.faults.lock().unwrap().push(format!(
            "{fault} after {} operations",
            world.done.load(Ordering::Relaxed)
        ));
        match fault {
            "kill" => {
                let mut child = children.lock().unwrap()[1].take().unwrap();
                world.servers.lock().unwrap()[1] = None;
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                tokio::time::sleep(Duration::from_millis(rng.u64(50..400))).await;
                let (child, url) = server(&app).await;
                children.lock().unwrap()[1] = Some(child);
                world.servers.lock().unwrap()[1] = Some(url);
            }
            "listener" => {
                sqlx::query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
                )
                .execute(&app.pool)
                .await
                .unwrap();
            }
            _ => {
                imports += 1;
                import(&app, &world, &mut rng, imports).await;
            }
        }
    }
    for w in workers {
        w.await.unwrap();
    }
    world.stop.store(true, Ordering::Relaxed);
    app.settled().await;

    // Every reader gets time to catch up with the whole log, then the verdict.
    let log = invariants::log(&app.pool).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let all_seen = || {
        let count = |s: &Arc<Mutex<Vec<Seen>>>| s.lock().unwrap().len();
        let last_is =
            |s: &Arc<Mutex<Vec<Seen>>>, id: &str| s.lock().unwrap().last().is_some_and(|e| e.id == id);
        let newest = log.last().map(|e| e.id.as_str()).unwrap_or_default();
        count(&polled) >= log.len()
            && last_is(&polled, newest)
            && received.iter().zip(&specs).all(|(s, spec)| {
                let want = log.iter().rev().find(|e| invariants::matches(&spec.filter, e));
                want.is_none_or(|e| s.lock().unwrap().iter().any(|x| x.id == e.id))
            })
    };
    while !all_seen() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for r in readers {
        r.abort();
    }
    invariants::chains(&world, &app.pool, &log).await;
    invariants::claims(&world, &app.pool).await;
    invariants::rank_rewards(&world, &log);
    invariants::seasons(&world, &app.pool, &log).await;
    invariants::identities(&world, &app.pool, &log).await;
    for (spec, seen) in specs.iter().zip(&received) {
        invariants::delivery(&world, spec, Some(&start_id), &log, &seen.lock().unwrap());
    }
    let poller = Spec {
        name: "poller".into(),
        protocol: "",
        key: Some(telegram_bot),
        filter: json!(null),
    };
    invariants::delivery(&world, &poller, None, &log, &polled.lock().unwrap());
    let base = world.live_servers()[0].clone();
    invariants::positions(&world, &app.pool, &base).await;
    let outcomes = world
        .history
        .lock()
        .unwrap()
        .iter()
        .fold([0usize; 3], |mut n, e| {
            n[match e.outcome {
                Outcome::Ok(_) => 0,
                Outcome::Err(_) => 1,
                Outcome::Unknown(_) => 2,
            }] += 1;
            n
        });
    eprintln!(
        "sim seed {seed}: {} operations ({} ok, {} refused, {} unanswered) by {clients} clients in {:.1} s; \
         {} faults; {} events logged; {} delivered to {} subscribers, {} polled; {} violations",
        total,
        outcomes[0],
        outcomes[1],
        outcomes[2],
        started.elapsed().as_secs_f64(),
        world.faults.lock().unwrap().len(),
        log.len(),
        received.iter().map(|s| s.lock().unwrap().len()).sum::<usize>(),
        specs.len(),
        polled.lock().unwrap().len(),
        world.violations.lock().unwrap().len(),
    );
    for child in children.lock().unwrap().iter_mut().flatten() {
        let _ = child.start_kill();
    }
    world
}

/// A small `ttfd import` beside the live traffic: Telegram rows for existing and new people,
/// or website rows that join (and so merge) a person's identities.
async fn import(app: &TestApp, world: &World, rng: &mut fastrand::Rng, n: usize) {
    let dir = std::env::temp_dir().join(format!("ttfd-sim-import-{}-{}", std::process::id(), world.seed));
    std::fs::create_dir_all(&dir).unwrap();
    let (source, file, body) = if n % 2 == 1 {
        let mut body = String::from("telegram_id,username,xp,coins\n");
        for _ in 0..3 {
            let p = rng.usize(0..world.people + 2);
            body += &format!(
                "{},imported{p},{},{}\n",
                world.telegram(p),
                rng.u32(0..3000),
                rng.u32(0..100)
            );
        }
        ("telegram", dir.join(format!("telegram-{n}.csv")), body)
    } else {
        let p = rng.usize(0..world.people);
        let body = format!(
            "email,username,discord_id,telegram_id,xp,coins\n{},site{p},{},{},{},{}\n",
            world.email(p),
            world.discord(p),
            world.telegram(p),
            rng.u32(0..500),
            rng.u32(0..50)
        );
        ("website", dir.join(format!("website-{n}.csv")), body)
    };
    std::fs::write(&file, &body).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["import", source])
        .arg(&file)
        .args(["--skip-invalid"])
        .env("DATABASE_URL", crate::harness::url_of(&app.db))
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let outcome = if out.status.success() {
        Outcome::Ok(json!(null))
    } else {
        Outcome::Err(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    world.record(Entry {
        client: usize::MAX,
        n,
        op: format!("ttfd import {source}: {body:?}"),
        outcome,
    });
}
