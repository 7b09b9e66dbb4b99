//! The benchmarks, each on a scratch database it creates beside the
//! configured one (or in the embedded cluster) and drops at the end (unless
//! `--keep`), so they never touch the configured database's data.
//!
//! `lockbox bench audit` seeds audit records and prints the figures the
//! audit issue sets targets for: chained inserts per second, search latency
//! percentiles for five filter mixes at the first and a deep page, and peak
//! memory of a full CSV export. `lockbox bench api` ([`api`]) serves the
//! real application on loopback ports and measures its JSON API.

use clap::Subcommand;

use std::{
    process::{Command, Stdio},
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

pub mod api;
mod audit_parts;
mod cpu;
mod load;
mod seed;
pub mod verify_file;
pub mod web;
mod world;

use audit_parts::{deep_cursor, export_rss, measure_appends, measure_checkpoints, time_search};

use seed::seed_tenant;

use crate::{
    audit::{self, Actor, Entry, activity, seal, search},
    config::Settings,
    db::{self, embedded::EmbeddedPostgres},
    identity::{TenantId, UserId},
    tenants::{self, TenantName},
};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Seed a scratch database with audit records and measure appends,
    /// searches and export memory. Prints the figures.
    Audit {
        /// Records to seed in all.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Tenants to spread them over.
        #[arg(long, default_value_t = 10)]
        tenants: u32,
        /// Keep the scratch database afterwards (for EXPLAIN ANALYZE).
        #[arg(long)]
        keep: bool,
    },
    /// Write a made-up signed export of `records` records and time
    /// `lockbox audit verify-file` on it (no database). Prints records/s.
    VerifyFile {
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(i64).range(1..=100_000_000))]
        records: i64,
    },
    /// Serve the application on loopback ports over a scratch database with
    /// one tenant's requests waiting for the customer, and measure the JSON
    /// API: list latency (p50/p99) and decisions per second. Prints the
    /// figures.
    Api {
        /// Requests seeded, all waiting for the customer.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
        requests: u32,
        /// Timed calls per list measured.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        calls: u32,
        /// Decisions timed (at most the requests seeded).
        #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
        decisions: u32,
        /// Concurrent clients deciding.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
        clients: u32,
        /// The longest any phase (seeding, each list, the decisions) may
        /// take, in seconds; a phase cut short reports what it measured.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3_600))]
        phase_seconds: u64,
        /// Keep the scratch database afterwards.
        #[arg(long)]
        keep: bool,
    },
    /// Serve the application on loopback ports over a scratch database (a
    /// tenant with requests and a large audit log, more tenants with
    /// requests waiting for decisions) and measure its pages over HTTP
    /// with concurrent keep-alive connections beside a reference page,
    /// decisions per second, and memory around a burst of sign-ins.
    Web(web::WebArgs),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(String);

impl BenchError {
    fn from(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }

    /// An error with its causes: reqwest's own message ("error sending
    /// request") does not say whether the connection was refused or reset.
    fn with_causes(e: &(dyn std::error::Error + 'static)) -> Self {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Self(text)
    }
}

/// `url` pointing at database `db` instead (URI or key=value form).
fn with_database(url: &str, db: &str) -> String {
    if let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    {
        let (main, query) = rest
            .split_once('?')
            .map_or((rest, None), |(m, q)| (m, Some(q)));
        let host = main.split_once('/').map_or(main, |(h, _)| h);
        match query {
            Some(q) => format!("postgres://{host}/{db}?{q}"),
            None => format!("postgres://{host}/{db}"),
        }
    } else {
        format!("{url} dbname={db}")
    }
}

/// `url` with its password (URI or key=value form) replaced by `***`.
fn redacted(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, tail) = rest
            .find(['/', '?'])
            .map_or((rest, ""), |i| rest.split_at(i));
        // The user information ends at the last `@` of the authority.
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                if user.len() == userinfo.len() {
                    format!("{user}@{hosts}")
                } else {
                    format!("{user}:***@{hosts}")
                }
            }
            None => authority.to_owned(),
        };
        // A password may also come as a query parameter.
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let query: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                        _ => pair.to_owned(),
                    })
                    .collect();
                format!("{path}?{}", query.join("&"))
            }
            None => tail.to_owned(),
        };
        format!("{scheme}://{authority}{tail}")
    } else {
        // key=value form; a quoted value may hold spaces.
        let mut out = String::new();
        let mut rest = url;
        while let Some(i) = rest.find("password") {
            let (before, after) = rest.split_at(i);
            out.push_str(before);
            let after = &after["password".len()..];
            let trimmed = after.trim_start();
            if let Some(value) = trimmed.strip_prefix('=') {
                let value = value.trim_start();
                let end = if let Some(quoted) = value.strip_prefix('\'') {
                    let mut escaped = false;
                    quoted
                        .char_indices()
                        .find(|&(_, c)| {
                            let end = c == '\'' && !escaped;
                            escaped = c == '\\' && !escaped;
                            end
                        })
                        .map_or(value.len(), |(j, _)| j + 2)
                } else {
                    value.find(char::is_whitespace).unwrap_or(value.len())
                };
                out.push_str("password=***");
                rest = &value[end..];
            } else {
                out.push_str("password");
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

/// The percentile `p` (0–100) of sorted samples, in milliseconds.
fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// A database of the benchmark's own beside the configured one (or in
/// the embedded cluster), created as the owner (creating a database takes
/// more than the serving role has).
struct Scratch {
    admin: PgConnection,
    name: String,
    /// The scratch database's URL (as the owner).
    url: String,
    _embedded: Option<EmbeddedPostgres>,
}

impl Scratch {
    fn create(settings: &Settings) -> Result<Self, BenchError> {
        let mut embedded = None;
        let owner = settings.migrate_database_url.as_ref();
        let base = match owner.or(settings.database_url.as_ref()) {
            Some(url) => url.expose().to_owned(),
            None => {
                let pg = EmbeddedPostgres::start(&settings.data_dir).map_err(BenchError::from)?;
                let url = pg.superuser_url();
                embedded = Some(pg);
                url
            }
        };
        let name = format!("lockbox_bench_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&base).map_err(BenchError::from)?;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .map_err(BenchError::from)?;
        println!("scratch database: {name}");
        Ok(Self {
            url: with_database(&base, &name),
            admin,
            name,
            _embedded: embedded,
        })
    }

    /// Drops the database, or says how to reach it with `keep`.
    fn finish(mut self, keep: bool) -> Result<(), BenchError> {
        if keep {
            // The URL carries the configured password: never print it.
            println!("kept {} (connection: {})", self.name, redacted(&self.url));
            return Ok(());
        }
        diesel::sql_query(format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .map_err(BenchError::from)?;
        Ok(())
    }
}

pub fn audit(
    settings: &Settings,
    records: u64,
    tenant_count: u32,
    keep: bool,
) -> Result<(), BenchError> {
    let scratch = Scratch::create(settings)?;
    let result = run(&scratch.url, records, tenant_count.max(1));
    scratch.finish(keep)?;
    result
}

fn run(url: &str, records: u64, tenant_count: u32) -> Result<(), BenchError> {
    // Bulk loads and VACUUM run long on purpose: no statement timeout.
    let pool = db::build_pool_with(url, 8, None).map_err(BenchError::from)?;
    db::run_migrations(&pool).map_err(BenchError::from)?;
    let mut conn = pool.get().map_err(BenchError::from)?;
    let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map_err(BenchError::from)?
        .with_timezone(&Utc);
    let operator = Actor::command_line();
    let tenant_ids: Vec<TenantId> = (0..tenant_count)
        .map(|i| {
            let name = TenantName::parse(&format!("Bench Tenant {i}")).map_err(BenchError::from)?;
            tenants::create_tenant(&mut conn, &name, true, start, &operator)
                .map(|t| t.id)
                .map_err(BenchError::from)
        })
        .collect::<Result<_, _>>()?;

    // 1. Seed in bulk (batched multi-row inserts), then seal it all.
    let per_tenant = records / u64::from(tenant_count);
    let seeding = Instant::now();
    for &tenant in &tenant_ids {
        seed_tenant(&mut conn, tenant, per_tenant, start)?;
    }
    let seeded = per_tenant * u64::from(tenant_count);
    let secs = seeding.elapsed().as_secs_f64();
    println!(
        "seeded {seeded} records in {secs:.1} s ({:.0} records/s, batched)",
        seeded as f64 / secs
    );
    let sealing = Instant::now();
    let sealed = seal::seal_pending(&mut conn).map_err(BenchError::from)?;
    let secs = sealing.elapsed().as_secs_f64();
    println!(
        "sealed them in {secs:.1} s ({:.0} records/s, {} per transaction)",
        sealed as f64 / secs,
        seal::BATCH
    );
    measure_checkpoints(&mut conn, tenant_ids.len())?;
    // Measure the steady state, not the aftermath of the bulk load: the
    // autovacuum it would set off, and its checkpoint (CHECKPOINT needs
    // superuser or pg_checkpoint; without it the figures include it).
    diesel::sql_query("VACUUM (ANALYZE) audit_records, audit_chain")
        .execute(&mut conn)
        .map_err(BenchError::from)?;
    if let Err(e) = diesel::sql_query("CHECKPOINT").execute(&mut conn) {
        println!("(no CHECKPOINT before measuring: {e})");
    }

    // 2. Appends, one record per transaction as the product makes them,
    // with the product's sealer running beside them; a record counts once
    // it is sealed.
    let now = start + Duration::days(400);
    println!(
        "chained records (appended, one per transaction, and sealed; the sealer runs every {} ms):",
        seal::INTERVAL.as_millis()
    );
    let one = tenant_ids[0];
    let runs: [(&str, Vec<TenantId>, u32); 3] = [
        ("one tenant, 1 writer", vec![one], 10_000),
        ("one tenant, 4 writers", vec![one; 4], 2_500),
        (
            "4 tenants, 1 writer each",
            tenant_ids.iter().copied().cycle().take(4).collect(),
            2_500,
        ),
    ];
    for (label, writers, each) in runs {
        let m = measure_appends(&pool, &writers, each, now)?;
        println!(
            "  {label:<26} {:>6.0} records/s chained ({:.0}/s appended; last seal {:.0} ms after the last append)",
            m.chained, m.appended, m.drain_ms
        );
    }

    // 3. Search latency on a tenant the append measurements left alone (its
    // records are the seeded mix, not thousands of identical appends).
    let tenant = *tenant_ids.last().unwrap_or(&tenant_ids[0]);
    let mixes: Vec<(&str, search::Filter)> = vec![
        ("no filter", search::Filter::default()),
        (
            "one activity",
            search::Filter {
                activities: vec![activity::SET_REQUEST.into()],
                ..Default::default()
            },
        ),
        (
            "date range (30 days)",
            search::Filter {
                start: Some(start + Duration::days(100)),
                end: Some(start + Duration::days(130)),
                ..Default::default()
            },
        ),
        (
            "one user",
            search::Filter {
                users: vec!["Approver 7".into()],
                ..Default::default()
            },
        ),
        (
            "a user with no records",
            search::Filter {
                users: vec!["Nobody Known".into()],
                ..Default::default()
            },
        ),
        (
            "one item (a request GUID)",
            search::Filter {
                item: Some(Uuid::from_u128(12_345).to_string()),
                ..Default::default()
            },
        ),
        (
            "free text in parameters",
            search::Filter {
                text: Some("Deny".into()),
                ..Default::default()
            },
        ),
        (
            "rare free text (0.1 %)",
            search::Filter {
                text: Some("case 996".into()),
                ..Default::default()
            },
        ),
    ];
    let searched = audit::head(&mut conn, tenant)
        .map_err(BenchError::from)?
        .count;
    println!(
        "search latency over the {searched} records of one tenant (50 per page, 40 runs each):"
    );
    println!(
        "  {:<26} {:>28} {:>28}",
        "mix", "page 1 p50/p95/p99 ms", "deep page p50/p95/p99 ms"
    );
    for (label, filter) in &mixes {
        let deep = deep_cursor(&mut conn, tenant, filter)?;
        let first = time_search(&mut conn, tenant, filter, None)?;
        let later = time_search(&mut conn, tenant, filter, deep)?;
        let fmt = |s: &[StdDuration]| {
            format!(
                "{:.2} / {:.2} / {:.2}",
                percentile(s, 50.0),
                percentile(s, 95.0),
                percentile(s, 99.0)
            )
        };
        println!("  {label:<26} {:>28} {:>28}", fmt(&first), fmt(&later));
    }
    drop(conn);

    // 4. Peak memory of a full CSV export, in a child process.
    export_rss(url, "Bench Tenant 0")?;
    Ok(())
}

#[cfg(test)]
mod tests;
