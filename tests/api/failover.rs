//! Issue 21, point 3: a failover under load. A private primary streams
//! synchronously to a standby; lockbox's `DATABASE_URL` names both
//! (libpq multi-host, `target_session_attrs=read-write`). Engineers file
//! and managers approve through the API while the primary is stopped
//! hard and the standby promoted: lockbox serves again without a restart,
//! every write it confirmed is on the new primary, and the audit chains
//! verify.

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{
    cluster::Pair,
    scale::{Instance, audit_verify_on},
};

/// `lockbox` on `url` with `args`, `stdin` fed; its standard output.
fn lockbox(url: &str, key: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("LOCKBOX_DB_POOL_SIZE", "2")
        .env("LOCKBOX_SIGNING_KEY_FILE", key)
        .env("LOCKBOX_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lockbox runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("lockbox ends");
    assert!(
        out.status.success(),
        "lockbox {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the load saw confirmed: filed requests, and approved ones.
#[derive(Default)]
struct Confirmed {
    filed: Vec<(String, Instant)>,
    approved: Vec<(String, Instant)>,
    failures: Vec<(u16, Instant)>,
}

#[derive(diesel::QueryableByName)]
struct Status {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_under_load_loses_no_confirmed_decision_and_serves_without_a_restart() {
    let pair = tokio::task::spawn_blocking(Pair::start)
        .await
        .expect("cluster");
    let mut admin = PgConnection::establish(&pair.primary.url("postgres")).expect("primary");
    diesel::sql_query("CREATE DATABASE lockbox")
        .execute(&mut admin)
        .expect("database");
    drop(admin);
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("signing-key.pem");
    let url = pair.url("lockbox");
    lockbox(&url, &key, &["migrate"], "");
    let created = lockbox(
        &url,
        &key,
        &["tenant", "create", "--name", "Contoso", "--lockbox-on"],
        "",
    );
    let tenant = created
        .trim()
        .rsplit_once('(')
        .and_then(|(_, id)| id.strip_suffix(')'))
        .expect("tenant id")
        .to_owned();
    let mut tokens = Vec::new();
    for (email, role) in [
        ("eng@provider.example", "engineer"),
        ("boss@provider.example", "manager"),
    ] {
        lockbox(
            &url,
            &key,
            &[
                "staff",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--password-stdin",
            ],
            "correct horse battery staple\n",
        );
        let out = lockbox(
            &url,
            &key,
            &[
                "staff", "token", "create", "--email", email, "--name", "load",
            ],
            "",
        );
        tokens.push(out.lines().last().expect("token").trim().to_owned());
    }
    let (engineer_token, manager_token) = (tokens[0].clone(), tokens[1].clone());
    let mut server = Instance::start_on(
        &url,
        &key,
        &[("LOCKBOX_REQUIRE_TICKET", "false".to_owned())],
    );
    server.ready().await;

    // Load: engineers file, managers approve, as fast as answers come.
    let confirmed: Arc<Mutex<Confirmed>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (confirmed, stop, base) = (confirmed.clone(), stop.clone(), server.engineer.clone());
        let (engineer, manager, tenant) = (
            engineer_token.clone(),
            manager_token.clone(),
            tenant.clone(),
        );
        load.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let filed = http
                    .post(format!("{base}/api/v1/requests"))
                    .bearer_auth(&engineer)
                    .json(&serde_json::json!({
                        "TenantId": tenant, "ServiceRequestNumber": "SR-1000",
                        "Workload": "exchange", "DurationMinutes": 60,
                        "Justification": "Failover drill."}))
                    .send()
                    .await;
                let id = match filed {
                    Ok(r) if r.status() == 201 => {
                        let body: serde_json::Value = r.json().await.expect("json");
                        let id = body["RequestId"].as_str().expect("id").to_owned();
                        confirmed
                            .lock()
                            .expect("lock")
                            .filed
                            .push((id.clone(), Instant::now()));
                        id
                    }
                    Ok(r) => {
                        let status = r.status().as_u16();
                        confirmed
                            .lock()
                            .expect("lock")
                            .failures
                            .push((status, Instant::now()));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(_) => {
                        confirmed
                            .lock()
                            .expect("lock")
                            .failures
                            .push((0, Instant::now()));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let approved = http
                    .post(format!("{base}/api/v1/requests/{id}/approve"))
                    .bearer_auth(&manager)
                    .json(&serde_json::json!({"Comment": "drill"}))
                    .send()
                    .await;
                match approved {
                    Ok(r) if r.status() == 200 => confirmed
                        .lock()
                        .expect("lock")
                        .approved
                        .push((id, Instant::now())),
                    other => {
                        let status = other.map_or(0, |r| r.status().as_u16());
                        confirmed
                            .lock()
                            .expect("lock")
                            .failures
                            .push((status, Instant::now()));
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = confirmed.lock().expect("lock").approved.len();
    assert!(before > 0, "decisions before the failure");
    let crashed_at = Instant::now();
    let pair = Arc::new(pair);
    let crash = pair.clone();
    tokio::task::spawn_blocking(move || crash.primary.crash())
        .await
        .expect("crash");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let promote = pair.clone();
    tokio::task::spawn_blocking(move || promote.standby.promote())
        .await
        .expect("promote");
    let promoted_at = Instant::now();
    // Serving again: a decision confirmed after the promotion.
    let deadline = promoted_at + Duration::from_secs(10);
    let served_at = loop {
        let first = confirmed
            .lock()
            .expect("lock")
            .approved
            .iter()
            .map(|(_, at)| *at)
            .find(|at| *at > promoted_at);
        if let Some(at) = first {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "lockbox did not serve within 10 s of the promotion: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        task.await.expect("load");
    }

    // Every write confirmed before (and after) the failure is on the new
    // primary.
    let confirmed = confirmed.lock().expect("lock");
    let mut conn = PgConnection::establish(&pair.standby.url("lockbox")).expect("new primary");
    let status_of = |conn: &mut PgConnection, id: &str| -> Option<String> {
        diesel::sql_query("SELECT status FROM access_requests WHERE id = $1::uuid")
            .bind::<diesel::sql_types::Text, _>(id)
            .get_result::<Status>(conn)
            .ok()
            .map(|s| s.status)
    };
    let mut lost = 0;
    for (id, _) in &confirmed.filed {
        if status_of(&mut conn, id).is_none() {
            lost += 1;
        }
    }
    for (id, _) in &confirmed.approved {
        if status_of(&mut conn, id).as_deref() != Some("pending_customer") {
            lost += 1;
        }
    }
    let confirmed_before_crash = confirmed
        .approved
        .iter()
        .filter(|(_, at)| *at < crashed_at)
        .count();
    assert_eq!(lost, 0, "confirmed writes missing on the new primary");
    let errors_500 = confirmed.failures.iter().filter(|(s, _)| *s == 500).count();
    assert_eq!(
        errors_500,
        0,
        "failures answered 500: {:?}",
        confirmed.failures.len()
    );
    drop(conn);
    drop(server);
    let (ok, report) = audit_verify_on(&pair.standby.url("lockbox"), &key);
    assert!(ok, "{report}");
    println!(
        "failover: {confirmed_before_crash} decisions confirmed before the primary stopped, {} \
         writes confirmed in all ({} filings, {} approvals), lost: {lost}; serving again {:?} \
         after the promotion ({:?} after the crash); {} calls refused meanwhile (503 or no \
         answer); {}",
        confirmed.filed.len() + confirmed.approved.len(),
        confirmed.filed.len(),
        confirmed.approved.len(),
        served_at - promoted_at,
        served_at - crashed_at,
        confirmed.failures.len(),
        report.lines().next().unwrap_or_default()
    );
}
