//! Private PostgreSQL clusters on this machine (issue 21): a primary with
//! a synchronous streaming standby (the failover test), and a single
//! server a test stops and starts again (the outage test). Debian's server
//! binaries run as the `postgres` user (`runuser`), listening on loopback
//! ports of their own. Nothing of the shared test server is touched.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The newest Debian PostgreSQL's binaries.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Debian's PostgreSQL under /usr/lib/postgresql")
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pg_basebackup").is_file())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the postgres user exists")
    };
    (id("-u"), id("-g"))
}

/// Runs a server binary as `postgres`; panics with its output on failure.
fn run(program: &str, args: &[&str]) -> String {
    let bin = bin_dir().join(program);
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(&bin)
        .args(args)
        .current_dir("/")
        .output()
        .expect("runuser runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}: {text}");
    text
}

/// A directory the `postgres` user owns, mode 0700.
fn owned_dir(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).expect("mkdir");
    let (uid, gid) = postgres_ids();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).expect("chmod");
}

/// One private server.
#[derive(Clone)]
pub struct Server {
    pub data: PathBuf,
    pub port: u16,
}

impl Server {
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates its data directory (`initdb`, trust on loopback) with
    /// `conf` added to its configuration; `sockets` is where its unix
    /// sockets and log go.
    fn init(&self, sockets: &Path, conf: &str) {
        owned_dir(&self.data);
        run(
            "initdb",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             shared_buffers = 32MB\nmax_connections = 60\n{conf}",
            self.port,
            sockets.display()
        );
        append(&self.data.join("postgresql.conf"), &conf);
    }

    /// Its server log: beside the sockets, in a directory `postgres` may
    /// write to.
    fn log_path(&self) -> PathBuf {
        let name = self.data.file_name().expect("name").to_string_lossy();
        self.data
            .with_file_name("sockets")
            .join(format!("{name}.log"))
    }

    /// What the server logged so far (its starts and stops, say).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server, waiting until it accepts connections.
    pub fn start(&self) {
        let log = self.log_path();
        run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    /// Stops the server the hard way: no shutdown checkpoint, clients cut
    /// off (what a crash or a lost machine looks like).
    pub fn crash(&self) {
        run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }

    /// Stops the server as an operator's restart does (`-m fast`): every
    /// session is ended with "terminating connection due to administrator
    /// command", new ones are refused while it shuts down, and a shutdown
    /// checkpoint is written, so it starts again without crash recovery.
    /// Waits until it is down.
    pub fn shut_down(&self) {
        run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "-t",
                "30",
                "stop",
            ],
        );
    }

    /// Promotes a standby to primary, waiting until it accepts writes.
    pub fn promote(&self) {
        run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-w",
                "-t",
                "30",
                "promote",
            ],
        );
    }

    /// Stops it for good at the end of a test, whatever its state (an
    /// already stopped server is no error).
    fn stop(&self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin_dir().join("pg_ctl"))
            .args([
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "stop",
            ])
            .current_dir("/")
            .output();
    }
}

/// A temporary directory for a private cluster's data directories, and
/// beside them `sockets`, which `postgres` may write to.
fn cluster_dir() -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let sockets = dir.path().join("sockets");
    owned_dir(&sockets);
    (dir, sockets)
}

/// A single private server, started; stopped for good when dropped.
pub struct Solo {
    pub server: Server,
    _dir: tempfile::TempDir,
}

impl Solo {
    pub fn start() -> Self {
        let (dir, sockets) = cluster_dir();
        let server = Server {
            data: dir.path().join("solo"),
            port: super::scale::free_port(),
        };
        server.init(&sockets, "");
        server.start();
        Self { server, _dir: dir }
    }
}

impl Drop for Solo {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// A primary and its synchronous standby (`standby1`), both started.
pub struct Pair {
    pub primary: Server,
    pub standby: Server,
    _dir: tempfile::TempDir,
}

impl Pair {
    pub fn start() -> Self {
        let (dir, sockets) = cluster_dir();
        let primary = Server {
            data: dir.path().join("primary"),
            port: super::scale::free_port(),
        };
        let standby = Server {
            data: dir.path().join("standby"),
            port: super::scale::free_port(),
        };
        owned_dir(&standby.data);
        primary.init(
            &sockets,
            "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n\
             synchronous_commit = on\nsynchronous_standby_names = 'standby1'\n",
        );
        primary.start();
        run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-D",
                &standby.data.to_string_lossy(),
                "-X",
                "stream",
            ],
        );
        // The standby: its own port, following the primary as `standby1`;
        // once promoted it waits for no standby of its own (an operator's
        // failover manager would point it at the next one).
        append(
            &standby.data.join("postgresql.auto.conf"),
            &format!(
                "\nport = {}\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres \
                 application_name=standby1'\nsynchronous_standby_names = ''\n",
                standby.port, primary.port
            ),
        );
        let signal = standby.data.join("standby.signal");
        std::fs::write(&signal, "").expect("standby.signal");
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(&signal, Some(uid), Some(gid)).expect("chown");
        standby.start();
        let pair = Self {
            primary,
            standby,
            _dir: dir,
        };
        pair.wait_synchronous();
        pair
    }

    /// Waits until the primary streams to `standby1` synchronously.
    fn wait_synchronous(&self) {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut conn = PgConnection::establish(&self.primary.url("postgres")).expect("primary");
        loop {
            let sync: N = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_replication \
                 WHERE application_name = 'standby1' AND sync_state = 'sync'",
            )
            .get_result(&mut conn)
            .expect("pg_stat_replication");
            if sync.n == 1 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the standby never became synchronous"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `DATABASE_URL` naming both servers, primary first, for the server
    /// that accepts writes (libpq's multi-host syntax).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/{db}?target_session_attrs=read-write\
             &connect_timeout=2",
            self.primary.port, self.standby.port
        )
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.standby.stop();
        self.primary.stop();
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open conf");
    file.write_all(text.as_bytes()).expect("append conf");
}
