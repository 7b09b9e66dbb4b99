//! The measurements of `lockbox bench audit`: chained appends, searches at
//! page 1 and deep, and the memory of a whole export.

// The bench's vocabulary: its imports and helpers.
use super::*;

pub(super) fn append_one(
    conn: &mut PgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
    i: u32,
) -> Result<(), BenchError> {
    audit::append(
        conn,
        Entry {
            tenant_id: tenant,
            occurred_at: now + Duration::milliseconds(i64::from(i)),
            actor: &Actor::customer(UserId(Uuid::from_u128(7)), "Approver 7", "10.0.0.7"),
            activity: activity::SET_REQUEST,
            item: Uuid::new_v4().to_string(),
            parameters: json!({"ApprovalDecision": "Approve", "Comment": "bench"}),
            request_id: None,
        },
    )
    .map(|_| ())
    .map_err(BenchError::from)
}

pub(super) struct AppendFigures {
    pub(super) appended: f64,
    pub(super) chained: f64,
    pub(super) drain_ms: f64,
}

/// One writer thread per entry of `writers` (the tenant it appends to),
/// `each` appends apiece, and a sealer thread doing what the product's does;
/// timed until the last record is sealed.
pub(super) fn measure_appends(
    pool: &db::PgPool,
    writers: &[TenantId],
    each: u32,
    now: DateTime<Utc>,
) -> Result<AppendFigures, BenchError> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sealer = {
        let (pool, done) = (pool.clone(), done.clone());
        std::thread::spawn(move || -> Result<Instant, BenchError> {
            let mut conn = pool.get().map_err(BenchError::from)?;
            loop {
                // Read the flag first: a round that starts after the
                // writers finished seals everything they wrote.
                let last_round = done.load(std::sync::atomic::Ordering::SeqCst);
                seal::seal_pending(&mut conn).map_err(BenchError::from)?;
                if last_round {
                    return Ok(Instant::now());
                }
                std::thread::sleep(seal::INTERVAL);
            }
        })
    };
    let t0 = Instant::now();
    let handles: Vec<_> = writers
        .iter()
        .map(|&tenant| {
            let pool = pool.clone();
            std::thread::spawn(move || -> Result<(), BenchError> {
                let mut conn = pool.get().map_err(BenchError::from)?;
                for i in 0..each {
                    append_one(&mut conn, tenant, now, i)?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| BenchError("append thread panicked".into()))??;
    }
    let appended_at = Instant::now();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let sealed_at = sealer
        .join()
        .map_err(|_| BenchError("sealer thread panicked".into()))??;
    // The figure stands only if the last round really sealed everything.
    let mut conn = pool.get().map_err(BenchError::from)?;
    for &tenant in writers {
        let head = audit::head(&mut conn, tenant).map_err(BenchError::from)?;
        if head.pending > 0 {
            return Err(BenchError(format!(
                "{} records were left unsealed",
                head.pending
            )));
        }
    }
    let total = f64::from(each) * writers.len() as f64;
    Ok(AppendFigures {
        appended: total / (appended_at - t0).as_secs_f64(),
        chained: total / (sealed_at - t0).as_secs_f64(),
        drain_ms: (sealed_at - appended_at).as_secs_f64() * 1000.0,
    })
}

/// A cursor about 200 pages into the results (bench only: OFFSET finds it).
pub(super) fn deep_cursor(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &search::Filter,
) -> Result<Option<search::Cursor>, BenchError> {
    let mut after = None;
    // Walk there by keyset, 1,000 at a time, as a person paging would.
    for _ in 0..10 {
        let (_, next) = search::search::<search::Listed>(conn, tenant, filter, after, 1_000)
            .map_err(BenchError::from)?;
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    Ok(after)
}

/// Times a page of `filter`'s results as the Audit page reads it
/// ([`search::Listed`]: without the seal).
pub(super) fn time_search(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &search::Filter,
    after: Option<search::Cursor>,
) -> Result<Vec<StdDuration>, BenchError> {
    for _ in 0..5 {
        search::search::<search::Listed>(conn, tenant, filter, after, 50)
            .map_err(BenchError::from)?;
    }
    let mut samples: Vec<StdDuration> = (0..40)
        .map(|_| {
            let t = Instant::now();
            search::search::<search::Listed>(conn, tenant, filter, after, 50).map(|_| t.elapsed())
        })
        .collect::<Result<_, _>>()
        .map_err(BenchError::from)?;
    samples.sort();
    Ok(samples)
}

/// Runs `lockbox audit export` on the scratch database and samples its
/// peak resident memory (VmHWM) until it exits.
pub(super) fn export_rss(url: &str, tenant: &str) -> Result<(), BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::from)?;
    let t0 = Instant::now();
    let mut child = Command::new(exe)
        .args(["audit", "export", "--tenant", tenant, "--format", "csv"])
        .env("DATABASE_URL", url)
        .env("LOCKBOX_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(BenchError::from)?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| BenchError("no stdout".into()))?;
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            bytes += n as u64;
            lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        (bytes, lines)
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if child.try_wait().map_err(BenchError::from)?.is_some() {
            break;
        }
        std::thread::sleep(StdDuration::from_millis(5));
    }
    let (bytes, lines) = counter
        .join()
        .map_err(|_| BenchError("reader panicked".into()))?;
    println!(
        "full CSV export of {tenant}: {} records, {:.1} MB in {:.1} s, peak RSS {:.1} MB",
        lines.saturating_sub(1),
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        peak_kb as f64 / 1024.0
    );
    Ok(())
}

/// The cost of a checkpoint round: every tenant due (one signature each),
/// then an idle round (none due), as the servers run it once a minute.
pub(super) fn measure_checkpoints(
    conn: &mut PgConnection,
    tenants: usize,
) -> Result<(), BenchError> {
    let signer = crate::signing::Signer::generate();
    let now = Utc::now();
    let every = Duration::minutes(60);
    let timed = Instant::now();
    let written =
        audit::checkpoint::write_due(conn, &signer, now, every).map_err(BenchError::from)?;
    let due = timed.elapsed().as_secs_f64() * 1000.0;
    let timed = Instant::now();
    audit::checkpoint::write_due(conn, &signer, now, every).map_err(BenchError::from)?;
    let idle = timed.elapsed().as_secs_f64() * 1000.0;
    println!(
        "checkpoints: {written} of {tenants} tenants signed in {due:.1} ms ({:.2} ms per tenant); \
         an idle round {idle:.1} ms",
        due / written.max(1) as f64
    );
    Ok(())
}
