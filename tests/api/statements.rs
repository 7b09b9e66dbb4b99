//! What a page view costs the database (issue 20): a signed-in request-list
//! page is at most three statements, none of them a write and none inside a
//! transaction, the customer approvals of its rows included.
//!
//! Every statement the test's process sends is seen through diesel's
//! instrumentation (set before the app opens its pool), while the
//! background work that could send some of its own in the same moment
//! waits for minutes.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, Ordering},
};

use crate::helpers::{texts, world_with};
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

/// Whether statements are being recorded now.
static RECORDING: AtomicBool = AtomicBool::new(false);
/// The statements recorded, in the order they started.
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Each new connection's instrumentation: records what starts while
/// [`RECORDING`] is on (transactions as `BEGIN`, so one cannot hide).
fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if !RECORDING.load(Ordering::SeqCst) {
            return;
        }
        let text = match event {
            InstrumentationEvent::StartQuery { query, .. } => query.to_string(),
            InstrumentationEvent::BeginTransaction { .. } => "BEGIN".to_owned(),
            _ => return,
        };
        if let Ok(mut all) = STATEMENTS.lock() {
            all.push(text);
        }
    }))
}

/// The statements sent while `fetch` ran.
async fn statements_of<F: std::future::Future<Output = String>>(fetch: F) -> (String, Vec<String>) {
    STATEMENTS.lock().expect("statements").clear();
    RECORDING.store(true, Ordering::SeqCst);
    let page = fetch.await;
    RECORDING.store(false, Ordering::SeqCst);
    let seen = STATEMENTS.lock().expect("statements").clone();
    (page, seen)
}

fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    [
        "INSERT",
        "UPDATE",
        "DELETE",
        "BEGIN",
        "COMMIT",
        "SELECT PG_ADVISORY",
    ]
    .iter()
    .any(|w| head.starts_with(w))
        || head.contains("FOR UPDATE")
}

#[tokio::test]
async fn a_request_list_page_is_three_statements_and_writes_nothing() {
    set_default_instrumentation(recorder).expect("instrumentation set before any connection");
    let w = world_with(|s| {
        // The background work waits for minutes: what is recorded is the
        // page's own.
        s.audit_seal_every = None;
        s.metrics.refresh_every = Some(std::time::Duration::from_secs(3600));
        s.resilience.sweep_every = std::time::Duration::from_secs(300);
    })
    .await;
    let c = w.customers();
    crate::quorum::set_quorum(&w.app, w.contoso, 2);
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    w.app.customer_decide(&approver, id, "approve", "one").await;
    let admin = w.app.admin_client(&c.admin).await;

    const LIST: &str = "/support/lockbox/requests";
    // The first view prepares the connection's statements.
    w.app.admin_page(&admin, LIST).await;
    let (html, seen) = statements_of(w.app.admin_page(&admin, LIST)).await;

    // The page shows the approval its row has, read with the list.
    assert_eq!(texts(&html, ".approvals"), vec!["1 of 2 approvals"]);
    assert!(html.contains("Approved by Contoso approver"), "{html}");
    assert!(
        seen.len() <= 3,
        "{} statements for a list page:\n{}",
        seen.len(),
        seen.join("\n")
    );
    assert!(
        seen.iter().any(|s| s.contains("/* requests list */")),
        "the list's own statement: {seen:#?}"
    );
    assert!(
        seen.iter().any(|s| s.contains("web_sessions")),
        "the session is read from the database: {seen:#?}"
    );
    let writes: Vec<&String> = seen.iter().filter(|s| is_write(s)).collect();
    assert!(writes.is_empty(), "a page view wrote: {writes:#?}");
}
