//! `lockbox bench web`: the real application, started in this process on
//! loopback ports over a scratch database, measured over real HTTP with N
//! concurrent keep-alive connections per page for a fixed time: the
//! request list, a request detail, the audit search (its first page and a
//! deep keyset page) and the API list, each beside a reference page served
//! in the same run and measured in turns with it (the list's SQL and
//! template with no session, no sign-in and no CSRF), so the ratio says
//! what the stack around a page costs; then customer decisions per second
//! across tenants with their CPU time each ([`super::cpu`]), and the
//! process's memory idle, under load, after a burst of concurrent sign-ins
//! and a while after it. Every count and duration is an option.

use std::{
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use actix_web::{App, HttpServer, web};
use chrono::{Duration, Utc};

use super::{
    BenchError, Scratch, audit_parts, cpu,
    load::{self, Account, Decision, Figures, PeakRss, Target},
    seed, world,
};
use crate::{
    auth::password,
    clock::{SharedClock, SystemClock},
    config::{ApiRate, RateQuota, Settings},
    db,
    identity::NewPassword,
    requests::Policy,
    startup::Application,
};

/// The options of `lockbox bench web` (see [`web`]).
#[derive(clap::Args, Debug, Clone)]
pub struct WebArgs {
    /// Requests of the measured tenant, all waiting for the customer.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    requests: u32,
    /// Audit records seeded in the measured tenant's log.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=20_000_000))]
    records: u64,
    /// Tenants the customer decisions are spread over.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    decision_tenants: u32,
    /// Requests waiting for a decision in each of those tenants.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    decision_requests: u32,
    /// Concurrent keep-alive connections each page is measured with.
    #[arg(long, value_delimiter = ',', default_values_t = [8u32, 32], value_parser = clap::value_parser!(u32).range(1..=512))]
    connections: Vec<u32>,
    /// Seconds each page is measured at each connection count (and the
    /// longest the decisions run).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    seconds: u64,
    /// Concurrent sign-ins of the memory measurement.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    sign_ins: u32,
    /// Seconds after the sign-ins memory is measured again.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=600))]
    settle_seconds: u64,
    /// The longest seeding may take, in seconds.
    #[arg(long, default_value_t = 1_800, value_parser = clap::value_parser!(u64).range(1..=7_200))]
    phase_seconds: u64,
    /// Keep the scratch database afterwards.
    #[arg(long)]
    keep: bool,
}

impl WebArgs {
    pub fn bench(self) -> WebBench {
        WebBench {
            requests: self.requests,
            records: self.records,
            decision_tenants: self.decision_tenants,
            decision_requests: self.decision_requests,
            connections: self.connections,
            seconds: self.seconds,
            sign_ins: self.sign_ins,
            settle_seconds: self.settle_seconds,
            phase_limit: StdDuration::from_secs(self.phase_seconds),
            keep: self.keep,
        }
    }
}

/// What `bench web` does, and how much of it.
#[derive(Debug, Clone)]
pub struct WebBench {
    /// Requests of the measured tenant (waiting for the customer).
    pub requests: u32,
    /// Audit records seeded in the measured tenant's log.
    pub records: u64,
    /// Tenants the decisions are spread over.
    pub decision_tenants: u32,
    /// Requests waiting for a decision in each of them.
    pub decision_requests: u32,
    /// Concurrent connections each page is measured with.
    pub connections: Vec<u32>,
    /// How long each page is measured at each connection count.
    pub seconds: u64,
    /// Concurrent sign-ins of the memory measurement.
    pub sign_ins: u32,
    /// How long after them memory is measured again.
    pub settle_seconds: u64,
    /// The longest seeding may take.
    pub phase_limit: StdDuration,
    pub keep: bool,
}

/// The measured tenant's administrator signs in with this.
const PASSWORD: &str = "bench-web-password-2026";
const ORGANIZATION: &str = "Bench Web";
const ADMIN: &str = "admin@bench.example";

pub async fn run(settings: &Settings, bench: WebBench) -> Result<(), BenchError> {
    let scratch = Scratch::create(settings)?;
    let result = measure(settings, &scratch.url, &bench).await;
    scratch.finish(bench.keep)?;
    result
}

/// The seeded world: the measured tenant, its deep audit cursor, and the
/// decisions waiting in the other tenants (interleaved across them).
struct World {
    page: world::Seeded,
    deep: Option<crate::audit::search::Cursor>,
    decisions: Vec<(uuid::Uuid, Arc<str>)>,
}

fn seed_all(pool: &db::PgPool, policy: &Policy, bench: &WebBench) -> Result<World, BenchError> {
    let now = Utc::now();
    let deadline = Instant::now() + bench.phase_limit;
    let staff = world::Staff::create(&mut *pool.get().map_err(BenchError::from)?, now)?;
    let hash = password::hash_blocking(&NewPassword::parse(PASSWORD).map_err(BenchError::from)?)
        .map_err(BenchError::from)?;
    let spec = world::TenantSpec {
        name: ORGANIZATION,
        admin_email: ADMIN,
        password_hash: &hash,
        requests: bench.requests,
    };
    let page = world::seed(pool, policy, &staff, &spec, now, deadline)?;
    let mut conn = pool.get().map_err(BenchError::from)?;
    // A year of history before today.
    let start = now - Duration::days(400);
    seed::seed_tenant(&mut conn, page.admin.tenant_id, bench.records, start)?;
    let mut queues = Vec::new();
    for i in 0..bench.decision_tenants {
        let (name, email) = (
            format!("Bench Decisions {i}"),
            format!("admin{i}@bench.example"),
        );
        let spec = world::TenantSpec {
            name: &name,
            admin_email: &email,
            password_hash: world::NO_PASSWORD,
            requests: bench.decision_requests,
        };
        let seeded = world::seed(pool, policy, &staff, &spec, now, deadline)?;
        queues.push((seeded.requests, Arc::<str>::from(seeded.token)));
    }
    let longest = queues.iter().map(|(r, _)| r.len()).max().unwrap_or(0);
    let decisions = (0..longest)
        .flat_map(|j| {
            queues
                .iter()
                .filter_map(move |(r, t)| r.get(j).map(|id| (id.0, t.clone())))
        })
        .collect();
    // Sealed, analysed and checkpointed: the steady state is measured,
    // not the bulk load's aftermath.
    crate::audit::seal::seal_pending(&mut conn).map_err(BenchError::from)?;
    use diesel::RunQueryDsl;
    diesel::sql_query("VACUUM (ANALYZE)")
        .execute(&mut conn)
        .map_err(BenchError::from)?;
    if let Err(e) = diesel::sql_query("CHECKPOINT").execute(&mut conn) {
        println!("(no CHECKPOINT before measuring: {e})");
    }
    let tenant = page.admin.tenant_id;
    let deep = audit_parts::deep_cursor(&mut conn, tenant, &Default::default())?;
    Ok(World {
        page,
        deep,
        decisions,
    })
}

/// The application as `lockbox serve` runs it, with allowances no
/// benchmark client reaches (the figures are the server's, not the rate
/// limiters') and no mail sent (the outbox rows are still written).
fn served(settings: &Settings) -> Settings {
    let mut served = settings.clone();
    served.admin_addr = "127.0.0.1:0".into();
    served.engineer_addr = "127.0.0.1:0".into();
    served.api_rate = ApiRate::UNLIMITED;
    served.api_address_rate = RateQuota::UNLIMITED;
    served.sign_in_rate = RateQuota::UNLIMITED;
    served.mail.poll = None;
    served
}

async fn measure(settings: &Settings, url: &str, bench: &WebBench) -> Result<(), BenchError> {
    let owner = db::build_pool_with(url, world::SEEDERS + 1, None).map_err(BenchError::from)?;
    db::run_migrations(&owner).map_err(BenchError::from)?;
    let policy = Policy {
        pending_lifetime: settings.pending_lifetime,
        max_window: settings.max_window,
    };
    let seeding = Instant::now();
    let world = {
        let (owner, bench) = (owner.clone(), bench.clone());
        tokio::task::spawn_blocking(move || seed_all(&owner, &policy, &bench))
            .await
            .map_err(BenchError::from)??
    };
    println!(
        "seeded {} requests and {} audit records in the measured tenant, {} decisions waiting in {} tenants, in {:.1} s",
        world.page.requests.len(),
        bench.records,
        world.decisions.len(),
        bench.decision_tenants,
        seeding.elapsed().as_secs_f64()
    );
    drop(owner);

    let served = served(settings);
    let pool = app_pool(url, &served)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let app = Application::build(served, pool, clock).map_err(BenchError::from)?;
    let base = format!("http://127.0.0.1:{}", app.admin_port());
    let (state, admin) = (app.state().clone(), world.page.admin.clone());
    let reference = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::Data::new(admin.clone()))
            .route(
                "/reference",
                web::get().to(crate::web::admin::requests::reference),
            )
    })
    .bind(("127.0.0.1", 0))
    .map_err(BenchError::from)?;
    let reference_base = format!(
        "http://127.0.0.1:{}",
        reference.addrs().first().map_or(0, |a| a.port())
    );
    let reference = reference.run();
    let stop = [app.stop_handles().to_vec(), vec![reference.handle()]].concat();
    let serving = tokio::spawn(app.run_until_stopped());
    let reference = tokio::spawn(reference);

    let figures = drive(url, &base, &reference_base, &world, bench).await;

    for handle in stop {
        handle.stop(true).await;
    }
    serving
        .await
        .map_err(BenchError::from)?
        .map_err(BenchError::from)?;
    reference
        .await
        .map_err(BenchError::from)?
        .map_err(BenchError::from)?;
    figures
}

/// The served application's pool, sized as `lockbox serve` sizes it
/// (`LOCKBOX_DB_POOL_SIZE`), with its statement timeout. Its checkouts
/// wait up to 10 s, where `lockbox serve`'s give up after
/// `LOCKBOX_DB_CHECKOUT_TIMEOUT_MS`: a burst of a hundred sign-ins must be
/// measured, not fail for the wait.
pub(super) fn app_pool(url: &str, served: &Settings) -> Result<db::PgPool, BenchError> {
    let size = served.resilience.db_pool_size;
    let pool = db::build_pool_with(url, size, Some(served.limits.statement_timeout))
        .map_err(BenchError::from)?;
    println!(
        "serving on 127.0.0.1 with {size} pooled connections (LOCKBOX_DB_POOL_SIZE) as the scratch database's owner (a start-up warning about the role is expected here)"
    );
    Ok(pool)
}

/// Turns a page and its reference take (a second each at the default
/// `--seconds`).
const SLICES: u32 = 10;

fn line(label: &str, conns: u32, f: &Figures, reference: Option<&Figures>) {
    let ratio = reference.map_or(String::new(), |r| {
        format!("   {:.2}× reference", f.per_second / r.per_second.max(1e-9))
    });
    println!(
        "  {label:<34} {conns:>4} conns {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests){ratio}",
        f.per_second, f.p50, f.p99, f.count
    );
}

/// The HTTP side: every page at every connection count, the decisions,
/// then memory around a burst of sign-ins.
async fn drive(
    url: &str,
    base: &str,
    reference_base: &str,
    world: &World,
    bench: &WebBench,
) -> Result<(), BenchError> {
    let account = Account {
        organization: ORGANIZATION,
        email: ADMIN,
        password: PASSWORD,
    };
    let idle = load::rss_mb();
    let client = load::sign_in_client(std::net::Ipv4Addr::LOCALHOST)?;
    let cookie = Some(load::sign_in(base, &account, &client).await?);
    let page = |url: String| Target {
        url,
        cookie: cookie.clone(),
        bearer: None,
    };
    let detail = world
        .page
        .requests
        .first()
        .map_or_else(String::new, |id| id.0.to_string());
    let deep = world
        .deep
        .map_or_else(String::new, |c| format!("?after={}", c.encode()));
    let targets = [
        (
            "request list",
            page(format!("{base}/support/lockbox/requests")),
        ),
        (
            "request detail",
            page(format!("{base}/support/lockbox/requests/{detail}")),
        ),
        ("audit search, first page", page(format!("{base}/audit"))),
        (
            "audit search, deep keyset page",
            page(format!("{base}/audit{deep}")),
        ),
        (
            "API list (GET /api/v1/requests)",
            Target {
                url: format!("{base}/api/v1/requests"),
                cookie: None,
                bearer: Some(world.page.token.clone()),
            },
        ),
    ];
    let reference = Target {
        url: format!("{reference_base}/reference"),
        cookie: None,
        bearer: None,
    };
    let duration = StdDuration::from_secs(bench.seconds);
    println!(
        "web bench at {} on {}; {} s per figure; {} requests and {} audit records in the tenant measured",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        cpu::machine(),
        bench.seconds,
        world.page.requests.len(),
        bench.records
    );
    let peak = PeakRss::start();
    for &conns in &bench.connections {
        for (label, target) in &targets {
            // The reference is measured with each page, in turns of a
            // second: a shared machine's pace drifts over a run, and a
            // ratio should compare the same stretch of it.
            let [(base_figures, base_spent), (f, spent)] =
                load::drive_paired(url, &reference, target, conns, duration, SLICES).await?;
            let reference_label = "reference (list SQL + template)";
            line(reference_label, conns, &base_figures, None);
            println!("      {}", base_spent.per("request", base_figures.count));
            line(label, conns, &f, Some(&base_figures));
            println!("      {}", spent.per("request", f.count));
        }
    }
    let under_load = peak.stop();

    let conns = bench.connections.iter().copied().max().unwrap_or(8);
    let decisions: Vec<Decision> = world
        .decisions
        .iter()
        .map(|(id, token)| Decision {
            url: format!("{base}/api/v1/requests/{id}/decision"),
            token: token.clone(),
        })
        .collect();
    let clients = load::clients(conns)?;
    let meter = cpu::Meter::start(url.to_owned()).await?;
    let f = load::decide(decisions, clients, duration).await?;
    let spent = meter.stop().await?;
    println!(
        "  decisions (POST …/decision, Approve; {} tenants) {conns:>4} conns {:>8.0} decisions/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} decisions)",
        bench.decision_tenants, f.per_second, f.p50, f.p99, f.count
    );
    println!("  {}", spent.per("decision", f.count));

    let clients = (0..bench.sign_ins)
        .map(|i| {
            let from = std::net::Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8);
            load::sign_in_client(from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signing_in: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let base = base.to_owned();
            tokio::spawn(async move {
                let account = Account {
                    organization: ORGANIZATION,
                    email: ADMIN,
                    password: PASSWORD,
                };
                load::sign_in(&base, &account, &client).await
            })
        })
        .collect();
    for s in signing_in {
        s.await.map_err(BenchError::from)??;
    }
    let after = load::rss_mb();
    tokio::time::sleep(StdDuration::from_secs(bench.settle_seconds)).await;
    let settled = load::rss_mb();
    println!(
        "memory (resident, this process: server and load generator): idle {idle:.0} MB; under load (peak) {under_load:.0} MB; after {} concurrent sign-ins {after:.0} MB; {} s later {settled:.0} MB",
        bench.sign_ins, bench.settle_seconds
    );
    Ok(())
}
