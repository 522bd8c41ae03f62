//! A throwaway PostgreSQL cluster for a test: `initdb` and `pg_ctl` in a temporary
//! directory, listening on a free 127.0.0.1 port only (no Unix socket), trust
//! authentication, stopped (`pg_ctl stop -m immediate`) and deleted when dropped, panics
//! included.
//!
//! The server binaries are found under `/usr/lib/postgresql/<version>/bin` (Debian's
//! `postgresql` package; the highest version wins), else on `PATH`, else in
//! `$REELSEAL_PG_BIN`. PostgreSQL refuses to run as root, so as root the cluster belongs to
//! the `postgres` user (made by Debian's package) or `nobody`, and its programs run through
//! `runuser`. Without PostgreSQL the tests fail and say to run `bash .ci/setup`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A running cluster; dropping it stops the server and deletes its files.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as: Option<String>,
    pub port: u16,
    stopped: bool,
}

/// Where `initdb`, `pg_ctl`, `postgres` and `psql` are.
fn bindir() -> PathBuf {
    if let Some(d) = std::env::var_os("REELSEAL_PG_BIN") {
        let d = PathBuf::from(d);
        assert!(
            d.join("initdb").is_file() && d.join("pg_ctl").is_file(),
            "REELSEAL_PG_BIN={} holds no initdb and pg_ctl: point it at PostgreSQL's bin \
             directory, or unset it and run `bash .ci/setup` to install PostgreSQL",
            d.display()
        );
        return d;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    on_path.unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH): \
             run `bash .ci/setup`, which installs Debian's `postgresql` package as CI does \
             (or set REELSEAL_PG_BIN to the directory holding initdb and pg_ctl)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A non-root user to own the cluster: `postgres` if it exists, else `nobody`.
fn cluster_user() -> String {
    for u in ["postgres", "nobody"] {
        if Command::new("id")
            .arg("-u")
            .arg(u)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return u.to_string();
        }
    }
    panic!("running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as (initdb refuses root)");
}

fn id_of(user: &str, flag: &str) -> u32 {
    let o = Command::new("id").arg(flag).arg(user).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// initdb + pg_ctl start on a free port (a few attempts if another process takes the
    /// port first), and a database `reelseal`.
    pub fn start() -> PgCluster {
        let bin = bindir();
        let run_as = is_root().then(cluster_user);
        let dir = tempfile::Builder::new()
            .prefix("reelseal-pg-")
            .tempdir()
            .unwrap();
        let home = dir.path().join("pg");
        std::fs::create_dir(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // The cluster's user must reach its directory.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
            if let Some(u) = &run_as {
                std::os::unix::fs::chown(&home, Some(id_of(u, "-u")), Some(id_of(u, "-g")))
                    .unwrap();
            }
        }
        let mut c = PgCluster {
            dir,
            bin,
            run_as,
            port: 0,
            stopped: true,
        };
        let o = c.run(
            "initdb",
            &[
                "-D",
                c.data().to_str().unwrap(),
                "-U",
                "reelseal",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(o.status.success(), "initdb failed: {}", text(&o));
        for attempt in 0..3 {
            c.port = free_port();
            let opts = format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200",
                c.port
            );
            let log = home.join("log");
            let o = c.run(
                "pg_ctl",
                &[
                    "-D",
                    c.data().to_str().unwrap(),
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            if o.status.success() {
                c.stopped = false;
                break;
            }
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(attempt < 2, "pg_ctl start failed: {}\n{log}", text(&o));
        }
        c.psql("postgres", "CREATE DATABASE reelseal");
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("pg").join("data")
    }

    /// Run one of the server's programs (as the cluster's user when we are root).
    fn run(&self, prog: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(prog);
        let mut cmd = match &self.run_as {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()))
    }

    /// The URL of database `reelseal` (TLS off: loopback only).
    pub fn url(&self) -> String {
        format!(
            "postgres://reelseal@127.0.0.1:{}/reelseal?sslmode=disable",
            self.port
        )
    }

    /// Run SQL in database `db` with psql; its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let psql = if psql.is_file() {
            psql
        } else {
            PathBuf::from("psql")
        };
        let o = Command::new(psql)
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "reelseal",
            ])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(db)
            .arg("-c")
            .arg(sql)
            .output()
            .unwrap();
        assert!(o.status.success(), "psql {sql:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// One number from a query on database `reelseal`.
    pub fn count(&self, sql: &str) -> i64 {
        self.psql("reelseal", sql)
            .parse()
            .unwrap_or_else(|e| panic!("{sql}: not a number ({e})"))
    }

    /// Stop the server now (to see what replicas do without their database).
    pub fn stop(&mut self) {
        if !self.stopped {
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D",
                    self.data().to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
            self.stopped = true;
        }
    }

    /// Where the cluster lives.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Poll `f` every 50 ms until it is true or `limit` passes; whether it became true.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
