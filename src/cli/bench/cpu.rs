//! CPU time a phase of `lockbox bench web` cost: this process's (the
//! server and the load generator) and that of the PostgreSQL backends
//! serving the scratch database, read from Linux's `/proc`. On a shared
//! two-core host the decisions per second of one build drift by a fifth
//! from run to run; the CPU time each decision took drifts less (2 % to a
//! tenth), so it is the figure that shows, in runs that take turns,
//! whether a change made a decision cheaper.

use std::collections::HashMap;

use diesel::{PgConnection, RunQueryDsl, sql_types::Integer};

use super::BenchError;

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, which Linux fixes
/// at 100 a second for every process reading it (whatever the kernel's
/// own tick rate).
const TICK_MS: f64 = 10.0;

/// The CPU time of a phase, in milliseconds; `None` where it cannot be
/// read (no `/proc`, or PostgreSQL on another host or in another PID
/// namespace: its backends are not among this host's `postgres`
/// processes).
pub(super) struct Spent {
    pub process_ms: Option<f64>,
    pub backends_ms: Option<f64>,
}

impl Spent {
    /// Nothing spent yet, both figures read: the start of a sum over
    /// several phases.
    pub(super) fn zero() -> Self {
        Self {
            process_ms: Some(0.0),
            backends_ms: Some(0.0),
        }
    }

    /// This and `other` together; a figure either could not read stays
    /// unread.
    pub(super) fn plus(self, other: Self) -> Self {
        let sum = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a + b);
        Self {
            process_ms: sum(self.process_ms, other.process_ms),
            backends_ms: sum(self.backends_ms, other.backends_ms),
        }
    }

    /// The CPU time per `unit` of the phase's `count`, as printed.
    pub(super) fn per(&self, unit: &str, count: usize) -> String {
        let per = |ms: Option<f64>| {
            ms.map_or_else(
                || "not measured".to_owned(),
                |ms| format!("{:.3} ms", ms / count.max(1) as f64),
            )
        };
        format!(
            "CPU per {unit}: PostgreSQL (the database's backends) {}; this process (server and load generator) {}",
            per(self.backends_ms),
            per(self.process_ms)
        )
    }
}

/// The machine, for the record: cores and CPU model.
pub(super) fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

/// Readings at a phase's start, to subtract at its end.
pub(super) struct Meter {
    conn: PgConnection,
    process: Option<u64>,
    backends: HashMap<i32, u64>,
}

#[derive(diesel::QueryableByName)]
struct Backend {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The client backends connected to this database, except the meter's
/// own: the statements of the phase. Not an autovacuum worker, which
/// comes when it will and would add its whole round to one run.
fn backends(conn: &mut PgConnection) -> Result<Vec<i32>, BenchError> {
    Ok(diesel::sql_query(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND backend_type = 'client backend' \
           AND pid <> pg_backend_pid()",
    )
    .load::<Backend>(conn)
    .map_err(BenchError::from)?
    .into_iter()
    .map(|b| b.pid)
    .collect())
}

/// The command name and the user and system time of `/proc/<pid>` (`self`
/// for this process), in ticks; `None` if it cannot be read.
fn stat(pid: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces and
    // parentheses itself; the fields after it hold neither.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line; here the state,
    // field 3, is index 0, so they are indices 11 and 12.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((name, ticks))
}

/// This process's ticks.
fn own_ticks() -> Option<u64> {
    stat("self").map(|(_, ticks)| ticks)
}

/// A backend's ticks, if `pid` is a `postgres` process of this host (in
/// another PID namespace the number may be some other process's).
fn backend_ticks(pid: i32) -> Option<u64> {
    stat(&pid.to_string()).and_then(|(name, ticks)| (name == "postgres").then_some(ticks))
}

impl Meter {
    /// Reads this process and the backends of the database at `url`.
    pub(super) async fn start(url: String) -> Result<Self, BenchError> {
        tokio::task::spawn_blocking(move || Self::read(&url))
            .await
            .map_err(BenchError::from)?
    }

    fn read(url: &str) -> Result<Self, BenchError> {
        use diesel::Connection;
        let mut conn = PgConnection::establish(url).map_err(BenchError::from)?;
        let backends = backends(&mut conn)?
            .into_iter()
            .filter_map(|pid| Some((pid, backend_ticks(pid)?)))
            .collect();
        Ok(Self {
            process: own_ticks(),
            backends,
            conn,
        })
    }

    /// What was spent since [`Meter::start`]. A backend that connected
    /// since counts whole; one that disconnected since is not counted.
    pub(super) async fn stop(self) -> Result<Spent, BenchError> {
        tokio::task::spawn_blocking(move || self.spent())
            .await
            .map_err(BenchError::from)?
    }

    fn spent(mut self) -> Result<Spent, BenchError> {
        let process = self
            .process
            .zip(own_ticks())
            .map(|(then, now)| now.saturating_sub(then));
        let mut read_any = false;
        let mut spent = 0;
        for pid in backends(&mut self.conn)? {
            if let Some(now) = backend_ticks(pid) {
                read_any = true;
                spent += now.saturating_sub(self.backends.get(&pid).copied().unwrap_or(0));
            }
        }
        Ok(Spent {
            process_ms: process.map(|t| t as f64 * TICK_MS),
            backends_ms: read_any.then_some(spent as f64 * TICK_MS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{backend_ticks, own_ticks};

    /// The fields are found past the command name, and they count this
    /// process's CPU time as it grows; a process that is not PostgreSQL's
    /// is no backend.
    #[test]
    fn a_process_s_ticks_are_read_and_grow_with_its_work() {
        let start = own_ticks().expect("this process's /proc/self/stat");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut spun = 0u64;
        while own_ticks().expect("read again") <= start {
            assert!(
                std::time::Instant::now() < deadline,
                "20 s of work and no tick counted"
            );
            for i in 0..100_000u64 {
                spun = std::hint::black_box(spun.wrapping_mul(31).wrapping_add(i));
            }
        }
        let own = i32::try_from(std::process::id()).expect("a pid");
        assert_eq!(backend_ticks(own), None, "this test is no backend");
        assert_eq!(super::stat("no-such-process"), None);
    }
}
