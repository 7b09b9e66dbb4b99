//! The load generator of `lockbox bench web`: N concurrent keep-alive
//! connections (one HTTP client each, one request at a time, as N busy
//! browsers or automations) for a fixed time; signing in through the real
//! form; the process's resident memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration as StdDuration, Instant},
};

use reqwest::{StatusCode, header};

use super::{
    BenchError,
    cpu::{Meter, Spent},
    percentile,
};

/// One page (or API call) to measure, and how to be let in.
#[derive(Clone)]
pub(super) struct Target {
    pub url: String,
    /// A `Cookie` header (a signed-in session).
    pub cookie: Option<String>,
    /// A bearer token (the API).
    pub bearer: Option<String>,
}

/// What a timed run measured.
pub(super) struct Figures {
    pub per_second: f64,
    pub p50: f64,
    pub p99: f64,
    pub count: usize,
}

impl Figures {
    fn of(mut samples: Vec<StdDuration>, secs: f64) -> Self {
        samples.sort();
        Self {
            per_second: samples.len() as f64 / secs.max(1e-9),
            p50: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
            count: samples.len(),
        }
    }
}

/// A client builder with the process's shared TLS connector
/// ([`crate::tls`]). The benchmark speaks plain HTTP, but a reqwest client
/// with TLS support builds a connector, and building one parses the
/// system's root certificates, even when told to trust none: about 80 ms
/// of CPU per client, 64 clients before each measured page, and inside
/// the timed phase where a client is made there.
pub(super) fn builder() -> Result<reqwest::ClientBuilder, BenchError> {
    crate::tls::client_builder().map_err(BenchError::from)
}

/// A client that keeps its one connection alive and follows no redirect
/// (a redirect is an answer to check, not to follow).
fn client() -> Result<reqwest::Client, BenchError> {
    builder()?
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .map_err(BenchError::from)
}

/// `n` clients (at least one), one per connection.
pub(super) fn clients(n: u32) -> Result<Vec<reqwest::Client>, BenchError> {
    (0..n.max(1)).map(|_| client()).collect()
}

fn request(client: &reqwest::Client, target: &Target) -> reqwest::RequestBuilder {
    let mut req = client.get(&target.url);
    if let Some(cookie) = &target.cookie {
        req = req.header(header::COOKIE, cookie);
    }
    if let Some(token) = &target.bearer {
        req = req.bearer_auth(token);
    }
    req
}

/// One GET, which must answer 200.
async fn fetch(client: &reqwest::Client, target: &Target) -> Result<(), BenchError> {
    let mut resp = request(client, target)
        .send()
        .await
        .map_err(BenchError::from)?;
    let status = resp.status();
    // Read to the end, chunk by chunk, without gathering them: the
    // measured page's size should cost this side as little as it can.
    while resp.chunk().await.map_err(BenchError::from)?.is_some() {}
    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(BenchError(format!("{} answered {status}", target.url)))
    }
}

/// `reference` and `target`, each with `connections` clients, measured in
/// turns: `slices` slices of `duration / slices` each, the reference's
/// first. The host's pace drifts from one second to the next on a shared
/// machine; taking turns puts both pages in the same stretch of it, so
/// their ratio compares like with like. Each turn's CPU time is metered
/// too (the backends of the database at `url` and this process), summed
/// per page: what a request cost, and where (the database or this
/// process). Ticks are 10 ms per process, so a turn's figure is rounded,
/// and a background worker's round (the sweeper, the sealer) is counted
/// in whichever turn it falls.
pub(super) async fn drive_paired(
    url: &str,
    reference: &Target,
    target: &Target,
    connections: u32,
    duration: StdDuration,
    slices: u32,
) -> Result<[(Figures, Spent); 2], BenchError> {
    let slices = slices.max(1);
    let for_reference = warmed(reference, connections).await?;
    let for_target = warmed(target, connections).await?;
    let slice = duration / slices;
    let (mut a, mut b) = (Timed::default(), Timed::default());
    let (mut spent_a, mut spent_b) = (Spent::zero(), Spent::zero());
    for _ in 0..slices {
        let meter = Meter::start(url.to_owned()).await?;
        a.add(run(&for_reference, reference, slice).await?);
        spent_a = spent_a.plus(meter.stop().await?);
        let meter = Meter::start(url.to_owned()).await?;
        b.add(run(&for_target, target, slice).await?);
        spent_b = spent_b.plus(meter.stop().await?);
    }
    Ok([(a.figures(), spent_a), (b.figures(), spent_b)])
}

/// `connections` clients, each with its connection open (one untimed
/// request each).
async fn warmed(target: &Target, connections: u32) -> Result<Vec<reqwest::Client>, BenchError> {
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        let client = client()?;
        fetch(&client, target).await?;
        clients.push(client);
    }
    Ok(clients)
}

/// Latencies and the time they were gathered in, over one or more runs.
#[derive(Default)]
struct Timed {
    samples: Vec<StdDuration>,
    secs: f64,
}

impl Timed {
    fn add(&mut self, (samples, secs): (Vec<StdDuration>, f64)) {
        self.samples.extend(samples);
        self.secs += secs;
    }

    fn figures(self) -> Figures {
        Figures::of(self.samples, self.secs)
    }
}

/// Each of `clients` GETs `target` back to back for `duration`: the
/// latencies, and the seconds until the last answer came.
async fn run(
    clients: &[reqwest::Client],
    target: &Target,
    duration: StdDuration,
) -> Result<(Vec<StdDuration>, f64), BenchError> {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    fetch(&client, &target).await?;
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
    Ok((samples, started.elapsed().as_secs_f64()))
}

/// One decision to take: the URL and the token of the tenant's admin.
pub(super) struct Decision {
    pub url: String,
    pub token: Arc<str>,
}

/// The `clients` (one connection each, see [`clients`]) POST the
/// decisions (Approve) until they run out or `duration` ends. Each must
/// answer 200.
pub(super) async fn decide(
    decisions: Vec<Decision>,
    clients: Vec<reqwest::Client>,
    duration: StdDuration,
) -> Result<Figures, BenchError> {
    let decisions = Arc::new(decisions);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (decisions, next) = (decisions.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let Some(d) = decisions.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let t = Instant::now();
                    let resp = client
                        .post(&d.url)
                        .bearer_auth(&*d.token)
                        .json(
                            &serde_json::json!({"ApprovalDecision": "Approve", "Comment": "bench"}),
                        )
                        .send()
                        .await
                        .map_err(BenchError::from)?;
                    let status = resp.status();
                    resp.bytes().await.map_err(BenchError::from)?;
                    if status != StatusCode::OK {
                        return Err(BenchError(format!("{} answered {status}", d.url)));
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
    Ok(Figures::of(samples, started.elapsed().as_secs_f64()))
}

/// The `name=value` of the session cookie `name` a response sets.
fn session_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// An account to sign in to the admin center with.
pub(super) struct Account<'a> {
    pub organization: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

/// A client that connects from the loopback address `from`. Each sign-in
/// of a burst comes from an address of its own (any 127.x.y.z reaches the
/// server): sign-in throttling counts every attempt per account and
/// network, and a burst from one address would be throttled, not measured.
/// Made before a burst starts: making one takes CPU that would otherwise
/// hold up the other clients' requests (the server answers a connection
/// whose request does not come within 5 s with 408).
pub(super) fn sign_in_client(from: std::net::Ipv4Addr) -> Result<reqwest::Client, BenchError> {
    builder()?
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::V4(from))
        .build()
        .map_err(|e| BenchError::with_causes(&e))
}

/// Signs in through the admin center's form (its CSRF token, its session
/// cookie) with `client`, and answers the signed-in session's `Cookie`
/// header.
pub(super) async fn sign_in(
    base: &str,
    account: &Account<'_>,
    client: &reqwest::Client,
) -> Result<String, BenchError> {
    const COOKIE: &str = "lockbox_admin";
    let form = client
        .get(format!("{base}/signin"))
        .send()
        .await
        .map_err(|e| BenchError::with_causes(&e))?;
    let anonymous = session_cookie(&form, COOKIE).ok_or_else(|| {
        BenchError(format!(
            "the sign-in form answered {} without a session cookie",
            form.status()
        ))
    })?;
    let html = form.text().await.map_err(|e| BenchError::with_causes(&e))?;
    let marker = "name=\"csrf_token\" value=\"";
    let csrf = html
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(token, _)| token.to_owned())
        .ok_or_else(|| BenchError("the sign-in form has no CSRF token".into()))?;
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("organization", account.organization)
        .append_pair("email", account.email)
        .append_pair("password", account.password)
        .append_pair("csrf_token", &csrf)
        .finish();
    let resp = client
        .post(format!("{base}/signin"))
        .header(header::COOKIE, anonymous)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| BenchError::with_causes(&e))?;
    let status = resp.status();
    match (status, session_cookie(&resp, COOKIE)) {
        (StatusCode::SEE_OTHER, Some(cookie)) => Ok(cookie),
        _ => Err(BenchError(format!("signing in answered {status}"))),
    }
}

/// This process's resident memory in MB (Linux), 0 where unknown.
pub(super) fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The highest resident memory seen while it runs (sampled every 100 ms).
pub(super) struct PeakRss {
    peak_kb: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub(super) fn start() -> Self {
        let peak_kb = Arc::new(AtomicU64::new(0));
        let peak = peak_kb.clone();
        let sampler = tokio::spawn(async move {
            loop {
                peak.fetch_max((rss_mb() * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(StdDuration::from_millis(100)).await;
            }
        });
        Self { peak_kb, sampler }
    }

    pub(super) fn stop(self) -> f64 {
        self.sampler.abort();
        self.peak_kb
            .load(Ordering::Relaxed)
            .max((rss_mb() * 1024.0) as u64) as f64
            / 1024.0
    }
}
