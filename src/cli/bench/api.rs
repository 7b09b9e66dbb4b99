//! `lockbox bench api`: the real application, started in this process on
//! loopback ports over a scratch database, seeded with one tenant whose
//! requests all wait for the customer, and measured through its JSON API
//! over HTTP: the latency of `GET /api/v1/requests` (p50/p99), and the
//! decisions per second through `POST /api/v1/requests/{id}/decision` with
//! several concurrent clients. Every count and every phase is bounded; the
//! server listens on 127.0.0.1 only and is stopped at the end.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration as StdDuration, Instant},
};

use super::{BenchError, Scratch, load, percentile, world};
use crate::{
    clock::{Clock, SharedClock, SystemClock},
    config::{ApiRate, Settings},
    db::{self, PgPool},
    identity::{RequestId, TenantId},
    requests::Policy,
    startup::Application,
};

/// What `bench api` does, and how much of it.
#[derive(Debug, Clone, Copy)]
pub struct ApiBench {
    /// Requests seeded, all waiting for the customer.
    pub requests: u32,
    /// Timed list calls per list measured.
    pub calls: u32,
    /// Decisions timed (at most `requests`).
    pub decisions: u32,
    /// Concurrent clients deciding.
    pub clients: u32,
    /// The longest any phase may take.
    pub phase_limit: StdDuration,
    pub keep: bool,
}

pub async fn run(settings: &Settings, bench: ApiBench) -> Result<(), BenchError> {
    let scratch = Scratch::create(settings)?;
    let result = measure(settings, &scratch.url, bench).await;
    scratch.finish(bench.keep)?;
    result
}

/// The seeded world: the tenant, and the secret of a decide token of its
/// global administrator.
struct World {
    tenant: TenantId,
    token: String,
    requests: Vec<RequestId>,
}

async fn measure(settings: &Settings, url: &str, bench: ApiBench) -> Result<(), BenchError> {
    let owner = db::build_pool_with(url, world::SEEDERS + 1, None).map_err(BenchError::from)?;
    db::run_migrations(&owner).map_err(BenchError::from)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let policy = Policy {
        pending_lifetime: settings.pending_lifetime,
        max_window: settings.max_window,
    };
    let seeding = Instant::now();
    let world = {
        let (owner, clock) = (owner.clone(), clock.clone());
        let requests = bench.requests;
        tokio::task::spawn_blocking(move || seed(&owner, &*clock, &policy, requests, bench))
            .await
            .map_err(BenchError::from)??
    };
    println!(
        "seeded {} requests waiting for the customer (filed and manager-approved through the use cases) in {:.1} s",
        world.requests.len(),
        seeding.elapsed().as_secs_f64()
    );
    // The seed's aftermath (its audit records waiting for the sealer,
    // autovacuum, dirty buffers) out of the figures.
    {
        let owner = owner.clone();
        tokio::task::spawn_blocking(move || -> Result<(), BenchError> {
            let mut conn = owner.get().map_err(BenchError::from)?;
            crate::audit::seal::seal_pending(&mut conn).map_err(BenchError::from)?;
            use diesel::RunQueryDsl;
            diesel::sql_query("VACUUM (ANALYZE)")
                .execute(&mut conn)
                .map_err(BenchError::from)?;
            if let Err(e) = diesel::sql_query("CHECKPOINT").execute(&mut conn) {
                println!("(no CHECKPOINT before measuring: {e})");
            }
            Ok(())
        })
        .await
        .map_err(BenchError::from)??;
    }

    // The real application, on loopback ports, with an API allowance no
    // benchmark client reaches (the figures are the server's, not the
    // rate limiter's).
    let mut served = settings.clone();
    served.admin_addr = "127.0.0.1:0".into();
    served.engineer_addr = "127.0.0.1:0".into();
    served.api_rate = ApiRate::UNLIMITED;
    // Every benchmark client comes from 127.0.0.1: the per-address limit in
    // front of the API must not be what is measured either.
    served.api_address_rate = crate::config::RateQuota::UNLIMITED;
    // No mail goes out from a benchmark (the outbox rows are still written,
    // in each decision's transaction, as in production).
    served.mail.poll = None;
    let pool = super::web::app_pool(url, &served)?;
    let app = Application::build(served, pool, clock).map_err(BenchError::from)?;
    let base = format!("http://127.0.0.1:{}", app.admin_port());
    let stop = app.stop_handles();
    let serving = tokio::spawn(app.run_until_stopped());

    let figures = drive(&base, &world, bench).await;

    for handle in stop {
        handle.stop(true).await;
    }
    serving
        .await
        .map_err(BenchError::from)?
        .map_err(BenchError::from)?;
    figures
}

/// The HTTP side: list latency, then decisions per second.
async fn drive(base: &str, world: &World, bench: ApiBench) -> Result<(), BenchError> {
    let client = load::builder()?.build().map_err(BenchError::from)?;
    println!(
        "list latency (one client, keep-alive; {} calls each):",
        bench.calls
    );
    for (label, query) in [
        ("GET /api/v1/requests (first page, 50)", ""),
        (
            "… ?ApprovalStatus=PendingCustomer (50)",
            "?ApprovalStatus=PendingCustomer",
        ),
        ("… ?limit=200", "?limit=200"),
    ] {
        let url = format!("{base}/api/v1/requests{query}");
        let samples = time_lists(&client, &url, &world.token, bench).await?;
        println!(
            "  {label:<42} p50 {:>6.2} ms   p99 {:>6.2} ms   ({} calls)",
            percentile(&samples, 50.0),
            percentile(&samples, 99.0),
            samples.len()
        );
    }

    let decisions = (bench.decisions as usize).min(world.requests.len());
    let ids = Arc::new(world.requests[..decisions].to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + bench.phase_limit;
    let started = Instant::now();
    let workers: Vec<_> = (0..bench.clients.max(1))
        .map(|_| {
            let (ids, next, token) = (ids.clone(), next.clone(), world.token.clone());
            let base = base.to_owned();
            tokio::spawn(async move {
                // One connection per client, as separate automations have.
                let client = load::builder()?.build().map_err(BenchError::from)?;
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let t = Instant::now();
                    let resp = client
                        .post(format!("{base}/api/v1/requests/{id}/decision"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "ApprovalDecision": "Approve",
                            "Comment": "bench"
                        }))
                        .send()
                        .await
                        .map_err(BenchError::from)?;
                    let status = resp.status();
                    resp.bytes().await.map_err(BenchError::from)?;
                    if status != reqwest::StatusCode::OK {
                        return Err(BenchError(format!("decision on {id} answered {status}")));
                    }
                    samples.push(t.elapsed());
                }
                Ok::<_, BenchError>(samples)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.map_err(BenchError::from)??);
    }
    let secs = started.elapsed().as_secs_f64();
    samples.sort();
    println!(
        "decisions (POST /api/v1/requests/{{id}}/decision, Approve; {} clients): {} in {secs:.1} s = {:.0} decisions/s; latency p50 {:.2} ms, p99 {:.2} ms",
        bench.clients.max(1),
        samples.len(),
        samples.len() as f64 / secs,
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
    );
    println!(
        "(tenant {}; each decision is one transaction: the row lock, the timeline, the audit record and the outbox mail)",
        world.tenant
    );
    Ok(())
}

/// Times `calls` list calls (after a few untimed ones), sorted.
async fn time_lists(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    bench: ApiBench,
) -> Result<Vec<StdDuration>, BenchError> {
    let call = || async {
        let resp = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(BenchError::from)?;
        let status = resp.status();
        resp.bytes().await.map_err(BenchError::from)?;
        if status == reqwest::StatusCode::OK {
            Ok(())
        } else {
            Err(BenchError(format!("{url} answered {status}")))
        }
    };
    for _ in 0..20 {
        call().await?;
    }
    let deadline = Instant::now() + bench.phase_limit;
    let mut samples = Vec::with_capacity(bench.calls as usize);
    while samples.len() < bench.calls as usize && Instant::now() < deadline {
        let t = Instant::now();
        call().await?;
        samples.push(t.elapsed());
    }
    samples.sort();
    Ok(samples)
}

/// The API bench's world: one tenant whose `count` requests wait for the
/// customer, seeded by [`world`].
fn seed(
    pool: &PgPool,
    clock: &dyn Clock,
    policy: &Policy,
    count: u32,
    bench: ApiBench,
) -> Result<World, BenchError> {
    let now = clock.now();
    let mut conn = pool.get().map_err(BenchError::from)?;
    let staff = world::Staff::create(&mut conn, now)?;
    drop(conn);
    let deadline = Instant::now() + bench.phase_limit;
    let spec = world::TenantSpec {
        name: "Bench Tenant",
        admin_email: "admin@bench.example",
        password_hash: world::NO_PASSWORD,
        requests: count,
    };
    let seeded = world::seed(pool, policy, &staff, &spec, now, deadline)?;
    Ok(World {
        tenant: seeded.admin.tenant_id,
        token: seeded.token,
        requests: seeded.requests,
    })
}
