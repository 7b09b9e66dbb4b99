//! Database access: the r2d2 pool, the embedded migrations, the embedded
//! PostgreSQL default, and the one helper handlers use to run diesel code off
//! the async workers.

pub mod embedded;

use diesel::{
    PgConnection,
    r2d2::{ConnectionManager, Pool, PooledConnection},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgConn = PooledConnection<ConnectionManager<PgConnection>>;

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

/// Builds a connection pool; fails fast when the database is unreachable.
pub fn build_pool(url: &str, max_size: u32) -> Result<PgPool, DbError> {
    let manager = ConnectionManager::<PgConnection>::new(url);
    Ok(Pool::builder()
        .max_size(max_size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(manager)?)
}

/// Applies every pending embedded migration. Safe to run from several
/// processes at once: diesel runs them in a transaction and the advisory lock
/// below serialises concurrent starters.
pub fn run_migrations(pool: &PgPool) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    let mut conn = pool.get()?;
    diesel::sql_query("SELECT pg_advisory_lock(7346205001)").execute(&mut conn)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|_| ())
        .map_err(|e| DbError::Migration(e.to_string()));
    diesel::sql_query("SELECT pg_advisory_unlock(7346205001)").execute(&mut conn)?;
    result
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
/// and every diesel call block, and must not stall the async workers.
pub async fn blocking<T, E, F>(pool: &PgPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|_| E::from(DbError::Cancelled))?
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
