//! Test helpers for the mfa-devices workspace (not published).
//!
//! # A throwaway PostgreSQL cluster
//!
//! [`PostgresCluster`] runs a private PostgreSQL server for one test (or one test binary):
//! `initdb` into a fresh temporary directory, `trust` authentication, listening on
//! `127.0.0.1` only on a free port, `fsync` off. The guard stops the server and deletes the
//! directory on [`Drop`] (also while a test panics); a small watchdog process does the same if
//! the test process dies without unwinding (abort, `SIGKILL`), so no server outlives its test.
//!
//! The server binaries (`initdb`, `pg_ctl`, `postgres`) are taken from `$MFA_POSTGRES_BIN` if
//! set, else from `PATH`, else from the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
//! Running as root, the data directory is given to the `postgres` user and every server
//! command runs through `runuser -u postgres --` (PostgreSQL refuses to run as root).
//!
//! Where no binaries are found, tests are skipped — they print `skipped: <test>: <why>` and
//! pass — unless the environment sets `MFA_REQUIRE_POSTGRES=1` (CI does, after installing
//! PostgreSQL), where a missing server fails the test:
//!
//! ```no_run
//! use mfa_devices_testkit::PostgresCluster;
//!
//! #[test]
//! fn stores_a_row() {
//!     let Some(mut pg) = PostgresCluster::start_or_skip("stores_a_row") else { return };
//!     let url = pg.url(); // postgres://postgres@127.0.0.1:PORT/postgres
//!     // ... connect with any driver ...
//!     pg.stop().unwrap(); // fault test: the database goes away
//!     pg.start_again().unwrap(); // and comes back on the same port with the same data
//! }
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "webauthn")]
pub mod webauthn;

use std::fmt;
use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable that turns "skipped" into a failure (`MFA_REQUIRE_POSTGRES=1`).
pub const REQUIRE_ENV: &str = "MFA_REQUIRE_POSTGRES";
/// The environment variable naming a directory holding `initdb`, `pg_ctl` and `postgres`.
pub const BIN_ENV: &str = "MFA_POSTGRES_BIN";

/// Why a cluster could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No PostgreSQL server binaries on this machine (or no way to run them): tests skip,
    /// unless [`REQUIRE_ENV`] is set.
    NotInstalled(String),
    /// The binaries exist but the cluster did not come up: always a failure.
    Failed(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotInstalled(why) => write!(f, "skipped: {why}"),
            Unavailable::Failed(why) => write!(f, "PostgreSQL failed to start: {why}"),
        }
    }
}

impl std::error::Error for Unavailable {}

/// Whether `MFA_REQUIRE_POSTGRES=1` is set (a missing PostgreSQL is then a failure).
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// A running (or deliberately stopped) throwaway PostgreSQL cluster; see the crate docs.
///
/// Dropping it stops the server (immediate mode) and removes its directory.
pub struct PostgresCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
    // Closing this pipe (drop, or the test process dying) makes the watchdog stop the server
    // and delete `root`.
    watchdog_stdin: Option<ChildStdin>,
    watchdog: Option<Child>,
}

impl fmt::Debug for PostgresCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresCluster")
            .field("url", &self.url())
            .field("data", &self.data_dir())
            .field("running", &self.running)
            .finish()
    }
}

impl PostgresCluster {
    /// Starts a fresh cluster, or says why it cannot.
    pub fn start() -> Result<Self, Unavailable> {
        let bin = find_bin_dir()?;
        let as_postgres = running_as_root();
        if as_postgres && !command_exists("runuser") {
            return Err(Unavailable::NotInstalled(
                "running as root and `runuser` is missing (PostgreSQL refuses to run as root)"
                    .into(),
            ));
        }
        let root = fresh_temp_dir().map_err(|e| fail("creating the temporary directory", &e))?;
        let mut cluster = PostgresCluster {
            bin,
            root,
            port: 0,
            as_postgres,
            running: false,
            watchdog_stdin: None,
            watchdog: None,
        };
        // From here on, Drop cleans up whatever was created.
        cluster
            .spawn_watchdog()
            .map_err(|e| fail("starting the watchdog", &e))?;
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&cluster.root))
                .map_err(|e| fail("chown of the temporary directory to postgres", &e))?;
        }
        let initdb = cluster
            .server_command("initdb")
            .arg("-D")
            .arg(cluster.data_dir())
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
            ])
            .arg("--no-instructions")
            .output();
        check(initdb, "initdb").map_err(|e| Unavailable::Failed(e.to_string()))?;
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port().map_err(|e| fail("finding a free port", &e))?;
            match cluster.start_again() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Unavailable::Failed(last))
    }

    /// Starts a cluster for the test `test`, or prints `skipped: <test>: <why>` and returns
    /// `None` when PostgreSQL is not installed.
    ///
    /// # Panics
    /// When PostgreSQL is not installed and [`REQUIRE_ENV`] is `1`, or when the binaries are
    /// present but the cluster fails to start (a real failure, never a skip).
    pub fn start_or_skip(test: &str) -> Option<Self> {
        match Self::start() {
            Ok(cluster) => Some(cluster),
            Err(Unavailable::NotInstalled(why)) if !postgres_required() => {
                eprintln!("skipped: {test}: {why}");
                None
            }
            Err(Unavailable::NotInstalled(why)) => {
                panic!("{test}: {REQUIRE_ENV}=1 but PostgreSQL is not available: {why}")
            }
            Err(e) => panic!("{test}: {e}"),
        }
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres` — the superuser on the default database.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The connection URL of the database `database` on this cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The TCP port (on `127.0.0.1`); it stays the same across [`stop`](Self::stop) and
    /// [`start_again`](Self::start_again).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server is up (as far as this guard knows).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Creates database `name` (an SQL identifier: letters, digits, `_`) and returns its URL.
    /// Gives tests that share one cluster a database each.
    pub fn create_database(&self, name: &str) -> io::Result<String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("database name {name:?}: only ASCII letters, digits and _"),
            ));
        }
        self.psql(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url_for(name))
    }

    /// Runs SQL through `psql` on the `postgres` database and returns its unaligned,
    /// tuples-only output (`|`-separated columns, one row a line). For fixtures and checks;
    /// tests under test use their own driver.
    pub fn psql(&self, sql: &str) -> io::Result<String> {
        let out = self
            .server_command("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args(["-U", "postgres", "-d", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg("-c")
            .arg(sql)
            .output();
        let out = check(out, "psql")?;
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
    }

    /// Stops the server (fast shutdown: open connections are closed, the data is kept).
    pub fn stop(&mut self) -> io::Result<()> {
        self.pg_ctl_stop("fast")
    }

    /// Stops the server the hard way (immediate shutdown, like a crash: recovery runs on the
    /// next start). For fault tests.
    pub fn crash(&mut self) -> io::Result<()> {
        self.pg_ctl_stop("immediate")
    }

    /// Starts the server again on the same port with the same data (after [`stop`](Self::stop)
    /// or [`crash`](Self::crash)); waits until it accepts connections.
    pub fn start_again(&mut self) -> io::Result<()> {
        if self.running {
            return Ok(());
        }
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.root.display()
        );
        let out = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|child| child.wait_with_output());
        if let Err(e) = check(out, "pg_ctl start") {
            return Err(io::Error::other(format!(
                "{e}\nserver log:\n{}",
                self.log()
            )));
        }
        self.running = true;
        // pg_ctl -w returns once the server accepts connections; confirm on TCP.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "server started but 127.0.0.1:{} refuses connections",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The server's log so far (for a failing test's message).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.root.join("server.log")) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    /// The data directory (inside the cluster's temporary directory).
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn pg_ctl_stop(&mut self, mode: &str) -> io::Result<()> {
        if !self.running {
            return Ok(());
        }
        let out = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "-m", mode, "stop"])
            .output();
        check(out, "pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    /// A server binary from the chosen directory, as the `postgres` user when we are root.
    fn server_command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd.current_dir(&self.root);
            cmd
        } else {
            let mut cmd = Command::new(program);
            cmd.current_dir(&self.root);
            cmd
        }
    }

    fn spawn_watchdog(&mut self) -> io::Result<()> {
        // Reads stdin until EOF (our guard dropped, or this process died), then stops the
        // server and deletes the directory. Paths go in as arguments, never into the script.
        let script = r#"cat >/dev/null
if [ -f "$2/data/postmaster.pid" ]; then
  if [ "$3" = 1 ]; then runuser -u postgres -- "$1/pg_ctl" -D "$2/data" -m immediate -w stop
  else "$1/pg_ctl" -D "$2/data" -m immediate -w stop; fi
fi >/dev/null 2>&1
rm -rf "$2""#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("mfa-pg-watchdog")
            .arg(&self.bin)
            .arg(&self.root)
            .arg(if self.as_postgres { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.watchdog_stdin = child.stdin.take();
        self.watchdog = Some(child);
        Ok(())
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        // EOF on the watchdog's stdin: it stops the server and removes the directory.
        drop(self.watchdog_stdin.take());
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.wait();
        }
    }
}

fn fail(what: &str, e: &io::Error) -> Unavailable {
    Unavailable::Failed(format!("{what}: {e}"))
}

fn check(out: io::Result<Output>, what: &str) -> io::Result<Output> {
    let out = out.map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "{what} exited with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn run(cmd: &mut Command) -> io::Result<Output> {
    let what = format!("{:?}", cmd.get_program());
    check(cmd.output(), &what)
}

/// Finds the directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin_dir() -> Result<PathBuf, Unavailable> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(Unavailable::NotInstalled(format!(
                "{BIN_ENV}={} lacks initdb, pg_ctl or postgres",
                dir.display()
            )))
        };
    }
    // On PATH: follow the symlink (Debian's wrappers, /usr/local/bin links) to the real
    // directory, where pg_ctl finds its postgres.
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let initdb = dir.join("initdb");
        if initdb.is_file() {
            if let Some(real) = std::fs::canonicalize(&initdb)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
            {
                if complete(&real) {
                    return Ok(real);
                }
            }
            if complete(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        Unavailable::NotInstalled(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in \
             /usr/lib/postgresql/*/bin; install the `postgresql` package"
                .into(),
        )
    })
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn command_exists(name: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(name).is_file())
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn fresh_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "mfa-pg-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_serves_stops_restarts_and_cleans_up() {
        let Some(mut pg) =
            PostgresCluster::start_or_skip("cluster_serves_stops_restarts_and_cleans_up")
        else {
            return;
        };
        assert!(pg.url().starts_with("postgres://postgres@127.0.0.1:"));
        pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
            .unwrap();
        assert_eq!(pg.psql("SELECT x FROM t").unwrap(), "42");
        let url = pg.create_database("second").unwrap();
        assert!(url.ends_with("/second"), "{url}");
        assert!(pg.create_database("bad name; DROP").is_err());

        pg.stop().unwrap();
        assert!(!pg.is_running());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, pg.port())).is_err());
        pg.start_again().unwrap();
        assert_eq!(
            pg.psql("SELECT x FROM t").unwrap(),
            "42",
            "data survives a restart"
        );

        pg.crash().unwrap();
        pg.start_again().unwrap();
        assert_eq!(pg.psql("SELECT x FROM t").unwrap(), "42", "and a crash");

        let root = pg.root.clone();
        let port = pg.port();
        drop(pg);
        assert!(!root.exists(), "the directory is removed on drop");
        assert!(
            TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
            "the server is gone"
        );
    }

    #[test]
    fn a_panicking_test_still_stops_its_server() {
        let Some(pg) = PostgresCluster::start_or_skip("a_panicking_test_still_stops_its_server")
        else {
            return;
        };
        let (root, port) = (pg.root.clone(), pg.port());
        let result = std::thread::spawn(move || {
            let _pg = pg;
            panic!("test failure while the cluster runs");
        })
        .join();
        assert!(result.is_err());
        assert!(!root.exists());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    }

    #[test]
    fn missing_binaries_say_why() {
        let shown = Unavailable::NotInstalled("no initdb".into()).to_string();
        assert_eq!(shown, "skipped: no initdb");
    }
}
