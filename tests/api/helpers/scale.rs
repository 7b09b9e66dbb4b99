//! Operating at scale (issue 21): real `lockbox serve` processes on one
//! test database (the shared test server's, or a private cluster's: see
//! [`super::cluster`]), and the operator's commands run against it.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::{TestDatabase, server_url};

/// The test PostgreSQL server's address, from its URL.
pub fn database_addr() -> SocketAddr {
    let url = server_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = host.rsplit_once(':').unwrap_or((host, "5432"));
    let host = if host.is_empty() || host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    format!("{host}:{port}")
        .parse()
        .expect("a numeric host:port")
}

/// A free local port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// One `lockbox serve` process, its log in a file of its own.
pub struct Instance {
    pub admin: String,
    pub engineer: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// Starts `lockbox serve` on `db` as production runs it (serving as the
    /// runtime role over `database_url`, the owner's URL for migrations),
    /// signing with `key_file`, with `env` on top. Logs the workers' lines
    /// (outages) and warnings, as JSON lines.
    pub fn start(
        db: &TestDatabase,
        database_url: &str,
        key_file: &std::path::Path,
        env: &[(&str, String)],
    ) -> Self {
        let mut env = env.to_vec();
        env.push(("LOCKBOX_MIGRATE_DATABASE_URL", db.url.clone()));
        Self::start_on(database_url, key_file, &env)
    }

    /// [`Instance::start`] on any database (`env` may name the owner's
    /// URL for migrations).
    pub fn start_on(
        database_url: &str,
        key_file: &std::path::Path,
        env: &[(&str, String)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("lockbox.log");
        let (admin, engineer) = (free_port(), free_port());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockbox"));
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LOCKBOX_LOG", "warn,lockbox::startup=info")
            .env("LOCKBOX_LOG_FORMAT", "json")
            // The test server is shared by every test running at once.
            .env("LOCKBOX_DB_POOL_SIZE", "4")
            .env("LOCKBOX_SIGNING_KEY_FILE", key_file)
            .env("LOCKBOX_DATA_DIR", dir.path())
            .env("LOCKBOX_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("LOCKBOX_ENGINEER_ADDR", format!("127.0.0.1:{engineer}"))
            .env("LOCKBOX_STAFF_MFA", "optional")
            .env("LOCKBOX_API_RATE_PER_SECOND", "10000")
            .env("LOCKBOX_API_BURST", "10000")
            .env("LOCKBOX_API_ADDRESS_RATE_PER_MINUTE", "10000")
            .env("LOCKBOX_API_ADDRESS_BURST", "10000");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("lockbox starts");
        Self {
            admin: format!("http://127.0.0.1:{admin}"),
            engineer: format!("http://127.0.0.1:{engineer}"),
            child,
            log,
            _dir: dir,
        }
    }

    /// Waits until both listeners answer `/healthz` 200.
    pub async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for base in [self.admin.clone(), self.engineer.clone()] {
            loop {
                if let Some(status) = self.child.try_wait().expect("poll") {
                    panic!("lockbox exited early ({status}): {}", self.log());
                }
                let ok = reqwest::get(format!("{base}/healthz"))
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    break;
                }
                assert!(Instant::now() < deadline, "not ready: {}", self.log());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM (what an orchestrator sends to stop an instance).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit (after [`Instance::sigterm`]).
    pub async fn exited(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll") {
                return status;
            }
            assert!(Instant::now() < deadline, "did not exit: {}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `lockbox audit verify` on `db` with the keyring beside `key_file`;
/// its exit status and output.
pub fn audit_verify(db: &TestDatabase, key_file: &std::path::Path) -> (bool, String) {
    audit_verify_on(&db.app_url, key_file)
}

/// [`audit_verify`] on any database.
pub fn audit_verify_on(database_url: &str, key_file: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", database_url)
        .env("LOCKBOX_DB_POOL_SIZE", "2")
        .env("LOCKBOX_SIGNING_KEY_FILE", key_file)
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("lockbox audit verify runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
