//! Database access: the r2d2 pool, the embedded migrations, the embedded
//! PostgreSQL default, the two roles lockbox connects as, and the one helper
//! handlers use to run diesel code off the async workers.

pub mod embedded;
pub mod health;
pub mod one_checkout;
mod prepared;
pub mod roles;
pub mod sessions;
pub mod watch;

use diesel::migration::MigrationSource;
use std::time::Duration;

use diesel::{
    Connection, PgConnection,
    r2d2::{CustomizeConnection, Pool, PooledConnection},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{Secret, Settings};
use embedded::{EmbeddedError, EmbeddedPostgres};

pub type PgPool = Pool<health::Manager>;
pub type PgConn = PooledConnection<health::Manager>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not connect to the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("could not apply database migrations: {0}")]
    Migration(String),
    #[error("the database task was cancelled")]
    Cancelled,
}

impl DbError {
    /// The database could not be reached (no connection within the
    /// checkout timeout, or the connection died): the page answers 503,
    /// not 500. See [`health`].
    pub fn is_unavailable(&self) -> bool {
        match self {
            // Not a suspicion by itself: a pool full of healthy but busy
            // connections times out too, and pinging each then would add
            // load (a connection that cannot be opened is suspected in
            // `health`, a dead one when its query fails).
            DbError::Pool(_) => true,
            DbError::Query(e) => health::is_connection_error(e),
            DbError::Migration(_) | DbError::Cancelled => false,
        }
    }
}

/// How long a statement of a pooled connection may run unless configured
/// otherwise (`LOCKBOX_STATEMENT_TIMEOUT_SECONDS`): a page needs far less;
/// a query that needs more would hold its connection from everyone else.
pub use crate::config::DEFAULT_STATEMENT_TIMEOUT;
pub use prepared::{Prepared, prepared};

/// Sets `statement_timeout` on every connection the pool opens, so no
/// statement — however a request came to ask for it — holds a connection
/// longer than that. Work that needs longer says so for its own
/// transaction ([`with_statement_timeout`]).
#[derive(Debug, Clone, Copy)]
struct StatementTimeout(Duration);

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for StatementTimeout {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        set_statement_timeout(conn, &millis(self.0), false)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

fn millis(timeout: Duration) -> String {
    format!("{}ms", timeout.as_millis())
}

/// `statement_timeout` for the session, or (`local`) for the transaction
/// in progress. `0` turns it off.
fn set_statement_timeout(
    conn: &mut PgConnection,
    value: &str,
    local: bool,
) -> diesel::QueryResult<usize> {
    use diesel::{
        RunQueryDsl,
        sql_types::{Bool, Text},
    };
    diesel::sql_query("SELECT set_config('statement_timeout', $1, $2)")
        .bind::<Text, _>(value)
        .bind::<Bool, _>(local)
        .execute(conn)
}

/// Builds a connection pool whose statements time out after
/// [`DEFAULT_STATEMENT_TIMEOUT`]; fails fast when the database is
/// unreachable.
pub fn build_pool(url: &str, max_size: u32) -> Result<PgPool, DbError> {
    build_pool_with(url, max_size, Some(DEFAULT_STATEMENT_TIMEOUT))
}

/// [`build_pool`] with another statement timeout, or none (tools that run
/// long statements on purpose, like the benchmark's bulk load).
pub fn build_pool_with(
    url: &str,
    max_size: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, DbError> {
    build_serving_pool(url, max_size, statement_timeout, Duration::from_secs(10))
}

/// [`build_pool_with`] whose checkouts give up after `checkout_timeout`:
/// the server's pool, so that pages fail fast while the database is away
/// (`LOCKBOX_DB_CHECKOUT_TIMEOUT_MS`).
pub fn build_serving_pool(
    url: &str,
    max_size: u32,
    statement_timeout: Option<Duration>,
    checkout_timeout: Duration,
) -> Result<PgPool, DbError> {
    let manager = health::Manager::new(url);
    // No `SELECT 1` before every checkout while the database is well (the
    // manager pings only while it is suspect, see [`health`]): otherwise a
    // round trip per page for nothing.
    let builder = Pool::builder()
        .max_size(max_size)
        .test_on_check_out(true)
        .connection_timeout(checkout_timeout)
        .error_handler(Box::new(health::Quiet))
        .event_handler(Box::new(watch::Watch));
    let builder = match statement_timeout {
        Some(t) => builder.connection_customizer(Box::new(StatementTimeout(t))),
        None => builder,
    };
    Ok(builder.build(manager)?)
}

/// Runs `f` in a transaction whose statements may each take up to
/// `timeout` instead of the pool's limit (the limit comes back with the
/// transaction's end).
pub fn with_statement_timeout<T, E: From<diesel::result::Error>>(
    conn: &mut PgConnection,
    timeout: Duration,
    f: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    conn.transaction(|conn| {
        set_statement_timeout(conn, &millis(timeout), true)?;
        f(conn)
    })
}

/// Applies every pending embedded migration. Safe to run from several
/// processes at once: diesel runs them in a transaction and the advisory lock
/// below serialises concurrent starters. A migration may take as long as it
/// needs (an index on a large table): the pool's statement timeout is lifted
/// while they run and put back afterwards.
pub fn run_migrations(pool: &PgPool) -> Result<(), DbError> {
    use diesel::{RunQueryDsl, sql_types::Text};
    let mut conn = pool.get()?;
    let limit: String = diesel::select(diesel::dsl::sql::<Text>(
        "current_setting('statement_timeout')",
    ))
    .get_result(&mut conn)?;
    set_statement_timeout(&mut conn, "0", false)?;
    // Waiting for another starter's migrations is no statement to time out.
    let result = diesel::sql_query("SELECT pg_advisory_lock(7346205001)")
        .execute(&mut conn)
        .map_err(DbError::from)
        .and_then(|_| {
            let migrated = conn
                .run_pending_migrations(MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(|e| DbError::Migration(e.to_string()))
                .and_then(|applied| analyze_after(&mut conn, applied));
            diesel::sql_query("SELECT pg_advisory_unlock(7346205001)").execute(&mut conn)?;
            migrated
        });
    set_statement_timeout(&mut conn, &limit, false)?;
    result
}

/// Statistics for the planner once migrations changed the schema: a
/// freshly migrated (or restored) database otherwise has none until
/// autovacuum gets to it, and plans by guesswork meanwhile. Tables the
/// role does not own are skipped by PostgreSQL with a notice.
fn analyze_after(conn: &mut PgConnection, applied: usize) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    if applied > 0 {
        diesel::sql_query("ANALYZE").execute(conn)?;
    }
    Ok(())
}

/// The versions of the embedded migrations the database has not applied,
/// oldest first. Reads the migrations table only (diesel's own check would
/// try to create it, which a least-privilege role may not).
pub fn pending_migrations(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    use diesel::{
        RunQueryDsl,
        sql_types::{Bool, Text},
    };
    #[derive(diesel::QueryableByName)]
    struct Present {
        #[diesel(sql_type = Bool)]
        present: bool,
    }
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let table: Present = diesel::sql_query(
        "SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS present",
    )
    .get_result(conn)?;
    let applied: Vec<String> = if table.present {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Version>(conn)?
            .into_iter()
            .map(|v| v.version)
            .collect()
    } else {
        Vec::new()
    };
    let mut pending: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .filter(|v| !applied.contains(v))
        .collect();
    pending.sort();
    Ok(pending)
}

/// The server's connections, and how to reach the database as its owner.
pub struct Database {
    /// What the server serves with: `DATABASE_URL`'s role, or the embedded
    /// cluster's [`roles::RUNTIME_ROLE`].
    pub app: PgPool,
    /// The owner's URL; `None` when `DATABASE_URL` is all there is (then
    /// its role migrates too, as before there were two roles).
    owner_url: Option<Secret>,
    /// The embedded cluster, when lockbox runs one; stopped when dropped.
    pub embedded: Option<EmbeddedPostgres>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Database {
    /// Connects as configured (starting the embedded cluster when no
    /// `DATABASE_URL` is set) and applies pending migrations as the owner.
    pub fn open(settings: &Settings) -> Result<Self, OpenError> {
        let (app_url, owner_url, embedded) = match &settings.database_url {
            None => {
                let pg = EmbeddedPostgres::start(&settings.data_dir)?;
                tracing::info!(data_dir = %settings.data_dir.display(), "embedded PostgreSQL is running");
                let owner = Secret::new(pg.owner_url());
                (pg.database_url(), Some(owner), Some(pg))
            }
            Some(url) => (
                url.expose().to_owned(),
                settings.migrate_database_url.clone(),
                None,
            ),
        };
        let database = Self {
            app: build_serving_pool(
                &app_url,
                settings.resilience.db_pool_size,
                Some(settings.limits.statement_timeout),
                settings.resilience.db_checkout_timeout,
            )?,
            owner_url,
            embedded,
        };
        database.migrate()?;
        Ok(database)
    }

    /// A pool connected as the owner, for migrations and the operator's
    /// commands. Built on demand: the server holds no owner connection.
    pub fn owner(&self) -> Result<PgPool, DbError> {
        match &self.owner_url {
            Some(url) => build_pool(url.expose(), 2),
            None => Ok(self.app.clone()),
        }
    }

    /// Applies pending migrations as the owner. With `DATABASE_URL` alone,
    /// as its role, and only when something is pending: a least-privilege
    /// role serves an up-to-date database but cannot migrate one.
    fn migrate(&self) -> Result<(), DbError> {
        if self.owner_url.is_some() {
            return run_migrations(&self.owner()?);
        }
        if pending_migrations(&mut *self.app.get()?)?.is_empty() {
            return Ok(());
        }
        run_migrations(&self.app).map_err(|e| match e {
            DbError::Migration(m) if m.contains("permission denied") => {
                DbError::Migration(format!(
                    "{m} (DATABASE_URL's role may not change the schema: give the owner's URL as \
                 LOCKBOX_MIGRATE_DATABASE_URL)"
                ))
            }
            e => e,
        })
    }
}

/// Runs `f` on one snapshot (a read-only REPEATABLE READ transaction), for
/// reads of several statements that must agree with each other; inside a
/// transaction already open, in that one.
pub fn snapshot<T>(
    conn: &mut PgConnection,
    mut f: impl FnMut(&mut PgConnection) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    match conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(|conn| f(conn))
    {
        Err(diesel::result::Error::AlreadyInTransaction) => f(conn),
        other => other,
    }
}

/// Runs `f` with a pooled connection on the blocking thread pool: `pool.get()`
/// and every diesel call block, and must not stall the async workers. In a
/// page view the connection is the request's own ([`one_checkout`]): the
/// one its session was read with, kept again for its next call.
pub async fn blocking<T, E, F>(pool: &PgPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    let (kept, keeping) = (one_checkout::take(), one_checkout::in_scope());
    let (conn, done) = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = match kept {
            Some(conn) => conn,
            None => pool.get().map_err(DbError::from)?,
        };
        let done = f(&mut conn);
        // A connection whose call failed goes back to the pool (which
        // drops it if it broke) instead of serving the next call.
        let conn = (keeping && done.is_ok() && one_checkout::may_keep(&mut conn)).then_some(conn);
        Ok::<_, E>((conn, done))
    })
    .await
    .map_err(|_| E::from(DbError::Cancelled))??;
    if let Some(conn) = conn {
        one_checkout::keep(conn);
    }
    done
}

/// Reads (or creates, on first start) a random secret that every lockbox
/// process sharing this database must agree on.
pub fn shared_secret(conn: &mut PgConnection, name: &str) -> Result<Vec<u8>, DbError> {
    use crate::schema::app_secrets::dsl as s;
    use diesel::prelude::*;
    let mut fresh = vec![0u8; 64];
    rand::fill(&mut fresh[..]);
    diesel::insert_into(s::app_secrets)
        .values((s::name.eq(name), s::value.eq(&fresh)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(s::app_secrets
        .filter(s::name.eq(name))
        .select(s::value)
        .first(conn)?)
}
