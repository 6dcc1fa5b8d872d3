//! A PostgreSQL cluster the service runs itself when no `DATABASE_URL` is given: the locally
//! installed server binaries, a data directory this process owns (initdb on first start, reused
//! afterwards), a Unix socket inside that directory and no TCP port. As root it runs the server
//! as an unprivileged user, since PostgreSQL refuses to run as root.

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User, geteuid};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::{Mutex, oneshot};

/// The socket is `<data dir>/.s.PGSQL.5432`; the number only names the file.
const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

#[derive(Clone, Debug)]
pub struct OwnedOptions {
    pub data_dir: PathBuf,
    pub max_connections: u32,
    /// Trade crash safety for speed (fsync off): for test clusters only.
    pub ephemeral: bool,
}

pub struct OwnedPostgres {
    data_dir: PathBuf,
    /// The postmaster we started; `None` when we found one already running on the directory.
    child: Option<Child>,
}

struct Child {
    pid: Pid,
    exited: Mutex<Option<oneshot::Receiver<std::io::Result<ExitStatus>>>>,
}

type Error = String;

impl OwnedPostgres {
    pub async fn start(opts: &OwnedOptions) -> Result<OwnedPostgres, Error> {
        let bin = find_bin_dir()?;
        let run_as = unprivileged_user()?;
        let data_dir = absolute(&opts.data_dir)?;
        prepare_dir(&data_dir, run_as.as_ref())?;

        // A server already on the directory is reused while it answers; one that is shutting
        // down (an earlier process's, say) is waited for.
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(pid) = running_postmaster(&data_dir) {
            let pg = OwnedPostgres {
                data_dir: data_dir.clone(),
                child: None,
            };
            if pg.wait_ready(Duration::from_millis(200), None).await.is_ok() {
                tracing::info!(pid, dir = %data_dir.display(), "reusing the PostgreSQL already running on the data directory");
                return Ok(pg);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "a PostgreSQL (pid {pid}) holds {} but does not answer",
                    data_dir.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        if !data_dir.join("PG_VERSION").exists() {
            initdb(&bin, &data_dir, run_as.as_ref(), opts.ephemeral)?;
        }
        let child = spawn_postmaster(&bin, &data_dir, run_as.as_ref(), opts)?;
        let pg = OwnedPostgres {
            data_dir,
            child: Some(child),
        };
        if let Err(e) = pg.wait_ready(Duration::from_secs(60), pg.child.as_ref()).await {
            pg.stop().await;
            return Err(e);
        }
        tracing::info!(dir = %pg.data_dir.display(), "started PostgreSQL");
        Ok(pg)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.data_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// A URL other processes can use (`DATABASE_URL`) to reach this cluster.
    pub fn url(&self, database: &str) -> String {
        let host: String = self
            .data_dir
            .to_string_lossy()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={host}")
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<(), Error> {
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .map_err(|e| format!("cannot connect to the owned PostgreSQL: {e}"))?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(database)
            .fetch_optional(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if exists.is_none() {
            let sql = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
            sqlx::query(&sql)
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        }
        conn.close().await.ok();
        Ok(())
    }

    /// Fast shutdown (clients are disconnected, data is flushed). Does nothing for a cluster we
    /// did not start.
    pub async fn stop(&self) {
        let Some(child) = &self.child else { return };
        let Some(exited) = child.exited.lock().await.take() else {
            return;
        };
        let _ = kill(child.pid, Signal::SIGINT);
        match tokio::time::timeout(Duration::from_secs(30), exited).await {
            Ok(_) => tracing::info!("stopped PostgreSQL"),
            Err(_) => {
                tracing::warn!("PostgreSQL did not stop in 30 s; sending SIGQUIT");
                let _ = kill(child.pid, Signal::SIGQUIT);
            }
        }
    }

    async fn wait_ready(&self, limit: Duration, child: Option<&Child>) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        let opts = self.connect_options("postgres");
        loop {
            match PgConnection::connect_with(&opts).await {
                Ok(conn) => {
                    conn.close().await.ok();
                    return Ok(());
                }
                Err(e) => {
                    if let Some(child) = child {
                        let mut guard = child.exited.lock().await;
                        if let Some(rx) = guard.as_mut()
                            && let Ok(status) = rx.try_recv()
                        {
                            guard.take();
                            return Err(format!(
                                "PostgreSQL exited during start ({status:?}); its log ends:\n{}",
                                log_tail(&self.data_dir)
                            ));
                        }
                    }
                    if Instant::now() > deadline {
                        return Err(format!("PostgreSQL did not accept connections in time: {e}"));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

fn absolute(dir: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(dir).map_err(|e| format!("bad data directory {}: {e}", dir.display()))
}

/// `TTFD_PG_BIN_DIR`, else Debian's `/usr/lib/postgresql/<newest>/bin`, else `PATH`.
fn find_bin_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("TTFD_PG_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("postgres").exists() && d.join("initdb").exists())
        .ok_or_else(|| {
            "no PostgreSQL server binaries found (install the postgresql package, set \
             TTFD_PG_BIN_DIR, or set DATABASE_URL)"
                .to_owned()
        })
}

/// As root: `TTFD_PG_USER` (default `nobody`). Otherwise the server runs as we do.
fn unprivileged_user() -> Result<Option<(Uid, Gid)>, Error> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    let name = std::env::var("TTFD_PG_USER").unwrap_or_else(|_| "nobody".into());
    let user = User::from_name(&name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("user {name} (TTFD_PG_USER) does not exist"))?;
    if user.uid.is_root() {
        return Err("TTFD_PG_USER must not be root: PostgreSQL refuses to run as root".into());
    }
    Ok(Some((user.uid, user.gid)))
}

fn prepare_dir(dir: &Path, run_as: Option<&(Uid, Gid)>) -> Result<(), Error> {
    let fresh = !dir.exists();
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = run_as {
        // The server's user must be able to reach the directory through every ancestor.
        for ancestor in dir.ancestors().skip(1) {
            let meta = fs::metadata(ancestor).map_err(|e| e.to_string())?;
            if meta.mode() & 0o001 == 0 && meta.uid() != uid.as_raw() {
                return Err(format!(
                    "PostgreSQL runs as an unprivileged user that cannot enter {}; choose a data \
                     directory (--data-dir / TTFD_DATA_DIR) below a world-searchable path such as /var/tmp",
                    ancestor.display()
                ));
            }
        }
        let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
        if fresh || meta.uid() != uid.as_raw() {
            std::os::unix::fs::chown(dir, Some(uid.as_raw()), Some(gid.as_raw()))
                .map_err(|e| format!("cannot chown {}: {e}", dir.display()))?;
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| e.to_string())?;
    Ok(())
}

fn running_postmaster(dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    kill(Pid::from_raw(pid), None).is_ok().then_some(pid)
}

fn as_user(cmd: &mut Command, run_as: Option<&(Uid, Gid)>) {
    if let Some((uid, gid)) = run_as {
        cmd.uid(uid.as_raw()).gid(gid.as_raw());
    }
}

fn initdb(bin: &Path, dir: &Path, run_as: Option<&(Uid, Gid)>, ephemeral: bool) -> Result<(), Error> {
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(dir)
        .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C"]);
    if ephemeral {
        cmd.arg("--no-sync");
    }
    as_user(&mut cmd, run_as);
    // Run from a directory the server's user can read.
    cmd.current_dir(dir).stdin(Stdio::null());
    let out = cmd.output().map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    tracing::info!(dir = %dir.display(), "initialised a PostgreSQL data directory");
    Ok(())
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("server.log")
}

fn log_tail(dir: &Path) -> String {
    let text = fs::read_to_string(log_path(dir)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn spawn_postmaster(
    bin: &Path,
    dir: &Path,
    run_as: Option<&(Uid, Gid)>,
    opts: &OwnedOptions,
) -> Result<Child, Error> {
    let log = File::options()
        .create(true)
        .append(true)
        .open(log_path(dir))
        .map_err(|e| format!("cannot open the PostgreSQL log: {e}"))?;
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(dir)
        .arg("-k")
        .arg(dir)
        .arg("-p")
        .arg(PORT.to_string());
    let mut settings = vec![
        "listen_addresses=".to_owned(),
        format!("max_connections={}", opts.max_connections),
        // Sized for a million users rather than initdb's minimal defaults: the users, their
        // indexes and the score counts stay in memory, and a bulk import is not interrupted
        // by checkpoints every gigabyte of WAL.
        "shared_buffers=512MB".to_owned(),
        "max_wal_size=4GB".to_owned(),
        "checkpoint_completion_target=0.9".to_owned(),
    ];
    if opts.ephemeral {
        settings.extend(["fsync=off", "synchronous_commit=off", "full_page_writes=off"].map(String::from));
    }
    for s in settings {
        cmd.arg("-c").arg(s);
    }
    as_user(&mut cmd, run_as);
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        // Its own process group: a terminal's Ctrl-C reaches us, and we stop the server last.
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec, after
    // the uid change (which would otherwise clear the setting).
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT)?;
            Ok(())
        });
    }
    // The parent-death signal fires when the *thread* that forked exits, so a dedicated thread
    // spawns the server and lives exactly as long as it does.
    let (pid_tx, pid_rx) = std::sync::mpsc::channel();
    let (exit_tx, exit_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("postgres".into())
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id()));
                let _ = exit_tx.send(child.wait());
            }
            Err(e) => {
                let _ = pid_tx.send(Err(e));
            }
        })
        .map_err(|e| e.to_string())?;
    let pid = pid_rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    Ok(Child {
        pid: Pid::from_raw(pid as i32),
        exited: Mutex::new(Some(exit_rx)),
    })
}
