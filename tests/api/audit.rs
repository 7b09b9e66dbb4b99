//! The audit log: a record for every activity, the chain, the trigger,
//! search, export, verification and tenant isolation.

use chrono::Duration;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use lockbox::identity::{RequestId, TenantId, UserId};
use lockbox::{
    audit::{self, Record, activity, view::audit_log as al},
    clock::Clock,
    tenants::Role,
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{client_from, spawn_app_with, texts, world};

/// The tenant's records with this activity, oldest first.
fn records(app: &crate::helpers::TestApp, tenant: TenantId, activity: &str) -> Vec<Record> {
    al::table
        .filter(al::tenant_id.eq(tenant))
        .filter(al::activity.eq(activity))
        .order(al::id.asc())
        .select(<Record as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load(&mut app.conn())
        .expect("records")
}

fn only(app: &crate::helpers::TestApp, tenant: TenantId, activity: &str) -> Record {
    let mut found = records(app, tenant, activity);
    assert_eq!(found.len(), 1, "exactly one {activity}");
    found.remove(0)
}

#[tokio::test]
async fn customer_decisions_are_recorded_with_decision_comment_item_actor_and_ip() {
    let w = world().await;
    let c = w.customers();
    let approver = client_from("127.0.0.5");
    w.app.admin_sign_in(&approver, &c.approver).await;
    let approved = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let denied = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let cancelled = w
        .app
        .arrange_request(w.contoso, &w.other_engineer, Some(&w.manager));
    let cases = [
        (approved, "approve", "Approve"),
        (denied, "deny", "Deny"),
        (cancelled, "cancel", "Cancel"),
        (approved, "revoke", "Revoke"),
    ];
    for (id, action, decision) in cases {
        let resp = w
            .app
            .customer_decide(&approver, id, action, &format!("{decision} it"))
            .await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{action}");
        let r = records(&w.app, w.contoso, activity::SET_REQUEST)
            .pop()
            .expect("recorded");
        assert_eq!(r.parameters["ApprovalDecision"], decision);
        assert_eq!(r.parameters["Comment"], format!("{decision} it"));
        assert_eq!(r.item, id.to_string());
        assert_eq!(r.request_id, Some(id));
        assert_eq!(r.actor_id, c.approver.id.to_string());
        assert_eq!(r.actor_name, "Contoso approver");
        assert_eq!(r.ip, "127.0.0.5");
    }
    assert_eq!(
        records(&w.app, w.contoso, activity::SET_REQUEST).len(),
        4,
        "one record per decision"
    );
}

#[tokio::test]
async fn provider_transitions_are_recorded_as_provider_operator() {
    let w = world().await;
    let engineer = client_from("127.0.0.6");
    w.app.engineer_sign_in(&engineer, &w.engineer).await;
    let manager = w.app.engineer_client(&w.manager).await;

    let id = w.app.filed_request(&engineer, w.contoso).await;
    let filed = only(&w.app, w.contoso, activity::NEW_REQUEST);
    assert_eq!(filed.actor_name, "Provider Operator");
    let staff_id = w.engineer.staff_id().public_id();
    assert_eq!(filed.actor_id, staff_id);
    assert_eq!(filed.parameters["StaffId"], staff_id);
    assert_eq!(filed.parameters["ServiceRequest"], "SR-4711");
    assert_eq!(filed.parameters["Workload"], "Exchange Online");
    assert_eq!(filed.ip, "127.0.0.6");
    assert_eq!(filed.item, id.to_string());
    assert!(
        !serde_json::to_string(&filed)
            .expect("json")
            .contains("eng@provider.example"),
        "no staff e-mail"
    );

    w.app.staff_decide(&manager, id, "approve", "ok").await;
    let approved = only(&w.app, w.contoso, activity::APPROVE_REQUEST);
    assert_eq!(approved.parameters["NextState"], "PendingCustomer");
    assert_eq!(approved.actor_name, "Provider Operator");

    let second = w.app.filed_request(&engineer, w.fabrikam).await;
    w.app.staff_decide(&manager, second, "reject", "no").await;
    assert_eq!(
        only(&w.app, w.fabrikam, activity::REJECT_REQUEST).parameters["Comment"],
        "no"
    );

    let third = w.app.filed_request(&engineer, w.fabrikam).await;
    w.app.staff_decide(&engineer, third, "cancel", "").await;
    assert_eq!(
        only(&w.app, w.fabrikam, activity::CANCEL_REQUEST).request_id,
        Some(third)
    );
}

#[tokio::test]
async fn expiry_and_window_end_are_recorded_by_the_system() {
    let w = world().await;
    let pending = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.set_lockbox(w.fabrikam, false);
    let open = w
        .app
        .arrange_request(w.fabrikam, &w.engineer, Some(&w.manager));
    let later = w.app.clock.now() + Duration::hours(13);
    let policy = lockbox::requests::Policy::default();
    lockbox::requests::commands::sweep(&mut w.app.conn(), later, &policy, 100).expect("sweep");

    let expired = only(&w.app, w.contoso, activity::EXPIRE_REQUEST);
    assert_eq!(
        (expired.actor_name.as_str(), expired.actor_id.as_str()),
        ("System", "")
    );
    assert_eq!(expired.request_id, Some(pending));
    assert_eq!(
        expired.occurred_at,
        w.app.clock.now() + Duration::hours(12),
        "when it expired"
    );
    let ended = only(&w.app, w.fabrikam, activity::END_REQUEST);
    assert_eq!(ended.request_id, Some(open));
    assert_eq!(ended.actor_name, "System");
}

#[tokio::test]
async fn the_switch_roles_and_new_users_are_recorded() {
    let w = world().await;
    let c = w.customers();
    let admin = client_from("127.0.0.7");
    w.app.admin_sign_in(&admin, &c.admin).await;
    w.app
        .admin_post(
            &admin,
            "/settings/org/lockbox",
            "/settings/org/lockbox",
            &[("confirm", "yes")],
        )
        .await;
    let switch = only(&w.app, w.contoso, activity::SET_ORGANIZATION_CONFIG);
    assert_eq!(
        switch.parameters,
        serde_json::json!({"CustomerLockboxEnabled": false, "PreviousValue": true})
    );
    assert_eq!(
        (switch.actor_id.clone(), switch.ip.clone()),
        (c.admin.id.to_string(), "127.0.0.7".to_owned())
    );

    w.app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.user.id),
            &[("role", "approver")],
        )
        .await;
    let added = only(&w.app, w.contoso, activity::ADD_ROLE_MEMBER);
    assert_eq!(added.parameters["Role"], "Customer Lockbox Access Approver");
    assert_eq!(added.item, "user@contoso.example");
    w.app
        .admin_post(
            &admin,
            "/roles",
            &format!("/roles/users/{}", c.user.id),
            &[("role", "user")],
        )
        .await;
    let removed = only(&w.app, w.contoso, activity::REMOVE_ROLE_MEMBER);
    assert_eq!(
        removed.parameters["Role"],
        "Customer Lockbox Access Approver"
    );

    let fields = [
        ("email", "new@contoso.example"),
        ("display_name", "New"),
        ("password", "a long enough password"),
        ("role", "user"),
    ];
    w.app
        .admin_post(&admin, "/roles", "/roles/users", &fields)
        .await;
    let created = records(&w.app, w.contoso, activity::NEW_USER)
        .pop()
        .expect("recorded");
    assert_eq!(created.parameters["Email"], "new@contoso.example");
    assert_eq!(created.actor_id, c.admin.id.to_string());
    assert!(
        !created
            .parameters
            .to_string()
            .contains("a long enough password"),
        "never the password"
    );
}

#[tokio::test]
async fn admin_center_sign_ins_are_recorded_successful_and_failed() {
    let w = world().await;
    let c = w.customers();
    let client = client_from("127.0.0.8");
    w.app
        .admin_sign_in_with(&client, "Contoso", &c.approver.email, "wrong password!!")
        .await;
    w.app
        .admin_sign_in_with(
            &client,
            "Contoso",
            "nobody@contoso.example",
            "wrong password!!",
        )
        .await;
    w.app.admin_sign_in(&client, &c.approver).await;
    w.app
        .admin_sign_in(&crate::helpers::client(), &c.user)
        .await;

    let failed = records(&w.app, w.contoso, activity::USER_LOGIN_FAILED);
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].actor_id, c.approver.id.to_string());
    assert_eq!(failed[0].parameters["Reason"], "InvalidCredentials");
    assert_eq!(failed[0].ip, "127.0.0.8");
    assert_eq!(
        (failed[1].actor_id.as_str(), failed[1].actor_name.as_str()),
        ("", "Unknown user")
    );
    assert_eq!(failed[1].parameters["Email"], "nobody@contoso.example");
    assert!(
        !failed[0].parameters.to_string().contains("wrong password"),
        "never the password"
    );

    let ok = records(&w.app, w.contoso, activity::USER_LOGGED_IN);
    assert_eq!(ok.len(), 2, "plain users' sign-ins too");
    assert_eq!(ok[0].actor_id, c.approver.id.to_string());
    assert_eq!(ok[1].parameters["Role"], "User");
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    for (trusted, expected) in [(true, "203.0.113.9"), (false, "127.0.0.1")] {
        let app = spawn_app_with(|s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
            }
        })
        .await;
        let tenant = app.create_tenant("Contoso", true);
        let admin = app.create_user("Contoso", "admin@contoso.example", Role::GlobalAdmin);
        let client = crate::helpers::client();
        let page = app.admin_page(&client, "/signin").await;
        client
            .post(format!("{}/signin", app.admin_url))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .form(&[
                ("csrf_token", crate::helpers::csrf_of(&page).as_str()),
                ("organization", "Contoso"),
                ("email", admin.email.as_str()),
                ("password", admin.password.as_str()),
            ])
            .send()
            .await
            .expect("request");
        assert_eq!(
            only(&app, tenant, activity::USER_LOGGED_IN).ip,
            expected,
            "trusted: {trusted}"
        );
    }
}

#[tokio::test]
async fn the_database_refuses_update_delete_and_truncate() {
    let w = world().await;
    w.app.seal_audit();
    // Even the owner: the triggers hold for everyone (the app's role may
    // not even try; see roles.rs).
    let mut conn = w.app.owner_conn();
    assert!(diesel::sql_query("SELECT 1").execute(&mut conn).is_ok());
    // Records and their seals alike, with no exception.
    for sql in [
        "UPDATE audit_records SET actor_name = 'someone else'",
        "DELETE FROM audit_records",
        "TRUNCATE audit_records",
        "UPDATE audit_chain SET hash = prev_hash",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_chain",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let head = audit::head(&mut conn, w.contoso).expect("head");
    assert!(head.count >= 1 && head.hash.is_some(), "{head:?}");
}

#[tokio::test]
async fn concurrent_decisions_across_two_tenants_keep_both_chains_whole() {
    let w = world().await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let tenant = if i % 2 == 0 { w.contoso } else { w.fabrikam };
        let engineer = if i % 4 < 2 {
            &w.engineer
        } else {
            &w.other_engineer
        };
        let id = w.app.arrange_request(tenant, engineer, None);
        ids.push(id);
    }
    let manager = w.manager.clone();
    // Three sealers race the deciders (and the app's own sealer) the whole
    // time, as several lockbox processes would.
    let deciding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sealers: Vec<_> = (0..3)
        .map(|_| {
            let (pool, deciding) = (w.app.pool.clone(), deciding.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().expect("conn");
                let mut sealed = 0;
                while deciding.load(std::sync::atomic::Ordering::SeqCst) {
                    sealed += audit::seal::seal_pending(&mut conn).expect("seal");
                }
                sealed
            })
        })
        .collect();
    let handles: Vec<_> = ids
        .iter()
        .map(|&id| {
            let pool = w.app.pool.clone();
            let now = w.app.clock_now();
            let manager = manager.clone();
            std::thread::spawn(move || {
                use lockbox::requests::{Actor, Comment, Event, Policy, Scope, commands};
                let decision = commands::Decision {
                    event: Event::ManagerReject,
                    actor: Actor::Manager(manager.staff_id()),
                    actor_name: "m".into(),
                    ip: "127.0.0.1".into(),
                    comment: Comment::default(),
                    via: lockbox::requests::Via::Portal,
                    signer: None,
                };
                commands::decide(
                    &mut pool.get().expect("conn"),
                    id,
                    Scope::Provider,
                    &decision,
                    &lockbox::clock::SettableClock::new(now),
                    &Policy::default(),
                )
                .expect("decided");
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    deciding.store(false, std::sync::atomic::Ordering::SeqCst);
    for s in sealers {
        s.join().expect("sealer");
    }
    w.app.seal_audit();
    for tenant in [w.contoso, w.fabrikam] {
        let report = audit::verify::verify_tenant(&mut w.app.conn(), tenant).expect("verify");
        assert_eq!(report.broken, None);
        assert_eq!(report.pending, 0);
        // Every record sealed exactly once, numbered 1.. in record order.
        let seals: Vec<(i64, Option<i64>)> = al::table
            .filter(al::tenant_id.eq(tenant))
            .order(al::id.asc())
            .select((al::id, al::seq))
            .load(&mut w.app.conn())
            .expect("seqs");
        let seqs: Vec<Option<i64>> = seals.iter().map(|(_, seq)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).map(Some).collect::<Vec<_>>(),
            "no gaps, no forks"
        );
        let chain_rows: i64 = lockbox::schema::audit_chain::table
            .filter(lockbox::schema::audit_chain::tenant_id.eq(tenant))
            .count()
            .get_result(&mut w.app.conn())
            .expect("count");
        assert_eq!(chain_rows, seqs.len() as i64, "one seal per record");
        assert_eq!(records(&w.app, tenant, activity::REJECT_REQUEST).len(), 10);
        assert_eq!(report.records, seqs.len() as i64);
    }
}

#[tokio::test]
async fn verify_names_the_first_tampered_record() {
    let w = world().await;
    for _ in 0..5 {
        w.app.arrange_request(w.contoso, &w.engineer, None);
    }
    w.app.seal_audit();
    let victim = records(&w.app, w.contoso, activity::NEW_REQUEST)[2].clone();
    let mut conn = w.app.owner_conn();
    assert_eq!(
        audit::verify::verify_tenant(&mut conn, w.contoso)
            .expect("verify")
            .broken,
        None
    );
    // Tampering needs the trigger disabled: something only a database owner
    // could do behind lockbox's back.
    diesel::sql_query("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_delete")
        .execute(&mut conn)
        .expect("disable");
    diesel::sql_query(format!(
        "UPDATE audit_records SET parameters = jsonb_set(parameters, '{{Justification}}', '\"nothing to see\"') WHERE id = {}",
        victim.id
    ))
    .execute(&mut conn)
    .expect("tamper");
    diesel::sql_query("ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_delete")
        .execute(&mut conn)
        .expect("enable");

    let report = audit::verify::verify_tenant(&mut conn, w.contoso).expect("verify");
    let broken = report.broken.expect("broken");
    assert_eq!((broken.id, broken.seq), (victim.id, victim.seq));
    assert!(broken.reason.contains("changed"));
    assert_eq!(
        audit::verify::verify_tenant(&mut conn, w.fabrikam)
            .expect("verify")
            .broken,
        None
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify"])
        .env(
            "DATABASE_URL",
            crate::helpers::database_url(&db_name(&w.app)),
        )
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "Contoso: CHAIN BROKEN at record id {} (seq {})",
            victim.id,
            victim.seq.expect("sealed")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("Fabrikam: 1 records, chain intact"),
        "{stdout}"
    );
}

fn db_name(app: &crate::helpers::TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    diesel::sql_query("SELECT current_database() AS name")
        .get_result::<Name>(&mut app.conn())
        .expect("name")
        .name
}

#[tokio::test]
async fn verify_passes_on_an_intact_log_and_prints_counts() {
    let w = world().await;
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    w.app.seal_audit();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["audit", "verify", "--tenant", "Contoso"])
        .env(
            "DATABASE_URL",
            crate::helpers::database_url(&db_name(&w.app)),
        )
        .env("LOCKBOX_LOG", "warn")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = audit::head(&mut w.app.conn(), w.contoso).expect("head");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!(
            "Contoso: {} records, chain intact, head {}",
            head.count,
            head.hash.expect("hash")
        )
    );
}

/// Appends `n` records to the tenant's chain, one minute apart.
fn seed(app: &crate::helpers::TestApp, tenant: TenantId, n: usize) {
    let actor = audit::Actor::customer(UserId::from(Uuid::from_u128(7)), "Seed User", "10.1.1.1");
    let mut conn = app.conn();
    let base = app.clock.now();
    for i in 0..n {
        let act = if i % 3 == 0 {
            activity::SET_REQUEST
        } else {
            activity::USER_LOGGED_IN
        };
        audit::append(
            &mut conn,
            audit::Entry {
                tenant_id: tenant,
                occurred_at: base + Duration::minutes(i as i64),
                actor: &actor,
                activity: act,
                item: format!("item-{i}"),
                parameters: serde_json::json!({"Comment": format!("note {i}"), "ApprovalDecision": if i % 2 == 0 {"Approve"} else {"Deny"}}),
                request_id: None,
            },
        )
        .expect("append");
    }
}

/// Every record (by id) listed over every page of a search.
async fn all_pages(
    app: &crate::helpers::TestApp,
    client: &reqwest::Client,
    query: &str,
) -> (Vec<i64>, usize) {
    let mut ids = Vec::new();
    let mut path = format!("/audit?{query}");
    let mut pages = 0;
    loop {
        let html = app.admin_page(client, &path).await;
        pages += 1;
        let doc = scraper::Html::parse_document(&html);
        let more = scraper::Selector::parse("a.more").expect("selector");
        ids.extend(doc.select(&more).filter_map(|a| {
            a.value()
                .attr("href")?
                .rsplit('/')
                .next()?
                .parse::<i64>()
                .ok()
        }));
        let next = scraper::Selector::parse("a[rel=next]").expect("selector");
        match doc
            .select(&next)
            .next()
            .and_then(|a| a.value().attr("href"))
        {
            Some(href) => path = href.to_owned(),
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn search_pages_newest_first_and_filters_every_way() {
    let w = world().await;
    let c = w.customers();
    seed(&w.app, w.contoso, 120);
    let admin = w.app.admin_client(&c.admin).await;
    w.app.seal_audit();
    let total = audit::head(&mut w.app.conn(), w.contoso)
        .expect("head")
        .count as usize;

    let (ids, pages) = all_pages(&w.app, &admin, "").await;
    assert_eq!(ids.len(), total);
    assert_eq!(pages, total.div_ceil(50));
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "no record twice at page boundaries"
    );

    let html = w.app.admin_page(&admin, "/audit").await;
    let times = texts(&html, "#audit-results tbody td:first-child");
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    let count = |q: &'static str| {
        let (app, admin) = (&w.app, &admin);
        async move { all_pages(app, admin, q).await.0.len() }
    };
    assert_eq!(count("activity=Set-AccessToCustomerDataRequest").await, 40);
    assert_eq!(
        count("activity=Set-AccessToCustomerDataRequest&activity=UserLoggedIn").await,
        120 + records(&w.app, w.contoso, activity::USER_LOGGED_IN).len() - 80
    );
    assert_eq!(count("users=Seed+User").await, 120);
    assert_eq!(
        count("users=seed+user,%20nobody").await,
        120,
        "case-insensitive, several"
    );
    assert_eq!(count("item=item-7").await, 1);
    assert_eq!(count("text=note+11").await, 11, "note 11 and note 110–119");
    assert_eq!(count("text=Deny").await, 60);
    assert_eq!(
        count("text=Deny&narrow=note+1").await,
        1 + 5 + 10,
        "the odd ones of 1, 10–19 and 100–119"
    );
    assert_eq!(
        count("start=2026-03-02T09:10&end=2026-03-02T09:19").await,
        10
    );
    assert_eq!(
        count("start=2026-03-02T09:10:30&end=2026-03-02T09:19:00").await,
        9,
        "to the second"
    );
    // A record in the middle of the end minute belongs to it.
    audit::append(
        &mut w.app.conn(),
        audit::Entry {
            tenant_id: w.contoso,
            occurred_at: w.app.clock.now() + Duration::seconds(30 * 60 + 30),
            actor: &audit::Actor::system(),
            activity: activity::SET_REQUEST,
            item: "mid-minute".into(),
            parameters: serde_json::json!({}),
            request_id: None,
        },
    )
    .expect("append");
    assert_eq!(
        count("start=2026-03-02T09:30&end=2026-03-02T09:30").await,
        2,
        "09:30:00 and 09:30:30"
    );
    assert_eq!(count("text=%25").await, 0, "LIKE wildcards are literal");
}

#[tokio::test]
async fn invalid_filters_are_explained_and_the_form_is_kept() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    for (query, message) in [
        (
            "start=2026-03-05T10:00&end=2026-03-01T10:00&users=Ada",
            "The end is before the start.",
        ),
        (
            "start=yesterday&users=Ada",
            "Enter dates and times as YYYY-MM-DD HH:MM.",
        ),
        (
            "activity=Drop-Everything&users=Ada",
            "Choose activities from the list.",
        ),
    ] {
        let resp = w.app.get_admin(&admin, &format!("/audit?{query}")).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        let html = resp.text().await.expect("body");
        assert_eq!(texts(&html, "[role=alert]"), vec![message.to_owned()]);
        assert!(
            html.contains("id=\"users\" name=\"users\" type=\"text\" value=\"Ada\""),
            "kept: {query}"
        );
    }
}

#[tokio::test]
async fn more_information_shows_every_field_pretty_parameters_and_both_hashes() {
    let w = world().await;
    let c = w.customers();
    let id = w
        .app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let approver = w.app.admin_client(&c.approver).await;
    w.app
        .customer_decide(&approver, id, "approve", "fine")
        .await;
    w.app.seal_audit();
    let record = only(&w.app, w.contoso, activity::SET_REQUEST);
    let html = w
        .app
        .admin_page(&approver, &format!("/audit/records/{}", record.id))
        .await;
    assert_eq!(
        texts(&html, "#record-hash"),
        vec![lockbox::digest::hex(
            record.hash.as_deref().expect("sealed")
        )]
    );
    assert_eq!(
        texts(&html, "#record-prev-hash"),
        vec![lockbox::digest::hex(
            record.prev_hash.as_deref().expect("sealed")
        )]
    );
    let pre = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("#parameters").expect("selector");
    let text: String = pre
        .select(&sel)
        .next()
        .expect("parameters")
        .text()
        .collect();
    assert_eq!(
        text,
        serde_json::to_string_pretty(&record.parameters).expect("json")
    );
    let dd = texts(&html, "#record dd");
    for expected in [
        record.activity.clone(),
        id.to_string(),
        record.ip.clone(),
        record.actor_name.clone(),
        record.seq.expect("sealed").to_string(),
    ] {
        assert!(dd.contains(&expected), "{expected} in {dd:?}");
    }
}

#[tokio::test]
async fn the_audit_page_shows_the_chain_head_and_count() {
    let w = world().await;
    let c = w.customers();
    let admin = w.app.admin_client(&c.admin).await;
    w.app.seal_audit();
    let html = w.app.admin_page(&admin, "/audit").await;
    let head = audit::head(&mut w.app.conn(), w.contoso).expect("head");
    assert_eq!(texts(&html, "#audit-count"), vec![head.count.to_string()]);
    assert_eq!(
        texts(&html, "#audit-head"),
        vec![head.hash.clone().expect("hash")]
    );
    let report = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert_eq!(report.head, head.hash, "the shown head is the verified one");
    assert!(texts(&html, "#audit-pending").is_empty(), "nothing pending");
}

#[tokio::test]
async fn exports_contain_exactly_the_search_result() {
    let w = world().await;
    let c = w.customers();
    seed(&w.app, w.contoso, 1_234);
    let admin = w.app.admin_client(&c.admin).await;
    w.app.seal_audit();
    let (listed, _) = all_pages(&w.app, &admin, "activity=Set-AccessToCustomerDataRequest").await;

    let resp = w
        .app
        .get_admin(
            &admin,
            "/audit/export.csv?activity=Set-AccessToCustomerDataRequest",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains(".csv")
    );
    let body = resp.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().expect("header").clone();
    assert_eq!(&headers[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(&headers[3], "seq");
    let exported: Vec<i64> = rows.iter().map(|r| r[0].parse().expect("id")).collect();
    assert_eq!(exported, listed, "same records, same order");
    let params: serde_json::Value =
        serde_json::from_str(&rows[0][10]).expect("parameters are JSON");
    assert!(params["Comment"].is_string());

    let jsonl = w
        .app
        .admin_page(
            &admin,
            "/audit/export.jsonl?activity=Set-AccessToCustomerDataRequest",
        )
        .await;
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["id"].as_i64().expect("id"))
            .collect::<Vec<_>>(),
        listed
    );
    let first = only_record(&w.app, lines[0]["id"].as_i64().expect("id"));
    let hex = |b: &Option<Vec<u8>>| lockbox::digest::hex(b.as_deref().expect("sealed"));
    assert_eq!(lines[0]["hash"].as_str(), Some(hex(&first.hash).as_str()));
    assert_eq!(
        lines[0]["prev_hash"].as_str(),
        Some(hex(&first.prev_hash).as_str())
    );
    assert_eq!(lines[0]["seq"].as_i64(), Some(first.seq.expect("sealed")));
}

fn only_record(app: &crate::helpers::TestApp, id: i64) -> Record {
    al::table
        .filter(al::id.eq(id))
        .select(<Record as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .first(&mut app.conn())
        .expect("record")
}

#[tokio::test]
async fn search_detail_and_export_are_tenant_isolated() {
    let w = world().await;
    let c = w.customers();
    w.app
        .arrange_request(w.contoso, &w.engineer, Some(&w.manager));
    let contoso_record = records(&w.app, w.contoso, activity::NEW_REQUEST)
        .pop()
        .expect("record");
    let fabrikam = w.app.admin_client(&c.fabrikam_admin).await;

    let html = w.app.admin_page(&fabrikam, "/audit?text=SR-1000").await;
    assert!(texts(&html, "#audit-results tbody tr").is_empty());
    // The page as it opens (unfiltered: its own function, audit_records_page).
    let link = format!("/audit/records/{}\"", contoso_record.id);
    let theirs = w.app.admin_page(&fabrikam, "/audit").await;
    assert!(
        !texts(&theirs, "#audit-results tbody tr").is_empty(),
        "fabrikam's own records"
    );
    assert!(!theirs.contains(&link) && !theirs.contains("SR-1000"));
    // Another tenant's record answers 404, like a record that never was.
    let resp = w
        .app
        .get_admin(&fabrikam, &format!("/audit/records/{}", contoso_record.id))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let contoso = w.app.admin_client(&c.admin).await;
    let own = w
        .app
        .get_admin(&contoso, &format!("/audit/records/{}", contoso_record.id))
        .await;
    assert_eq!(own.status(), StatusCode::OK, "its own tenant sees it");
    let listed = w.app.admin_page(&contoso, "/audit").await;
    assert!(listed.contains(&link), "and lists it");
    let past = w.app.get_admin(&fabrikam, "/audit/records/999999").await;
    assert_eq!(past.status(), StatusCode::NOT_FOUND);
    let csv = w.app.admin_page(&fabrikam, "/audit/export.csv").await;
    assert!(!csv.contains(&w.contoso.to_string()));
    assert!(csv.contains(&w.fabrikam.to_string()));
    let user = w.app.admin_client(&c.user).await;
    assert_eq!(
        w.app.get_admin(&user, "/audit").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.app.get_admin(&user, "/audit/export.csv").await.status(),
        StatusCode::FORBIDDEN
    );
}

/// Records with awkward content survive the round trip through
/// PostgreSQL (text, jsonb, timestamps) and verify once sealed, across the
/// 9 → 10 and 99 → 100 digit boundaries of seq.
#[tokio::test]
async fn appended_records_with_awkward_content_verify() {
    let w = world().await;
    let actor = audit::Actor::customer(
        UserId::from(Uuid::from_u128(1)),
        "Ådä \"Lovelace\" 🚀",
        "2001:db8::1",
    );
    let mut conn = w.app.conn();
    for i in 0..105 {
        audit::append(
            &mut conn,
            audit::Entry {
                tenant_id: w.contoso,
                occurred_at: w.app.clock.now() + Duration::microseconds(i * 123_457),
                actor: &actor,
                activity: activity::SET_REQUEST,
                item: format!("item\t{i}"),
                parameters: serde_json::json!({"Zeta": "ünïcødé \\ \"q\"", "Alpha": 1.5, "List": [i, {"b": 2, "a": null}]}),
                request_id: (i % 2 == 0).then(|| RequestId(Uuid::from_u128(i as u128))),
            },
        )
        .expect("append");
    }
    w.app.seal_audit();
    let report = audit::verify::verify_tenant(&mut conn, w.contoso).expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.records, 106);
}

/// A record as a change would append it.
fn append_note(conn: &mut diesel::PgConnection, tenant: TenantId, item: &str) -> i64 {
    audit::append(
        conn,
        audit::Entry {
            tenant_id: tenant,
            occurred_at: chrono::Utc::now(),
            actor: &audit::Actor::system(),
            activity: activity::SET_REQUEST,
            item: item.into(),
            parameters: serde_json::json!({"Comment": item}),
            request_id: None,
        },
    )
    .expect("append")
}

/// The chain's whole point of moving off the commit path: two changes to
/// one tenant, both still open, have both appended their records.
#[tokio::test]
async fn appends_to_one_tenant_do_not_wait_for_each_other() {
    let w = crate::helpers::world_with(|s| s.audit_seal_every = None).await;
    let (mut a, mut b) = (w.app.conn(), w.app.conn());
    for conn in [&mut a, &mut b] {
        diesel::sql_query("BEGIN")
            .execute(&mut **conn)
            .expect("begin");
        // Waiting would fail the test instead of hanging it.
        diesel::sql_query("SET LOCAL lock_timeout = '2s'")
            .execute(&mut **conn)
            .expect("timeout");
    }
    let first = append_note(&mut a, w.contoso, "first");
    let second = append_note(&mut b, w.contoso, "second");
    assert!(second > first);
    for conn in [&mut b, &mut a] {
        diesel::sql_query("COMMIT")
            .execute(&mut **conn)
            .expect("commit");
    }
    w.app.seal_audit();
    let report = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert_eq!((report.broken, report.pending), (None, 0));
}

/// A record that commits after a later one must still get the earlier
/// place: the sealer never seals past an append still in flight. It gives
/// up the round instead of making the tenant's appends queue behind it.
#[tokio::test]
async fn the_sealer_never_seals_past_an_append_in_flight() {
    let w = crate::helpers::world_with(|s| s.audit_seal_every = None).await;
    w.app.seal_audit();
    let mut slow = w.app.conn();
    diesel::sql_query("BEGIN")
        .execute(&mut *slow)
        .expect("begin");
    let early = append_note(&mut slow, w.contoso, "early, committed last");
    let late = append_note(&mut w.app.conn(), w.contoso, "late, committed first");
    assert!(late > early);

    let sealed = audit::seal::seal_tenant(&mut w.app.conn(), w.contoso).expect("seal");
    assert_eq!(sealed, 0, "nothing sealed while the early append is open");
    assert_eq!(only_record(&w.app, late).seq, None);
    // Meanwhile the tenant's appends never waited for the sealer.
    append_note(&mut slow, w.contoso, "still appending");
    diesel::sql_query("COMMIT")
        .execute(&mut *slow)
        .expect("commit");

    assert_eq!(
        audit::seal::seal_tenant(&mut w.app.conn(), w.contoso).expect("seal"),
        3
    );
    let seq_of = |id: i64| only_record(&w.app, id).seq.expect("sealed");
    assert_eq!(seq_of(late), seq_of(early) + 1);
    let report = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert_eq!((report.broken, report.pending), (None, 0));

    // And it refuses to run inside a transaction, where its lock would
    // last until that transaction's end.
    let mut conn = w.app.conn();
    let inside = diesel::Connection::transaction(&mut *conn, |conn| {
        audit::seal::seal_tenant(conn, w.contoso)
    });
    assert!(matches!(
        inside,
        Err(diesel::result::Error::AlreadyInTransaction)
    ));
}

/// Until the sealer's next round a record is shown, searched and exported
/// like any other, marked as awaiting its seal; verify counts it apart.
#[tokio::test]
async fn records_awaiting_their_seal_are_shown_as_such() {
    let w = crate::helpers::world_with(|s| s.audit_seal_every = None).await;
    let c = w.customers();
    w.app.seal_audit();
    let admin = w.app.admin_client(&c.admin).await;
    let signed_in = records(&w.app, w.contoso, activity::USER_LOGGED_IN)
        .pop()
        .expect("sign-in record");
    assert_eq!(signed_in.seq, None);

    let html = w.app.admin_page(&admin, "/audit").await;
    let head = audit::head(&mut w.app.conn(), w.contoso).expect("head");
    assert_eq!(head.pending, 1);
    assert_eq!(texts(&html, "#audit-count"), vec![head.count.to_string()]);
    assert_eq!(texts(&html, "#audit-pending"), vec!["1".to_owned()]);
    let detail = w
        .app
        .admin_page(&admin, &format!("/audit/records/{}", signed_in.id))
        .await;
    assert_eq!(texts(&detail, "#record-pending").len(), 1);
    assert!(texts(&detail, "#record-hash").is_empty());
    let csv = w
        .app
        .admin_page(&admin, "/audit/export.csv?activity=UserLoggedIn")
        .await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let row = reader.records().next().expect("a row").expect("row");
    assert_eq!(
        (&row[0], &row[3], &row[12]),
        (signed_in.id.to_string().as_str(), "", "")
    );
    let report = audit::verify::verify_tenant(&mut w.app.conn(), w.contoso).expect("verify");
    assert_eq!(
        (report.records, report.pending, report.broken),
        (head.count, 1, None)
    );

    w.app.seal_audit();
    let html = w.app.admin_page(&admin, "/audit").await;
    assert!(texts(&html, "#audit-pending").is_empty());
    assert_eq!(
        texts(&html, "#audit-count"),
        vec![(head.count + 1).to_string()]
    );
}

/// Beyond changed records: a record slipped in behind the seals, and a
/// record removed from the end of a chain, are named too.
#[tokio::test]
async fn verify_names_a_record_slipped_in_and_a_record_removed() {
    let w = world().await;
    for tenant in [w.contoso, w.fabrikam] {
        w.app.arrange_request(tenant, &w.engineer, Some(&w.manager));
    }
    w.app.seal_audit();
    let mut conn = w.app.owner_conn();
    let forge = |conn: &mut diesel::PgConnection| {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        diesel::sql_query(format!(
            "INSERT INTO audit_records (id, tenant_id, occurred_at, actor_id, actor_name, ip, \
             activity, item, parameters) VALUES (-5, '{}', now(), 'x', 'Forger', '', \
             'Set-AccessToCustomerDataRequest', 'r', '{{}}') RETURNING id",
            w.contoso
        ))
        .get_result::<Id>(conn)
        .expect("insert")
        .id
    };
    // The database numbers every record itself, whatever id it is given...
    let numbered = forge(&mut conn);
    assert!(numbered > 0, "{numbered}");
    // ...so slipping one in behind the seals takes the trigger disabled.
    diesel::sql_query("ALTER TABLE audit_records DISABLE TRIGGER audit_records_numbered")
        .execute(&mut conn)
        .expect("disable");
    assert_eq!(forge(&mut conn), -5);
    diesel::sql_query("ALTER TABLE audit_records ENABLE TRIGGER audit_records_numbered")
        .execute(&mut conn)
        .expect("enable");
    let broken = audit::verify::verify_tenant(&mut conn, w.contoso)
        .expect("verify")
        .broken
        .expect("broken");
    assert_eq!((broken.id, broken.seq), (-5, None));
    assert!(broken.reason.contains("slipped in"), "{}", broken.reason);
    // The sealer never seals behind its head, so it stays exposed.
    w.app.seal_audit();
    assert_eq!(only_record(&w.app, -5).seq, None);

    let newest = records(&w.app, w.fabrikam, activity::APPROVE_REQUEST)
        .pop()
        .expect("record");
    for sql in [
        "ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_update_delete".to_owned(),
        format!("DELETE FROM audit_records WHERE id = {}", newest.id),
        "ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_update_delete".to_owned(),
    ] {
        diesel::sql_query(sql).execute(&mut conn).expect("tamper");
    }
    let report = audit::verify::verify_tenant(&mut conn, w.fabrikam).expect("verify");
    let broken = report.broken.expect("broken");
    assert_eq!((broken.id, broken.seq), (newest.id, newest.seq));
    assert!(broken.reason.contains("removed"), "{}", broken.reason);
}

/// Free text goes two ways: the newest candidates in order, then, for a
/// term rare among them, the trigram index over the older ones. Paging
/// through either way gives exactly what a plain scan of the tenant finds.
#[tokio::test]
async fn free_text_finds_rare_and_common_terms_on_every_page() {
    let w = world().await;
    let actor = audit::Actor::system();
    let base = w.app.clock.now();
    let mut conn = w.app.conn();
    diesel::Connection::transaction::<_, diesel::result::Error, _>(&mut *conn, |conn| {
        for i in 0..2_600 {
            let mut note = format!("note {i}");
            if !(7..2_595).contains(&i) {
                note.push_str(" needle");
            }
            if i % 40 == 0 {
                note.push_str(" hay");
            }
            audit::append(
                conn,
                audit::Entry {
                    tenant_id: w.contoso,
                    // Three records a second: ties at page and window
                    // boundaries, broken by id.
                    occurred_at: base + Duration::seconds(i / 3),
                    actor: &actor,
                    activity: activity::SET_REQUEST,
                    item: String::new(),
                    parameters: serde_json::json!({ "Comment": note }),
                    request_id: None,
                },
            )?;
        }
        Ok(())
    })
    .expect("seeded");
    for term in ["NEEDLE", "hay", "note 25", "absent"] {
        let expected: Vec<i64> = al::table
            .filter(al::tenant_id.eq(w.contoso))
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "parameters::text ILIKE '%{term}%'"
            )))
            .order((al::occurred_at.desc(), al::id.desc()))
            .select(al::id)
            .load(&mut conn)
            .expect("plain scan");
        let filter = audit::search::Filter {
            text: Some(term.into()),
            ..Default::default()
        };
        // Both shapes: the whole record (API, exports) and the row a
        // results page lists, read without the seal.
        let records = searched_ids::<audit::Record>(&mut conn, w.contoso, &filter);
        let listed = searched_ids::<audit::search::Listed>(&mut conn, w.contoso, &filter);
        assert_eq!(records, expected, "{term}");
        assert_eq!(listed, expected, "{term}, as listed");
    }
}

/// The ids of every page of `filter`'s results, 10 a page, read as `R`.
fn searched_ids<R: audit::search::Found>(
    conn: &mut diesel::PgConnection,
    tenant: lockbox::identity::TenantId,
    filter: &audit::search::Filter,
) -> Vec<i64> {
    let (mut found, mut after) = (Vec::new(), None);
    loop {
        let (page, next) =
            audit::search::search::<R>(conn, tenant, filter, after, 10).expect("search");
        assert!(page.len() == 10 || next.is_none(), "full pages");
        found.extend(page.iter().map(|r| r.cursor().id));
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    found
}

/// A log chained the old way (each record chained as it was appended, by
/// migration 000003's function) moves to the sealed chain intact: same
/// records, same hashes, and appends and seals go on from there.
#[tokio::test]
async fn a_log_chained_before_the_sealer_migrates_intact() {
    use diesel::Connection;
    use diesel_migrations::MigrationHarness;
    let db = crate::helpers::TestDatabase::empty();
    let mut conn = diesel::PgConnection::establish(&db.url).expect("connect");
    loop {
        let version = conn
            .run_next_migration(lockbox::db::MIGRATIONS)
            .expect("migration")
            .to_string();
        if version.ends_with("000005") {
            break;
        }
    }
    let tenant = TenantId::new_random();
    let actor = audit::Actor::customer(UserId::from(Uuid::from_u128(3)), "Ådä", "192.0.2.1");
    let at = crate::helpers::start_time();
    for i in 0..12 {
        let params =
            serde_json::json!({"ApprovalDecision": "Approve", "Comment": format!("old {i}")});
        let record = lockbox::audit::chain::Chained {
            tenant_id: tenant,
            seq: 1,
            occurred_at: at + Duration::minutes(i),
            actor_id: &actor.id,
            actor_name: &actor.name,
            ip: &actor.ip,
            activity: activity::SET_REQUEST,
            item: "r",
            request_id: None,
            parameters: &params,
        };
        // 000003's function took the encoding split around the seq field:
        // the tag and tenant id (16 + 8 + 36 bytes), the seq, the rest.
        let encoded = lockbox::audit::chain::canonical(&record);
        let (before, after) = (&encoded[..60], &encoded[60 + 8 + 1..]);
        diesel::sql_query("SELECT audit_append($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10)")
            .bind::<diesel::sql_types::Uuid, _>(tenant)
            .bind::<diesel::sql_types::Timestamptz, _>(record.occurred_at)
            .bind::<diesel::sql_types::Text, _>(record.actor_id)
            .bind::<diesel::sql_types::Text, _>(record.actor_name)
            .bind::<diesel::sql_types::Text, _>(record.ip)
            .bind::<diesel::sql_types::Text, _>(record.activity)
            .bind::<diesel::sql_types::Text, _>(record.item)
            .bind::<diesel::sql_types::Text, _>(params.to_string())
            .bind::<diesel::sql_types::Bytea, _>(before)
            .bind::<diesel::sql_types::Bytea, _>(after)
            .execute(&mut conn)
            .expect("old append");
    }
    #[derive(diesel::QueryableByName)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        hash: Vec<u8>,
    }
    let old_head = diesel::sql_query("SELECT hash FROM audit_records ORDER BY seq DESC LIMIT 1")
        .get_result::<Head>(&mut conn)
        .expect("head")
        .hash;

    conn.run_pending_migrations(lockbox::db::MIGRATIONS)
        .expect("the rest");
    let report = audit::verify::verify_tenant(&mut conn, tenant).expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.records, 12);
    assert_eq!(report.head, Some(lockbox::digest::hex(&old_head)));

    append_note(&mut conn, tenant, "after the move");
    assert_eq!(
        audit::seal::seal_tenant(&mut conn, tenant).expect("seal"),
        1
    );
    let report = audit::verify::verify_tenant(&mut conn, tenant).expect("verify");
    assert_eq!(
        (report.records, report.pending, report.broken),
        (13, 0, None)
    );
}
