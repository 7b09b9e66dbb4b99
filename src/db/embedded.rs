//! The embedded default: when no `DATABASE_URL` is given, lockbox runs a
//! private PostgreSQL cluster under its data directory, reachable only through
//! a unix socket inside that directory (no TCP port), and stops it on exit.
//!
//! It uses the machine's own server binaries. `initdb` refuses to run as
//! root, so a root lockbox runs the cluster as the `postgres` system user.
//!
//! Three roles live in it: the superuser `initdb` creates (only to set up
//! the other two), the owner of the database and its tables, which runs
//! the migrations, and [`RUNTIME_ROLE`], with LOGIN, which the server
//! serves as (see [`super::roles`]).

use std::{
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use super::roles::RUNTIME_ROLE;

/// The database created inside the embedded cluster.
const DB_NAME: &str = "lockbox";
/// The superuser `initdb` creates; authentication is by socket permission.
const SUPERUSER: &str = "lockbox";
/// The owner of the database and of everything in it.
const OWNER: &str = "lockbox_owner";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in \
         /usr/lib/postgresql/*/bin. Install the Debian package `postgresql` \
         (apt-get install postgresql), or set DATABASE_URL to an existing PostgreSQL database."
    )]
    NoBinaries,
    #[error(
        "lockbox runs as root and initdb refuses root; the unprivileged user `{0}` to run \
         the database as was not found. Create it or set DATABASE_URL."
    )]
    NoUnprivilegedUser(String),
    #[error("could not prepare the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
}

/// The unix user the cluster runs as, when lockbox itself is root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A running embedded cluster. Dropping it stops the server, if this process
/// started it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<RunAs>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Creates the cluster under `data_dir` if needed, starts it unless it
    /// already runs, and makes sure the roles and the `lockbox` database
    /// exist.
    pub fn start(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = if rustix::process::geteuid().is_root() {
            Some(unprivileged_user("postgres")?)
        } else {
            None
        };
        let data_dir = absolute(data_dir)?;
        let cluster_dir = data_dir.join("postgres");
        let socket_dir = data_dir.join("postgres-socket");
        let mut pg = Self {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as,
            started_here: false,
        };
        pg.prepare_dirs(&data_dir)?;
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.init()?;
        }
        if !pg.is_running() {
            pg.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    pg.cluster_dir.as_os_str(),
                    "-l".as_ref(),
                    pg.cluster_dir.join("server.log").as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            )?;
            pg.started_here = true;
        }
        pg.bootstrap()?;
        Ok(pg)
    }

    /// A libpq connection string for the `lockbox` database over the
    /// socket, as the runtime role: what the server serves with.
    pub fn database_url(&self) -> String {
        self.url_for(RUNTIME_ROLE, DB_NAME)
    }

    /// The same as the database's owner: for migrations and the
    /// operator's commands.
    pub fn owner_url(&self) -> String {
        self.url_for(OWNER, DB_NAME)
    }

    /// The cluster's superuser, on the maintenance database: for what only
    /// it may do (the benchmark creates a scratch database).
    pub fn superuser_url(&self) -> String {
        self.url_for(SUPERUSER, "postgres")
    }

    fn url_for(&self, user: &str, db: &str) -> String {
        format!(
            "host='{}' port=5432 user={user} dbname={db}",
            self.socket_dir.display().to_string().replace('\'', "\\'")
        )
    }

    /// Stops the server if this process started it.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.started_here {
            return Ok(());
        }
        self.started_here = false;
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.cluster_dir.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
        .map(|_| ())
    }

    fn prepare_dirs(&self, data_dir: &Path) -> Result<(), EmbeddedError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        for dir in [&self.cluster_dir, &self.socket_dir] {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
            if let Some(user) = self.run_as {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).map_err(io(dir))?;
            }
        }
        if self.run_as.is_some() {
            // The cluster's owner must be able to reach its directories.
            let mode = fs::metadata(data_dir)
                .map_err(io(data_dir))?
                .permissions()
                .mode();
            fs::set_permissions(data_dir, fs::Permissions::from_mode(mode | 0o711))
                .map_err(io(data_dir))?;
        }
        Ok(())
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        self.run(
            "initdb",
            &[
                "-D".as_ref(),
                self.cluster_dir.as_os_str(),
                "-U".as_ref(),
                SUPERUSER.as_ref(),
                "--auth=trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
            ],
        )?;
        // No TCP at all; the socket lives in a directory only its owner can
        // enter, so "trust" means "the user who runs lockbox".
        let conf = format!(
            "\n# lockbox embedded cluster\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\nmax_connections = 100\nfsync = on\n",
            self.socket_dir.display().to_string().replace('\'', "''")
        );
        let conf_path = self.cluster_dir.join("postgresql.conf");
        let mut existing = fs::read_to_string(&conf_path).map_err(|source| EmbeddedError::Io {
            path: conf_path.clone(),
            source,
        })?;
        existing.push_str(&conf);
        fs::write(&conf_path, existing).map_err(|source| EmbeddedError::Io {
            path: conf_path,
            source,
        })
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(&self.cluster_dir)
            .arg("status")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Makes sure of the owner and the runtime role, and of the database,
    /// owned by the owner. A cluster from before the two roles had
    /// everything owned by the superuser: that is handed to the owner.
    fn bootstrap(&self) -> Result<(), EmbeddedError> {
        use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::Bool};
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = Bool)]
            exists: bool,
        }
        let fail = |e: &dyn std::fmt::Display| EmbeddedError::Command {
            command: "set up the database".into(),
            detail: e.to_string(),
        };
        let run = |conn: &mut PgConnection, sql: &str| {
            diesel::sql_query(sql)
                .execute(conn)
                .map(|_| ())
                .map_err(|e| fail(&e))
        };
        let mut conn = PgConnection::establish(&self.superuser_url()).map_err(|e| fail(&e))?;
        run(
            &mut conn,
            &format!(
                "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN \
                     CREATE ROLE {OWNER} LOGIN; \
                   END IF; \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') THEN \
                     CREATE ROLE {RUNTIME_ROLE} LOGIN; \
                   ELSE \
                     ALTER ROLE {RUNTIME_ROLE} LOGIN; \
                   END IF; \
                 END $$"
            ),
        )?;
        let found: Exists = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}') AS exists"
        ))
        .get_result(&mut conn)
        .map_err(|e| fail(&e))?;
        if !found.exists {
            return run(
                &mut conn,
                &format!("CREATE DATABASE {DB_NAME} OWNER {OWNER}"),
            );
        }
        run(
            &mut conn,
            &format!("ALTER DATABASE {DB_NAME} OWNER TO {OWNER}"),
        )?;
        let mut conn =
            PgConnection::establish(&self.url_for(SUPERUSER, DB_NAME)).map_err(|e| fail(&e))?;
        run(&mut conn, &handover_sql())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some(user) = self.run_as {
            cmd.uid(user.uid).gid(user.gid).current_dir("/");
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, EmbeddedError> {
        let output =
            self.command(program)
                .args(args)
                .output()
                .map_err(|e| EmbeddedError::Command {
                    command: program.into(),
                    detail: e.to_string(),
                })?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(EmbeddedError::Command {
                command: program.into(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "could not stop the embedded PostgreSQL");
        }
    }
}

/// Hands what the superuser owns in schema `public` to the owner: the
/// schema itself where it is the superuser's (before PostgreSQL 15), tables,
/// views and free-standing sequences (a table's own sequences and indexes
/// follow it) and functions, leaving extensions' members alone.
fn handover_sql() -> String {
    format!(
        "DO $$ DECLARE item record; BEGIN \
           IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'public') = '{SUPERUSER}'::regrole THEN \
             ALTER SCHEMA public OWNER TO {OWNER}; \
           END IF; \
           FOR item IN \
             SELECT c.oid::regclass AS name, c.relkind FROM pg_class c \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relowner = '{SUPERUSER}'::regrole \
               AND c.relkind IN ('r', 'p', 'v', 'm', 'S') \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                               AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e')) \
           LOOP \
             EXECUTE format('ALTER %s %s OWNER TO {OWNER}', \
               CASE item.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' \
                    WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, item.name); \
           END LOOP; \
           FOR item IN \
             SELECT p.oid::regprocedure AS name FROM pg_proc p \
             WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = '{SUPERUSER}'::regrole \
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass \
                               AND d.objid = p.oid AND d.deptype = 'e') \
           LOOP \
             EXECUTE format('ALTER FUNCTION %s OWNER TO {OWNER}', item.name); \
           END LOOP; \
         END $$"
    )
}

fn absolute(path: &Path) -> Result<PathBuf, EmbeddedError> {
    std::path::absolute(path).map_err(|source| EmbeddedError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// `initdb` and `pg_ctl` from PATH, or from the newest Debian
/// `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_tools(d))
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn unprivileged_user(name: &str) -> Result<RunAs, EmbeddedError> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(name).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) if uid != 0 => Ok(RunAs { uid, gid }),
        _ => Err(EmbeddedError::NoUnprivilegedUser(name.into())),
    }
}
