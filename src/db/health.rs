//! Telling "the database is away" from every other failure, and getting
//! rid of connections an outage or a failover broke (issue 21).
//!
//! The pool does not test a connection before handing it out (a round
//! trip per page for nothing), and diesel reports a PostgreSQL connection
//! as broken to r2d2 only when its transaction state is. A connection
//! whose server went away (restarted, failed over, or cut off) would so
//! go back into the pool and fail every later checkout. So the process
//! keeps a **suspicion window**: whenever something sees the database
//! unreachable (a checkout that timed out, a connection that could not be
//! opened, a query on a closed connection) the next [`SUSPICION`] are
//! suspect, and during them the pool pings a connection before handing it
//! out and before taking it back, dropping the dead ones. Outside the
//! window nothing is pinged: a healthy database costs nothing.

use std::sync::{
    LazyLock,
    atomic::{AtomicU64, Ordering},
};
use std::time::{Duration, Instant};

use diesel::{
    PgConnection,
    r2d2::{ConnectionManager, ManageConnection},
    result::{DatabaseErrorKind, Error},
};

/// How long one sighting of an unreachable database keeps connections
/// under test.
pub const SUSPICION: Duration = Duration::from_secs(30);

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Milliseconds after [`EPOCH`] until which connections are suspect.
static SUSPECT_UNTIL: AtomicU64 = AtomicU64::new(0);

fn now_millis() -> u64 {
    u64::try_from(EPOCH.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Records that the database was just seen unreachable.
pub fn suspect() {
    let until = now_millis().saturating_add(SUSPICION.as_millis() as u64);
    SUSPECT_UNTIL.fetch_max(until, Ordering::Relaxed);
}

/// Whether the database was seen unreachable within [`SUSPICION`].
pub fn is_suspect() -> bool {
    now_millis() < SUSPECT_UNTIL.load(Ordering::Relaxed)
}

/// Whether `e` says the connection or the server is gone (rather than
/// that the statement was wrong): closed or unusable connections, and a
/// server that is shutting down, starting, or has become a read-only
/// standby (after a failover, reconnecting finds the new primary).
/// Records the sighting (see [`suspect`]).
pub fn is_connection_error(e: &Error) -> bool {
    let gone = match e {
        Error::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::ReadOnlyTransaction
            ) || is_shutdown_message(info.message())
        }
        Error::BrokenTransactionManager => true,
        _ => false,
    };
    if gone {
        suspect();
        // These two are also what a bug looks like (a write inside a
        // read-only snapshot, a transaction left broken): say so where an
        // operator looks, not only as a 503.
        if matches!(
            e,
            Error::BrokenTransactionManager
                | Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _)
        ) {
            tracing::warn!(error = %e, "answered 503: a read-only or broken transaction");
        }
    }
    gone
}

/// PostgreSQL's words for a server going down or not yet up (SQLSTATE
/// 57P01–57P03), which diesel reports without a kind of their own.
fn is_shutdown_message(message: &str) -> bool {
    [
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "server closed the connection unexpectedly",
        "no connection to the server",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// diesel's connection manager, testing connections while the database
/// is suspect (see the module comment).
#[derive(Debug)]
pub struct Manager(ConnectionManager<PgConnection>);

impl Manager {
    pub fn new(url: &str) -> Self {
        Self(ConnectionManager::new(url))
    }
}

impl ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        self.0.connect().inspect_err(|_| suspect())
    }

    /// Called on every checkout (`test_on_check_out`): a ping only while
    /// the database is suspect.
    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        if is_suspect() {
            self.0.is_valid(conn)
        } else {
            Ok(())
        }
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        self.0.has_broken(conn) || (is_suspect() && self.0.is_valid(conn).is_err())
    }
}

/// Silences r2d2's own logging of each failed connection attempt (one
/// line per attempt, many a second during an outage): the outage is
/// recorded as a suspicion, and the workers log it once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quiet;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for Quiet {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        suspect();
        tracing::debug!(%error, "could not open a database connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sighting_makes_the_database_suspect_for_a_while() {
        suspect();
        assert!(is_suspect());
        let closed = Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        assert!(is_connection_error(&closed));
        let unique = Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_owned()),
        );
        assert!(!is_connection_error(&unique));
        assert!(!is_connection_error(&Error::NotFound));
    }
}
