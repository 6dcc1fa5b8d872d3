//! Test harness: one PostgreSQL per test run (the service's own owned-cluster mechanism, or
//! `DATABASE_URL` when set), a fresh database per test cloned from a migrated template, and
//! the real router served on an ephemeral port.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use ttfd::db::owned::{OwnedOptions, OwnedPostgres};

const TEMPLATE: &str = "ttfd_test_template";

struct Cluster {
    /// Kept alive for the whole run; the server dies with this process.
    _owned: Option<OwnedPostgres>,
    admin: PgConnectOptions,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // Its own thread and runtime: the cluster outlives any one test's runtime.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(init_cluster())
        })
        .join()
        .expect("test cluster setup panicked")
    })
}

fn data_dir() -> PathBuf {
    // One directory per checkout, reused across runs; below the system temp dir so the
    // unprivileged server user can reach it.
    let checkout = env!("CARGO_MANIFEST_DIR");
    let hash = checkout.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    std::env::temp_dir().join(format!("ttfd-test-{}-{hash:016x}", nix::unistd::geteuid()))
}

async fn init_cluster() -> Cluster {
    let (owned, admin) = match std::env::var("DATABASE_URL") {
        Ok(url) => (None, url.parse::<PgConnectOptions>().expect("DATABASE_URL")),
        Err(_) => {
            let pg = OwnedPostgres::start(&OwnedOptions {
                data_dir: data_dir(),
                max_connections: 400,
                ephemeral: true,
            })
            .await
            .expect("start the test PostgreSQL");
            let admin = pg.connect_options("postgres");
            (Some(pg), admin)
        }
    };
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .expect("connect to the test PostgreSQL");
    // Databases of earlier runs whose process is gone.
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'ttfd_test_p%'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for name in stale {
        let pid: Option<i32> = name
            .strip_prefix("ttfd_test_p")
            .and_then(|r| r.split('_').next()?.parse().ok());
        let alive = pid.is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
        if !alive {
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    sqlx::query(&format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {TEMPLATE}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let pool = PgPool::connect_with(admin.clone().database(TEMPLATE))
        .await
        .unwrap();
    ttfd::db::migrate(&pool).await.expect("migrate the template");
    pool.close().await;
    conn.close().await.ok();
    Cluster { _owned: owned, admin }
}

/// A fresh, migrated database of its own.
pub async fn fresh_database() -> PgConnectOptions {
    let c = cluster();
    let name = format!(
        "ttfd_test_p{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = PgConnection::connect_with(&c.admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    c.admin.clone().database(&name)
}

/// The URL form of `opts`, for child processes.
pub fn url_of(opts: &PgConnectOptions) -> String {
    let db = opts.get_database().unwrap_or("postgres");
    let user = opts.get_username();
    match opts.get_socket() {
        Some(dir) => format!(
            "postgres://{user}@localhost:{}/{db}?host={}",
            opts.get_port(),
            dir.display().to_string().replace('/', "%2F")
        ),
        None => format!("postgres://{user}@{}:{}/{db}", opts.get_host(), opts.get_port()),
    }
}

pub struct TestApp {
    pub base: String,
    pub url: String,
    pub pool: PgPool,
    pub db: PgConnectOptions,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn start() -> TestApp {
        let db = fresh_database().await;
        let pool = ttfd::db::connect(db.clone(), 10).await.unwrap();
        let state = ttfd::state::AppState::load(pool.clone()).await.unwrap();
        let router = ttfd::http::router(state, &ttfd::http::HttpConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let base = format!("http://{addr}");
        TestApp {
            url: format!("{base}/graphql"),
            base,
            pool,
            db,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs a GraphQL request and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.http
            .post(&self.url)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The `data` of a request that must succeed.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let res = self.gql(query, variables).await;
        assert!(res.get("errors").is_none(), "unexpected errors: {res:#}");
        res["data"].clone()
    }

    /// The `extensions.code` of the first error of a request that must fail.
    pub async fn err_code(&self, query: &str, variables: Value) -> String {
        let res = self.gql(query, variables).await;
        let err = &res["errors"][0];
        assert!(!err.is_null(), "expected an error, got {res:#}");
        err["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned()
    }

    /// Creates a Telegram user and returns its id.
    pub async fn telegram_user(&self, telegram_id: &str, username: &str) -> String {
        let data = self
            .ok(
                "mutation($id: String!, $name: String!) { upsertUser(input: {platform: TELEGRAM, externalId: $id, username: $name}) { id } }",
                json!({ "id": telegram_id, "name": username }),
            )
            .await;
        data["upsertUser"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn award(&self, telegram_id: &str, delta: i64) -> Value {
        self.ok(
            "mutation($t: String!, $d: Int!) { awardXp(user: {telegramId: $t}, delta: $d) { delta xp rankUp rewardCoins oldRank { id } newRank { id } user { coins } } }",
            json!({ "t": telegram_id, "d": delta }),
        )
        .await["awardXp"]
            .clone()
    }

    /// Rows in a table: how tests prove that a rejected request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn event_types(&self, user_id: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT event_type FROM cross_platform_events WHERE user_id = $1::uuid ORDER BY txid, seq",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

/// Installs the JavaScript test clients (once per checkout) and returns their directory.
pub fn js_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
            if !dir.join("node_modules/.package-lock.json").exists() {
                let status = std::process::Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm (Node.js) is needed for the third-party client tests");
                assert!(status.success(), "npm ci failed in tests/js");
            }
            dir
        })
        .clone()
}
