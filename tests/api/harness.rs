//! Test harness: one PostgreSQL per test run (the service's own owned-cluster mechanism, or
//! `DATABASE_URL` when set), a fresh database per test cloned from a migrated template, and
//! the real router served on an ephemeral port.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

/// Creates an API key directly in the database and returns its secret.
pub async fn create_key(pool: &PgPool, name: &str, role: ttfd::domain::access::Role) -> String {
    let secret = ttfd::auth::new_secret().unwrap();
    let name = ttfd::domain::Name::parse("name", name).unwrap();
    ttfd::db::api_keys::create(pool, &name, role, &ttfd::auth::hash(&secret))
        .await
        .unwrap();
    secret
}

/// A fresh, migrated database of its own.
pub async fn fresh_database() -> PgConnectOptions {
    new_database("ttfd_test", TEMPLATE).await
}

/// A database with nothing in it (not migrated): another program's, as a source.
pub async fn empty_database() -> PgConnectOptions {
    new_database("other_test", "template0").await
}

async fn new_database(prefix: &str, template: &str) -> PgConnectOptions {
    let c = cluster();
    let name = format!(
        "{prefix}_p{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = PgConnection::connect_with(&c.admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE {template}"))
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
    pub ws_url: String,
    pub pool: PgPool,
    pub db: PgConnectOptions,
    pub http: reqwest::Client,
    pub state: ttfd::state::AppState,
    /// The admin key every request of `gql` carries.
    pub admin: String,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(ttfd::state::StateConfig::default()).await
    }

    pub async fn start_with(config: ttfd::state::StateConfig) -> TestApp {
        TestApp::start_full(config, ttfd::http::HttpConfig::default()).await
    }

    pub async fn start_full(config: ttfd::state::StateConfig, http: ttfd::http::HttpConfig) -> TestApp {
        TestApp::start_on(config, http, 10).await
    }

    /// A server whose pool holds `connections` connections.
    pub async fn start_on(
        config: ttfd::state::StateConfig,
        http: ttfd::http::HttpConfig,
        connections: u32,
    ) -> TestApp {
        let db = fresh_database().await;
        let pool = ttfd::db::connect(db.clone(), connections).await.unwrap();
        let state = ttfd::state::AppState::start(pool.clone(), &config).await.unwrap();
        let router = ttfd::http::router(state.clone(), &http);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, service).await.unwrap()
        });
        let base = format!("http://{addr}");
        let admin = create_key(&pool, "test-admin", ttfd::domain::access::Role::Admin).await;
        TestApp {
            url: format!("{base}/graphql"),
            ws_url: format!("ws://{addr}/graphql/ws"),
            base,
            pool,
            db,
            http: reqwest::Client::new(),
            state,
            admin,
        }
    }

    /// POSTs a GraphQL request as admin and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(Some(&self.admin), query, variables).await
    }

    /// POSTs a GraphQL request with `key` (`None`: the public) and returns the body.
    pub async fn gql_as(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(&self.url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request
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

    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Rows in a table: how tests prove that a rejected request wrote nothing.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits until this process has `n` live subscribers.
    pub async fn wait_subscribers(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.state.events.subscribers() < n {
            assert!(Instant::now() < deadline, "subscribers never reached {n}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every event in this database is readable. Readers only see events older
    /// than every running writing transaction in the cluster, and other tests run some.
    pub async fn settled(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let held: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM cross_platform_events \
                 WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if held == 0 {
                return;
            }
            assert!(Instant::now() < deadline, "events stayed held back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until this process's boards in memory hold every event and account in the
    /// database (at once when they are off): what a read right after a write needs, since the
    /// boards follow the event stream.
    pub async fn boards_settled(&self) {
        self.settled().await;
        let boards = &self.state.boards;
        if !boards.follows() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (newest, users): (Option<(i64, i64)>, i64) = sqlx::query_as(
                "SELECT (SELECT (txid, seq) FROM cross_platform_events ORDER BY txid DESC, seq DESC LIMIT 1), \
                     (SELECT count(*) FROM unified_users)",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            let applied = boards.applied();
            let events_in = newest.is_none_or(|(txid, seq)| (applied.txid, applied.seq) >= (txid, seq));
            let board = ttfd::db::leaderboard::Board::AllTime;
            if events_in && boards.len(board) == Some(users as usize) {
                return;
            }
            assert!(Instant::now() < deadline, "the boards stayed behind");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The cursor of the newest event (from the history query).
    pub async fn last_cursor(&self) -> Option<String> {
        self.settled().await;
        let mut after: Option<String> = None;
        loop {
            let data = self
                .ok("query($a: String) { events(first: 500, after: $a) { pageInfo { hasNextPage endCursor } } }", json!({"a": after}))
                .await;
            let info = &data["events"]["pageInfo"];
            if let Some(c) = info["endCursor"].as_str() {
                after = Some(c.to_owned());
            }
            if info["hasNextPage"] != true {
                return after;
            }
        }
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

/// Installs the JavaScript test clients (again whenever the lockfile changes) and returns
/// their directory.
pub fn js_dir() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js");
            let stamp = dir.join("node_modules/.ttfd-installed");
            let wanted = std::fs::read_to_string(dir.join("package-lock.json")).unwrap();
            if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
                let status = std::process::Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm (Node.js) is needed for the third-party client tests");
                assert!(status.success(), "npm ci failed in tests/js");
                std::fs::write(&stamp, wanted).unwrap();
            }
            dir
        })
        .clone()
}

/// The Python test clients' virtualenv (created once per checkout) and its interpreter.
pub fn python() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py");
            let python = dir.join(".venv/bin/python");
            let stamp = dir.join(".venv/requirements.txt");
            let wanted = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
            if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
                let run = |cmd: &mut std::process::Command| {
                    let status = cmd
                        .current_dir(&dir)
                        .status()
                        .expect("python3 is needed for the gql client tests");
                    assert!(status.success(), "{cmd:?} failed");
                };
                run(std::process::Command::new("python3").args(["-m", "venv", ".venv"]));
                run(std::process::Command::new(&python).args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "-r",
                    "requirements.txt",
                ]));
                std::fs::write(&stamp, wanted).unwrap();
            }
            python
        })
        .clone()
}

/// A client process that prints one JSON object per line.
pub struct LineProcess {
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
}

impl LineProcess {
    pub fn spawn(mut cmd: tokio::process::Command) -> LineProcess {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn a client process");
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                match serde_json::from_str(&line) {
                    Ok(v) => {
                        let _ = tx.send(v);
                    }
                    Err(_) => eprintln!("client: {line}"),
                }
            }
        });
        LineProcess { child, lines }
    }

    /// The next line, or `None` after `within`.
    pub async fn line(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// Waits for the client's `{"connected": true}`.
    pub async fn connected(&mut self) {
        let line = self.line(Duration::from_secs(20)).await;
        assert_eq!(line, Some(json!({"connected": true})), "client did not connect");
    }

    /// The payloads of the next `n` results (`{"next": payload}` lines), failing on anything else.
    pub async fn results(&mut self, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.line(left).await {
                Some(v) if v.get("next").is_some() => out.push(v["next"].clone()),
                other => panic!("expected result {} of {n}, got {other:?}", out.len() + 1),
            }
        }
        out
    }

    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// The npm graphql-ws client (graphql-transport-ws).
pub fn node_subscriber(url: &str, query: &str, variables: Value, count: usize) -> LineProcess {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(js_dir().join("subscribe.mjs"))
        .args([
            "--url",
            url,
            "--query",
            query,
            "--variables",
            &variables.to_string(),
        ])
        .args(["--count", &count.to_string(), "--timeout", "60000"]);
    LineProcess::spawn(cmd)
}

/// The Python gql client with its websockets transport; `protocol` is "transport" or "legacy".
pub fn python_subscriber(
    url: &str,
    protocol: &str,
    query: &str,
    variables: Value,
    count: usize,
    delay: f64,
) -> LineProcess {
    python_subscriber_with_key(url, protocol, query, variables, count, delay, None)
}

/// The same, presenting `key` in `connection_init`.
pub fn python_subscriber_with_key(
    url: &str,
    protocol: &str,
    query: &str,
    variables: Value,
    count: usize,
    delay: f64,
    key: Option<&str>,
) -> LineProcess {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/subscribe.py"))
        .args([
            "--url",
            url,
            "--protocol",
            protocol,
            "--query",
            query,
            "--variables",
            &variables.to_string(),
        ])
        .args([
            "--count",
            &count.to_string(),
            "--timeout",
            "60",
            "--delay",
            &delay.to_string(),
        ]);
    if let Some(key) = key {
        cmd.args(["--api-key", key]);
    }
    LineProcess::spawn(cmd)
}

/// POSTs a GraphQL request with `key` to the server process at `base` and returns the body.
pub async fn post_to_with(base: &str, key: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn post_to(base: &str, key: &str, query: &str) -> Value {
    post_to_with(base, key, query, json!({})).await
}

/// Starts the `ttfd serve` binary on the test app's database with extra environment; returns
/// the process (killed when dropped) and its base URL.
pub async fn spawn_server(app: &TestApp, env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", url_of(&app.db))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server exited before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().trim_end_matches("/graphql").to_owned();
        }
    };
    let url_for_log = url.clone();
    // Warnings and errors show with the test's output (on failure, or with --nocapture).
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(" WARN ") || line.contains(" ERROR ") {
                eprintln!("server {url_for_log}: {line}");
            }
        }
    });
    (child, url)
}

/// The value of the metric line that starts with `name_and_labels` (0 when absent).
pub fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}
